#include "dmlp/core/exact_sum.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

// GCC 12 warns falsely inside the AVX-512 intrinsics, whose _mm512_undefined_*
// placeholders it takes for uninitialised reads (GCC bug 105593); the warning
// is placed in the header, so it is silenced for the header's lines alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <omp.h>

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
// picked at load time by the CPU's features (not its model: "arch=haswell"
// clones are never picked on AMD CPUs): every operation in them is exact
// (integer pieces, multiplications by powers of two) or one IEEE rounding, so
// each version gives the same bits. This file is built with -ffp-contract=off.
#define DMLP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// Largest |x|, and whether every x is finite, from the bits: with the sign
// cleared, a float's bits order as its magnitude does, and infinity and NaN
// lie at or above the bits of infinity. An integer max, which vectorises.
#define DMLP_LARGEST(T, Bits)                                                \
  DMLP_CLONES double block_largest(const T* x, std::size_t n, int* finite) { \
    constexpr Bits magnitude = std::numeric_limits<Bits>::max();            \
    constexpr Bits infinity = std::bit_cast<Bits>(std::numeric_limits<T>::infinity()); \
    Bits top = 0;                                                            \
    for (std::size_t i = 0; i < n; ++i) {                                    \
      const Bits b = std::bit_cast<Bits>(x[i]) & magnitude;                  \
      top = b > top ? b : top;                                               \
    }                                                                        \
    *finite = top < infinity;                                                \
    return double(std::bit_cast<T>(top));                                    \
  }
DMLP_LARGEST(float, std::int32_t)
DMLP_LARGEST(double, std::int64_t)

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

// The same pieces for AVX2 CPUs without AVX-512 (AMD Zen 1-3): AVX2 has no
// double → int64 conversion, so the loop above stays scalar there. trunc(y)
// is vroundpd, and for an integer |t| < 2^51 the bits of t + 1.5·2^52 less
// those of 1.5·2^52 are t as an int64: both exact, the same pieces.
template <int K>
__attribute__((target("avx2"))) inline void pieces4(__m256d y, __m256i* piece) {
  const __m256d magic = _mm256_set1_pd(0x1.8p52);
  const __m256i magic_bits = _mm256_castpd_si256(magic);
  const __m256d bin = _mm256_set1_pd(kBinScale);
  for (int k = 0; k < K; ++k) {
    const __m256d t = _mm256_round_pd(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    piece[k] = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(t, magic)), magic_bits);
    y = _mm256_mul_pd(_mm256_sub_pd(y, t), bin);
  }
}

template <int K>
__attribute__((target("avx2"))) inline void add_pieces4(__m256d y, std::int64_t* w) {  // 4 elements' K words
  __m256i p[K];
  pieces4<K>(y, p);
  if constexpr (K == 2) {  // words in element order: (a0 b0 a1 b1) (a2 b2 a3 b3)
    const __m256i lo = _mm256_unpacklo_epi64(p[0], p[1]), hi = _mm256_unpackhi_epi64(p[0], p[1]);
    __m256i* out = reinterpret_cast<__m256i*>(w);
    _mm256_storeu_si256(out, _mm256_add_epi64(_mm256_loadu_si256(out), _mm256_permute2x128_si256(lo, hi, 0x20)));
    _mm256_storeu_si256(out + 1,
                        _mm256_add_epi64(_mm256_loadu_si256(out + 1), _mm256_permute2x128_si256(lo, hi, 0x31)));
  } else {
    alignas(32) std::int64_t lanes[K][4];
    for (int k = 0; k < K; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[k]), p[k]);
    for (int l = 0; l < 4; ++l)
      for (int k = 0; k < K; ++k) w[l * K + k] += lanes[k][l];
  }
}

template <int K, class T>
__attribute__((target("avx2"))) void block_add_pieces_avx2(const T* x, std::size_t n, double scale_hi,
                                                           double scale_lo, std::int64_t* words) {
  const __m256d hi = _mm256_set1_pd(scale_hi), lo = _mm256_set1_pd(scale_lo);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d y;
    if constexpr (sizeof(T) == 4) y = _mm256_cvtps_pd(_mm_loadu_ps(reinterpret_cast<const float*>(x + i)));
    else y = _mm256_loadu_pd(reinterpret_cast<const double*>(x + i));
    add_pieces4<K>(_mm256_mul_pd(_mm256_mul_pd(y, hi), lo), words + i * K);
  }
  for (; i < n; ++i) {  // the tail, one element at a time
    double y = double(x[i]) * scale_hi * scale_lo;
    for (int k = 0; k < K; ++k) {
      const double t = std::trunc(y);
      words[i * K + k] += static_cast<std::int64_t>(t);
      y = (y - t) * kBinScale;
    }
  }
}

