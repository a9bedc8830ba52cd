#include "dmlp/train/threads.hpp"

#include <omp.h>
#include <sched.h>

#include <bit>

#include "dmlp/core/blas.hpp"

namespace dmlp {

static_assert(CpuMask::kWords * 64 == CPU_SETSIZE, "a CpuMask holds exactly what sched_getaffinity reports");

int CpuMask::count() const {
  int n = 0;
  for (const std::uint64_t word : words) n += std::popcount(word);
  return n;
}

std::optional<CpuMask> own_cpu_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::nullopt;
  CpuMask mask;
  for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) mask.words[cpu / 64] |= std::uint64_t(1) << (cpu % 64);
  return mask;
}

int cores_available() {
  if (const auto mask = own_cpu_mask()) return mask->count();
  return omp_get_num_procs();
}

void set_threads(int n) {
  omp_set_num_threads(n);
  blas::set_threads(n);
}

SerialBlas::SerialBlas() : openmp_threads_(omp_get_max_threads()), blas_threads_(blas::threads()) {
  // OpenBLAS's OpenMP build follows omp_get_max_threads() at every call, so
  // OpenMP's count must be 1 too; parallel regions that want threads name
  // them (num_threads), and a GEMM inside one runs on one thread.
  blas::set_threads(1);
  omp_set_num_threads(1);
}

SerialBlas::~SerialBlas() {
  blas::set_threads(blas_threads_);
  omp_set_num_threads(openmp_threads_);
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
