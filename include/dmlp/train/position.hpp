#pragma once
// Where training stands; with the parameters and optimizer state, all a restart
// needs (the data order is a function of (seed, epoch)).
#include <cstdint>

namespace dmlp {

// Bounds that keep every counter of a run far from overflow, checked where a
// setting or a checkpoint gives them: steps (--max-steps, --epochs times the
// steps of an epoch, a checkpoint's step), and rows trained on (steps times
// the batch). 2^48 steps is nine years at a million steps a second.
inline constexpr std::int64_t kMaxSteps = std::int64_t{1} << 48;
inline constexpr std::int64_t kMaxSamples = std::int64_t{1} << 62;

struct TrainPosition {
  std::int64_t step = 0;           // global steps done
  std::int64_t epoch = 0;          // epoch of the last step (0-based)
  std::int64_t step_in_epoch = 0;  // steps done in that epoch; the next step starts a new
                                   // epoch once this reaches steps_per_epoch
  std::int64_t samples = 0;        // rows trained on, all ranks together
};

}  // namespace dmlp