// Floats with K = 2 on AVX2, 8 at a time in float arithmetic, all exact: y =
// x·2^s (factors f1·f2, each a float; where y underflows its pieces are 0
// either way), p_0 = trunc(y) (|y| < 2^31, and p_0 has y's 24 bits at most,
// so float(p_0) is exact), p_1 = trunc((y − p_0)·2^31). Leaves x zero, when
// `zero`: the caller's next GEMM adds into it.
__attribute__((target("avx2"))) void block_add_float_pieces_avx2(float* x, std::size_t n, int shift,
                                                                std::int64_t* words, bool zero) {
  const __m256 f1 = _mm256_set1_ps(std::ldexp(1.0f, shift / 2)), f2 = _mm256_set1_ps(std::ldexp(1.0f, shift - shift / 2));
  const __m256 bin = _mm256_set1_ps(float(kBinScale));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), f1), f2);
    const __m256i p0 = _mm256_cvttps_epi32(y);
    const __m256i p1 = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_sub_ps(y, _mm256_cvtepi32_ps(p0)), bin));
    if (zero) _mm256_storeu_ps(x + i, _mm256_setzero_ps());
    // words in element order, (p0 p1) per element
    const __m256i lo = _mm256_unpacklo_epi32(p0, p1), hi = _mm256_unpackhi_epi32(p0, p1);
    const __m256i w[4] = {_mm256_cvtepi32_epi64(_mm256_castsi256_si128(lo)),
                          _mm256_cvtepi32_epi64(_mm256_castsi256_si128(hi)),
                          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(lo, 1)),
                          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(hi, 1))};
    __m256i* out = reinterpret_cast<__m256i*>(words + i * 2);
    for (int q = 0; q < 4; ++q) _mm256_storeu_si256(out + q, _mm256_add_epi64(_mm256_loadu_si256(out + q), w[q]));
  }
  const double hi = std::ldexp(1.0, shift / 2), lo = std::ldexp(1.0, shift - shift / 2);
  for (; i < n; ++i) {  // the tail, in doubles: the same pieces
    double y = double(x[i]) * hi * lo;
    for (int k = 0; k < 2; ++k) {
      const double t = std::trunc(y);
      words[i * 2 + k] += static_cast<std::int64_t>(t);
      y = (y - t) * kBinScale;
    }
    if (zero) x[i] = 0;
  }
}

// Several parts at once into the same words, which are loaded and stored
// once: words (= or +=) Σ_parts pieces(part[offset …]), the parts left zero
// if `zero`. The pieces as block_add_float_pieces_avx2's.
__attribute__((target("avx2"))) void block_add_float_parts_avx2(float* const* parts, std::size_t count,
                                                               std::size_t offset, std::size_t n, int shift,
                                                               std::int64_t* words, bool zero, bool overwrite) {
  const __m256 f1 = _mm256_set1_ps(std::ldexp(1.0f, shift / 2)), f2 = _mm256_set1_ps(std::ldexp(1.0f, shift - shift / 2));
  const __m256 bin = _mm256_set1_ps(float(kBinScale));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i* out = reinterpret_cast<__m256i*>(words + i * 2);
    __m256i acc[4];
    for (int q = 0; q < 4; ++q) acc[q] = overwrite ? _mm256_setzero_si256() : _mm256_loadu_si256(out + q);
    for (std::size_t p = 0; p < count; ++p) {
      float* x = parts[p] + offset + i;
      const __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x), f1), f2);
      const __m256i p0 = _mm256_cvttps_epi32(y);
      const __m256i p1 = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_sub_ps(y, _mm256_cvtepi32_ps(p0)), bin));
      if (zero) _mm256_storeu_ps(x, _mm256_setzero_ps());
      const __m256i lo = _mm256_unpacklo_epi32(p0, p1), hi = _mm256_unpackhi_epi32(p0, p1);
      acc[0] = _mm256_add_epi64(acc[0], _mm256_cvtepi32_epi64(_mm256_castsi256_si128(lo)));
      acc[1] = _mm256_add_epi64(acc[1], _mm256_cvtepi32_epi64(_mm256_castsi256_si128(hi)));
      acc[2] = _mm256_add_epi64(acc[2], _mm256_cvtepi32_epi64(_mm256_extracti128_si256(lo, 1)));
      acc[3] = _mm256_add_epi64(acc[3], _mm256_cvtepi32_epi64(_mm256_extracti128_si256(hi, 1)));
    }
    for (int q = 0; q < 4; ++q) _mm256_storeu_si256(out + q, acc[q]);
  }
  if (i == n) return;
  if (overwrite) std::fill_n(words + i * 2, (n - i) * 2, 0);
  for (std::size_t p = 0; p < count; ++p) block_add_float_pieces_avx2(parts[p] + offset + i, n - i, shift, words + i * 2, zero);
}

