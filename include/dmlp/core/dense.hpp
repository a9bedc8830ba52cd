#pragma once
// One fully connected layer, x_k = σ(W x_{k-1} + b), on a batch of B rows at once.
// Row i of X is sample i, so the lecture's W x becomes X·Wᵀ.
#include "dmlp/core/activation.hpp"

namespace dmlp {

template <class T>
struct DenseParams {
  const T* W;  // (out, in)
  const T* b;  // (out)
  int in, out;
};

// Whether back-propagation adds to the gradient buffer or replaces its contents.
// Replacing saves the training step a separate pass that zeroes the buffer.
enum class GradMode { Accumulate, Overwrite };

// How back-propagation runs; either way it computes the same quantities (the
// bench compares the variants, and tests pin them to the reference).
struct BackwardTuning {
  bool fuse_bias_grad = true;  // σ' and the bias gradient in one pass over dZ, not two
  int progress_slices = 1;     // with communication in flight, GEMMs in this many slices (1: whole; measured no gain on one node)
};

// Called between GEMM slices, to push communication along (MPI_Test).
struct CommunicationPush {
  void (*call)(void* context) = nullptr;
  void* context = nullptr;
  int slices = 1;  // cut each GEMM into this many slices when call is set
  void operator()() const {
    if (call) call(context);
  }
};

template <class T>
struct DenseGrads {
  T* dW;  // (out, in)
  T* db;  // (out)
  GradMode mode = GradMode::Accumulate;
};

// A(B,out) = σ(X(B,in)·Wᵀ + b)
template <class T>
void dense_forward(const DenseParams<T>& p, Activation act, T leaky_slope, int rows, const T* X,
                   T* A);

// Back-propagation through the layer, in two halves so that the parameter
// gradient can be sent off before the input gradient is computed.
//
// Given dA = ∂L/∂A (B,out), overwritten with dZ = dA ⊙ σ'(z):
//   dW(out,in) (+)= dZᵀ(out,B)·X(B,in)
//   db(out)    (+)= Σ_rows dZ
// adding or replacing as g.mode says.
template <class T>
void dense_backward_params(const DenseParams<T>& p, Activation act, T leaky_slope, int rows,
                           const T* X, const T* A, T* dA, const DenseGrads<T>& g, bool fuse_bias_grad = true,
                           const CommunicationPush& push = {});
// dX(B,in) = dZ(B,out)·W(out,in)
template <class T>
void dense_backward_input(const DenseParams<T>& p, int rows, const T* dZ, T* dX, const CommunicationPush& push = {});

// dense_forward and dense_backward_input with each row computed alone, its
// bits the same in a call of any number of rows (core/row_stable_gemm.hpp):
// what --reproducible runs, so that a rank need not call BLAS once per
// micro-shard. Floats only.
void dense_forward_row_stable(const DenseParams<float>& p, Activation act, float leaky_slope, int rows,
                              const float* X, float* A);
void dense_backward_input_row_stable(const DenseParams<float>& p, int rows, const float* dZ, float* dX);

// db(cols) (+)= Σ_rows M(rows, cols), in row order for every thread count.
template <class T>
void column_sums(int rows, int cols, const T* M, T* db, GradMode mode);

}  // namespace dmlp
