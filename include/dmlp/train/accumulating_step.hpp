#pragma once
// The plain step: this rank's rows in chunks that the workspace holds (one
// chunk, or micro-shards whose gradients add up), all BLAS threads on each.
// In the last chunk each layer's sum over ranks starts as soon as backward
// has its gradient, and early updates (LayerUpdater) may run inside it.
#include "dmlp/core/network.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/gradient_step.hpp"
#include "dmlp/train/parameter_update.hpp"

namespace dmlp {

template <class T>
class AccumulatingStep final : public GradientStep<T> {
 public:
  // A workspace of `rows` rows; backward runs as `tuning` says.
  AccumulatingStep(Network<T>& net, RowSource& train, GradientSync<T>& sync, ParameterUpdate& updater, int rows,
                   const BackwardTuning& tuning);
  LossSums compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) override;
  bool sums_over_ranks() const override { return false; }
  int workspace_rows() const { return ws_.max_rows(); }

 private:
  Network<T>& net_;
  RowSource& train_;
  GradientSync<T>& sync_;
  ParameterUpdate& updater_;
  BackwardTuning tuning_;
  Workspace<T> ws_;
  AlignedBuffer<std::int32_t> labels_;  // (rows)
  AlignedBuffer<T> targets_;            // (rows, k)
};

}  // namespace dmlp