// Doubles on AVX2 without AVX-512: the intrinsics; otherwise the clones
// above, whose AVX-512 version converts doubles to int64 in one instruction.
bool use_avx2_pieces() {
  static const bool use = __builtin_cpu_supports("avx2") && !__builtin_cpu_supports("avx512dq");
  return use;
}
// Floats, two words each: AVX-512 (with DQ) where the CPU has it, else AVX2,
// else the clones, unless a test forced another (force_exact_sum_kernels).
// The clones add one part at a time and load and store the words for each;
// the vector versions add all of a tile's parts in one pass over them (on an
// AVX-512 Zen 4, --reproducible's step at 1 x 2 fell from 31 to 25 ms when
// the AVX2 one replaced the clones there).
std::atomic<int>& kernels_in_use() {
  static std::atomic<int> k{int(exact_sum_kernels_run_here(CpuKernels::avx512) ? CpuKernels::avx512
                                : exact_sum_kernels_run_here(CpuKernels::avx2) ? CpuKernels::avx2
                                                                                    : CpuKernels::portable)};
  return k;
}
bool use_avx2_float_pieces() { return exact_sum_kernels() != CpuKernels::portable; }
bool use_avx512_float_pieces() { return exact_sum_kernels() == CpuKernels::avx512; }

// block_add_float_parts_avx2 on AVX-512, 8 elements a step: the same pieces,
// p_0 = trunc(y) and p_1 = trunc((y − p_0)·2^31), each exact, converted
// straight to int64 (AVX512DQ) and interleaved into the words' (p_0 p_1) order.
__attribute__((target("avx512f,avx512dq,avx512vl"))) void block_add_float_parts_512(
    float* const* parts, std::size_t count, std::size_t offset, std::size_t n, int shift, std::int64_t* words,
    bool zero, bool overwrite) {
  const __m256 f1 = _mm256_set1_ps(std::ldexp(1.0f, shift / 2)), f2 = _mm256_set1_ps(std::ldexp(1.0f, shift - shift / 2));
  const __m256 bin = _mm256_set1_ps(float(kBinScale));
  const __m512i first4 = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), last4 = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::int64_t* out = words + i * 2;
    __m512i acc0 = overwrite ? _mm512_setzero_si512() : _mm512_loadu_si512(out);
    __m512i acc1 = overwrite ? _mm512_setzero_si512() : _mm512_loadu_si512(out + 8);
    for (std::size_t p = 0; p < count; ++p) {
      float* x = parts[p] + offset + i;
      const __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x), f1), f2);
      const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512i p0 = _mm512_cvttps_epi64(t);
      const __m512i p1 = _mm512_cvttps_epi64(_mm256_mul_ps(_mm256_sub_ps(y, t), bin));
      if (zero) _mm256_storeu_ps(x, _mm256_setzero_ps());
      acc0 = _mm512_add_epi64(acc0, _mm512_permutex2var_epi64(p0, first4, p1));
      acc1 = _mm512_add_epi64(acc1, _mm512_permutex2var_epi64(p0, last4, p1));
    }
    _mm512_storeu_si512(out, acc0);
    _mm512_storeu_si512(out + 8, acc1);
  }
  if (i == n) return;
  if (overwrite) std::fill_n(words + i * 2, (n - i) * 2, 0);
  for (std::size_t p = 0; p < count; ++p) block_add_float_pieces_avx2(parts[p] + offset + i, n - i, shift, words + i * 2, zero);
}

