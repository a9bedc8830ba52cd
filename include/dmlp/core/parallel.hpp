#pragma once
// Element-wise loops run on OpenMP's pool only when they are big enough to
// repay the fork/join (a few microseconds).
#include <cstddef>

namespace dmlp {
inline constexpr std::size_t kParallelThreshold = 1 << 14;
}  // namespace dmlp
