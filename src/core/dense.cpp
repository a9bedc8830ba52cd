#include "dmlp/core/dense.hpp"

#include <algorithm>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/parallel.hpp"
#include "dmlp/core/row_stable_gemm.hpp"

namespace dmlp {

template <class T>
void dense_forward(const DenseParams<T>& p, Activation act, T leaky_slope, int rows, const T* X,
                   T* A) {
  if (rows == 0) return;
  // Z(B,out) = X(B,in)·Wᵀ(in,out)
  blas::gemm<T>(blas::Op::N, blas::Op::T, rows, p.out, p.in, T(1), X, p.in, p.W, p.in, T(0), A,
                p.out);
  // A = σ(Z + b)
  bias_activation_forward(act, leaky_slope, rows, p.out, p.b, A);
}

template <class T>
void column_sums(int rows, int cols, const T* M, T* db, GradMode mode) {
  if (mode == GradMode::Overwrite) std::fill_n(db, cols, T(0));
  for_column_blocks(rows, cols, [&](int j0, int j1) {
    for (int r = 0; r < rows; ++r) {
      const T* m = M + std::size_t(r) * cols;
      for (int j = j0; j < j1; ++j) db[j] += m[j];
    }
  });
}

template <class T>
void dense_backward_params(const DenseParams<T>& p, Activation act, T leaky_slope, int rows,
                           const T* X, const T* A, T* dA, const DenseGrads<T>& g, bool fuse_bias_grad,
                           const CommunicationPush& push) {
  if (rows == 0) {  // an empty shard contributes nothing
    if (g.mode == GradMode::Overwrite) {
      std::fill_n(g.dW, std::size_t(p.out) * p.in, T(0));
      std::fill_n(g.db, p.out, T(0));
    }
    return;
  }
  const T* dZ = dA;
  if (fuse_bias_grad) {
    // dZ(B,out) = dA ⊙ σ'(Z) and db(out) (+)= Σ_rows dZ, in one pass
    activation_backward_and_bias_grad(act, leaky_slope, rows, p.out, A, dA, g.db, g.mode == GradMode::Overwrite);
  } else {
    // dZ(B,out) = dA ⊙ σ'(Z)
    activation_backward(act, leaky_slope, std::size_t(rows) * p.out, A, dA);
    // db(out) (+)= Σ_rows dZ
    column_sums(rows, p.out, dZ, g.db, g.mode);
  }
  const T beta = g.mode == GradMode::Accumulate ? T(1) : T(0);
  // dW(out,in) (+)= dZᵀ(out,B)·X(B,in), in slices of dW's rows when communication waits to be pushed
  const int slices = push.call ? std::clamp(push.slices, 1, p.out) : 1;
  for (int s = 0; s < slices; ++s) {
    const int o0 = int(std::int64_t(p.out) * s / slices), o1 = int(std::int64_t(p.out) * (s + 1) / slices);
    blas::gemm<T>(blas::Op::T, blas::Op::N, o1 - o0, p.in, rows, T(1), dZ + o0, p.out, X, p.in, beta,
                  g.dW + std::size_t(o0) * p.in, p.in);
    if (s + 1 < slices) push();
  }
}

template <class T>
void dense_backward_input(const DenseParams<T>& p, int rows, const T* dZ, T* dX, const CommunicationPush& push) {
  if (rows == 0) return;
  // dX(B,in) = dZ(B,out)·W(out,in), in slices of rows when communication waits to be pushed
  const int slices = push.call ? std::clamp(push.slices, 1, rows) : 1;
  for (int s = 0; s < slices; ++s) {
    const int r0 = int(std::int64_t(rows) * s / slices), r1 = int(std::int64_t(rows) * (s + 1) / slices);
    blas::gemm<T>(blas::Op::N, blas::Op::N, r1 - r0, p.in, p.out, T(1), dZ + std::size_t(r0) * p.out, p.out, p.W,
                  p.in, T(0), dX + std::size_t(r0) * p.in, p.in);
    if (s + 1 < slices) push();
  }
}

void dense_forward_row_stable(const DenseParams<float>& p, Activation act, float leaky_slope, int rows,
                              const float* X, float* A) {
  if (rows == 0) return;
  // Z(B,out) = X(B,in)·Wᵀ(in,out), each row alone
  row_stable_forward(rows, p.in, p.out, X, p.W, A);
  // A = σ(Z + b)
  bias_activation_forward(act, leaky_slope, rows, p.out, p.b, A);
}

void dense_backward_input_row_stable(const DenseParams<float>& p, int rows, const float* dZ, float* dX) {
  // dX(B,in) = dZ(B,out)·W(out,in), each row alone
  row_stable_input_grad(rows, p.out, p.in, dZ, p.W, dX);
}

#define DMLP_INSTANTIATE(T)                                                                     \
  template void dense_forward<T>(const DenseParams<T>&, Activation, T, int, const T*, T*);      \
  template void dense_backward_params<T>(const DenseParams<T>&, Activation, T, int, const T*,   \
                                         const T*, T*, const DenseGrads<T>&, bool, const CommunicationPush&); \
  template void dense_backward_input<T>(const DenseParams<T>&, int, const T*, T*, const CommunicationPush&); \
  template void column_sums<T>(int, int, const T*, T*, GradMode);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
