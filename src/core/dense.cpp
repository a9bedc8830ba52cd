#include "dmlp/core/dense.hpp"

#include <algorithm>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/parallel.hpp"

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
  constexpr int kColumnBlock = 64;
  const int blocks = (cols + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (std::size_t(rows) * cols >= kParallelThreshold)
  for (int block = 0; block < blocks; ++block) {
    const int j0 = block * kColumnBlock, j1 = std::min(cols, j0 + kColumnBlock);
    for (int r = 0; r < rows; ++r) {
      const T* m = M + std::size_t(r) * cols;
      for (int j = j0; j < j1; ++j) db[j] += m[j];
    }
  }
}

template <class T>
void dense_backward_params(const DenseParams<T>& p, Activation act, T leaky_slope, int rows,
                           const T* X, const T* A, T* dA, const DenseGrads<T>& g) {
  if (rows == 0) {  // an empty shard contributes nothing
    if (g.mode == GradMode::Overwrite) {
      std::fill_n(g.dW, std::size_t(p.out) * p.in, T(0));
      std::fill_n(g.db, p.out, T(0));
    }
    return;
  }
  // dZ(B,out) = dA ⊙ σ'(Z)
  activation_backward(act, leaky_slope, std::size_t(rows) * p.out, A, dA);
  const T* dZ = dA;
  const T beta = g.mode == GradMode::Accumulate ? T(1) : T(0);
  // dW(out,in) (+)= dZᵀ(out,B)·X(B,in)
  blas::gemm<T>(blas::Op::T, blas::Op::N, p.out, p.in, rows, T(1), dZ, p.out, X, p.in, beta, g.dW,
                p.in);
  // db(out) (+)= Σ_rows dZ
  column_sums(rows, p.out, dZ, g.db, g.mode);
}

template <class T>
void dense_backward_input(const DenseParams<T>& p, int rows, const T* dZ, T* dX) {
  if (rows == 0) return;
  // dX(B,in) = dZ(B,out)·W(out,in)
  blas::gemm<T>(blas::Op::N, blas::Op::N, rows, p.in, p.out, T(1), dZ, p.out, p.W, p.in, T(0), dX,
                p.in);
}

#define DMLP_INSTANTIATE(T)                                                                     \
  template void dense_forward<T>(const DenseParams<T>&, Activation, T, int, const T*, T*);      \
  template void dense_backward_params<T>(const DenseParams<T>&, Activation, T, int, const T*,   \
                                         const T*, T*, const DenseGrads<T>&);                   \
  template void dense_backward_input<T>(const DenseParams<T>&, int, const T*, T*);              \
  template void column_sums<T>(int, int, const T*, T*, GradMode);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
