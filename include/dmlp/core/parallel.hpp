#pragma once
// Element-wise loops run on OpenMP's pool only when they are big enough to
// repay the fork/join (a few microseconds).
#include <algorithm>
#include <cstddef>

namespace dmlp {
inline constexpr std::size_t kParallelThreshold = 1 << 14;

// Runs block(j0, j1) over blocks of kColumnBlock columns of a rows x cols
// matrix, the blocks spread over the threads when the matrix is large. Each
// thread owns whole columns and sums them in row order, so any thread count
// gives the same bits.
inline constexpr int kColumnBlock = 64;
template <class Block>
void for_column_blocks(int rows, int cols, Block&& block) {
  const int blocks = (cols + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (std::size_t(rows) * cols >= kParallelThreshold)
  for (int b = 0; b < blocks; ++b) block(b * kColumnBlock, std::min(cols, b * kColumnBlock + kColumnBlock));
}

}  // namespace dmlp
