#include "dmlp/core/exact_sum.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "dmlp/core/parallel.hpp"

namespace dmlp {
namespace {
constexpr int W = ExactSum::kBinBits;
constexpr double kBinScale = double(std::int64_t{1} << W);  // 2^W

// The index j of the bin that holds the leading bit of m > 0: 2^(jW) ≤ m < 2^((j+1)W).
std::int64_t top_bin(double m) {
  int e = 0;
  std::frexp(m, &e);  // 2^(e-1) ≤ m < 2^e
  const std::int64_t bit = e - 1;
  return bit >= 0 ? bit / W : -((-bit + W - 1) / W);  // floor(bit / W)
}

// The hot loops, compiled for AVX-512 and AVX2 as well as the baseline and
// picked at load time: every operation in them is exact (integer pieces,
// multiplications by powers of two) or one IEEE rounding, so each version
// gives the same bits. This file is built with -ffp-contract=off.
#define DMLP_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))

// Largest |x|, and whether every x is finite.
#define DMLP_LARGEST(T)                                                      \
  DMLP_CLONES double block_largest(const T* x, std::size_t n, int* finite) { \
    double largest = 0;                                                      \
    int bad = 0;                                                             \
    for (std::size_t i = 0; i < n; ++i) {                                    \
      const double a = std::abs(double(x[i]));                               \
      bad |= !(a <= std::numeric_limits<double>::max());                     \
      largest = a > largest ? a : largest;                                   \
    }                                                                        \
    *finite = !bad;                                                          \
    return largest;                                                          \
  }
DMLP_LARGEST(float)
DMLP_LARGEST(double)
#undef DMLP_LARGEST

// words(n, K) += the pieces of x in the window whose top bin is j, where
// y = x·2^(−jW) = x·scale_hi·scale_lo: two factors, so that neither overflows
// when the window lies among subnormal numbers.
#define DMLP_ADD_PIECES(T, K)                                                                       \
  DMLP_CLONES void block_add_pieces_##K(const T* x, std::size_t n, double scale_hi, double scale_lo, \
                                        std::int64_t* words) {                                      \
    for (std::size_t i = 0; i < n; ++i) {                                                           \
      double y = double(x[i]) * scale_hi * scale_lo; /* exact: powers of two, |y| < 2^W */         \
      for (int k = 0; k < K; ++k) {                                                                 \
        const auto piece = static_cast<std::int64_t>(y); /* truncates toward zero */                \
        words[i * K + k] += piece;                                                                  \
        y = (y - double(piece)) * kBinScale; /* exact: the fraction left, moved up one bin */       \
      }                                                                                             \
    }                                                                                               \
  }
DMLP_ADD_PIECES(float, 1)
DMLP_ADD_PIECES(float, 2)
DMLP_ADD_PIECES(float, 3)
DMLP_ADD_PIECES(double, 1)
DMLP_ADD_PIECES(double, 2)
DMLP_ADD_PIECES(double, 3)
#undef DMLP_ADD_PIECES

// out = the sums the words hold, in sign and magnitude. The words of a
// negative sum are negated; then each word's excess carries into the one
// above, so that every word is non-negative and the lower ones lie in
// [0, 2^W): one representation of |sum|, which rounds into a double word by
// word from the lowest, with no cancellation, and once more into T.
#define DMLP_RESULT(T, K)                                                                                 \
  DMLP_CLONES void block_result_##K(const std::int64_t* words, std::size_t n, double factor, T* out) {    \
    for (std::size_t i = 0; i < n; ++i) {                                                                 \
      std::int64_t c[K];                                                                                  \
      for (int k = 0; k < K; ++k) c[k] = words[i * K + k];                                                \
      for (int k = K - 1; k > 0; --k) { /* the sign of the sum is the top word's after this */           \
        const std::int64_t carry = c[k] >> W; /* floor division by 2^W */                                 \
        c[k] -= carry * (std::int64_t{1} << W);                                                           \
        c[k - 1] += carry;                                                                                \
      }                                                                                                   \
      const bool negative = c[0] < 0;                                                                     \
      for (int k = 0; k < K; ++k) c[k] = negative ? -c[k] : c[k];                                         \
      for (int k = K - 1; k > 0; --k) {                                                                   \
        const std::int64_t carry = c[k] >> W;                                                             \
        c[k] -= carry * (std::int64_t{1} << W);                                                           \
        c[k - 1] += carry;                                                                                \
      }                                                                                                   \
      double v = 0;                                                                                       \
      for (int k = K - 1; k >= 0; --k) v = v / kBinScale + double(c[k]);                                  \
      out[i] = T((negative ? -v : v) * factor);                                                           \
    }                                                                                                     \
  }
