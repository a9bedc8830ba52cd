#pragma once
// What the model is: layer widths, activations, loss; and where each layer's
// parameters sit in the one flat parameter buffer.
//
// Layer k (1-based in the lecture, 0-based in code) maps x_{k-1} ∈ R^{in} to
// x_k = σ_k(W_k x_{k-1} + b_k) ∈ R^{out}, with W_k [out × in] (the lecture's
// W^(k) ∈ R^{r_k × c_k}) and b_k [out]. The flat buffer holds
// [W_1 b_1 W_2 b_2 … W_K b_K], each W row-major, so every layer is one
// contiguous range and the last layer's gradient is the buffer's tail: the
// first to be ready in back-propagation and the first to be communicated.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dmlp/core/activation.hpp"
#include "dmlp/core/loss.hpp"

namespace dmlp {

struct LayerShape {
  int in = 0;
  int out = 0;
};

struct ModelSpec {
  std::vector<LayerShape> layers;
  std::vector<Activation> activations;  // σ_k, one per layer; the output layer's is usually identity
  Loss loss = Loss::SoftmaxCrossEntropy;
  double leaky_slope = 0.01;

  int num_layers() const { return int(layers.size()); }
  int inputs() const { return layers.front().in; }
  int outputs() const { return layers.back().out; }
  int max_width() const;
  std::vector<int> widths() const;  // d, r_1, …, r_K
  std::string describe() const;     // e.g. "784-256-10, relu hidden, identity output, softmax-ce"
};

// "784,256,128,10" → {784, 256, 128, 10}; throws InputError on anything else.
std::vector<int> parse_widths(std::string_view text);

// The usual MLP: `hidden` on every hidden layer, `output` on the last.
ModelSpec make_mlp(const std::vector<int>& widths, Activation hidden, Activation output, Loss loss,
                   double leaky_slope = 0.01);

// Throws InputError naming the problem: fewer than one layer, a non-positive
// width, shapes that do not chain (out_k ≠ in_{k+1}), an activation count that
// is not one per layer, a loss that does not fit the output width, or a leaky
// slope outside [0, 1).
void validate(const ModelSpec& spec);

struct LayerSlots {
  int in = 0, out = 0;
  std::size_t weight_offset = 0;  // W_k [out × in], row-major
  std::size_t bias_offset = 0;    // b_k [out], right after W_k
  std::size_t weight_count() const { return std::size_t(in) * out; }
  std::size_t begin() const { return weight_offset; }
  std::size_t end() const { return bias_offset + out; }
};

class ParameterLayout {
 public:
  ParameterLayout() = default;
  explicit ParameterLayout(const ModelSpec& spec);
  const std::vector<LayerSlots>& layers() const { return layers_; }
  const LayerSlots& layer(int k) const { return layers_[k]; }
  std::size_t size() const { return size_; }

 private:
  std::vector<LayerSlots> layers_;
  std::size_t size_ = 0;
};

}  // namespace dmlp
