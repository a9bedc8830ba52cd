#pragma once
// One thread count for both users of the cores: OpenMP's element-wise loops and
// OpenBLAS (whose OpenMP build runs on the same libgomp pool).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dmlp {

// A set of CPUs: CPU c is bit c % 64 of words[c / 64]. Every mask has the same
// words, so processes can combine theirs word by word (an MPI_BOR all-reduce).
struct CpuMask {
  static constexpr std::size_t kWords = 16;  // 1024 CPUs, glibc's CPU_SETSIZE
  std::array<std::uint64_t, kWords> words{};
  int count() const;
};

// The CPUs this process may run on (its affinity mask); nullopt where the
// system does not say.
std::optional<CpuMask> own_cpu_mask();

// Cores this process may run on (its affinity mask), not the machine's total.
int cores_available();

// Sets OpenMP's and OpenBLAS's thread counts to n.
void set_threads(int n);

// While it lives, every BLAS call runs on one thread, and so does every
// OpenMP region that does not ask for a number of threads: OpenBLAS's OpenMP
// build takes its thread count from OpenMP's at each call. OpenBLAS's result
// for a given shape changes with its thread count (docs/reproducibility.md),
// so --reproducible computes each micro-shard with one BLAS thread and spreads
// micro-shards over the threads instead (a num_threads region).
class SerialBlas {
 public:
  SerialBlas();
  ~SerialBlas();
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int openmp_threads_, blas_threads_;
};

// One line for the start-up summary, e.g.
// "BLAS OpenBLAS 0.3.21 (openmp build, Zen kernels); threads: OpenMP 2, BLAS 2".
std::string threading_summary();

// Empty, or a warning when OpenBLAS is not its OpenMP build.
std::string blas_threading_warning();

// Empty, or a warning when OpenBLAS's kernels use a narrower vector unit than
// the CPU has (AVX-512 CPU, Haswell or Prescott kernels): forced by
// OPENBLAS_CORETYPE, or a CPU OpenBLAS does not recognise (virtual machines
// that hide the CPU model get Prescott). `cpu`: 3 AVX-512, 2 AVX2+FMA, 1 AVX, 0 SSE.
std::string blas_kernel_warning(const std::string& core, int cpu);
std::string blas_kernel_warning();  // for this process's OpenBLAS and CPU

}  // namespace dmlp
