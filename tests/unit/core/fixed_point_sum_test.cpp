// The fixed-point sums of --reproducible's weight tiles: one word a value at
// an agreed scale, the same bits in any grouping and on every CPU version,
// never wrapping below their bound, within their stated error.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/fixed_point_sum.hpp"

namespace {
using Parts = std::vector<std::vector<float>>;

// Values of many magnitudes and both signs, with zeros, -0 and subnormals, all
// within the fixed point's reach: |x| ≤ 2^top.
Parts random_parts(std::size_t count, std::size_t n, int top, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(top - 60, top), kind(0, 19);
  Parts parts(count, std::vector<float>(n));
  for (auto& p : parts)
    for (float& x : p) {
      const int k = kind(rng);
      x = k == 0 ? 0.0f : k == 1 ? -0.0f : k == 2 ? 1e-41f : float(std::ldexp(mantissa(rng), exponent(rng)));
    }
  return parts;
}

// The words after adding `parts` in runs of `run` parts a call, the first overwriting.
std::vector<std::int64_t> words_of(Parts parts, std::size_t run, int shift) {
  const std::size_t n = parts[0].size();
  std::vector<std::int64_t> words(n, 12345);  // stale: the first call overwrites them
  for (std::size_t p0 = 0; p0 < parts.size(); p0 += run) {
    std::vector<float*> group;
    for (std::size_t p = p0; p < std::min(parts.size(), p0 + run); ++p) group.push_back(parts[p].data());
    dmlp::fixed_point_add(std::span<float* const>(group), n, shift, words.data(), p0 == 0);
    for (float* g : group) CHECK(std::all_of(g, g + n, [](float x) { return x == 0.0f; }));  // left zero
  }
  return words;
}

std::vector<float> result_of(const std::vector<const std::int64_t*>& sources, std::size_t n, int shift) {
  std::vector<float> out(n);
  dmlp::fixed_point_result(std::span<const std::int64_t* const>(sources), 0, shift, std::span<float>(out));
  return out;
}
}  // namespace

TEST_CASE("fixed-point scales: the bound times 2^s lies from 2^61 up to 2^62", "[fixed_point]") {
  for (const double bound : {0x1p-180, 0x1p-149, 1e-20, 0.75, 1.0, 3.0, 0x1p62, 1e30, 0x1p126, 0x1.fffffp126, 0x1p127, 0x1p200}) {
    const int s = dmlp::fixed_point_shift(bound);
    INFO(bound);
    CHECK(std::ldexp(bound, s) < 0x1p62);
    CHECK(std::ldexp(bound, s) >= 0x1p61);
  }
  for (const double bad : {0x1p300, 1e300, HUGE_VAL, std::numeric_limits<double>::quiet_NaN()})
    CHECK(dmlp::fixed_point_shift(bad) == dmlp::kFixedPointNonFinite);
  CHECK(dmlp::fixed_point_shift(1e-300) == dmlp::kFixedPointMaxShift);  // 2^s stays two floats' product
  // the growth of rounding: 2 while n·u ≤ 1/2, then at least e^(n·u)
  CHECK(dmlp::float_dot_bound(1.0, 32) == 2 * (1.0 + 32 * 0x1p-149));
  CHECK(dmlp::float_dot_bound(0, 1 << 23) > 0);
  for (const double n : {0x1p23 + 1, 0x1p25, 0x1p30})
    CHECK(dmlp::float_dot_bound(1.0, n) >= std::exp(n * 0x1p-24));
}

TEST_CASE("fixed-point sums: float_dot_bound holds for float dot products that round up at every step",
          "[fixed_point]") {
  // terms that all round the same way: the float sum exceeds the exact one
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> value(0.5f, 1.0f);
  for (const int m : {1, 2, 32, 1000}) {
    double exact = 0;
    float fl = 0;
    for (int i = 0; i < m; ++i) {
      const float a = value(rng), b = value(rng);
      exact += double(a) * double(b);
      fl = std::fma(a, b, fl);
    }
    CHECK(double(fl) <= dmlp::float_dot_bound(exact, m));
  }
  // products of 0.6 of the least subnormal: each step rounds up to a whole one
  const float a = 0x1p-75f, b = 0.6f * 0x1p-74f;
  float fl = 0;
  for (int i = 0; i < 50; ++i) fl = std::fma(a, b, fl);
  CHECK(fl == 50 * 0x1p-149f);
  CHECK(double(fl) <= dmlp::float_dot_bound(50 * double(a) * double(b), 50));
  CHECK(double(fl) > 1.5 * 50 * double(a) * double(b));  // far beyond (1 + u)^n: the absolute term covers it
}

