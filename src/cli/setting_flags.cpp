#include "setting_flags.hpp"

#include <array>
#include <utility>

#include "dmlp/core/settings.hpp"

namespace dmlp::cli {
namespace {
// setting (the field a C++ caller sets) → the flag that sets it
constexpr std::array<std::pair<std::string_view, std::string_view>, 34> kFlags{{
    {"global_batch", "--batch-size"},
    {"epochs", "--epochs"},
    {"max_steps", "--max-steps"},
    {"drop_last", "--drop-last"},
    {"log_every", "--log-every"},
    {"warmup_steps", "--warmup-steps"},
    {"schedule", "--lr-schedule"},
    {"lr_scaling", "--lr-scaling"},
    {"lr_reference_batch", "--lr-reference-batch"},
    {"micro_batch", "--micro-batch"},
    {"reproducible", "--reproducible"},
    {"lambda", "--lambda"},
    {"widths", "--layers"},
    {"leaky_slope", "--leaky-slope"},
    {"optimizer", "--optimizer"},
    {"lr_weights", "--lr"},
    {"lr_bias", "--lr-bias"},
    {"momentum", "--momentum"},
    {"nesterov", "--nesterov"},
    {"weight_decay", "--weight-decay"},
    {"beta1", "--beta1"},
    {"beta2", "--beta2"},
    {"eps", "--eps"},
    {"trust_coefficient", "--trust-coefficient"},
    {"noise", "--noise"},
    {"threads", "--threads"},
    {"stall_timeout", "--stall-timeout"},
    {"resume", "--resume"},
    {"delimiter", "--delimiter"},
    {"label_column", "--label-column"},
    {"num_classes", "--num-classes"},
    {"target_columns", "--target-columns"},
    {"read_ahead_mb", "--read-ahead-mb"},
    {"bucket_mb", "--bucket-mb"},
}};

std::string flag_namer(std::string_view setting) { return flag_for(setting); }
}  // namespace

std::string flag_for(std::string_view setting) {
  for (const auto& [name, flag] : kFlags)
    if (name == setting) return std::string(flag);
  return "";
}

void name_settings_by_flags() { set_setting_namer(flag_namer); }

}  // namespace dmlp::cli
