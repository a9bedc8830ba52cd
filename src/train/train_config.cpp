#include "dmlp/train/train_config.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/train/memory_plan.hpp"
#include "dmlp/train/position.hpp"

namespace dmlp {

std::int64_t workspace_rows(const TrainConfig& c, std::int64_t rows, int ranks) {
  const std::int64_t batch = std::min(c.global_batch, rows);
  return c.micro_batch > 0 ? std::min(c.micro_batch, batch) : shard(batch, ranks, 0).count;
}

OptimizerConfig effective_optimizer(const TrainConfig& c) {
  OptimizerConfig o = c.optimizer;
  const double factor = lr_batch_factor(c.lr_scaling, c.global_batch, std::max<std::int64_t>(1, c.lr_reference_batch));
  o.lr_weights *= factor;
  o.lr_bias *= factor;
  return o;
}

void validate(const TrainConfig& c) {
  if (c.global_batch <= 0)
    throw InputError(setting("global_batch") + " " + std::to_string(c.global_batch) + " must be positive");
  require_at_most(c.global_batch, kMaxRows, setting("global_batch"));
  if (c.epochs <= 0) throw InputError(setting("epochs") + " " + std::to_string(c.epochs) + " must be positive");
  require_at_most(c.epochs, kMaxSteps, setting("epochs"));
  if (c.max_steps < 0)
    throw InputError(setting("max_steps") + " " + std::to_string(c.max_steps) + " must be >= 0");
  require_at_most(c.max_steps, kMaxSteps, setting("max_steps"));
  if (c.log_every <= 0)
    throw InputError(setting("log_every") + " " + std::to_string(c.log_every) + " must be positive");
  if (c.warmup_steps < 0)
    throw InputError(setting("warmup_steps") + " " + std::to_string(c.warmup_steps) + " must be >= 0");
  require_at_most(c.warmup_steps, kMaxSteps, setting("warmup_steps"));
  validate(c.optimizer);
  if (c.lr_reference_batch < 1)
    throw InputError(setting("lr_reference_batch") + " " + std::to_string(c.lr_reference_batch) + " must be positive");
  require_at_most(c.lr_reference_batch, kMaxRows, setting("lr_reference_batch"));
  try {
    validate(effective_optimizer(c));  // the scaled rates too: a huge B/B0 can break AdamW's decay bound
  } catch (const InputError& e) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", lr_batch_factor(c.lr_scaling, c.global_batch, c.lr_reference_batch));
    throw InputError(setting("lr_scaling") + " " + std::string(to_string(c.lr_scaling)) + " multiplies " +
                     setting("lr_weights") + " and " + setting("lr_bias") + " by " + factor + " (batch " +
                     std::to_string(c.global_batch) + " against " + std::to_string(c.lr_reference_batch) +
                     "), and then " + e.what());
  }
  if (c.micro_batch < 0)
    throw InputError(setting("micro_batch") + " " + std::to_string(c.micro_batch) + " must be positive (0: none)");
  require_at_most(c.micro_batch, kMaxRows, setting("micro_batch"));
  if (c.reproducible && c.micro_batch == 0)
    throw InputError(setting("reproducible") + " needs " + setting("micro_batch") + " of at least 1 (default " +
                     std::to_string(kDefaultReproducibleMicroBatch) + ")");
  validate(c.reg);
}

void validate(const TrainConfig& c, const DataShape& train, const ModelSpec& model, int ranks,
              const std::string& data_name) {
  validate(c);
  if (train.rows <= 0) throw InputError(data_name + " is empty");
  // Each epoch's order is a permutation of every row: 8 bytes a row on each rank.
  require_memory(double(train.rows) * sizeof(std::int64_t),
                 "the epoch order of " + data_name + "'s " + std::to_string(train.rows) + " rows");
  if (train.rows < ranks)
    throw InputError(data_name + " has " + std::to_string(train.rows) + " samples, fewer than the " +
                     std::to_string(ranks) + " ranks; expected at least one sample per rank");
  if (c.drop_last && train.rows < c.global_batch)
    throw InputError(setting("drop_last") + " with " + setting("global_batch") + " " + std::to_string(c.global_batch) + " leaves no batch: " +
                     data_name + " has " + std::to_string(train.rows) + " samples");
  check_data_fits_model(train, model, data_name);
  const std::int64_t rows = workspace_rows(c, train.rows, ranks);
  require_memory(workspace_bytes(model, rows, sizeof(double)),
                 "the workspace of " + std::to_string(rows) +
                     (c.micro_batch > 0 ? " rows (" + setting("micro_batch") + " " + std::to_string(c.micro_batch) + ")"
                                        : " rows per rank (" + setting("global_batch") + " " + std::to_string(c.global_batch) + ")"));
}

