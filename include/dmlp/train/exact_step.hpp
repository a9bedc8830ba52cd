#pragma once
// The --reproducible step: this rank's rows in micro-shards of m rows that lie
// at multiples of m in the global batch whatever the rank count. Each
// micro-shard runs on one worker thread with one BLAS thread, so it gives the
// same floats on any rank; their gradients and losses are summed exactly
// (ExactSum), over the workers and then over the ranks, so the total is the
// same bits at every rank and thread count (docs/reproducibility.md).
#include <memory>
#include <vector>

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/gradient_step.hpp"

namespace dmlp {

// Exact sums over processes: every process's accumulator ends up holding the
// total. `windows` is scratch, reserved by the caller to stay allocation-free.
void reduce_exactly(ExactSum& sum, std::vector<std::int64_t>& windows, Collective& comm);

template <class T>
class ExactStep final : public GradientStep<T> {
 public:
  // Micro-shards of `m` rows; at most `max_rank_rows` rows a step on this
  // rank, so at most that many micro-shards' worth of workers are made.
  ExactStep(Network<T>& net, RowSource& train, Collective& comm, int m, std::int64_t max_rank_rows);
  LossSums compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) override;
  bool sums_over_ranks() const override { return true; }
  int workers() const override { return int(workers_.size()); }
  // Workers a rank uses: one per thread, no more than the micro-shards it holds.
  static int workers_for(std::int64_t max_rank_rows, int m);

 private:
  // One thread's micro-shard; worker 0 adds its gradient in the network's buffer.
  struct Worker {
    std::unique_ptr<Workspace<T>> ws;
    AlignedBuffer<std::int32_t> labels;  // (m)
    AlignedBuffer<T> targets;            // (m, k)
    AlignedBuffer<T> grads;              // like the parameters; empty for worker 0
    int rows = 0;
    LossSums sums;
  };
  std::span<T> grads_of(std::size_t w) { return w == 0 ? net_.grads() : workers_[w].grads.span(); }

  Network<T>& net_;
  RowSource& train_;
  Collective& comm_;
  std::size_t m_;
  std::vector<Worker> workers_;
  ExactSum exact_;                    // (parameters + 1 loss)
  std::vector<std::int64_t> windows_;  // the windows' all-reduce
};

}  // namespace dmlp
