#include "dmlp/train/threads.hpp"

#include <omp.h>
#include <sched.h>

#include "dmlp/core/blas.hpp"

namespace dmlp {

int cores_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return omp_get_num_procs();
}

void set_threads(int n) {
  omp_set_num_threads(n);
  blas::set_threads(n);
}

std::string threading_summary() {
  const blas::LibraryInfo blas = blas::library_info();
  return "BLAS " + blas.name + " (" + blas.threading + " build, " + blas.core +
         " kernels); threads: OpenMP " + std::to_string(omp_get_max_threads()) + ", BLAS " +
         std::to_string(blas::threads());
}

std::string blas_threading_warning() {
  const blas::LibraryInfo blas = blas::library_info();
  if (blas.threading == "openmp") return {};
  return "warning: OpenBLAS is its " + blas.threading +
         " build; install libopenblas-openmp-dev (or select it with update-alternatives) so BLAS "
         "and OpenMP share one thread pool";
}

}  // namespace dmlp
