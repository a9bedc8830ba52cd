#include "dmlp/core/blas.hpp"

#include <cblas.h>

#include <sstream>

namespace dmlp::blas {
namespace {
CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::N ? CblasNoTrans : CblasTrans; }
}  // namespace

template <>
void gemm<float>(Op op_a, Op op_b, int m, int n, int k, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), m, n, k, alpha, A, lda, B, ldb, beta,
              C, ldc);
}

template <>
void gemm<double>(Op op_a, Op op_b, int m, int n, int k, double alpha, const double* A, int lda,
                  const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), m, n, k, alpha, A, lda, B, ldb, beta,
              C, ldc);
}

void set_threads(int n) { openblas_set_num_threads(n); }
int threads() { return openblas_get_num_threads(); }

LibraryInfo library_info() {
  LibraryInfo info;
  std::istringstream config(openblas_get_config());
  std::string word, version;
  config >> word >> version;  // "OpenBLAS 0.3.21 ..."
  info.name = word + " " + version;
  info.core = openblas_get_corename();
  switch (openblas_get_parallel()) {
    case 0: info.threading = "sequential"; break;
    case 1: info.threading = "pthreads"; break;
    case 2: info.threading = "openmp"; break;
    default: info.threading = "unknown"; break;
  }
  info.config = openblas_get_config();
  return info;
}

}  // namespace dmlp::blas
