// Which row counts a GEMM call may have without changing a row's bits: for
// the forward (Y = X·Wᵀ) and dX (dZ·W) products of a model's layers, on one
// BLAS thread, N rows computed in calls of c rows each (starting at multiples
// of c) against one call of all N. --reproducible keeps every call at m rows
// for that reason (docs/reproducibility.md); a c that matches for every layer
// would let a rank compute several micro-batches in one call, with W packed
// once, if micro-batches were laid out at multiples of c.
//
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/dmlp_bench_gemm_row_bits [784,1024,1024,10]
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dmlp/core/blas.hpp"

namespace {
constexpr int kRows = 720;  // 12, 16, 24, 36, 48 … split it evenly; another c leaves a shorter last call

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Whether calls of c rows reproduce one call of kRows, for the forward and dX of an in → out layer.
template <class T>
std::pair<bool, bool> matches(int in, int out, int c, std::mt19937& rng) {
  using dmlp::blas::Op;
  std::normal_distribution<double> normal(0, 1);
  std::vector<T> X(std::size_t(kRows) * in), W(std::size_t(out) * in), Z(std::size_t(kRows) * out);
  for (auto* v : {&X, &W, &Z})
    for (T& x : *v) x = T(normal(rng));
  std::vector<T> y_one(std::size_t(kRows) * out), y(y_one.size()), d_one(std::size_t(kRows) * in), d(d_one.size());
  const auto forward = [&](int rows, std::vector<T>& Y) {  // Y(rows,out) = X(rows,in)·Wᵀ
    for (int r = 0; r < kRows; r += rows)
      dmlp::blas::gemm<T>(Op::N, Op::T, std::min(rows, kRows - r), out, in, T(1), &X[std::size_t(r) * in], in,
                          W.data(), in, T(0), &Y[std::size_t(r) * out], out);
  };
  const auto back = [&](int rows, std::vector<T>& D) {  // D(rows,in) = dZ(rows,out)·W(out,in)
    for (int r = 0; r < kRows; r += rows)
      dmlp::blas::gemm<T>(Op::N, Op::N, std::min(rows, kRows - r), in, out, T(1), &Z[std::size_t(r) * out], out,
                          W.data(), in, T(0), &D[std::size_t(r) * in], in);
  };
  forward(kRows, y_one);
  back(kRows, d_one);
  forward(c, y);
  back(c, d);
  return {same_bits(y, y_one), same_bits(d, d_one)};
}

template <class T>
void report(const std::vector<int>& widths, const char* precision) {
  std::mt19937 rng(1);
  std::printf("%s: row counts c whose calls give one %d-row call's bits (forward / dX), per layer\n", precision, kRows);
  std::vector<int> every;  // the c that match in every layer, both products
  for (int c = 1; c <= 96; ++c) every.push_back(c);
  for (std::size_t k = 0; k + 1 < widths.size(); ++k) {
    std::string ok;
    std::vector<int> kept;
    for (int c : every) {
      const auto [fwd, dx] = matches<T>(widths[k], widths[k + 1], c, rng);
      if (fwd && dx) {
        kept.push_back(c);
        if (kept.size() <= 12) ok += " " + std::to_string(c);
      }
    }
    every = kept;
    std::printf("  %5d -> %-5d:%s%s\n", widths[k], widths[k + 1], ok.empty() ? " none up to 96" : ok.c_str(),
                kept.size() > 12 ? " …" : "");
  }
  std::printf("  every layer: %s\n", every.empty() ? "none up to 96" : ("c = " + std::to_string(every.front()) +
                                                                      " and its multiples that were tried").c_str());
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<int> widths = {784, 1024, 1024, 10};
  if (argc > 1) {
    widths.clear();
    std::stringstream list(argv[1]);
    for (std::string w; std::getline(list, w, ',');) widths.push_back(std::stoi(w));
  }
  dmlp::blas::set_threads(1);
  const auto blas = dmlp::blas::library_info();
  std::printf("%s, %s kernels, one BLAS thread\n", blas.name.c_str(), blas.core.c_str());
  report<float>(widths, "float");
  report<double>(widths, "double");
}
