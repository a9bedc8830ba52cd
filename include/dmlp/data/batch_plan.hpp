#pragma once
// Which rows each step trains on, independent of the rank count.
//
// Epoch e visits the rows in one permutation drawn from (seed, e), the same on
// every rank. It is cut into global batches of B rows (the last one shorter,
// or dropped with drop_last). Rank r of P takes a contiguous slice of each
// global batch; slices differ in size by at most one row. So with the same seed
// and B, step s trains on the same set of rows for every P.
//
// With micro-batches of m rows, each global batch is cut into micro-shards of
// m rows in epoch order (the last one shorter), boundaries that depend on
// (B, m) alone. Rank r then takes a contiguous run of whole micro-shards; runs
// differ by at most one micro-shard, and a rank may hold none.
#include <cstdint>
#include <span>
#include <vector>

namespace dmlp {

struct Slice {
  std::int64_t begin = 0;
  std::int64_t count = 0;
};

// Rank `rank`'s part of `total` items split over `ranks`: the first total % ranks
// ranks hold one item more.
Slice shard(std::int64_t total, int ranks, int rank);

class BatchPlan {
 public:
  // micro_batch 0: no micro-shards, rank slices differ by at most one row.
  BatchPlan(std::int64_t rows, std::int64_t global_batch, bool drop_last, std::uint64_t seed,
            std::int64_t micro_batch = 0);

  std::int64_t rows() const { return rows_; }
  std::int64_t global_batch() const { return global_batch_; }
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  std::int64_t micro_batch() const { return micro_batch_; }  // 0: none

  // Makes `epoch`'s permutation current (Fisher-Yates driven by Philox).
  void shuffle(std::int64_t epoch);
  std::int64_t epoch() const { return epoch_; }
  std::span<const std::int64_t> order() const { return order_; }

  // Rows in global batch `step` of the current epoch (B, or fewer for the last).
  std::int64_t batch_rows(std::int64_t step) const;
  // Micro-shards in global batch `step` (1 without micro-batches).
  std::int64_t micro_shards(std::int64_t step) const;
  // The rows rank `rank` of `ranks` trains on at `step` of the current epoch;
  // with micro-batches, whole micro-shards, which begin at a multiple of m.
  std::span<const std::int64_t> rank_rows(std::int64_t step, int ranks, int rank) const;
  // The rows rank `rank` trains on in a full global batch (the first of an epoch).
  std::int64_t full_batch_rank_rows(int ranks, int rank) const;
  // The most rows any rank trains on in one step.
  std::int64_t max_rank_rows(int ranks) const { return full_batch_rank_rows(ranks, 0); }

 private:
  std::int64_t rows_, global_batch_, steps_per_epoch_, micro_batch_;
  std::uint64_t seed_;
  Slice rank_slice(std::int64_t batch, int ranks, int rank) const;  // within a batch of `batch` rows
  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> order_;
};

// The permutation of [0, n) for (seed, epoch), written into `order`.
void epoch_permutation(std::uint64_t seed, std::int64_t epoch, std::span<std::int64_t> order);

}  // namespace dmlp