template <class T>
void block_add_pieces(const T* x, std::size_t n, double scale_hi, double scale_lo, std::int64_t* words, int K) {
  if (use_avx2_pieces()) {
    if (K == 1) block_add_pieces_avx2<1>(x, n, scale_hi, scale_lo, words);
    else if (K == 2) block_add_pieces_avx2<2>(x, n, scale_hi, scale_lo, words);
    else block_add_pieces_avx2<3>(x, n, scale_hi, scale_lo, words);
  } else {
    if (K == 1) block_add_pieces_1(x, n, scale_hi, scale_lo, words);
    else if (K == 2) block_add_pieces_2(x, n, scale_hi, scale_lo, words);
    else block_add_pieces_3(x, n, scale_hi, scale_lo, words);
  }
}

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

// Large enough to split over threads, and not already on one of several
// threads (--reproducible adds tiles from many threads at once).
bool worth_threads(std::size_t n) { return n >= kParallelThreshold && !omp_in_parallel(); }

template <class T>
double largest_magnitude(const T* x, std::size_t n) {
  double largest = 0;
  int finite = 1;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) reduction(max : largest) reduction(&& : finite) if (worth_threads(n))
  for (std::size_t b = 0; b < blocks; ++b) {
    int block_finite = 1;
    largest = std::max(largest, block_largest(x + b * kBlock, std::min(kBlock, n - b * kBlock), &block_finite));
    finite = finite && block_finite;
  }
  return finite ? largest : std::numeric_limits<double>::infinity();
}

// words += the pieces of x in the window 2^shift; x becomes zero if `zero`.
template <class T>
void add_pieces(T* x, std::size_t n, int shift, std::int64_t* words, int K, bool zero) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  const double scale_hi = std::ldexp(1.0, shift / 2), scale_lo = std::ldexp(1.0, shift - shift / 2);
#pragma omp parallel for schedule(static) if (worth_threads(n))
  for (std::size_t b = 0; b < blocks; ++b) {
    T* xb = x + b * kBlock;
    const std::size_t nb = std::min(kBlock, n - b * kBlock);
    std::int64_t* wb = words + b * kBlock * std::size_t(K);
    if constexpr (sizeof(T) == 4) {
      if (K == 2 && use_avx2_float_pieces()) {
        block_add_float_pieces_avx2(xb, nb, shift, wb, zero);
        continue;
      }
    }
    block_add_pieces(xb, nb, scale_hi, scale_lo, wb, K);
    if (zero) std::fill_n(xb, nb, T(0));
  }
}

// block_result_2 on AVX2, 4 elements at a time, with the same operations:
// AVX2 lacks the 64-bit arithmetic shift and int64 → double conversion, so
// floor(c / 2^W) is built from a logical shift, and double(c) for c ≥ 0 as
// double(c's high 32 bits)·2^32 + double(its low 32 bits): both terms exact,
// the sum rounded once, as the scalar conversion rounds.
__attribute__((target("avx2"))) inline __m256i floor_bins(__m256i c) {  // floor(c / 2^W)
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), c);
  return _mm256_xor_si256(_mm256_srli_epi64(_mm256_xor_si256(c, sign), W), sign);
}
__attribute__((target("avx2"))) inline void carry_up(__m256i& top, __m256i& low) {  // low into [0, 2^W)
  const __m256i carry = floor_bins(low);
  low = _mm256_sub_epi64(low, _mm256_slli_epi64(carry, W));
  top = _mm256_add_epi64(top, carry);
}
__attribute__((target("avx2"))) inline __m256d small_to_double(__m256i c) {  // 0 ≤ c < 2^52
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(c, _mm256_castpd_si256(two52))), two52);
}
template <class T>
__attribute__((target("avx2"))) void block_result_2_avx2(const std::int64_t* words, std::size_t n, double factor,
                                                          T* out) {
  const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
  const __m256d bin_down = _mm256_set1_pd(1.0 / kBinScale), two32 = _mm256_set1_pd(0x1p32);
  const __m256d scale = _mm256_set1_pd(factor), sign_bit = _mm256_set1_pd(-0.0);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words + i * 2));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words + i * 2 + 4));
    // (c0 c1) pairs of elements i…i+3 into c0 and c1, each in element order
    __m256i top = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(a, b), 0xD8);
    __m256i low = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(a, b), 0xD8);
    carry_up(top, low);
    const __m256i negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), top);
    top = _mm256_sub_epi64(_mm256_xor_si256(top, negative), negative);
    low = _mm256_sub_epi64(_mm256_xor_si256(low, negative), negative);
    carry_up(top, low);
    const __m256d top_double = _mm256_add_pd(_mm256_mul_pd(small_to_double(_mm256_srli_epi64(top, 32)), two32),
                                             small_to_double(_mm256_and_si256(top, low32)));
    __m256d v = _mm256_add_pd(_mm256_mul_pd(small_to_double(low), bin_down), top_double);
    v = _mm256_xor_pd(v, _mm256_and_pd(_mm256_castsi256_pd(negative), sign_bit));
    v = _mm256_mul_pd(v, scale);
    if constexpr (sizeof(T) == 4) _mm_storeu_ps(reinterpret_cast<float*>(out + i), _mm256_cvtpd_ps(v));
    else _mm256_storeu_pd(reinterpret_cast<double*>(out + i), v);
  }
  if (i < n) block_result_2(words + i * 2, n - i, factor, out + i);
}

