#pragma once
// The CPU versions of dmlp's own vector kernels (core/exact_sum.hpp,
// core/row_stable_gemm.hpp). Within a family every version gives the same
// bits, so each family runs the fastest one the CPU has, and the tests run
// them all.
namespace dmlp {

enum class CpuKernels { avx512, avx2, portable };

inline const char* cpu_kernels_name(CpuKernels k) {
  switch (k) {
    case CpuKernels::avx512: return "AVX-512";
    case CpuKernels::avx2: return "AVX2";
    default: return "portable";
  }
}

}  // namespace dmlp
