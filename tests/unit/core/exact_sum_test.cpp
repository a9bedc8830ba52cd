// The exact sum: the same bits in any order and grouping, within its stated
// error bound, and honest about NaN and infinity.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "dmlp/core/exact_sum.hpp"

using dmlp::ExactSum;

namespace {
// `values` (n vectors of `width`) summed by `groups` accumulators, each taking a
// contiguous run of the vectors in `order`, then combined as the ranks do:
// max of windows, align, integer sum of words.
template <class T>
std::vector<T> grouped_sum(const std::vector<std::vector<T>>& values, const std::vector<std::size_t>& ends,
                           const std::vector<std::size_t>& order, int groups) {
  const int K = dmlp::exact_sum_words<T>();
  std::vector<ExactSum> parts;
  for (int g = 0; g < groups; ++g) parts.emplace_back(ends, K);
  for (std::size_t i = 0; i < order.size(); ++i)
    parts[i * std::size_t(groups) / order.size()].add(std::span<const T>(values[order[i]]));
  std::vector<std::int64_t> windows(parts[0].windows().size(), ExactSum::kEmpty);
  for (auto& p : parts)
    for (std::size_t s = 0; s < windows.size(); ++s) windows[s] = std::max(windows[s], p.windows()[s]);
  // as a node's ranks sum them from shared memory, without aligning anything:
  // the same bits, checked against the all-reduce's below
  std::vector<ExactSum::Peer> peers;
  for (auto& p : parts) peers.push_back({p.windows(), p.words()});
  std::vector<T> from_peers(values[0].size());
  std::vector<std::int64_t> scratch(from_peers.size() * std::size_t(K));
  parts[0].result_of_sum(peers, std::span<T>(from_peers), 0, scratch);
  std::vector<std::int64_t> words(parts[0].words().size(), 0);
  for (auto& p : parts) {
    p.align_to(windows);
    for (std::size_t w = 0; w < words.size(); ++w) words[w] += p.words()[w];
  }
  std::copy(words.begin(), words.end(), parts[0].words().begin());
  std::vector<T> out(values[0].size());
  parts[0].result(std::span<T>(out));
  CHECK(std::memcmp(out.data(), from_peers.data(), out.size() * sizeof(T)) == 0);
  return out;
}
}  // namespace

TEST_CASE("the sum over peers in shared memory: stale, empty, far-below and non-finite segments", "[exact_sum]") {
  // segments [0,4) [4,8) [8,12) [12,16), in storage the test owns, as a shared window would be
  const std::vector<std::size_t> ends = {4, 8, 12, 16};
  std::vector<std::int64_t> words_a(32, 7), windows_a(4, 99), words_b(32, 7), windows_b(4, 99);
  ExactSum a(ends, 2, words_a, windows_a), b(ends, 2, words_b, windows_b);
  CHECK(windows_a[0] == ExactSum::kEmpty);  // the given storage starts empty and zero
  CHECK(words_a[5] == 0);
  const std::vector<float> big(4, 3.0f), huge(4, 0x1p70f), small(4, 0x1p-70f);
  a.add(std::span<const float>(big), 0);  // a's segment 0 is then cleared: stale words, empty window
  a.clear(0, 4);
  b.add(std::span<const float>(big), 0);
  a.add(std::span<const float>(huge), 4);  // b's segment 1 lies far below a's window: nothing of it survives
  b.add(std::span<const float>(small), 4);
  a.add(std::span<const float>(big), 8);
  const std::vector<float> nan(4, std::numeric_limits<float>::quiet_NaN());
  b.add(std::span<const float>(nan), 8);
  // segment 3: empty on both
  const std::vector<ExactSum::Peer> peers = {{windows_a, words_a}, {windows_b, words_b}};
  std::vector<float> out(16, -1.0f);
  std::vector<std::int64_t> scratch(32, 12345);
  a.result_of_sum(peers, std::span<float>(out), 0, scratch);
  CHECK(out[0] == 3.0f);     // b's alone: a's stale words are not read
  CHECK(out[4] == 0x1p70f);  // the tiny values fall below the window
  CHECK(std::isnan(out[8]));
  CHECK(out[12] == 0.0f);
  // the same as the ranks' all-reduce: max of windows, align, sum
  std::vector<std::int64_t> windows(4);
  for (std::size_t s = 0; s < 4; ++s) windows[s] = std::max(windows_a[s], windows_b[s]);
  a.align_to(windows);
  b.align_to(windows);
  for (std::size_t w = 0; w < 32; ++w) words_a[w] += words_b[w];
  std::vector<float> reduced(16);
  a.result(std::span<float>(reduced));
  CHECK(std::memcmp(out.data(), reduced.data(), 3 * 4 * sizeof(float)) == 0);  // NaN bits aside
  CHECK(reduced[12] == 0.0f);
  CHECK_THROWS_AS(a.result_of_sum(peers, std::span<float>(out), 0, std::span<std::int64_t>(scratch).first(8)),
                  std::invalid_argument);
  CHECK_THROWS_AS(ExactSum(ends, 2, std::span<std::int64_t>(words_a).first(31), windows_a), std::invalid_argument);
}

