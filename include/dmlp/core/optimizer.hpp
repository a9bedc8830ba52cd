#pragma once
// SGD on the flat buffers, with the lecture's separate step sizes η_w for
// weights and η_b for biases. With g the gradient of the objective:
//
//   weight decay      g ← g + wd·w          (weights only, like the penalty)
//   plain             p ← p − η g
//   momentum          v ← μ v + g;  p ← p − η v
//   Nesterov          v ← μ v + g;  p ← p − η (g + μ v)
//
// (PyTorch's convention, so results compare one to one.) The velocity v is
// laid out like the parameters.
#include <span>

#include "dmlp/core/aligned_buffer.hpp"
#include "dmlp/core/model_spec.hpp"

namespace dmlp {

struct SgdConfig {
  double lr_weights = 0.1;  // η_w
  double lr_bias = 0.1;     // η_b
  double momentum = 0.0;    // μ
  bool nesterov = false;
  double weight_decay = 0.0;
};

void validate(const SgdConfig& config);  // throws InputError

template <class T>
class Sgd {
 public:
  Sgd(SgdConfig config, const ParameterLayout& layout);

  // One update of params from grads. lr_scale multiplies η_w and η_b (a
  // schedule's factor). Returns false when a gradient was NaN or infinite
  // (found in the same pass, at no extra memory traffic): the run diverged.
  bool step(std::span<T> params, std::span<const T> grads, double lr_scale = 1.0);
  // The same for layer k alone (W_k and b_k): step() is step_layer for every k.
  bool step_layer(int k, std::span<T> params, std::span<const T> grads, double lr_scale = 1.0);

  const SgdConfig& config() const { return config_; }
  std::span<T> velocity() { return velocity_.span(); }  // empty without momentum
  std::span<const T> velocity() const { return velocity_.span(); }

 private:
  bool update_range(T* p, const T* g, T* v, std::size_t n, T lr, T decay) const;

  SgdConfig config_;
  ParameterLayout layout_;
  AlignedBuffer<T> velocity_;
};

}  // namespace dmlp
