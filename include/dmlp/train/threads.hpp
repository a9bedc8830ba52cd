#pragma once
// One thread count for both users of the cores: OpenMP's element-wise loops and
// OpenBLAS (whose OpenMP build runs on the same libgomp pool).
#include <string>

namespace dmlp {

// Cores this process may run on (its affinity mask), not the machine's total.
int cores_available();

// Sets OpenMP's and OpenBLAS's thread counts to n.
void set_threads(int n);

// One line for the start-up summary, e.g.
// "BLAS OpenBLAS 0.3.21 (openmp build, Zen kernels); threads: OpenMP 2, BLAS 2".
std::string threading_summary();

// Empty, or a warning when OpenBLAS is not its OpenMP build.
std::string blas_threading_warning();

}  // namespace dmlp
