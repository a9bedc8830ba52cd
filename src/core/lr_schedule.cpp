#include "dmlp/core/lr_schedule.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "dmlp/core/errors.hpp"

namespace dmlp {

LrSchedule parse_lr_schedule(std::string_view name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "cosine") return LrSchedule::Cosine;
  throw InputError("unknown --lr-schedule '" + std::string(name) + "' (expected constant|cosine)");
}

std::string_view to_string(LrSchedule s) { return s == LrSchedule::Cosine ? "cosine" : "constant"; }

double lr_factor(LrSchedule schedule, std::int64_t step, std::int64_t total_steps,
                 std::int64_t warmup_steps) {
  if (warmup_steps > 0 && step < warmup_steps) return double(step + 1) / double(warmup_steps);
  if (schedule == LrSchedule::Constant || total_steps <= warmup_steps) return 1.0;
  const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);
  return 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(progress, 1.0)));
}

}  // namespace dmlp
