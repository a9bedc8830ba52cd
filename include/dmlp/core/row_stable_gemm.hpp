#pragma once
// Products whose every row is computed alone: row r of the result depends on
// row r of the input and on W, never on how many other rows the call holds or
// where r lies among them. OpenBLAS gives no such promise (its float kernels
// round rows differently by their place in a block of 12 on Zen 3, see
// bench/gemm_row_bits.cpp), so --reproducible used to run its forward and dX
// GEMMs one 32-row micro-shard at a time, and pack all of W for each call:
// on a Zen 4 host that packing took as long as the forward's arithmetic.
//
// Each result element has one fixed sum order, the same for every CPU
// version of the kernels here (AVX-512, AVX2, portable), which tests pin:
//   forward: Z[r][o] = Σ_i X[r][i]·W[o][i] as 16 lane sums, lane l taking
//            i ≡ l (mod 16) in rising i by fused multiply-adds (the lanes past
//            `in` adding 0·0), then the tree ((l, l+8), then (l, l+4), then
//            (l, l+2), then (0, 1));
//   dX:      dX[r][i] = Σ_o dZ[r][o]·W[o][i] by fused multiply-adds in rising o.
// One exception: where a result is NaN, which NaN (its sign and payload) can
// differ between versions and row blocks, since x86 passes on the first NaN
// operand and the blocks order a multiply-add's operands differently. Every
// other result, ±0, subnormals and ±inf included, has the same bits; a NaN
// stays a NaN, and training stops at the same step either way (divergence).
// Floats only: doubles keep OpenBLAS, one micro-shard a call.
#include "dmlp/core/cpu_kernels.hpp"

namespace dmlp {

CpuKernels row_stable_kernels();  // the fastest this CPU runs

// Z(rows,out) = X(rows,in)·Wᵀ, W (out,in); all row-major and dense.
void row_stable_forward(int rows, int in, int out, const float* X, const float* W, float* Z);
// dX(rows,in) = dZ(rows,out)·W(out,in); all row-major and dense.
void row_stable_input_grad(int rows, int out, int in, const float* dZ, const float* W, float* dX);

// The same with the kernels named (tests compare them).
void row_stable_forward(CpuKernels k, int rows, int in, int out, const float* X, const float* W, float* Z);
void row_stable_input_grad(CpuKernels k, int rows, int out, int in, const float* dZ, const float* W,
                           float* dX);

}  // namespace dmlp
