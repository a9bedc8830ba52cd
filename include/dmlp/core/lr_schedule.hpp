#pragma once
// Learning-rate schedules: the factor multiplying η_w and η_b at each step, a
// pure function of the step so that a resumed run continues exactly.
//
//   constant  1
//   cosine    ½(1 + cos(π·s/S)) after a linear warm-up over the first W steps
#include <cstdint>
#include <string_view>

namespace dmlp {

enum class LrSchedule { Constant, Cosine };

LrSchedule parse_lr_schedule(std::string_view name);  // throws InputError
std::string_view to_string(LrSchedule s);

// Factor for step s (0-based) of a run of S steps with W warm-up steps.
double lr_factor(LrSchedule schedule, std::int64_t step, std::int64_t total_steps,
                 std::int64_t warmup_steps);

}  // namespace dmlp
