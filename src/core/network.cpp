#include "dmlp/core/network.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dmlp {

template <class T>
Network<T>::Network(ModelSpec spec)
    : spec_((validate(spec), std::move(spec))),
      layout_(spec_),
      owned_params_(layout_.size()),
      owned_grads_(layout_.size()),
      params_(owned_params_.span()),
      grads_(owned_grads_.span()) {}

template <class T>
Network<T>::Network(ModelSpec spec, std::span<T> params, std::span<T> grads)
    : spec_((validate(spec), std::move(spec))), layout_(spec_), params_(params), grads_(grads) {
  if (params.size() != layout_.size() || grads.size() != layout_.size())
    throw std::logic_error("Network: the parameter and gradient storage must hold " +
                           std::to_string(layout_.size()) + " values each");
}

template <class T>
DenseParams<T> Network<T>::layer(int k) const {
  const LayerSlots& s = layout_.layer(k);
  return {params_.data() + s.weight_offset, params_.data() + s.bias_offset, s.in, s.out};
}

template <class T>
void Network<T>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), T(0));
}

template <class T>
Workspace<T>::Workspace(const ModelSpec& spec, int max_rows) : max_rows_(max_rows) {
  for (int width : spec.widths()) activations_.emplace_back(std::size_t(max_rows) * width);
  for (auto& d : delta_) d = AlignedBuffer<T>(std::size_t(max_rows) * spec.max_width());
}

template <class T>
const T* forward(const Network<T>& net, Workspace<T>& ws, int rows, Trace* trace) {
  const ModelSpec& spec = net.spec();
  const T slope = T(spec.leaky_slope);
  for (int k = 0; k < net.num_layers(); ++k) {
    const TraceSpan span(trace, "forward layer", k + 1);
    dense_forward(net.layer(k), spec.activations[k], slope, rows, ws.activation(k), ws.activation(k + 1));
  }
  return ws.output();
}

template <class T>
void backward(Network<T>& net, Workspace<T>& ws, int rows, GradientObserver* observer, GradMode mode, Trace* trace,
              const BackwardTuning& tuning) {
  backward_into(net, ws, rows, net.grads(), observer, mode, trace, tuning);
}

namespace {
void observer_push(void* observer) { static_cast<GradientObserver*>(observer)->push_communication(); }

// Slices between which backward pushes the observer's communication along, if it has any in flight.
CommunicationPush push_for(GradientObserver* observer, const BackwardTuning& tuning) {
  if (!observer || tuning.progress_slices <= 1 || !observer->wants_communication_pushed()) return {};
  return {observer_push, observer, tuning.progress_slices};
}
}  // namespace

template <class T>
void backward_into(const Network<T>& net, Workspace<T>& ws, int rows, std::span<T> grads, GradientObserver* observer,
                   GradMode mode, Trace* trace, const BackwardTuning& tuning) {
  const ModelSpec& spec = net.spec();
  const T slope = T(spec.leaky_slope);
  int current = 0;  // ws.delta(current) holds ∂L/∂x_k; it starts as the loss gradient
  for (int k = net.num_layers() - 1; k >= 0; --k) {
    const TraceSpan span(trace, "backward layer", k + 1);
    T* dA = ws.delta(current);
    const LayerSlots& slots = net.layout().layer(k);
    dense_backward_params(net.layer(k), spec.activations[k], slope, rows, ws.activation(k), ws.activation(k + 1), dA,
                          {grads.data() + slots.weight_offset, grads.data() + slots.bias_offset, mode},
                          tuning.fuse_bias_grad, push_for(observer, tuning));
    if (observer) observer->layer_ready(k);
    if (k > 0) {
      dense_backward_input(net.layer(k), rows, dA, ws.delta(1 - current), push_for(observer, tuning));
      current = 1 - current;
      if (observer) observer->push_communication();
    }
    if (observer) observer->layer_done(k);
  }
}

#define DMLP_INSTANTIATE(T)                                                           \
  template class Network<T>;                                                          \
  template class Workspace<T>;                                                        \
  template const T* forward<T>(const Network<T>&, Workspace<T>&, int, Trace*);                   \
  template void backward<T>(Network<T>&, Workspace<T>&, int, GradientObserver*, GradMode, Trace*,               \
                            const BackwardTuning&);                                                         \
  template void backward_into<T>(const Network<T>&, Workspace<T>&, int, std::span<T>, GradientObserver*, GradMode, \
                                 Trace*, const BackwardTuning&);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