__attribute__((target("avx512f"))) inline void carry_up_512(__m512i& top, __m512i& low) {  // low into [0, 2^W)
  const __m512i carry = _mm512_srai_epi64(low, W);
  low = _mm512_sub_epi64(low, _mm512_slli_epi64(carry, W));
  top = _mm512_add_epi64(top, carry);
}

// block_result_2 on AVX-512, 8 elements at a time, with its operations: the
// 64-bit arithmetic shift and int64 → double conversion (rounded to nearest,
// as the scalar conversion) that AVX2 lacks.
template <class T>
__attribute__((target("avx512f,avx512dq,avx512vl"))) void block_result_2_512(const std::int64_t* words, std::size_t n,
                                                                            double factor, T* out) {
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
  const __m512d bin_down = _mm512_set1_pd(1.0 / kBinScale), scale = _mm512_set1_pd(factor);
  const __m512i zero = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512i a = _mm512_loadu_si512(words + i * 2), b = _mm512_loadu_si512(words + i * 2 + 8);
    __m512i top = _mm512_permutex2var_epi64(a, even, b), low = _mm512_permutex2var_epi64(a, odd, b);
    carry_up_512(top, low);
    const __mmask8 negative = _mm512_cmplt_epi64_mask(top, zero);
    top = _mm512_mask_sub_epi64(top, negative, zero, top);
    low = _mm512_mask_sub_epi64(low, negative, zero, low);
    carry_up_512(top, low);
    __m512d v = _mm512_add_pd(_mm512_mul_pd(_mm512_cvtepi64_pd(low), bin_down), _mm512_cvtepi64_pd(top));
    v = _mm512_mask_sub_pd(v, negative, _mm512_setzero_pd(), v);
    v = _mm512_mul_pd(v, scale);
    if constexpr (sizeof(T) == 4) _mm256_storeu_ps(reinterpret_cast<float*>(out + i), _mm512_cvtpd_ps(v));
    else _mm512_storeu_pd(reinterpret_cast<double*>(out + i), v);
  }
  if (i < n) block_result_2_avx2(words + i * 2, n - i, factor, out + i);
}

// block_add_float_parts_512 or _avx2 over blocks of kBlock elements, on the threads if worth it.
void add_float_parts(std::span<float* const> parts, std::size_t offset, std::size_t n, int shift,
                     std::int64_t* words, bool zero, bool overwrite) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (worth_threads(n))
  for (std::size_t b = 0; b < blocks; ++b)
    (use_avx512_float_pieces() ? block_add_float_parts_512 : block_add_float_parts_avx2)(
        parts.data(), parts.size(), offset + b * kBlock, std::min(kBlock, n - b * kBlock), shift, words + b * kBlock * 2,
        zero, overwrite);
}

