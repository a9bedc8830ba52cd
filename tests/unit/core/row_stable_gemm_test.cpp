// The row-stable products: each row's bits independent of the other rows in
// the call, the same bits from every CPU version of the kernels, and close to
// the exact products.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "dmlp/core/row_stable_gemm.hpp"

using dmlp::CpuKernels;

namespace {
std::vector<CpuKernels> kernels_here() {  // every version this CPU can run
  std::vector<CpuKernels> k{CpuKernels::portable};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k.push_back(CpuKernels::avx2);
  if (__builtin_cpu_supports("avx512f")) k.push_back(CpuKernels::avx512);
  return k;
}

// Values over a wide range of magnitudes and both signs, some zeros and -0,
// so that sums cancel, round and meet signed zeros.
std::vector<float> values(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-20, 20), kind(0, 19);
  std::vector<float> v(n);
  for (float& x : v) {
    const int k = kind(rng);
    x = k == 0 ? 0.0f : k == 1 ? -0.0f : std::ldexp(mantissa(rng), exponent(rng));
  }
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Shape {
  int rows, in, out;
};
// tails of every block: rows not a multiple of 4 or 6, widths not of 16 or 64
const Shape kShapes[] = {{1, 1, 1}, {3, 17, 5}, {7, 784, 10}, {13, 33, 70}, {32, 100, 9}, {5, 64, 64}, {9, 130, 3}};
}  // namespace

TEST_CASE("row-stable products: every kernel version gives the portable version's bits", "[row_stable]") {
  std::mt19937 rng(3);
  for (const Shape s : kShapes) {
    const auto X = values(std::size_t(s.rows) * s.in, rng), W = values(std::size_t(s.out) * s.in, rng),
               dZ = values(std::size_t(s.rows) * s.out, rng);
    std::vector<float> z_ref(std::size_t(s.rows) * s.out), d_ref(X.size());
    dmlp::row_stable_forward(CpuKernels::portable, s.rows, s.in, s.out, X.data(), W.data(), z_ref.data());
    dmlp::row_stable_input_grad(CpuKernels::portable, s.rows, s.out, s.in, dZ.data(), W.data(), d_ref.data());
    for (const CpuKernels k : kernels_here()) {
      INFO(dmlp::cpu_kernels_name(k) << ": rows " << s.rows << ", in " << s.in << ", out " << s.out);
      std::vector<float> z(z_ref.size(), 7.0f), d(d_ref.size(), 7.0f);
      dmlp::row_stable_forward(k, s.rows, s.in, s.out, X.data(), W.data(), z.data());
      dmlp::row_stable_input_grad(k, s.rows, s.out, s.in, dZ.data(), W.data(), d.data());
      CHECK(same_bits(z, z_ref));
      CHECK(same_bits(d, d_ref));
    }
  }
}

TEST_CASE("row-stable products: a row's bits do not depend on the other rows of the call", "[row_stable]") {
  std::mt19937 rng(4);
  const int rows = 37, in = 200, out = 45;
  const auto X = values(std::size_t(rows) * in, rng), W = values(std::size_t(out) * in, rng),
             dZ = values(std::size_t(rows) * out, rng);
  for (const CpuKernels k : kernels_here()) {
    INFO(dmlp::cpu_kernels_name(k));
    std::vector<float> z_all(std::size_t(rows) * out), d_all(std::size_t(rows) * in);
    dmlp::row_stable_forward(k, rows, in, out, X.data(), W.data(), z_all.data());
    dmlp::row_stable_input_grad(k, rows, out, in, dZ.data(), W.data(), d_all.data());
    for (const int chunk : {1, 2, 5, 12, 32}) {  // the same rows in calls of `chunk` rows
      INFO("calls of " << chunk << " rows");
      std::vector<float> z(z_all.size()), d(d_all.size());
      for (int r = 0; r < rows; r += chunk) {
        const int n = std::min(chunk, rows - r);
        dmlp::row_stable_forward(k, n, in, out, &X[std::size_t(r) * in], W.data(), &z[std::size_t(r) * out]);
        dmlp::row_stable_input_grad(k, n, out, in, &dZ[std::size_t(r) * out], W.data(), &d[std::size_t(r) * in]);
      }
      CHECK(same_bits(z, z_all));
      CHECK(same_bits(d, d_all));
    }
  }
}

