#pragma once
// The one door to BLAS. Every cblas call in dmlp goes through this file, so the
// storage order (row-major), the thread control and the library report live in
// one place.
#include <string>

namespace dmlp::blas {

enum class Op { N, T };  // use the matrix as stored, or its transpose

// C(m,n) = alpha · op(A)(m,k) · op(B)(k,n) + beta · C(m,n), all row-major.
template <class T>
void gemm(Op op_a, Op op_b, int m, int n, int k, T alpha, const T* A, int lda, const T* B, int ldb,
          T beta, T* C, int ldc);

// Thread control. With OpenBLAS's OpenMP build, BLAS runs on libgomp's pool,
// the same pool as our element-wise loops: one pool, no oversubscription.
void set_threads(int n);
int threads();

struct LibraryInfo {
  std::string name;        // e.g. "OpenBLAS 0.3.21"
  std::string core;        // the kernel set OpenBLAS chose, e.g. "Zen"
  std::string threading;   // "openmp", "pthreads" or "sequential"
  std::string config;      // OpenBLAS's own build string
};
LibraryInfo library_info();

}  // namespace dmlp::blas