TEMPLATE_TEST_CASE("exact sums are the same bits in any order and grouping", "[exact_sum]", float, double) {
  using T = TestType;
  std::mt19937_64 rng(7);
  // Magnitudes spread over 2^±40, both signs, and a segment whose scale jumps
  // late (the window must move up after values were added).
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-40, 40);
  const std::size_t n = 97, width = 300;
  const std::vector<std::size_t> ends = {100, 101, 250, 300};
  std::vector<std::vector<T>> values(n, std::vector<T>(width));
  for (std::size_t v = 0; v < n; ++v)
    for (std::size_t i = 0; i < width; ++i)
      values[v][i] = T(std::ldexp(mantissa(rng), exponent(rng) + (v == n - 1 && i < 100 ? 60 : 0)));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const std::vector<T> reference = grouped_sum(values, ends, order, 1);
  for (int groups : {2, 3, 7, 97}) {
    std::shuffle(order.begin(), order.end(), rng);
    const std::vector<T> other = grouped_sum(values, ends, order, groups);
    CHECK(std::memcmp(other.data(), reference.data(), width * sizeof(T)) == 0);
  }
  // Within the bound n·2^(−(K−1)·31)·max|x| per segment, plus the rounding to T.
  const int K = dmlp::exact_sum_words<T>();
  for (std::size_t s = 0, begin = 0; s < ends.size(); begin = ends[s++]) {
    double largest = 0;
    for (const auto& v : values)
      for (std::size_t i = begin; i < ends[s]; ++i) largest = std::max(largest, std::abs(double(v[i])));
    for (std::size_t i = begin; i < ends[s]; ++i) {
      long double exact = 0;  // 64-bit mantissa: near-exact for these ranges
      for (const auto& v : values) exact += (long double)v[i];
      const double bound = double(n) * std::ldexp(largest, -(K - 1) * 31) +
                           std::abs(double(exact)) * std::numeric_limits<T>::epsilon();
      CHECK(std::abs(double(reference[i]) - double(exact)) <= bound);
    }
  }
}

TEST_CASE("exact sums of known values", "[exact_sum]") {
  ExactSum sum({1, 2, 3}, 2);
  const std::vector<float> a = {0.1f, 1e30f, -3.0f}, b = {0.2f, -1e30f, 1.0f}, c = {0.3f, 1.0f, 0.5f};
  for (const auto* v : {&a, &b, &c}) sum.add(std::span<const float>(*v));
  std::vector<float> out(3);
  sum.result(std::span<float>(out));
  CHECK(out[0] == float(double(0.1f) + double(0.2f) + double(0.3f)));
  CHECK(out[1] == 0.0f);  // 1 lies 99 bits below 1e30: below the 62-bit window, dropped
  CHECK(out[2] == -1.5f);
  // Order does not matter, even where the window moves: c then b then a.
  ExactSum reversed({1, 2, 3}, 2);
  for (const auto* v : {&c, &b, &a}) reversed.add(std::span<const float>(*v));
  std::vector<float> again(3);
  reversed.result(std::span<float>(again));
  CHECK(std::memcmp(again.data(), out.data(), sizeof(float) * 3) == 0);
}

TEST_CASE("exact sums mark NaN and infinity, and count what they add", "[exact_sum]") {
  ExactSum sum({2, 4}, 2);
  const std::vector<double> finite = {1, 2, 3, 4}, bad = {INFINITY, 0, 1, 1};
  sum.add(std::span<const double>(finite));
  sum.add(std::span<const double>(bad));
  CHECK(sum.windows()[0] == ExactSum::kNonFinite);
  std::vector<double> out(4);
  sum.result(std::span<double>(out));
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[1]));
  CHECK(out[2] == 4.0);
  CHECK(out[3] == 5.0);
  // A non-finite window wins the max over processes and poisons the others' segment.
  ExactSum other({2, 4}, 2);
  other.add(std::span<const double>(finite));
  other.align_to(std::vector<std::int64_t>(sum.windows().begin(), sum.windows().end()));
  CHECK(other.windows()[0] == ExactSum::kNonFinite);
  // Ranges must be whole segments.
  CHECK_THROWS_AS(sum.add(std::span<const double>(finite.data(), 3)), std::invalid_argument);
  CHECK_NOTHROW(sum.add(std::span<const double>(finite.data(), 2), 2));
}

