#include "dmlp/core/optimizer.hpp"

#include <cmath>
#include <string>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/parallel.hpp"

namespace dmlp {

void validate(const SgdConfig& c) {
  auto positive = [](double v, const char* name) {
    if (!(v > 0.0) || !std::isfinite(v))
      throw InputError(std::string(name) + " " + format_number(v) + " must be positive");
  };
  positive(c.lr_weights, "--lr");
  positive(c.lr_bias, "--lr-bias");
  if (!(c.momentum >= 0.0 && c.momentum < 1.0))
    throw InputError("--momentum " + format_number(c.momentum) + " must be in [0, 1)");
  if (c.nesterov && c.momentum == 0.0)
    throw InputError("--nesterov needs a positive --momentum");
  if (!(c.weight_decay >= 0.0) || !std::isfinite(c.weight_decay))
    throw InputError("--weight-decay " + format_number(c.weight_decay) + " must be >= 0");
}

template <class T>
Sgd<T>::Sgd(SgdConfig config, const ParameterLayout& layout)
    : config_(config), layout_(layout), velocity_(config.momentum > 0 ? layout.size() : 0) {
  validate(config_);
}

template <class T>
bool Sgd<T>::update_range(T* p, const T* g, T* v, std::size_t n, T lr, T decay) const {
  const T mu = T(config_.momentum);
  const auto count = std::ptrdiff_t(n);
  const bool parallel = n >= kParallelThreshold;
  // probe = Σ 0·g_i: 0 while every g_i is finite, NaN once one is not.
  T probe = 0;
  if (!v) {
#pragma omp parallel for simd schedule(static) if (parallel) reduction(+ : probe)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      probe += T(0) * g[i];
      p[i] -= lr * (g[i] + decay * p[i]);
    }
  } else if (!config_.nesterov) {
#pragma omp parallel for simd schedule(static) if (parallel) reduction(+ : probe)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      probe += T(0) * g[i];
      v[i] = mu * v[i] + (g[i] + decay * p[i]);
      p[i] -= lr * v[i];
    }
  } else {
#pragma omp parallel for simd schedule(static) if (parallel) reduction(+ : probe)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      probe += T(0) * g[i];
      const T gi = g[i] + decay * p[i];
      v[i] = mu * v[i] + gi;
      p[i] -= lr * (gi + mu * v[i]);
    }
  }
  return probe == T(0);
}

template <class T>
bool Sgd<T>::step_layer(int k, std::span<T> params, std::span<const T> grads, double lr_scale) {
  const T lr_w = T(config_.lr_weights * lr_scale), lr_b = T(config_.lr_bias * lr_scale);
  const T decay = T(config_.weight_decay);
  T* v = velocity_.size() ? velocity_.data() : nullptr;
  const LayerSlots& s = layout_.layer(k);
  const std::size_t w = s.weight_offset, b = s.bias_offset;
  bool finite = update_range(params.data() + w, grads.data() + w, v ? v + w : nullptr, s.weight_count(), lr_w, decay);
  finite &= update_range(params.data() + b, grads.data() + b, v ? v + b : nullptr, std::size_t(s.out), lr_b, T(0));
  return finite;
}

template <class T>
bool Sgd<T>::step(std::span<T> params, std::span<const T> grads, double lr_scale) {
  bool finite = true;
  for (int k = 0; k < int(layout_.layers().size()); ++k) finite &= step_layer(k, params, grads, lr_scale);
  return finite;
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace dmlp
