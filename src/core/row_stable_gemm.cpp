#include "dmlp/core/row_stable_gemm.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

// Built with -ffp-contract=off: every multiply-add below is written as one,
// and no other operation may fuse, or the portable version's bits would
// differ from the vector ones'.
namespace dmlp {
namespace {
constexpr int kLanes = 16;  // the forward's lane sums, on every CPU

// ---- portable: the definition of the orders, one element at a time --------

float forward_element(int in, const float* x, const float* w) {
  float lane[kLanes] = {};
  for (int c = 0; c * kLanes < in; ++c)
    for (int l = 0; l < kLanes; ++l) {
      const int i = c * kLanes + l;
      lane[l] = i < in ? std::fma(x[i], w[i], lane[l]) : std::fma(0.0f, 0.0f, lane[l]);
    }
  for (int l = 0; l < 8; ++l) lane[l] += lane[l + 8];
  for (int l = 0; l < 4; ++l) lane[l] += lane[l + 4];
  for (int l = 0; l < 2; ++l) lane[l] += lane[l + 2];
  return lane[0] + lane[1];
}

void forward_portable(int rows, int in, int out, const float* X, const float* W, float* Z) {
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o)
      Z[std::size_t(r) * out + o] = forward_element(in, X + std::size_t(r) * in, W + std::size_t(o) * in);
}

void input_grad_portable(int rows, int out, int in, const float* dZ, const float* W, float* dX) {
  for (int r = 0; r < rows; ++r) {
    float* d = dX + std::size_t(r) * in;
    std::fill_n(d, in, 0.0f);
    for (int o = 0; o < out; ++o) {
      const float g = dZ[std::size_t(r) * out + o];
      const float* w = W + std::size_t(o) * in;
      for (int i = 0; i < in; ++i) d[i] = std::fma(g, w[i], d[i]);
    }
  }
}

// ---- AVX-512 ----------------------------------------------------------------

#define DMLP_AVX512 __attribute__((target("avx512f,fma")))

DMLP_AVX512 inline float tree_512(__m512 s) {  // the lanes' tree, as forward_element adds them
  // through memory: GCC 12 warns falsely inside the 512-bit extract and shuffle intrinsics
  alignas(64) float lane[kLanes];
  _mm512_store_ps(lane, s);
  const __m256 t = _mm256_add_ps(_mm256_load_ps(lane), _mm256_load_ps(lane + 8));
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
}

// Z(R rows, O outputs): X and W at the block's first row and output.
template <int R, int O>
DMLP_AVX512 void forward_block_512(int in, int out, const float* X, const float* W, float* Z) {
  __m512 acc[R][O];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) acc[r][o] = _mm512_setzero_ps();
  for (int i = 0; i < in; i += kLanes) {  // the last step masked: the lanes past `in` load zeros
    const __mmask16 m = in - i >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << (in - i)) - 1);
    __m512 w[O];
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) w[o] = _mm512_maskz_loadu_ps(m, W + std::size_t(o) * in + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_maskz_loadu_ps(m, X + std::size_t(r) * in + i);
#pragma GCC unroll 4
      for (int o = 0; o < O; ++o) acc[r][o] = _mm512_fmadd_ps(x, w[o], acc[r][o]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) Z[std::size_t(r) * out + o] = tree_512(acc[r][o]);
}