template <class T>
void convert_words(const std::int64_t* words, std::size_t n, double factor, T* out, int K) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (worth_threads(n))
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::int64_t* wb = words + b * kBlock * std::size_t(K);
    const std::size_t nb = std::min(kBlock, n - b * kBlock);
    T* ob = out + b * kBlock;
    if (K == 1) block_result_1(wb, nb, factor, ob);
    else if (K == 2 && use_avx512_float_pieces()) block_result_2_512(wb, nb, factor, ob);
    else if (K == 2 && use_avx2_float_pieces()) block_result_2_avx2(wb, nb, factor, ob);
    else if (K == 2) block_result_2(wb, nb, factor, ob);
    else block_result_3(wb, nb, factor, ob);
  }
}
}  // namespace

bool exact_sum_kernels_run_here(CpuKernels k) {
  switch (k) {
    case CpuKernels::avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                                         __builtin_cpu_supports("avx512vl");
    case CpuKernels::avx2: return __builtin_cpu_supports("avx2");
    default: return true;
  }
}
CpuKernels exact_sum_kernels() { return CpuKernels(kernels_in_use().load(std::memory_order_relaxed)); }
void force_exact_sum_kernels(CpuKernels k) {
  if (!exact_sum_kernels_run_here(k)) throw std::invalid_argument("force_exact_sum_kernels: this CPU cannot run them");
  kernels_in_use().store(int(k), std::memory_order_relaxed);
}

ExactSum::ExactSum(std::vector<std::size_t> segment_ends, int words)
    : segment_ends_(std::move(segment_ends)),
      K_(words),
      own_windows_(segment_ends_.size(), kEmpty),
      own_words_(size() * std::size_t(std::max(words, 0))),
      windows_(own_windows_),
      words_(own_words_.span()),
      values_(segment_ends_.size(), 0),
      stale_(segment_ends_.size(), 0) {
  check_layout();
}

ExactSum::ExactSum(std::vector<std::size_t> segment_ends, int words, std::span<std::int64_t> word_storage,
                   std::span<std::int64_t> window_storage)
    : segment_ends_(std::move(segment_ends)),
      K_(words),
      values_(segment_ends_.size(), 0),
      stale_(segment_ends_.size(), 0) {
  check_layout();
  if (word_storage.size() < size() * std::size_t(words) || window_storage.size() < segment_ends_.size())
    throw std::invalid_argument("ExactSum: the storage given holds fewer words or windows than the segments need");
  words_ = word_storage.first(size() * std::size_t(words));
  windows_ = window_storage.first(segment_ends_.size());
  std::fill(windows_.begin(), windows_.end(), kEmpty);
  std::fill(words_.begin(), words_.end(), 0);
}

void ExactSum::check_layout() const {
  if (K_ < 1 || K_ > 3) throw std::invalid_argument("ExactSum: 1 to 3 words per element");
  for (std::size_t s = 0; s < segment_ends_.size(); ++s)
    if (segment_ends_[s] <= (s == 0 ? 0 : segment_ends_[s - 1]))
      throw std::invalid_argument("ExactSum: segments must be non-empty and in order");
}

void ExactSum::clear() {
  std::fill(windows_.begin(), windows_.end(), kEmpty);
  std::fill(values_.begin(), values_.end(), 0);
  std::fill(stale_.begin(), stale_.end(), 0);
  std::fill(words_.begin(), words_.end(), 0);
}

void ExactSum::clear(std::size_t first, std::size_t count) {
  const auto [s0, s1] = segments_of(first, count);
  std::fill(windows_.begin() + std::ptrdiff_t(s0), windows_.begin() + std::ptrdiff_t(s1), kEmpty);
  std::fill(values_.begin() + std::ptrdiff_t(s0), values_.begin() + std::ptrdiff_t(s1), 0);
  std::fill(stale_.begin() + std::ptrdiff_t(s0), stale_.begin() + std::ptrdiff_t(s1), 1);  // words cleared when next used
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

void ExactSum::zero_if_stale(std::size_t s) {
  if (!stale_[s]) return;
  const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1];
  std::fill_n(words_.data() + begin * std::size_t(K_), (segment_ends_[s] - begin) * std::size_t(K_), std::int64_t{0});
  stale_[s] = 0;
}

