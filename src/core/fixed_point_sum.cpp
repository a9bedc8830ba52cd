#include "dmlp/core/fixed_point_sum.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

// GCC 12 warns falsely inside the AVX-512 intrinsics (GCC bug 105593), in the header's lines alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "dmlp/core/exact_sum.hpp"

namespace dmlp {
namespace {

// x·2^shift as two float factors f1·f2, each a power of two a float holds:
// both products exact, since |x·2^shift| < 2^62 and shift > 127 only scales up.
struct Scale {
  float f1, f2;
  explicit Scale(int shift) : f1(std::ldexp(1.0f, shift / 2)), f2(std::ldexp(1.0f, shift - shift / 2)) {}
};

// The portable versions: every operation is exact (products by powers of
// two, integer adds) or one IEEE rounding, as in the vector versions. This
// file is built with -ffp-contract=off.
void add_portable(float* const* parts, std::size_t count, std::size_t n, Scale f, std::int64_t* words,
                  bool overwrite) {
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t sum = overwrite ? 0 : words[i];
    for (std::size_t p = 0; p < count; ++p) {
      sum += static_cast<std::int64_t>(parts[p][i] * f.f1 * f.f2);  // truncates toward zero
      parts[p][i] = 0;
    }
    words[i] = sum;
  }
}

void result_portable(const std::int64_t* const* sources, std::size_t count, std::size_t offset, double scale,
                     float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t sum = 0;
    for (std::size_t r = 0; r < count; ++r) sum += sources[r][offset + i];
    out[i] = float(double(sum) * scale);
  }
}

// AVX-512 (DQ): float → int64 with truncation, and int64 → double, in one
// instruction each; 16 values a step.
__attribute__((target("avx512f,avx512dq"))) void add_512(float* const* parts, std::size_t count, std::size_t n,
                                                         Scale f, std::int64_t* words, bool overwrite) {
  const __m512 f1 = _mm512_set1_ps(f.f1), f2 = _mm512_set1_ps(f.f2);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i low = overwrite ? _mm512_setzero_si512() : _mm512_loadu_si512(words + i);
    __m512i high = overwrite ? _mm512_setzero_si512() : _mm512_loadu_si512(words + i + 8);
    for (std::size_t p = 0; p < count; ++p) {
      const __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(parts[p] + i), f1), f2);
      low = _mm512_add_epi64(low, _mm512_cvttps_epi64(_mm512_castps512_ps256(y)));
      high = _mm512_add_epi64(high, _mm512_cvttps_epi64(_mm512_extractf32x8_ps(y, 1)));
      _mm512_storeu_ps(parts[p] + i, _mm512_setzero_ps());
    }
    _mm512_storeu_si512(words + i, low);
    _mm512_storeu_si512(words + i + 8, high);
  }
  if (i == n) return;
  float* tails[16];
  for (std::size_t p = 0; p < count; ++p) tails[p] = parts[p] + i;
  add_portable(tails, count, n - i, f, words + i, overwrite);
}

__attribute__((target("avx512f,avx512dq"))) void result_512(const std::int64_t* const* sources, std::size_t count,
                                                            std::size_t offset, double scale, float* out,
                                                            std::size_t n) {
  const __m512d factor = _mm512_set1_pd(scale);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512i sum = _mm512_setzero_si512();
    for (std::size_t r = 0; r < count; ++r) sum = _mm512_add_epi64(sum, _mm512_loadu_si512(sources[r] + offset + i));
    _mm256_storeu_ps(out + i, _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtepi64_pd(sum), factor)));
  }
  result_portable(sources, count, offset + i, scale, out + i, n - i);
}

// hi·2^31 + lo as int64s, for 4 lanes of int32s.
__attribute__((target("avx2"))) inline __m256i join_pieces(__m128i hi, __m128i lo) {
  return _mm256_add_epi64(_mm256_slli_epi64(_mm256_cvtepi32_epi64(hi), 31), _mm256_cvtepi32_epi64(lo));
}
__attribute__((target("avx2"))) inline __m256d small_to_double(__m256i c) {  // 0 ≤ c < 2^52
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(c, _mm256_castpd_si256(two52))), two52);
}

// AVX2 has neither conversion. trunc(y) as two exact pieces, in floats:
// hi = trunc(y·2^-31) and lo = y − hi·2^31 (y's bits below 2^31, so exact),
// each below 2^31 in magnitude and of y's sign, so trunc(y) = hi·2^31 + trunc(lo).
__attribute__((target("avx2"))) void add_avx2(float* const* parts, std::size_t count, std::size_t n, Scale f,
                                              std::int64_t* words, bool overwrite) {
  const __m256 f1 = _mm256_set1_ps(f.f1), f2 = _mm256_set1_ps(f.f2);
  const __m256 down = _mm256_set1_ps(0x1p-31f), up = _mm256_set1_ps(0x1p31f);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i* out = reinterpret_cast<__m256i*>(words + i);
    __m256i low = overwrite ? _mm256_setzero_si256() : _mm256_loadu_si256(out);
    __m256i high = overwrite ? _mm256_setzero_si256() : _mm256_loadu_si256(out + 1);
    for (std::size_t p = 0; p < count; ++p) {
      const __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(parts[p] + i), f1), f2);
      const __m256 hi = _mm256_round_ps(_mm256_mul_ps(y, down), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256i hi32 = _mm256_cvttps_epi32(hi);
      const __m256i lo32 = _mm256_cvttps_epi32(_mm256_sub_ps(y, _mm256_mul_ps(hi, up)));
      low = _mm256_add_epi64(low, join_pieces(_mm256_castsi256_si128(hi32), _mm256_castsi256_si128(lo32)));
      high = _mm256_add_epi64(high, join_pieces(_mm256_extracti128_si256(hi32, 1), _mm256_extracti128_si256(lo32, 1)));
      _mm256_storeu_ps(parts[p] + i, _mm256_setzero_ps());
    }
    _mm256_storeu_si256(out, low);
    _mm256_storeu_si256(out + 1, high);
  }
  if (i == n) return;
  float* tails[16];
  for (std::size_t p = 0; p < count; ++p) tails[p] = parts[p] + i;
  add_portable(tails, count, n - i, f, words + i, overwrite);
}

