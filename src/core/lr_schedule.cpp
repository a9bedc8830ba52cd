#include "dmlp/core/lr_schedule.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dmlp/core/name_table.hpp"

namespace dmlp {
namespace {
constexpr NameTable<LrSchedule, 2> kLrScheduleNames{
    "schedule", {{{LrSchedule::Constant, "constant"}, {LrSchedule::Cosine, "cosine"}}}};
constexpr NameTable<LrScaling, 3> kLrScalingNames{
    "lr_scaling", {{{LrScaling::None, "none"}, {LrScaling::Linear, "linear"}, {LrScaling::Sqrt, "sqrt"}}}};
}  // namespace

LrScaling parse_lr_scaling(std::string_view name) { return kLrScalingNames.parse(name); }
std::string_view to_string(LrScaling s) { return kLrScalingNames.name(s); }

double lr_batch_factor(LrScaling scaling, std::int64_t batch, std::int64_t reference_batch) {
  const double ratio = double(batch) / double(reference_batch);
  switch (scaling) {
    case LrScaling::None: return 1.0;
    case LrScaling::Linear: return ratio;
    case LrScaling::Sqrt: return std::sqrt(ratio);
  }
  return 1.0;
}

LrSchedule parse_lr_schedule(std::string_view name) { return kLrScheduleNames.parse(name); }
std::string_view to_string(LrSchedule s) { return kLrScheduleNames.name(s); }

double lr_factor(LrSchedule schedule, std::int64_t step, std::int64_t total_steps,
                 std::int64_t warmup_steps) {
  if (warmup_steps > 0 && step < warmup_steps) return double(step + 1) / double(warmup_steps);
  if (schedule == LrSchedule::Constant || total_steps <= warmup_steps) return 1.0;
  const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);
  return 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(progress, 1.0)));
}

}  // namespace dmlp
