#pragma once
// Sums of floats in 64-bit fixed point, one int64 word a value, at a binary
// point every process agrees on before any value is added: --reproducible's
// sums of the weight gradients' micro-batch parts (train/exact_step.hpp).
//
// Each value x becomes the integer trunc(x·2^s): multiplying by a power of two
// is exact, and the truncation depends on x and s alone. The words add as
// integers, whose sum has no order, so the total is the same integer however
// the values are grouped over threads, micro-batches and ranks, and so are the
// bits of its rounding to a float.
//
// The scale comes from a bound U on the sum of the magnitudes of all values an
// element receives: s = fixed_point_shift(U) makes U·2^s < 2^62, so no word,
// nor any sum of words, reaches 2^62 in magnitude, and none can wrap. Each
// value loses less than 2^-s < U·2^-61 to the truncation: n values lose less
// than n·U·2^-61 in all, before the final rounding (docs/reproducibility.md).
// The bound must itself be agreed (a maximum over the ranks of quantities
// that do not depend on how the values are split, see exact_step.cpp).
//
// A bound that is not finite (or not below 2^300) gives kFixedPointNonFinite:
// its results are NaN, as an exact sum's are for a segment that met a NaN or
// infinity. The caller makes sure the float parts themselves are finite.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "dmlp/core/cpu_kernels.hpp"

namespace dmlp {

inline constexpr int kFixedPointNonFinite = std::numeric_limits<int>::min();
inline constexpr int kFixedPointMaxShift = 250;  // 2^s as the product of two floats

// The s for values whose magnitudes sum to less than `bound` (> 0): the
// largest with bound·2^s < 2^62, at most kFixedPointMaxShift; or
// kFixedPointNonFinite.
int fixed_point_shift(double bound);

// A bound on |fl(Σ_i a_i·b_i)| over at most `terms` products summed in float
// in any order, with or without fused multiply-adds: (1 + u)^terms·(Σ|a_i·b_i|
// + terms·2^-149), each rounding a factor (1 + δ), |δ| ≤ u = 2^-24, or an
// absolute error of at most half the least subnormal. `magnitudes` is Σ|a_i·b_i|,
// or an upper bound on it.
double float_dot_bound(double magnitudes, double terms);

// The largest |x| of `x`, or +infinity when some x is not finite.
double largest_magnitude(std::span<const float> x);

// words[i] (= if `overwrite`, else +=) Σ_p trunc(parts[p][i]·2^shift), for i <
// n, leaving every part zero for the next GEMM to add into. The caller
// guarantees the bound that `shift` came from.
void fixed_point_add(std::span<float* const> parts, std::size_t n, int shift, std::int64_t* words, bool overwrite);

// out[i] = float(double(Σ_r sources[r][offset + i])·2^-shift), for i < out.size():
// two roundings, to a double and then to a float, the same on every CPU.
// NaN everywhere if shift is kFixedPointNonFinite.
void fixed_point_result(std::span<const std::int64_t* const> sources, std::size_t offset, int shift,
                        std::span<float> out);

// The CPU versions follow exact_sum_kernels() (core/exact_sum.hpp): forcing
// one forces both families.
}  // namespace dmlp
