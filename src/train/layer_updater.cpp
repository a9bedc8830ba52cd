#include "dmlp/train/layer_updater.hpp"

#include <algorithm>

namespace dmlp {

template <class T>
LayerUpdater<T>::LayerUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg,
                              GradientSync<T>& sync, int ranks, bool early)
    : optimizer_(optimizer),
      net_(net),
      reg_(reg),
      sync_(sync),
      summed_(std::size_t(net.num_layers())),
      done_(std::size_t(net.num_layers())),
      updated_(std::size_t(net.num_layers())) {
  if (!early) return;
  summed_when_ready_ = ranks == 1;
  reporting_ = ranks > 1 && sync_.report_buckets(this);
  early_ = ranks == 1 || reporting_;
}

template <class T>
LayerUpdater<T>::~LayerUpdater() {
  if (reporting_) sync_.report_buckets(nullptr);  // the sync may outlive this updater
}

template <class T>
void LayerUpdater<T>::begin(double lr_scale, StepClock& clock) {
  lr_scale_ = lr_scale;
  clock_ = &clock;
  finite_ = true;
  std::fill(summed_.begin(), summed_.end(), 0);
  std::fill(done_.begin(), done_.end(), 0);
  std::fill(updated_.begin(), updated_.end(), 0);
}

template <class T>
void LayerUpdater<T>::layer_ready(int k) {
  sync_.layer_ready(k);
  if (summed_when_ready_) summed_[std::size_t(k)] = 1;
}

template <class T>
void LayerUpdater<T>::layer_done(int k) {
  done_[std::size_t(k)] = 1;
  try_update(k);
}

template <class T>
void LayerUpdater<T>::layers_summed(int first, int last) {
  for (int k = first; k <= last; ++k) {
    summed_[std::size_t(k)] = 1;
    try_update(k);
  }
}

template <class T>
void LayerUpdater<T>::try_update(int k) {
  const auto i = std::size_t(k);
  if (!summed_[i] || !done_[i] || updated_[i]) return;
  updated_[i] = 1;
  const PhaseScope updating(*clock_, Phase::update);  // inside backward or the wait: booked as the update
  add_regularization_gradient_layer(reg_, net_.layout(), k, net_.params().data(), net_.grads().data());
  finite_ = optimizer_.step_layer(k, net_.params(), net_.grads(), lr_scale_) && finite_;
}

template <class T>
bool LayerUpdater<T>::finish() {
  if (!early_) {
    add_regularization_gradient(reg_, net_.layout(), net_.params().data(), net_.grads().data());
    return optimizer_.step(net_.params(), net_.grads(), lr_scale_);
  }
  std::fill(summed_.begin(), summed_.end(), 1);  // after the sync's finish(): every sum is complete
  std::fill(done_.begin(), done_.end(), 1);
  for (int k = 0; k < net_.num_layers(); ++k) try_update(k);  // any layer not updated yet
  return finite_;
}

template class LayerUpdater<float>;
template class LayerUpdater<double>;

}  // namespace dmlp