void check_data_fits_model(const DataShape& data, const ModelSpec& model, const std::string& data_name) {
  if (data.features != model.inputs())
    throw InputError("the model takes " + std::to_string(model.inputs()) + " inputs (first " + setting("widths") + " width) but " +
                     data_name + " has " + std::to_string(data.features) + " features");
  if (data.is_classification() != is_classification(model.loss))
    throw InputError("loss " + std::string(to_string(model.loss)) + " does not fit " +
                     (data.is_classification() ? "classification" : "regression") + " data (" + data_name + ")");
  if (data.is_classification()) {
    const int classes = num_classes_for_output(model.loss, model.outputs());
    require_memory(double(classes) * double(classes) * sizeof(double),
                   "an evaluation's confusion matrix of " + std::to_string(classes) + " classes");
    if (data.num_classes > classes)
      throw InputError(data_name + " has " + std::to_string(data.num_classes) + " classes but the model's output (" +
                       std::to_string(model.outputs()) + " with " + std::string(to_string(model.loss)) + ") fits " +
                       std::to_string(classes));
  } else if (data.targets != model.outputs()) {
    throw InputError(data_name + " has " + std::to_string(data.targets) + " targets per row but the model has " +
                     std::to_string(model.outputs()) + " outputs (last " + setting("widths") + " width)");
  }
}

// The rates as they train must be numbers in T: a scaling rule can take a
// finite --lr beyond float's range, where every update would be infinite.
template <class T>
void validate_for(const TrainConfig& c, const DataShape& train, const ModelSpec& model, int ranks,
                  const std::string& data_name) {
  validate(c, train, model, ranks, data_name);
  const OptimizerConfig o = effective_optimizer(c);
  for (const auto& [rate, given, option] :
       {std::tuple{o.lr_weights, c.optimizer.lr_weights, setting("lr_weights")}, std::tuple{o.lr_bias, c.optimizer.lr_bias, setting("lr_bias")}}) {
    if (std::isfinite(T(rate))) continue;
    const std::string scaled = rate == given ? "" : " (" + setting("lr_scaling") + " " + std::string(to_string(c.lr_scaling)) +
                                                        " made it " + format_number(rate) + ")";
    throw InputError(std::string(option) + " " + format_number(given) + scaled + " is beyond the range of " +
                     (sizeof(T) == 4 ? "float32" : "float64") + ": every update would be infinite");
  }
}

template void validate_for<float>(const TrainConfig&, const DataShape&, const ModelSpec&, int, const std::string&);
template void validate_for<double>(const TrainConfig&, const DataShape&, const ModelSpec&, int, const std::string&);

std::int64_t total_steps(const TrainConfig& c, std::int64_t steps_per_epoch) {
  if (c.max_steps == 0 && c.epochs > kMaxSteps / steps_per_epoch)
    throw InputError(setting("epochs") + " " + std::to_string(c.epochs) + " is too large: " + std::to_string(c.epochs) + " x " +
                     std::to_string(steps_per_epoch) + " steps per epoch is more than " + std::to_string(kMaxSteps) +
                     " steps");
  const std::int64_t steps = c.max_steps > 0 ? c.max_steps : c.epochs * steps_per_epoch;
  if (steps > kMaxSamples / c.global_batch)
    throw InputError(std::to_string(steps) + " steps of " + setting("global_batch") + " " + std::to_string(c.global_batch) +
                     " are more than " + std::to_string(kMaxSamples) + " samples; lower " + setting("epochs") + " or " + setting("max_steps"));
  return steps;
}

}  // namespace dmlp