// int64 → double on AVX2, for |c| < 2^62: the magnitude's high and low 32
// bits as exact doubles, added with one rounding, as the scalar conversion rounds.
__attribute__((target("avx2"))) void result_avx2(const std::int64_t* const* sources, std::size_t count,
                                                 std::size_t offset, double scale, float* out, std::size_t n) {
  const __m256d factor = _mm256_set1_pd(scale), two32 = _mm256_set1_pd(0x1p32);
  const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i sum = _mm256_setzero_si256();
    for (std::size_t r = 0; r < count; ++r)
      sum = _mm256_add_epi64(sum, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sources[r] + offset + i)));
    const __m256i negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), sum);
    const __m256i magnitude = _mm256_sub_epi64(_mm256_xor_si256(sum, negative), negative);
    __m256d v = _mm256_add_pd(_mm256_mul_pd(small_to_double(_mm256_srli_epi64(magnitude, 32)), two32),
                              small_to_double(_mm256_and_si256(magnitude, low32)));
    v = _mm256_xor_pd(v, _mm256_and_pd(_mm256_castsi256_pd(negative), _mm256_set1_pd(-0.0)));
    _mm_storeu_ps(out + i, _mm256_cvtpd_ps(_mm256_mul_pd(v, factor)));
  }
  result_portable(sources, count, offset + i, scale, out + i, n - i);
}

#define DMLP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
// With the sign cleared, a float's bits order as its magnitude does, and
// infinity and NaN lie at or above infinity's: an integer max, which vectorises.
DMLP_CLONES std::uint32_t largest_bits(const float* x, std::size_t n) {
  std::uint32_t top = 0;
  for (std::size_t i = 0; i < n; ++i) top = std::max(top, std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu);
  return top;
}
#undef DMLP_CLONES
}  // namespace

int fixed_point_shift(double bound) {
  if (!(bound < 0x1p300)) return kFixedPointNonFinite;  // NaN too; 2^s must stay two floats' product
  if (bound <= 0) return 0;
  int e = 0;
  std::frexp(bound, &e);  // bound < 2^e
  return std::min(62 - e, kFixedPointMaxShift);
}

double float_dot_bound(double magnitudes, double terms) {
  // (1 + u)^n ≤ e^(n·u) < 2 for n·u ≤ 1/2; beyond, e^(n·u) ≤ 2^ceil(1.5·n·u).
  // Powers of two and basic operations only, so that every host gets the
  // same bound (a libm's exp may differ in its last bit between CPUs); the
  // double roundings of this line lie far inside the margin between e^(1/2) and 2.
  const double n_u = terms * 0x1p-24;
  const double growth = n_u <= 0.5 ? 2.0 : std::ldexp(1.0, int(std::ceil(1.5 * n_u)));
  return growth * (magnitudes + terms * 0x1p-149);
}

double largest_magnitude(std::span<const float> x) {
  const std::uint32_t top = largest_bits(x.data(), x.size());
  return top >= 0x7f800000u ? HUGE_VAL : double(std::bit_cast<float>(top));
}

void fixed_point_add(std::span<float* const> parts, std::size_t n, int shift, std::int64_t* words, bool overwrite) {
  if (parts.empty()) {
    if (overwrite) std::fill_n(words, n, 0);
    return;
  }
  const Scale f(shift == kFixedPointNonFinite ? 0 : shift);
  for (std::size_t p0 = 0; p0 < parts.size(); p0 += 16) {  // at most 16 parts a pass over the words
    const std::size_t count = std::min<std::size_t>(16, parts.size() - p0);
    const bool first = overwrite && p0 == 0;
    switch (exact_sum_kernels()) {
      case CpuKernels::avx512: add_512(parts.data() + p0, count, n, f, words, first); break;
      case CpuKernels::avx2: add_avx2(parts.data() + p0, count, n, f, words, first); break;
      default: add_portable(parts.data() + p0, count, n, f, words, first);
    }
  }
}

void fixed_point_result(std::span<const std::int64_t* const> sources, std::size_t offset, int shift,
                        std::span<float> out) {
  if (shift == kFixedPointNonFinite) {
    std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
    return;
  }
  const double scale = std::ldexp(1.0, -shift);
  switch (exact_sum_kernels()) {
    case CpuKernels::avx512: result_512(sources.data(), sources.size(), offset, scale, out.data(), out.size()); break;
    case CpuKernels::avx2: result_avx2(sources.data(), sources.size(), offset, scale, out.data(), out.size()); break;
    default: result_portable(sources.data(), sources.size(), offset, scale, out.data(), out.size());
  }
}

}  // namespace dmlp
