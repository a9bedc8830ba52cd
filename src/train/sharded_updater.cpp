#include "dmlp/train/sharded_updater.hpp"

#include <algorithm>

namespace dmlp {

template <class T>
ShardedUpdater<T>::ShardedUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg,
                                  GradientSync<T>& sync, NodeShare<T>& node, bool early)
    : optimizer_(optimizer), net_(net), reg_(reg), sync_(sync), node_(node), updated_(node.pieces().size()) {
  reporting_ = early && sync_.report_buckets(this);
}

template <class T>
ShardedUpdater<T>::~ShardedUpdater() {
  if (reporting_) sync_.report_buckets(nullptr);  // the sync may outlive this updater
}

template <class T>
void ShardedUpdater<T>::begin(double lr_scale, StepClock& clock) {
  lr_scale_ = lr_scale;
  clock_ = &clock;
  sync_.book_on(&clock);
  finite_ = true;
  std::fill(updated_.begin(), updated_.end(), 0);
}

template <class T>
void ShardedUpdater<T>::update_piece(std::size_t i) {
  const Piece& p = node_.pieces()[i];
  updated_[i] = 1;
  const std::span<T> params = net_.params();
  const std::span<T> grads = net_.grads();
  add_regularization_gradient_piece(reg_, p, params.data(), grads.data());
  if (optimizer_.layer_adaptive(p)) {
    const std::size_t first_block = p.offset_in_tensor(net_.layout()) / kNormBlock;
    optimizer_.piece_norm_blocks(p, params, grads, node_.norm_blocks(p.layer).subspan(2 * first_block));
  } else {
    finite_ = optimizer_.step_piece(p, params, grads, lr_scale_) && finite_;
  }
}

template <class T>
void ShardedUpdater<T>::layers_summed(int first, int last) {
  const PhaseScope updating(*clock_, Phase::update);  // inside backward or the wait: booked as the update
  const auto pieces = node_.pieces();
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (!updated_[i] && pieces[i].layer >= first && pieces[i].layer <= last && !optimizer_.layer_adaptive(pieces[i]))
      update_piece(i);
}

template <class T>
bool ShardedUpdater<T>::finish() {
  const auto pieces = node_.pieces();
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (!updated_[i]) update_piece(i);
  // LARS and LAMB: every rank waits for the node's block sums, even one
  // without a weight piece, since the others wait for it
  const bool any_adaptive = optimizer_.config().kind == OptimizerKind::Lars ||
                            optimizer_.config().kind == OptimizerKind::Lamb;
  if (any_adaptive) {
    node_.norms_written();
    const std::span<T> params = net_.params();
    const std::span<T> grads = net_.grads();
    for (const Piece& p : pieces)
      if (optimizer_.layer_adaptive(p))
        finite_ = optimizer_.apply_piece(p, params, grads, lr_scale_, node_.norm_blocks(p.layer)) && finite_;
  }
  return node_.update_done(finite_);
}

template class ShardedUpdater<float>;
template class ShardedUpdater<double>;

}  // namespace dmlp