TEST_CASE("fixed-point sums: the same words in any grouping of the parts, and known values", "[fixed_point]") {
  const int shift = dmlp::fixed_point_shift(20 * 0x1p10);  // 20 parts of |x| ≤ 2^10
  const Parts parts = random_parts(20, 133, 10, 1);
  const auto reference = words_of(parts, 20, shift);  // 20 parts: more than one pass of 16
  for (const std::size_t run : {1, 3, 8, 16}) CHECK(words_of(parts, run, shift) == reference);
  Parts reversed(parts.rbegin(), parts.rend());
  CHECK(words_of(reversed, 7, shift) == reference);
  // trunc(x·2^s), toward zero for either sign
  Parts known{{1.75f, -1.75f, 0.3f, -0.0f, 1e-40f}};
  CHECK(words_of(known, 1, 1) == std::vector<std::int64_t>{3, -3, 0, 0, 0});
  CHECK(words_of(known, 1, 40) == std::vector<std::int64_t>{std::int64_t(1.75 * 0x1p40), -std::int64_t(1.75 * 0x1p40),
                                                           std::int64_t(0.3f * 0x1p40f), 0, 0});
}

TEST_CASE("fixed-point sums: every CPU version gives the same words and results", "[fixed_point]") {
  const dmlp::CpuKernels in_use = dmlp::exact_sum_kernels();
  const std::size_t n = 1037;  // the vector loops' tails, and blocks of 4, 8 and 16
  for (const int top : {-140, -20, 0, 30, 120}) {  // windows among subnormals, small, large, near float's top
    const Parts parts = random_parts(19, n, top, unsigned(top + 200));
    const int shift = dmlp::fixed_point_shift(2 * 19 * std::ldexp(1.0, top));  // two sources of 19 parts
    INFO("values up to 2^" << top << ", shift " << shift);
    const auto run = [&](dmlp::CpuKernels k) {
      dmlp::force_exact_sum_kernels(k);
      const auto words = words_of(parts, 8, shift);
      auto other = words;
      std::reverse(other.begin(), other.end());
      const auto result = result_of({words.data(), other.data()}, n, shift);
      return std::make_pair(words, result);
    };
    const auto portable = run(dmlp::CpuKernels::portable);
    for (const auto k : {dmlp::CpuKernels::avx2, dmlp::CpuKernels::avx512}) {
      if (!dmlp::exact_sum_kernels_run_here(k)) continue;
      INFO(dmlp::cpu_kernels_name(k));
      const auto o = run(k);
      CHECK(o.first == portable.first);
      CHECK(std::memcmp(o.second.data(), portable.second.data(), n * sizeof(float)) == 0);
    }
  }
  dmlp::force_exact_sum_kernels(in_use);
}

TEST_CASE("fixed-point sums: within n·U·2^-61 of the exact sum, and no wrap at the bound", "[fixed_point]") {
  const std::size_t count = 12, n = 500;
  const double U = count * 0x1p5;  // Σ|x| ≤ U for |x| ≤ 2^5
  const int shift = dmlp::fixed_point_shift(U);
  Parts parts = random_parts(count, n, 5, 7);
  for (std::size_t i = 0; i < 20; ++i)  // elements that reach the bound, of either sign
    for (auto& p : parts) p[i] = i % 2 ? 0x1p5f : -0x1p5f;
  std::vector<long double> wide(n, 0.0L);
  for (const auto& p : parts)
    for (std::size_t i = 0; i < n; ++i) wide[i] += (long double)p[i];
  const auto words = words_of(parts, 5, shift);
  for (const auto w : words) CHECK(std::abs(w) < (std::int64_t{1} << 62));
  const auto result = result_of({words.data()}, n, shift);
  for (std::size_t i = 0; i < n; ++i) {
    const long double truncation = (long double)count * (long double)std::ldexp(1.0, -shift);
    CHECK(truncation <= (long double)count * U * 0x1p-61L);
    // the truncation, then a double's rounding and a float's
    const long double allowed = truncation + std::fabs(wide[i]) * (0x1p-53L + 0x1p-24L) + 1e-45L;
    INFO(i << ": " << double(wide[i]) << " against " << result[i]);
    CHECK(std::fabs((long double)result[i] - wide[i]) <= allowed);
  }
  CHECK(result[1] == float(count) * 0x1p5f);
  CHECK(result[0] == -float(count) * 0x1p5f);
  // a scale from a non-finite bound: NaN
  const auto nan = result_of({words.data()}, 3, dmlp::kFixedPointNonFinite);
  CHECK(std::all_of(nan.begin(), nan.end(), [](float x) { return std::isnan(x); }));
}

TEST_CASE("largest_magnitude: the largest magnitude, or infinity for NaN and infinity", "[fixed_point]") {
  std::vector<float> x{0.5f, -3.0f, 1e-40f, -0.0f, 2.0f};
  CHECK(dmlp::largest_magnitude(x) == 3.0);
  CHECK(dmlp::largest_magnitude(std::span<const float>()) == 0.0);
  x[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isinf(dmlp::largest_magnitude(x)));
  x[2] = -std::numeric_limits<float>::infinity();
  CHECK(std::isinf(dmlp::largest_magnitude(x)));
}
