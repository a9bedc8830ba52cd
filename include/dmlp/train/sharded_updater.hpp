#pragma once
// The sharded update (ZeRO stage 1 within a node): each rank of a node
// applies the regularization gradient and the optimizer to its own pieces of
// the shared parameters, with the shared optimizer state, after the gradient
// step summed those pieces (mpi/node_sync.hpp). Per value, the operations of
// LayerUpdater: the same bits. LARS and LAMB take each layer's norms from
// every rank's block sums, added in block order, as one rank would.
#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/node_share.hpp"
#include "dmlp/train/parameter_update.hpp"

namespace dmlp {

template <class T>
class ShardedUpdater final : public ParameterUpdate {
 public:
  ShardedUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg, GradientSync<T>& sync,
                 NodeShare<T>& node);

  GradientObserver& backward_observer() override { return sync_; }
  void begin(double lr_scale, StepClock& clock) override;
  bool finish() override;

 private:
  Optimizer<T>& optimizer_;
  Network<T>& net_;
  const Regularization& reg_;
  GradientSync<T>& sync_;
  NodeShare<T>& node_;
  double lr_scale_ = 1;
};

}  // namespace dmlp