// dX(R rows, V vectors of 16 columns, the last under `last`): dZ at the
// block's first row, W and dX at its first column.
template <int R, int V>
DMLP_AVX512 void input_grad_block_512(int out, int in, const float* dZ, const float* W, float* dX, int last_cols) {
  const __mmask16 last = last_cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << last_cols) - 1);
  __m512 acc[R][V];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int o = 0; o < out; ++o) {
    const float* w_row = W + std::size_t(o) * in;
    __m512 w[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) w[v] = _mm512_maskz_loadu_ps(v + 1 == V ? last : __mmask16(0xFFFF), w_row + 16 * v);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m512 g = _mm512_set1_ps(dZ[std::size_t(r) * out + o]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(g, w[v], acc[r][v]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      _mm512_mask_storeu_ps(dX + std::size_t(r) * in + 16 * v, v + 1 == V ? last : __mmask16(0xFFFF), acc[r][v]);
}

// ---- AVX2: the same orders, the 16 lanes as two vectors of 8 -----------------

#define DMLP_AVX2 __attribute__((target("avx2,fma")))

DMLP_AVX2 inline float tree_256(__m256 lo, __m256 hi) {
  const __m256 t = _mm256_add_ps(lo, hi);
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
}

DMLP_AVX2 inline __m256i lanes_below(int n) {  // lane l set where l < n
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The lanes 0…7 and 8…15 of each element's sum in two accumulators, a half
// of the 16 at a time; plain loads but in the last, partial step, where
// masked loads give zeros past `in` (vmaskmovps is slow on AMD).
template <int R, int O, bool Masked>
DMLP_AVX2 __attribute__((always_inline)) inline void forward_half_256(int in, const float* X, const float* W, __m256 (&acc)[R][O], __m256i mask) {
  __m256 w[O];
#pragma GCC unroll 4
  for (int o = 0; o < O; ++o)
    w[o] = Masked ? _mm256_maskload_ps(W + std::size_t(o) * in, mask) : _mm256_loadu_ps(W + std::size_t(o) * in);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    __m256 x = Masked ? _mm256_maskload_ps(X + std::size_t(r) * in, mask) : _mm256_loadu_ps(X + std::size_t(r) * in);
    __asm__("" : "+x"(x));  // one load, in a register: GCC would fold it into each FMA, loading it O times
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) acc[r][o] = _mm256_fmadd_ps(x, w[o], acc[r][o]);
  }
}

template <int R, int O>
DMLP_AVX2 void forward_block_256(int in, int out, const float* X, const float* W, float* Z) {
  __m256 lo[R][O], hi[R][O];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) lo[r][o] = hi[r][o] = _mm256_setzero_ps();
  const __m256i all = _mm256_set1_epi32(-1);
  int i = 0;
  for (; i + kLanes <= in; i += kLanes) {
    forward_half_256<R, O, false>(in, X + i, W + i, lo, all);
    forward_half_256<R, O, false>(in, X + i + 8, W + i + 8, hi, all);
  }
  if (i < in) {
    forward_half_256<R, O, true>(in, X + i, W + i, lo, lanes_below(in - i));
    forward_half_256<R, O, true>(in, X + i + 8, W + i + 8, hi, lanes_below(in - i - 8));
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) Z[std::size_t(r) * out + o] = tree_256(lo[r][o], hi[r][o]);
}

// dX(R rows, V vectors of 8 columns): the last vector masked only when it is
// partial (vmaskmovps is slow on AMD).
template <int R, int V, bool MaskedLast>
DMLP_AVX2 void input_grad_columns_256(int out, int in, const float* dZ, const float* W, float* dX, __m256i last) {
  __m256 acc[R][V];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int o = 0; o < out; ++o) {
    const float* w_row = W + std::size_t(o) * in;
    __m256 w[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v)
      w[v] = MaskedLast && v + 1 == V ? _mm256_maskload_ps(w_row + 8 * v, last) : _mm256_loadu_ps(w_row + 8 * v);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 g = _mm256_broadcast_ss(dZ + std::size_t(r) * out + o);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(g, w[v], acc[r][v]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      float* d = dX + std::size_t(r) * in + 8 * v;
      if (MaskedLast && v + 1 == V) _mm256_maskstore_ps(d, last, acc[r][v]);
      else _mm256_storeu_ps(d, acc[r][v]);
    }
}

template <int R, int V>
DMLP_AVX2 void input_grad_block_256(int out, int in, const float* dZ, const float* W, float* dX, int last_cols) {
  if (last_cols == 8) input_grad_columns_256<R, V, false>(out, in, dZ, W, dX, _mm256_set1_epi32(-1));
  else input_grad_columns_256<R, V, true>(out, in, dZ, W, dX, lanes_below(last_cols));
}

// ---- the drivers: blocks of rows and outputs (or columns), tails included ---

template <template <int, int> class Table, int MaxR, int MaxC>
struct Blocks {  // Table<R, C>::run for R in 1…MaxR, C in 1…MaxC, picked at run time
  template <class... A>
  static void run(int r, int c, A... args) {
    dispatch_r<1>(r, c, args...);
  }
  template <int R, class... A>
  static void dispatch_r(int r, int c, A... args) {
    if constexpr (R <= MaxR) {
      if (r == R) return dispatch_c<R, 1>(c, args...);
      dispatch_r<R + 1>(r, c, args...);
    }
  }
  template <int R, int C, class... A>
  static void dispatch_c(int c, A... args) {
    if constexpr (C <= MaxC) {
      if (c == C) return Table<R, C>::run(args...);
      dispatch_c<R, C + 1>(c, args...);
    }
  }
};