void ExactSum::raise_window(std::size_t s, std::int64_t window) {
  const std::int64_t old = windows_[s];
  windows_[s] = window;
  const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
  std::int64_t* w = words_.data() + begin * std::size_t(K_);
  if (old == kEmpty) {  // an empty segment's words are all zero, or stale
    zero_if_stale(s);
    return;
  }
  if (old == window) return;
  const std::int64_t shift = window - old;
  const int K = K_;
  // word k of the new window is word k − shift of the old one; the lowest fall off
#pragma omp parallel for schedule(static) if (worth_threads(n))
  for (std::size_t i = 0; i < n; ++i)
    for (int k = K - 1; k >= 0; --k) w[i * K + k] = k - shift >= 0 ? w[i * K + std::size_t(k - shift)] : 0;
}

template <class T>
void ExactSum::add_parts(std::span<T* const> parts, std::size_t first, std::size_t count, bool zero) {
  const auto [s0, s1] = segments_of(first, count);
  const auto clear_parts = [&](std::size_t begin, std::size_t n) {
    if (zero)
      for (T* part : parts) std::fill_n(part + (begin - first), n, T(0));
  };
  for (std::size_t s = s0; s < s1; ++s) {
    const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
    values_[s] += std::int64_t(parts.size());
    if (values_[s] > kMaxValues)
      throw std::overflow_error("exact sum: more than " + std::to_string(kMaxValues) +
                                " values added to one element would overflow its 64-bit words");
    if (windows_[s] == kNonFinite) {
      clear_parts(begin, n);
      continue;
    }
    double largest = 0;
    for (T* part : parts) largest = std::max(largest, largest_magnitude(part + (begin - first), n));
    if (std::isinf(largest) || largest == 0) {  // non-finite, or adds nothing
      if (std::isinf(largest)) windows_[s] = kNonFinite;
      clear_parts(begin, n);
      continue;
    }
    const std::int64_t top = top_bin(largest);
    const bool overwrite = stale_[s] != 0;  // words left from before clear(first, count): stored over, not added to
    stale_[s] = 0;
    if (windows_[s] == kEmpty) windows_[s] = top;  // its words are zero, or stale
    else if (top > windows_[s]) raise_window(s, top);
    const int shift = int(-windows_[s] * W);  // |shift| < 1200: doubles' exponents are in [-1074, 1024)
    std::int64_t* w = words_.data() + begin * std::size_t(K_);
    if constexpr (sizeof(T) == 4) {
      if (K_ == 2 && use_avx2_float_pieces()) {
        add_float_parts(parts, begin - first, n, shift, w, zero, overwrite);
        continue;
      }
    }
    if (overwrite) std::fill_n(w, n * std::size_t(K_), 0);
    for (T* part : parts) add_pieces(part + (begin - first), n, shift, w, K_, zero);
  }
}

// add() only reads x: with zero = false, add_parts leaves it as it was.
void ExactSum::add(std::span<const float> x, std::size_t first) {
  float* const part = const_cast<float*>(x.data());
  add_parts(std::span<float* const>(&part, 1), first, x.size(), false);
}
void ExactSum::add(std::span<const double> x, std::size_t first) {
  double* const part = const_cast<double*>(x.data());
  add_parts(std::span<double* const>(&part, 1), first, x.size(), false);
}
void ExactSum::take(std::span<float* const> parts, std::size_t first, std::size_t count) {
  add_parts(parts, first, count, true);
}
void ExactSum::take(std::span<double* const> parts, std::size_t first, std::size_t count) {
  add_parts(parts, first, count, true);
}

void ExactSum::align_to(std::span<const std::int64_t> windows) {
  if (windows.size() != windows_.size()) throw std::invalid_argument("ExactSum::align_to: wrong number of windows");
  align_to(windows, 0);
}

void ExactSum::align_to(std::span<const std::int64_t> given, std::size_t first_segment) {
  if (first_segment + given.size() > windows_.size())
    throw std::invalid_argument("ExactSum::align_to: windows past the last segment");
  for (std::size_t i = 0; i < given.size(); ++i) {
    const std::size_t s = first_segment + i;
    // words left from before clear(first, count), about to be summed over
    // the ranks: zeros, so that no sum of old words can grow without bound
    if (given[i] == kEmpty || given[i] == kNonFinite) zero_if_stale(s);
    if (given[i] == kNonFinite) {
      windows_[s] = kNonFinite;
    } else if (windows_[s] == kNonFinite || given[i] < windows_[s]) {
      throw std::invalid_argument("ExactSum::align_to: a window below this accumulator's");
    } else if (given[i] != kEmpty) {
      raise_window(s, given[i]);
    }
  }
}