DMLP_RESULT(float, 1)
DMLP_RESULT(float, 2)
DMLP_RESULT(float, 3)
DMLP_RESULT(double, 1)
DMLP_RESULT(double, 2)
DMLP_RESULT(double, 3)
#undef DMLP_RESULT
#undef DMLP_CLONES

constexpr std::size_t kBlock = 4096;  // elements per OpenMP work item

template <class T>
double largest_magnitude(const T* x, std::size_t n) {
  double largest = 0;
  int finite = 1;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) reduction(max : largest) reduction(&& : finite) if (n >= kParallelThreshold)
  for (std::size_t b = 0; b < blocks; ++b) {
    int block_finite = 1;
    largest = std::max(largest, block_largest(x + b * kBlock, std::min(kBlock, n - b * kBlock), &block_finite));
    finite = finite && block_finite;
  }
  return finite ? largest : std::numeric_limits<double>::infinity();
}

template <class T>
void add_pieces(const T* x, std::size_t n, double scale_hi, double scale_lo, std::int64_t* words, int K) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::size_t b = 0; b < blocks; ++b) {
    const T* xb = x + b * kBlock;
    const std::size_t nb = std::min(kBlock, n - b * kBlock);
    std::int64_t* wb = words + b * kBlock * std::size_t(K);
    if (K == 1) block_add_pieces_1(xb, nb, scale_hi, scale_lo, wb);
    else if (K == 2) block_add_pieces_2(xb, nb, scale_hi, scale_lo, wb);
    else block_add_pieces_3(xb, nb, scale_hi, scale_lo, wb);
  }
}

template <class T>
void convert_words(const std::int64_t* words, std::size_t n, double factor, T* out, int K) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::int64_t* wb = words + b * kBlock * std::size_t(K);
    const std::size_t nb = std::min(kBlock, n - b * kBlock);
    T* ob = out + b * kBlock;
    if (K == 1) block_result_1(wb, nb, factor, ob);
    else if (K == 2) block_result_2(wb, nb, factor, ob);
    else block_result_3(wb, nb, factor, ob);
  }
}
}  // namespace

ExactSum::ExactSum(std::vector<std::size_t> segment_ends, int words)
    : segment_ends_(std::move(segment_ends)),
      words_(words),
      windows_(segment_ends_.size(), kEmpty),
      values_(segment_ends_.size(), 0),
      words_buffer_(size() * std::size_t(words)) {
  if (words < 1 || words > 3) throw std::invalid_argument("ExactSum: 1 to 3 words per element");
  for (std::size_t s = 0; s < segment_ends_.size(); ++s)
    if (segment_ends_[s] <= (s == 0 ? 0 : segment_ends_[s - 1]))
      throw std::invalid_argument("ExactSum: segments must be non-empty and in order");
}

void ExactSum::clear() {
  std::fill(windows_.begin(), windows_.end(), kEmpty);
  std::fill(values_.begin(), values_.end(), 0);
  std::fill(words_buffer_.begin(), words_buffer_.end(), 0);
}

std::pair<std::size_t, std::size_t> ExactSum::segments_of(std::size_t first, std::size_t count) const {
  // segment s is [ends[s-1], ends[s]); the ends rise strictly
  const auto& ends = segment_ends_;
  const auto s0 = std::size_t(std::upper_bound(ends.begin(), ends.end(), first) - ends.begin());
  const auto s1 = std::size_t(std::lower_bound(ends.begin(), ends.end(), first + count) - ends.begin()) + 1;
  const bool whole = (s0 == 0 ? 0 : ends[s0 - 1]) == first && s1 <= ends.size() && ends[s1 - 1] == first + count;
  if (count == 0) return {s0, s0};
  if (!whole)
    throw std::invalid_argument("ExactSum: the range [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") is not whole segments");
  return {s0, s1};
}

