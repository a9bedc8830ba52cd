#pragma once
// How a step computes its gradient: forward, loss and backward over this
// rank's rows of the global batch, and the sum over ranks. Afterwards the
// network's gradient buffer holds Σ_ranks ∂L/∂w, and every rank the same.
#include <cstdint>
#include <span>

#include "dmlp/core/loss.hpp"
#include "dmlp/train/step_clock.hpp"

namespace dmlp {

template <class T>
class GradientStep {
 public:
  virtual ~GradientStep() = default;
  // Rows `rows` of a global batch of `batch` rows; returns the loss sums:
  // this rank's, or, where sums_over_ranks(), the sums over every rank.
  virtual LossSums compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) = 0;
  virtual bool sums_over_ranks() const = 0;
  // Threads that compute micro-shards at once (1: the BLAS threads share one).
  virtual int workers() const { return 1; }
  // Rows whose activations it holds at once, where not the workspace's (0).
  virtual std::int64_t rows_held() const { return 0; }
  // Background all-reduces its sums over the ranks take, where it has its own (0).
  virtual std::size_t sum_buckets() const { return 0; }
  // --reproducible: whether the exact sums go through the node's shared memory (else by all-reduce)
  virtual bool sums_shared() const { return false; }
  // A timeline to record spans into (null: none). Not owned.
  void set_trace(Trace* trace) { trace_ = trace; }

 protected:
  Trace* trace_ = nullptr;
};

}  // namespace dmlp
