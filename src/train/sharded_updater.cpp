#include "dmlp/train/sharded_updater.hpp"

#include <algorithm>

namespace dmlp {

template <class T>
ShardedUpdater<T>::ShardedUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg,
                                  GradientSync<T>& sync, NodeShare<T>& node)
    : optimizer_(optimizer), net_(net), reg_(reg), sync_(sync), node_(node) {}

template <class T>
void ShardedUpdater<T>::begin(double lr_scale, StepClock&) {
  lr_scale_ = lr_scale;
}

template <class T>
bool ShardedUpdater<T>::finish() {
  const std::span<T> params = net_.params();
  const std::span<T> grads = net_.grads();
  const auto pieces = node_.pieces();
  bool finite = true;
  for (const Piece& p : pieces) {
    add_regularization_gradient_piece(reg_, p, params.data(), grads.data());
    if (optimizer_.layer_adaptive(p)) {
      const std::size_t first_block = p.offset_in_tensor(net_.layout()) / kNormBlock;
      optimizer_.piece_norm_blocks(p, params, grads, node_.norm_blocks(p.layer).subspan(2 * first_block));
    } else {
      finite = optimizer_.step_piece(p, params, grads, lr_scale_) && finite;
    }
  }
  // LARS and LAMB: every rank waits for the node's block sums, even one
  // without a weight piece, since the others wait for it
  const bool any_adaptive = optimizer_.config().kind == OptimizerKind::Lars ||
                            optimizer_.config().kind == OptimizerKind::Lamb;
  if (any_adaptive) {
    node_.norms_written();
    for (const Piece& p : pieces)
      if (optimizer_.layer_adaptive(p))
        finite = optimizer_.apply_piece(p, params, grads, lr_scale_, node_.norm_blocks(p.layer)) && finite;
  }
  return node_.update_done(finite);
}

template class ShardedUpdater<float>;
template class ShardedUpdater<double>;

}  // namespace dmlp
