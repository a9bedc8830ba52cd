#pragma once
// The sharded update (ZeRO stage 1 within a node): each rank of a node
// applies the regularization gradient and the optimizer to its own pieces of
// the shared parameters, with the shared optimizer state, after the gradient
// step summed those pieces (mpi/node_sync.hpp). Per value, the operations of
// LayerUpdater: the same bits. LARS and LAMB take each layer's norms from
// every rank's block sums, added in block order, as one rank would.
#include <vector>

#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/node_share.hpp"
#include "dmlp/train/parameter_update.hpp"
#include "dmlp/train/step_clock.hpp"

namespace dmlp {

template <class T>
class ShardedUpdater final : public ParameterUpdate, public GradientObserver, public SummedObserver {
 public:
  // `early`: update a piece during backward once the sync reports its layer
  // final and free (mpi/node_sync.hpp); LARS's and LAMB's weights wait for
  // the node's norms, after backward.
  ShardedUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg, GradientSync<T>& sync,
                 NodeShare<T>& node, bool early);
  ~ShardedUpdater() override;
  ShardedUpdater(const ShardedUpdater&) = delete;
  ShardedUpdater& operator=(const ShardedUpdater&) = delete;

  GradientObserver& backward_observer() override {
    return reporting_ ? static_cast<GradientObserver&>(*this) : sync_;
  }
  void begin(double lr_scale, StepClock& clock) override;
  bool finish() override;

  // GradientObserver: backward's news, forwarded to the sync
  void layer_ready(int k) override { sync_.layer_ready(k); }
  void push_communication() override { sync_.push_communication(); }
  bool wants_communication_pushed() const override { return sync_.wants_communication_pushed(); }
  void layer_done(int k) override { sync_.layer_done(k); }
  // SummedObserver: the sync's news
  void layers_summed(int first, int last) override;

 private:
  void update_piece(std::size_t i);  // regularization and optimizer on piece i, once a step

  Optimizer<T>& optimizer_;
  Network<T>& net_;
  const Regularization& reg_;
  GradientSync<T>& sync_;
  NodeShare<T>& node_;
  bool reporting_ = false;
  double lr_scale_ = 1;
  bool finite_ = true;
  StepClock* clock_ = nullptr;
  std::vector<char> updated_;  // per piece of this rank, sized once
};

}  // namespace dmlp
