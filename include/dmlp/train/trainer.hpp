#pragma once
// The data-parallel training loop. Each rank runs forward and backward on its
// slice of every global batch; the gradient step sums the slices' gradients,
// which the loss has already scaled by 1/B, so every rank applies the same
// update to the same parameters. The parts of a step live in their own files:
//   the gradient   accumulating_step.hpp (plain), exact_step.hpp (--reproducible)
//   the update     layer_updater.hpp (after backward, or layer by layer during it),
//                  sharded_updater.hpp (each rank of a node its pieces of one shared model)
//   the data       batch_plan.hpp (the order), read_ahead.hpp (streamed sets)
//   the reports    step_reports.hpp, evaluate.hpp
#include <cstdint>
#include <memory>

#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/evaluate.hpp"
#include "dmlp/train/gradient_step.hpp"
#include "dmlp/train/layer_updater.hpp"
#include "dmlp/train/node_share.hpp"
#include "dmlp/train/observer.hpp"
#include "dmlp/train/position.hpp"
#include "dmlp/train/read_ahead.hpp"
#include "dmlp/train/reports.hpp"
#include "dmlp/train/step_reports.hpp"
#include "dmlp/train/train_config.hpp"

namespace dmlp {

template <class T>
class Trainer {
 public:
  Trainer(Network<T>& net, RowSource& train, RowSource* test, TrainConfig config, Collective& comm,
          GradientSync<T>& sync, NodeShare<T>* node = nullptr);
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Steps until the run is done or the observer asks to stop; returns true when it stopped early.
  bool run(TrainingObserver* observer = nullptr);
  void step();  // one global step
  bool done() const { return position_.step >= total_steps_; }

  EvalResult evaluate(RowSource& data);

  const TrainConfig& config() const { return config_; }
  std::int64_t total_steps() const { return total_steps_; }
  std::int64_t steps_per_epoch() const { return plan_.steps_per_epoch(); }
  const BatchPlan& plan() const { return plan_; }
  int workers() const { return gradient_->workers(); }  // threads on micro-shards at once
  std::size_t sum_buckets() const { return gradient_->sum_buckets(); }
  bool sums_shared() const { return gradient_->sums_shared(); }
  int workspace_rows() const { return workspace_rows_; }
  // The rows training_memory() is to count the workspace for.
  std::int64_t memory_rows() const { return gradient_->rows_held() > 0 ? gradient_->rows_held() : workspace_rows_; }
  std::int64_t max_rows_per_rank() const { return plan_.max_rank_rows(comm_.size()); }
  TrainPosition& position() { return position_; }
  const TrainPosition& position() const { return position_; }
  Optimizer<T>& optimizer() { return optimizer_; }
  const Optimizer<T>& optimizer() const { return optimizer_; }
  double lr_at(std::int64_t step) const;
  const PhaseTimes& last_step_times() const { return last_step_; }
  // A timeline to record steps into (--trace); null: none. Not owned.
  void set_trace(Trace* trace);
  Trace* trace() const { return trace_; }

 private:
  ReportContext report_context() const;

  Network<T>& net_;
  RowSource* test_;
  TrainConfig config_;
  Collective& comm_;
  Optimizer<T> optimizer_;
  BatchPlan plan_;
  std::int64_t total_steps_;
  int workspace_rows_;
  std::unique_ptr<ParameterUpdate> updater_;  // LayerUpdater, or ShardedUpdater with a node
  std::unique_ptr<GradientStep<T>> gradient_;
  ReadAhead read_ahead_;
  StepReports reports_;
  TrainPosition position_;
  PhaseTimes last_step_;
  Trace* trace_ = nullptr;
};

}  // namespace dmlp
