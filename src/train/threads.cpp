#include "dmlp/train/threads.hpp"

#include <omp.h>

#include <cstdlib>
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

namespace {
// How wide a vector unit a kernel set or a CPU uses: 3 AVX-512, 2 AVX2 with
// FMA, 1 AVX, 0 SSE only.
int kernel_level(const std::string& core) {
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == name) return 3;
  for (const char* name : {"Haswell", "Zen"})
    if (core == name) return 2;
  for (const char* name : {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"})
    if (core == name) return 1;
  return 0;  // Prescott, Core2, Penryn, Nehalem, Atom, Barcelona, …
}
int cpu_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 3;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
  if (__builtin_cpu_supports("avx")) return 1;
  return 0;
}
}  // namespace

std::string blas_kernel_warning(const std::string& core, int cpu) {
  const int kernels = kernel_level(core);
  if (kernels >= cpu) return {};
  static constexpr const char* kCpu[] = {"SSE", "AVX", "AVX2", "AVX-512 (avx512f)"};
  static constexpr const char* kKernels[] = {"", "Sandybridge", "Haswell", "SkylakeX"};
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  return "warning: OpenBLAS runs its " + core + " kernels on a CPU with " + kCpu[cpu] +
         (forced ? std::string(" because OPENBLAS_CORETYPE=") + forced + " is set"
                 : std::string(" (it did not recognise this CPU)")) +
         ": GEMMs may run several times slower than the CPU can. Benchmark with the CPU's own kernels: "
         "OPENBLAS_CORETYPE=" + kKernels[cpu];
}

std::string blas_kernel_warning() { return blas_kernel_warning(blas::library_info().core, cpu_level()); }

std::string blas_threading_warning() {
  const blas::LibraryInfo blas = blas::library_info();
  if (blas.threading == "openmp") return {};
  return "warning: OpenBLAS is its " + blas.threading +
         " build; install libopenblas-openmp-dev (or select it with update-alternatives) so BLAS "
         "and OpenMP share one thread pool";
}

}  // namespace dmlp
