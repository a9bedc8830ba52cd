#pragma once
// Learning-rate schedules: the factor multiplying η_w and η_b at each step, a
// pure function of the step so that a resumed run continues exactly.
//
//   constant  1
//   cosine    ½(1 + cos(π·s/S)) after a linear warm-up over the first W steps
//
// and the rules that scale the base rates with the global batch B against a
// reference batch B0 (Goyal et al. 2017, "Accurate, Large Minibatch SGD"):
//
//   none      η = η0
//   linear    η = η0 · B/B0
//   sqrt      η = η0 · √(B/B0)
#include <cstdint>
#include <string_view>

namespace dmlp {

enum class LrSchedule { Constant, Cosine };

LrSchedule parse_lr_schedule(std::string_view name);  // throws InputError
std::string_view to_string(LrSchedule s);

// Factor for step s (0-based) of a run of S steps with W warm-up steps.
double lr_factor(LrSchedule schedule, std::int64_t step, std::int64_t total_steps,
                 std::int64_t warmup_steps);

enum class LrScaling { None, Linear, Sqrt };
inline constexpr std::int64_t kDefaultLrReferenceBatch = 256;  // Goyal et al.'s B0

LrScaling parse_lr_scaling(std::string_view name);  // throws InputError
std::string_view to_string(LrScaling s);
// The factor multiplying the base rates at global batch B.
double lr_batch_factor(LrScaling scaling, std::int64_t batch, std::int64_t reference_batch);

}  // namespace dmlp