TEST_CASE("exact sums keep small results of either sign, and subnormal windows", "[exact_sum]") {
  // A negative result far below its segment's largest value: within the bound
  // n·2^-62·M (n = 1, M = 2.6), not lost to cancellation.
  ExactSum sum({2}, 3);
  const std::vector<double> values = {2.6, -1.35e-14};
  sum.add(std::span<const double>(values));
  std::vector<double> out(2);
  sum.result(std::span<double>(out));
  CHECK(out[0] == 2.6);
  CHECK(std::abs(out[1] - -1.35e-14) <= 2.6 * std::ldexp(1.0, -62) + 1.35e-14 * 0x1p-52);
  // The same with the signs mixed over several values.
  ExactSum mixed({1}, 3);
  for (double v : {1.0, -1.0, -3e-15, 1e-15}) mixed.add(std::span<const double>(&v, 1));
  double got = 0;
  mixed.result(std::span<double>(&got, 1));
  CHECK(std::abs(got - -2e-15) <= 4 * std::ldexp(1.0, -62) + 2e-15 * 0x1p-52);
  // A window among subnormal numbers: its scale factors stay finite.
  ExactSum tiny({1}, 3);
  const double t = 1e-310;
  tiny.add(std::span<const double>(&t, 1));
  tiny.add(std::span<const double>(&t, 1));
  tiny.result(std::span<double>(&got, 1));
  CHECK(got == 2e-310);
}

namespace {
// The result of words (c0 c1) in a window whose factor is 1, by the scalar
// steps the header describes: carries into [0, 2^W), the sign, double(c0)
// rounded once, c1·2^-W added, rounded to T.
template <class T>
T scalar_result(std::int64_t c0, std::int64_t c1) {
  const int W = ExactSum::kBinBits;
  auto carry = [&] {
    const std::int64_t up = c1 >> W;
    c1 -= up * (std::int64_t{1} << W);
    c0 += up;
  };
  carry();
  const bool negative = c0 < 0;
  if (negative) c0 = -c0, c1 = -c1;
  carry();
  const double v = double(c1) / double(std::int64_t{1} << W) + double(c0);
  return T(negative ? -v : v);
}
}  // namespace

TEMPLATE_TEST_CASE("exact sums: the vector kernels give the scalar steps' bits", "[exact_sum]", float, double) {
  using T = TestType;
  // Two words an element, set directly: large, negative, carrying, odd tails.
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int64_t> word(-(std::int64_t{1} << 61), std::int64_t{1} << 61);
  std::uniform_int_distribution<int> bits(0, 61);
  for (std::size_t n : {1, 3, 4, 7, 8, 1001}) {
    ExactSum sum({n}, 2);
    const T one = 1;
    sum.add(std::span<const T>(std::vector<T>(n, one)));  // the window of 1: bin 0, factor 1
    std::vector<std::int64_t> c(2 * n);
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = word(rng) >> bits(rng);
    c[0] = std::int64_t{1} << 61, c[1] = -1;  // a carry across the sign
    std::copy(c.begin(), c.end(), sum.words().begin());
    std::vector<T> out(n);
    sum.result(std::span<T>(out));
    for (std::size_t i = 0; i < n; ++i) {
      INFO("n " << n << ", element " << i << ": words " << c[2 * i] << " " << c[2 * i + 1]);
      const T expected = scalar_result<T>(c[2 * i], c[2 * i + 1]);
      CHECK(std::memcmp(&out[i], &expected, sizeof(T)) == 0);
    }
  }
}