void ExactSum::raise_window(std::size_t s, std::int64_t window) {
  const std::int64_t old = windows_[s];
  windows_[s] = window;
  if (old == kEmpty || old == window) return;  // an empty segment's words are all zero
  const std::int64_t shift = window - old;
  const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
  std::int64_t* w = words_buffer_.data() + begin * std::size_t(words_);
  const int K = words_;
  // word k of the new window is word k − shift of the old one; the lowest fall off
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::size_t i = 0; i < n; ++i)
    for (int k = K - 1; k >= 0; --k) w[i * K + k] = k - shift >= 0 ? w[i * K + std::size_t(k - shift)] : 0;
}

template <class T>
void ExactSum::add_values(std::span<const T> x, std::size_t first) {
  const auto [s0, s1] = segments_of(first, x.size());
  for (std::size_t s = s0; s < s1; ++s) {
    const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
    if (++values_[s] > kMaxValues)
      throw std::overflow_error("exact sum: more than " + std::to_string(kMaxValues) +
                                " values added to one element would overflow its 64-bit words");
    if (windows_[s] == kNonFinite) continue;
    const T* xs = x.data() + (begin - first);
    const double largest = largest_magnitude(xs, n);
    if (std::isinf(largest)) {
      windows_[s] = kNonFinite;
      continue;
    }
    if (largest == 0) continue;  // adds nothing
    const std::int64_t top = top_bin(largest);
    if (windows_[s] == kEmpty || top > windows_[s]) raise_window(s, top);
    const int shift = int(-windows_[s] * W);  // |shift| < 1200: doubles' exponents are in [-1074, 1024)
    std::int64_t* w = words_buffer_.data() + begin * std::size_t(words_);
    add_pieces(xs, n, std::ldexp(1.0, shift / 2), std::ldexp(1.0, shift - shift / 2), w, words_);
  }
}

void ExactSum::add(std::span<const float> x, std::size_t first) { add_values(x, first); }
void ExactSum::add(std::span<const double> x, std::size_t first) { add_values(x, first); }

void ExactSum::align_to(std::span<const std::int64_t> windows) {
  if (windows.size() != windows_.size()) throw std::invalid_argument("ExactSum::align_to: wrong number of windows");
  for (std::size_t s = 0; s < windows_.size(); ++s) {
    if (windows[s] == kNonFinite) {
      windows_[s] = kNonFinite;
    } else if (windows_[s] == kNonFinite || windows[s] < windows_[s]) {
      throw std::invalid_argument("ExactSum::align_to: a window below this accumulator's");
    } else if (windows[s] != kEmpty) {
      raise_window(s, windows[s]);
    }
  }
}

template <class T>
void ExactSum::result_values(std::span<T> out, std::size_t first) const {
  const auto [s0, s1] = segments_of(first, out.size());
  const int K = words_;
  for (std::size_t s = s0; s < s1; ++s) {
    const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
    T* o = out.data() + (begin - first);
    const std::int64_t window = windows_[s];
    if (window == kNonFinite || window == kEmpty) {
      std::fill_n(o, n, window == kEmpty ? T(0) : std::numeric_limits<T>::quiet_NaN());
      continue;
    }
    const std::int64_t* w = words_buffer_.data() + begin * std::size_t(K);
    const int exponent = int(std::clamp<std::int64_t>(window * W, -100000, 100000));
    if (exponent >= -1022 && exponent <= 1023) {
      convert_words(w, n, std::ldexp(1.0, exponent), o, K);  // 2^exponent: a multiply is exact
    } else {  // windows at the ends of the range: ldexp, one value at a time
      std::vector<double> one(1);
      for (std::size_t i = 0; i < n; ++i) {
        convert_words(w + i * K, 1, 1.0, one.data(), K);
        o[i] = T(std::ldexp(one[0], exponent));
      }
    }
  }
}

void ExactSum::result(std::span<float> out, std::size_t first) const { result_values(out, first); }
void ExactSum::result(std::span<double> out, std::size_t first) const { result_values(out, first); }

}  // namespace dmlp
