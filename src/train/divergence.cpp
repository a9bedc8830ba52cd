#include "dmlp/train/divergence.hpp"
#include "dmlp/core/settings.hpp"

#include "dmlp/core/errors.hpp"

namespace dmlp {

std::string divergence_advice() { return "lower " + setting("lr_weights") + " (or add " + setting("warmup_steps") + ") and resume from the newest checkpoint"; }

std::string DivergenceNotes::message(std::int64_t step, const std::string& what) const {
  std::string text = "diverged at step " + std::to_string(step) + ": " + what;
  text += step_ >= 0 ? "; the last loss reported, at step " + std::to_string(step_) + ", was " + format_number(loss_)
                     : "; no loss was logged before it (" + setting("log_every") + ")";
  return text + ". Nothing non-finite was written; " + divergence_advice();
}

}  // namespace dmlp