TEMPLATE_TEST_CASE("exact sums: take() of several parts equals their adds, and leaves them zero", "[exact_sum]", float,
                   double) {
  using T = TestType;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-30, 30);
  const std::size_t n = 1003;  // odd: the vector loops' tails
  const std::vector<std::size_t> ends = {500, 501, n};
  std::vector<std::vector<T>> parts(6, std::vector<T>(n));
  for (auto& p : parts)
    for (T& x : p) x = T(std::ldexp(mantissa(rng), exponent(rng)));
  parts[5][7] = T(3e20);  // moves segment 0's window up in the second take
  ExactSum one_by_one(ends, dmlp::exact_sum_words<T>()), at_once(ends, dmlp::exact_sum_words<T>());
  for (const auto& p : parts) one_by_one.add(std::span<const T>(p));
  // stale words, cleared lazily: a take after clear(first, count) must not see them
  at_once.add(std::span<const T>(parts[0]));
  at_once.clear(0, n);
  std::vector<T*> first{parts[0].data(), parts[1].data(), parts[2].data()}, second{parts[3].data(), parts[4].data(),
                                                                                   parts[5].data()};
  auto copies = parts;
  at_once.take(std::span<T* const>(first), 0, n);
  at_once.take(std::span<T* const>(second), 0, n);
  for (const auto& p : parts) CHECK(std::all_of(p.begin(), p.end(), [](T x) { return x == T(0); }));
  std::vector<T> a(n), b(n);
  one_by_one.result(std::span<T>(a));
  at_once.result(std::span<T>(b));
  CHECK(std::memcmp(a.data(), b.data(), n * sizeof(T)) == 0);
  CHECK(std::equal(one_by_one.windows().begin(), one_by_one.windows().end(), at_once.windows().begin()));
  // a segment cleared and never added to: empty, its result zero, even aligned to another's window
  ExactSum stale(ends, dmlp::exact_sum_words<T>());
  stale.add(std::span<const T>(copies[0]));
  stale.clear(501, n - 501);
  std::vector<std::int64_t> windows(one_by_one.windows().begin(), one_by_one.windows().end());
  stale.align_to(std::span<const std::int64_t>(windows).subspan(2, 1), 2);
  std::vector<T> tail(n - 501);
  stale.result(std::span<T>(tail), 501);
  CHECK(std::all_of(tail.begin(), tail.end(), [](T x) { return x == T(0); }));
  // aligned to an empty window (the segment empty on every rank) or a
  // non-finite one: its words, which an all-reduce then sums, are zeros
  for (const std::int64_t agreed : {ExactSum::kEmpty, ExactSum::kNonFinite}) {
    stale.add(std::span<const T>(copies[1]).subspan(501), 501);
    stale.clear(501, n - 501);
    const std::vector<std::int64_t> given{agreed};
    stale.align_to(std::span<const std::int64_t>(given), 2);
    const auto words = stale.words().subspan(501 * std::size_t(stale.words_per_element()));
    CHECK(std::all_of(words.begin(), words.end(), [](std::int64_t w) { return w == 0; }));
  }
}

TEST_CASE("exact sums: every CPU version of the float kernels gives the same words and results", "[exact_sum]") {
  const dmlp::CpuKernels in_use = dmlp::exact_sum_kernels();
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-40, 40), kind(0, 29);
  std::uniform_int_distribution<std::int64_t> word(-(std::int64_t{1} << 61), std::int64_t{1} << 61);
  const std::size_t n = 1037;  // the vector loops' tails, and blocks of 8 and 16
  const std::vector<std::size_t> ends = {300, 301, 777, n};
  std::vector<std::vector<float>> parts(9, std::vector<float>(n));
  for (auto& p : parts)
    for (float& x : p) {
      const int k = kind(rng);
      x = k == 0 ? 0.0f : k == 1 ? -0.0f : k == 2 ? 1e-40f : float(std::ldexp(mantissa(rng), exponent(rng)));
    }
  parts[6][5] = 1e30f;  // raises segment 0's window in the last take
  std::vector<std::int64_t> raw(2 * n);
  for (auto& w : raw) w = word(rng) >> (rng() % 62);
  // the words and windows after the takes, the results, and the results of raw words
  struct Outcome {
    std::vector<std::int64_t> words, windows;
    std::vector<float> result, raw_result;
  };
  const auto run = [&](dmlp::CpuKernels k) {
    dmlp::force_exact_sum_kernels(k);
    ExactSum sum(ends, 2);
    auto copies = parts;
    for (std::size_t p0 = 0; p0 < copies.size(); p0 += 3) {
      std::vector<float*> group{copies[p0].data(), copies[p0 + 1].data(), copies[p0 + 2].data()};
      sum.take(std::span<float* const>(group), 0, n);
    }
    Outcome o{{sum.words().begin(), sum.words().end()}, {sum.windows().begin(), sum.windows().end()},
              std::vector<float>(n), std::vector<float>(n)};
    sum.result(std::span<float>(o.result));
    ExactSum words_set({n}, 2);
    words_set.add(std::span<const float>(std::vector<float>(n, 1.0f)));  // window 0: factor 1
    std::copy(raw.begin(), raw.end(), words_set.words().begin());
    words_set.result(std::span<float>(o.raw_result));
    return o;
  };
  const Outcome portable = run(dmlp::CpuKernels::portable);
  for (const auto k : {dmlp::CpuKernels::avx2, dmlp::CpuKernels::avx512}) {
    if (!dmlp::exact_sum_kernels_run_here(k)) continue;
    INFO(dmlp::cpu_kernels_name(k));
    const Outcome o = run(k);
    CHECK(o.words == portable.words);
    CHECK(o.windows == portable.windows);
    CHECK(std::memcmp(o.result.data(), portable.result.data(), n * sizeof(float)) == 0);
    CHECK(std::memcmp(o.raw_result.data(), portable.raw_result.data(), n * sizeof(float)) == 0);
  }
  dmlp::force_exact_sum_kernels(in_use);
}