template <int R, int O>
struct Forward512 {
  static void run(int in, int out, const float* X, const float* W, float* Z) { forward_block_512<R, O>(in, out, X, W, Z); }
};
template <int R, int O>
struct Forward256 {
  static void run(int in, int out, const float* X, const float* W, float* Z) { forward_block_256<R, O>(in, out, X, W, Z); }
};
template <int R, int V>
struct InputGrad512 {
  static void run(int out, int in, const float* dZ, const float* W, float* dX, int last_cols) {
    input_grad_block_512<R, V>(out, in, dZ, W, dX, last_cols);
  }
};
template <int R, int V>
struct InputGrad256 {
  static void run(int out, int in, const float* dZ, const float* W, float* dX, int last_cols) {
    input_grad_block_256<R, V>(out, in, dZ, W, dX, last_cols);
  }
};

// Outputs in blocks of MaxO, each block's rows of W kept in L1 while every
// row of X passes by in blocks of MaxR.
template <template <int, int> class Table, int MaxR, int MaxO>
void forward_blocks(int rows, int in, int out, const float* X, const float* W, float* Z) {
  for (int o0 = 0; o0 < out; o0 += MaxO)
    for (int r0 = 0; r0 < rows; r0 += MaxR)
      Blocks<Table, MaxR, MaxO>::run(std::min(MaxR, rows - r0), std::min(MaxO, out - o0), in, out,
                                     X + std::size_t(r0) * in, W + std::size_t(o0) * in, Z + std::size_t(r0) * out + o0);
}

// Columns in blocks of MaxV vectors, each block's column panel of W (out ×
// MaxV·width floats) kept in L2 while every row of dZ passes by in blocks of MaxR.
void input_grad_512(int rows, int out, int in, const float* dZ, const float* W, float* dX) {
  constexpr int MaxR = 6, MaxV = 4, width = 16;
  for (int i0 = 0; i0 < in; i0 += MaxV * width) {
    const int cols = std::min(MaxV * width, in - i0), vectors = (cols + width - 1) / width;
    const int last = cols - (vectors - 1) * width;
    for (int r0 = 0; r0 < rows; r0 += MaxR)
      Blocks<InputGrad512, MaxR, MaxV>::run(std::min(MaxR, rows - r0), vectors, out, in, dZ + std::size_t(r0) * out,
                                            W + i0, dX + std::size_t(r0) * in + i0, last);
  }
}

void input_grad_256(int rows, int out, int in, const float* dZ, const float* W, float* dX) {
  constexpr int MaxR = 4, MaxV = 3, width = 8;
  for (int i0 = 0; i0 < in; i0 += MaxV * width) {
    const int cols = std::min(MaxV * width, in - i0), vectors = (cols + width - 1) / width;
    const int last = cols - (vectors - 1) * width;
    for (int r0 = 0; r0 < rows; r0 += MaxR)
      Blocks<InputGrad256, MaxR, MaxV>::run(std::min(MaxR, rows - r0), vectors, out, in, dZ + std::size_t(r0) * out,
                                            W + i0, dX + std::size_t(r0) * in + i0, last);
  }
}
}  // namespace

CpuKernels row_stable_kernels() {
  static const CpuKernels best = __builtin_cpu_supports("avx512f")                                   ? CpuKernels::avx512
                                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? CpuKernels::avx2
                                                                                                          : CpuKernels::portable;
  return best;
}

void row_stable_forward(CpuKernels k, int rows, int in, int out, const float* X, const float* W, float* Z) {
  if (rows <= 0 || out <= 0) return;
  switch (k) {
    case CpuKernels::avx512: return forward_blocks<Forward512, 4, 4>(rows, in, out, X, W, Z);
    case CpuKernels::avx2: return forward_blocks<Forward256, 3, 2>(rows, in, out, X, W, Z);
    default: return forward_portable(rows, in, out, X, W, Z);
  }
}

void row_stable_input_grad(CpuKernels k, int rows, int out, int in, const float* dZ, const float* W,
                           float* dX) {
  if (rows <= 0 || in <= 0) return;
  switch (k) {
    case CpuKernels::avx512: return input_grad_512(rows, out, in, dZ, W, dX);
    case CpuKernels::avx2: return input_grad_256(rows, out, in, dZ, W, dX);
    default: return input_grad_portable(rows, out, in, dZ, W, dX);
  }
}

void row_stable_forward(int rows, int in, int out, const float* X, const float* W, float* Z) {
  row_stable_forward(row_stable_kernels(), rows, in, out, X, W, Z);
}
void row_stable_input_grad(int rows, int out, int in, const float* dZ, const float* W, float* dX) {
  row_stable_input_grad(row_stable_kernels(), rows, out, in, dZ, W, dX);
}

}  // namespace dmlp
