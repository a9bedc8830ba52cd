#pragma once
// What a training run is asked to do, and the checks that it can be done:
// one rule per setting, the same for a C++ caller and the command line.
#include <cstdint>
#include <string>

#include "dmlp/core/dense.hpp"
#include "dmlp/core/lr_schedule.hpp"
#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/data/dataset.hpp"

namespace dmlp {

struct TrainConfig {
  std::int64_t global_batch = 64;  // B, over all ranks
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;      // > 0: stop after this many steps, whatever the epochs
  bool drop_last = false;
  std::uint64_t seed = 1;
  OptimizerConfig optimizer;  // the base rates η0: see effective_optimizer
  LrScaling lr_scaling = LrScaling::None;
  std::int64_t lr_reference_batch = kDefaultLrReferenceBatch;  // B0
  LrSchedule schedule = LrSchedule::Constant;
  std::int64_t warmup_steps = 0;
  Regularization reg;
  std::int64_t log_every = 100;    // steps between step reports
  // > 0: each global batch is cut into micro-shards of this many rows; a rank
  // runs its micro-shards one after another and sums their gradients before
  // communicating once (gradient accumulation: the workspace holds m rows).
  std::int64_t micro_batch = 0;
  // Bitwise the same parameters, loss and evaluation at every rank and thread
  // count: micro-shards computed with one BLAS thread each, and every sum over
  // them exact (ExactSum). Needs micro_batch > 0.
  bool reproducible = false;
  // Update each layer as soon as backward is done with it and its gradient is
  // summed (one rank, or a sync that reports its buckets); not with reproducible.
  bool early_update = true;
  BackwardTuning tuning;  // how backward runs (fused passes, GEMM slices for MPI progress)
};

inline constexpr std::int64_t kDefaultReproducibleMicroBatch = 32;

// The optimizer as it trains: η_w and η_b scaled by the lr-scaling rule for
// the global batch (the schedule's factor then applies step by step).
OptimizerConfig effective_optimizer(const TrainConfig& config);

// Throws InputError for a setting out of its range, or settings that do not
// go together: one rule per setting, whatever the data.
void validate(const TrainConfig& config);
// The same, and for settings that cannot train on `train` with `ranks` ranks.
void validate(const TrainConfig& config, const DataShape& train, const ModelSpec& model, int ranks,
              const std::string& data_name = "the training set");
// The same, and that the rates as they train are numbers in T (float or double).
template <class T>
void validate_for(const TrainConfig& config, const DataShape& train, const ModelSpec& model, int ranks,
                  const std::string& data_name);
// Throws InputError unless the model can read the data: input width, and the
// output fitting the classes or targets.
void check_data_fits_model(const DataShape& data, const ModelSpec& model, const std::string& data_name);

// Rows the workspace holds: a micro-shard, or the largest slice of a global batch.
std::int64_t workspace_rows(const TrainConfig& config, std::int64_t rows, int ranks);
// Steps the run does, given the steps of an epoch; throws InputError when the
// counters would pass their bounds (train/progress.hpp).
std::int64_t total_steps(const TrainConfig& config, std::int64_t steps_per_epoch);

}  // namespace dmlp
