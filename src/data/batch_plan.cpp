#include "dmlp/data/batch_plan.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "dmlp/core/rng.hpp"

namespace dmlp {

Slice shard(std::int64_t total, int ranks, int rank) {
  const std::int64_t base = total / ranks, extra = total % ranks;
  return {rank * base + std::min<std::int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

void epoch_permutation(std::uint64_t seed, std::int64_t epoch, std::span<std::int64_t> order) {
  std::iota(order.begin(), order.end(), std::int64_t{0});
  const CounterRng rng(seed, RngStream::Shuffle, std::uint32_t(epoch));
  for (std::size_t i = order.size(); i > 1; --i) {
    const std::uint64_t j = rng.below(i, i);  // uniform on [0, i)
    std::swap(order[i - 1], order[j]);
  }
}

BatchPlan::BatchPlan(std::int64_t rows, std::int64_t global_batch, bool drop_last,
                     std::uint64_t seed, std::int64_t micro_batch)
    : rows_(rows),
      global_batch_(global_batch),
      steps_per_epoch_(drop_last ? rows / global_batch : (rows + global_batch - 1) / global_batch),
      micro_batch_(micro_batch),
      seed_(seed),
      order_(std::size_t(rows)) {}

void BatchPlan::shuffle(std::int64_t epoch) {
  if (epoch == epoch_) return;
  epoch_permutation(seed_, epoch, order_);
  epoch_ = epoch;
}

std::int64_t BatchPlan::batch_rows(std::int64_t step) const {
  return std::min(global_batch_, rows_ - step * global_batch_);
}

std::int64_t BatchPlan::micro_shards(std::int64_t step) const {
  return micro_batch_ > 0 ? (batch_rows(step) + micro_batch_ - 1) / micro_batch_ : 1;
}

Slice BatchPlan::rank_slice(std::int64_t batch, int ranks, int rank) const {
  if (micro_batch_ == 0) return shard(batch, ranks, rank);
  const Slice shards = shard((batch + micro_batch_ - 1) / micro_batch_, ranks, rank);
  const std::int64_t begin = std::min(batch, shards.begin * micro_batch_);
  return {begin, std::min(batch, (shards.begin + shards.count) * micro_batch_) - begin};
}

std::int64_t BatchPlan::full_batch_rank_rows(int ranks, int rank) const {
  return rank_slice(std::min(global_batch_, rows_), ranks, rank).count;
}

std::span<const std::int64_t> BatchPlan::rank_rows(std::int64_t step, int ranks, int rank) const {
  const Slice mine = rank_slice(batch_rows(step), ranks, rank);
  return std::span<const std::int64_t>(order_).subspan(
      std::size_t(step * global_batch_ + mine.begin), std::size_t(mine.count));
}

}  // namespace dmlp