namespace {
// One segment's n sums from its words w (n × K) on `window`, rounded once into out.
template <class T>
void segment_result(const std::int64_t* w, std::size_t n, std::int64_t window, int K, T* out) {
  if (window == ExactSum::kNonFinite || window == ExactSum::kEmpty) {
    std::fill_n(out, n, window == ExactSum::kEmpty ? T(0) : std::numeric_limits<T>::quiet_NaN());
    return;
  }
  const int exponent = int(std::clamp<std::int64_t>(window * W, -100000, 100000));
  if (exponent >= -1022 && exponent <= 1023) {
    convert_words(w, n, std::ldexp(1.0, exponent), out, K);  // 2^exponent: a multiply is exact
  } else {  // windows at the ends of the range: ldexp, one value at a time
    for (std::size_t i = 0; i < n; ++i) {
      double one = 0;
      convert_words(w + i * std::size_t(K), 1, 1.0, &one, K);
      out[i] = T(std::ldexp(one, exponent));
    }
  }
}
}  // namespace

template <class T>
void ExactSum::result_values(std::span<T> out, std::size_t first) const {
  const auto [s0, s1] = segments_of(first, out.size());
  for (std::size_t s = s0; s < s1; ++s) {
    const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
    segment_result(words_.data() + begin * std::size_t(K_), n, windows_[s], K_, out.data() + (begin - first));
  }
}

template <class T>
void ExactSum::peer_sum_values(std::span<const Peer> peers, std::span<T> out, std::size_t first,
                               std::span<std::int64_t> scratch) const {
  const auto [s0, s1] = segments_of(first, out.size());
  const std::size_t K = std::size_t(K_);
  if (scratch.size() < out.size() * K) throw std::invalid_argument("ExactSum::result_of_sum: scratch too small");
  for (const Peer& p : peers)
    if (p.windows.size() < segment_ends_.size() || p.words.size() < size() * K)
      throw std::invalid_argument("ExactSum::result_of_sum: a peer with other segments");
  for (std::size_t s = s0; s < s1; ++s) {
    const std::size_t begin = s == 0 ? 0 : segment_ends_[s - 1], n = segment_ends_[s] - begin;
    // the windows' max: kEmpty is the lowest, kNonFinite the highest, as MPI_MAX finds them
    std::int64_t window = kEmpty;
    for (const Peer& p : peers) window = std::max(window, p.windows[s]);
    std::int64_t* sum = scratch.data() + (begin - first) * K;
    if (window != kEmpty && window != kNonFinite) {
      std::fill_n(sum, n * K, std::int64_t{0});
      for (const Peer& p : peers) {
        const std::int64_t own = p.windows[s];
        if (own == kEmpty) continue;  // adds nothing, and its words may be stale
        const std::int64_t* w = p.words.data() + begin * K;
        const std::size_t shift = std::size_t(window - own);  // word k of the window is word k − shift of the peer's
        if (shift >= K) continue;  // every piece lies below the window
        if (shift == 0) {
#pragma omp simd
          for (std::size_t i = 0; i < n * K; ++i) sum[i] += w[i];
        } else {
          for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = shift; k < K; ++k) sum[i * K + k] += w[i * K + k - shift];
        }
      }
    }
    segment_result(sum, n, window, K_, out.data() + (begin - first));
  }
}

void ExactSum::result(std::span<float> out, std::size_t first) const { result_values(out, first); }
void ExactSum::result(std::span<double> out, std::size_t first) const { result_values(out, first); }
void ExactSum::result_of_sum(std::span<const Peer> peers, std::span<float> out, std::size_t first,
                             std::span<std::int64_t> scratch) const {
  peer_sum_values(peers, out, first, scratch);
}
void ExactSum::result_of_sum(std::span<const Peer> peers, std::span<double> out, std::size_t first,
                             std::span<std::int64_t> scratch) const {
  peer_sum_values(peers, out, first, scratch);
}

}  // namespace dmlp