TEST_CASE("row-stable products: within float rounding of the exact products", "[row_stable]") {
  std::mt19937 rng(5);
  const int rows = 11, in = 300, out = 21;
  const auto X = values(std::size_t(rows) * in, rng), W = values(std::size_t(out) * in, rng),
             dZ = values(std::size_t(rows) * out, rng);
  std::vector<float> z(std::size_t(rows) * out), d(std::size_t(rows) * in);
  dmlp::row_stable_forward(rows, in, out, X.data(), W.data(), z.data());
  dmlp::row_stable_input_grad(rows, out, in, dZ.data(), W.data(), d.data());
  // |error| ≤ n·u·Σ|terms| for a sum of n products (u = 2^-24), in doubles, which hold every product exactly
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double exact = 0, magnitude = 0;
      for (int i = 0; i < in; ++i) {
        const double p = double(X[std::size_t(r) * in + i]) * double(W[std::size_t(o) * in + i]);
        exact += p, magnitude += std::abs(p);
      }
      REQUIRE(std::abs(double(z[std::size_t(r) * out + o]) - exact) <= in * 0x1p-24 * magnitude);
    }
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < in; ++i) {
      double exact = 0, magnitude = 0;
      for (int o = 0; o < out; ++o) {
        const double p = double(dZ[std::size_t(r) * out + o]) * double(W[std::size_t(o) * in + i]);
        exact += p, magnitude += std::abs(p);
      }
      REQUIRE(std::abs(double(d[std::size_t(r) * in + i]) - exact) <= out * 0x1p-24 * magnitude);
    }
}

TEST_CASE("row-stable products: with NaN and infinity, a NaN where the portable version has one, else its bits",
          "[row_stable]") {
  // the documented exception (the hostile review's fuzzing): which NaN comes out may differ, nothing else
  std::mt19937 rng(6);
  const int rows = 19, in = 70, out = 13;
  auto X = values(std::size_t(rows) * in, rng), W = values(std::size_t(out) * in, rng),
       dZ = values(std::size_t(rows) * out, rng);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  std::uniform_int_distribution<std::size_t> pick(0, 1u << 30);
  for (int j = 0; j < 12; ++j) {
    X[pick(rng) % X.size()] = specials[j % 4];
    W[pick(rng) % W.size()] = specials[(j + 1) % 4];
    dZ[pick(rng) % dZ.size()] = specials[(j + 2) % 4];
  }
  const auto alike = [](const std::vector<float>& a, const std::vector<float>& b) {
    std::size_t nans = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::isnan(a[i]) || std::isnan(b[i])) {
        if (!(std::isnan(a[i]) && std::isnan(b[i]))) return false;
        ++nans;
      } else if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
        return false;
      }
    }
    return nans > 0 && nans < a.size();  // the case is there, and not everywhere
  };
  std::vector<float> z_ref(std::size_t(rows) * out), d_ref(X.size());
  dmlp::row_stable_forward(CpuKernels::portable, rows, in, out, X.data(), W.data(), z_ref.data());
  dmlp::row_stable_input_grad(CpuKernels::portable, rows, out, in, dZ.data(), W.data(), d_ref.data());
  for (const CpuKernels k : kernels_here()) {
    INFO(dmlp::cpu_kernels_name(k));
    std::vector<float> z(z_ref.size()), d(d_ref.size());
    for (int r = 0; r < rows; r += 5) {  // calls of 5 rows, against one call of all in the portable version
      const int n = std::min(5, rows - r);
      dmlp::row_stable_forward(k, n, in, out, &X[std::size_t(r) * in], W.data(), &z[std::size_t(r) * out]);
      dmlp::row_stable_input_grad(k, n, out, in, &dZ[std::size_t(r) * out], W.data(), &d[std::size_t(r) * in]);
    }
    CHECK(alike(z, z_ref));
    CHECK(alike(d, d_ref));
  }
}
