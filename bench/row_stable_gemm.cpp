// The forward (Z = X·Wᵀ) and dX (dZ·W) products that --reproducible runs on
// a micro-shard of m rows, for each layer of a model: OpenBLAS on one thread,
// one call of m rows, as --reproducible called it before, against
// dmlp's row-stable kernels (core/row_stable_gemm.hpp). GFLOPS, best of 5
// rounds of enough calls for about 0.2 s, one thread.
//
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/dmlp_bench_row_stable_gemm [784,1024,1024,10] [m]
//       [avx512|avx2|portable]      (default: the fastest this CPU runs; name only one it runs)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/row_stable_gemm.hpp"

namespace {
template <class F>
double gflops(double flops, F&& call) {
  using Clock = std::chrono::steady_clock;
  int reps = 1;
  for (;;) {  // calls enough for 0.2 s
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) call();
    if (std::chrono::duration<double>(Clock::now() - t0).count() > 0.2) break;
    reps *= 2;
  }
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) call();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / reps);
  }
  return flops / best * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<int> widths;
  std::stringstream spec(argc > 1 ? argv[1] : "784,1024,1024,10");
  for (std::string w; std::getline(spec, w, ',');) widths.push_back(std::stoi(w));
  const int m = argc > 2 ? std::stoi(argv[2]) : 32;
  // the fastest version here, or the one named: avx512, avx2, portable
  dmlp::CpuKernels kernels = dmlp::row_stable_kernels();
  if (argc > 3) kernels = std::string(argv[3]) == "avx2"       ? dmlp::CpuKernels::avx2
                          : std::string(argv[3]) == "portable" ? dmlp::CpuKernels::portable
                                                               : dmlp::CpuKernels::avx512;
  dmlp::blas::set_threads(1);
  const auto info = dmlp::blas::library_info();
  std::printf("%s (%s kernels) against row-stable %s, one thread, %d rows a call; GFLOPS\n", info.name.c_str(),
              info.core.c_str(), dmlp::cpu_kernels_name(kernels), m);
  std::printf("%-12s %12s %12s %12s %12s\n", "layer", "fwd OpenBLAS", "fwd stable", "dX OpenBLAS", "dX stable");
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 1);
  using dmlp::blas::Op;
  for (std::size_t k = 0; k + 1 < widths.size(); ++k) {
    const int in = widths[k], out = widths[k + 1];
    std::vector<float> X(std::size_t(m) * in), W(std::size_t(out) * in), Z(std::size_t(m) * out), dX(X.size());
    for (auto* v : {&X, &W, &Z}) std::generate(v->begin(), v->end(), [&] { return normal(rng); });
    const double flops = 2.0 * m * in * out;
    // Z(m,out) = X(m,in)·Wᵀ and dX(m,in) = dZ(m,out)·W(out,in), Z standing in for dZ
    const double fb = gflops(flops, [&] {
      dmlp::blas::gemm<float>(Op::N, Op::T, m, out, in, 1.0f, X.data(), in, W.data(), in, 0.0f, Z.data(), out);
    });
    const double fs = gflops(flops, [&] { dmlp::row_stable_forward(kernels, m, in, out, X.data(), W.data(), Z.data()); });
    const double db = gflops(flops, [&] {
      dmlp::blas::gemm<float>(Op::N, Op::N, m, in, out, 1.0f, Z.data(), out, W.data(), in, 0.0f, dX.data(), in);
    });
    const double ds = gflops(flops, [&] { dmlp::row_stable_input_grad(kernels, m, out, in, Z.data(), W.data(), dX.data()); });
    std::printf("%5d-%-6d %12.1f %12.1f %12.1f %12.1f\n", in, out, fb, fs, db, ds);
  }
}
