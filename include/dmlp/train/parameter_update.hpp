#pragma once
// The update of a step, as the training loop sees it: LayerUpdater (every
// rank updates the whole model) or ShardedUpdater (the ranks of a node each
// update their pieces of one shared model).
#include "dmlp/core/network.hpp"
#include "dmlp/train/step_clock.hpp"

namespace dmlp {

class ParameterUpdate {
 public:
  virtual ~ParameterUpdate() = default;
  // Whom backward's last pass tells of finished layers.
  virtual GradientObserver& backward_observer() = 0;
  // A step begins: its learning rate is η_w's schedule factor `lr_scale`;
  // updates during backward are booked on `clock` as the update.
  virtual void begin(double lr_scale, StepClock& clock) = 0;
  // After the gradient step: updates what is left. Returns false when any
  // update met a NaN or infinite value, alike on every rank.
  virtual bool finish() = 0;
};

}  // namespace dmlp
