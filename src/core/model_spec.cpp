#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <charconv>

#include "dmlp/core/errors.hpp"

namespace dmlp {

int ModelSpec::max_width() const {
  int w = 0;
  for (const auto& l : layers) w = std::max({w, l.in, l.out});
  return w;
}

std::vector<int> ModelSpec::widths() const {
  std::vector<int> w;
  if (layers.empty()) return w;
  w.push_back(layers.front().in);
  for (const auto& l : layers) w.push_back(l.out);
  return w;
}

std::string ModelSpec::describe() const {
  std::string text;
  for (int w : widths()) text += (text.empty() ? "" : "-") + std::to_string(w);
  if (num_layers() > 1) text += ", " + std::string(to_string(activations.front())) + " hidden";
  text += ", " + std::string(to_string(activations.back())) + " output, " +
          std::string(to_string(loss));
  return text;
}

std::vector<int> parse_widths(std::string_view text) {
  std::vector<int> widths;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size())
      throw InputError(setting("widths") + ": '" + std::string(item) + "' in '" + std::string(text) +
                       "' is not an integer width (expected e.g. 784,256,10)");
    if (value <= 0)
      throw InputError(setting("widths") + ": width " + std::to_string(value) + " in '" + std::string(text) +
                       "' must be positive");
    widths.push_back(value);
    pos = comma + 1;
  }
  if (widths.size() < 2)
    throw InputError(setting("widths") + " '" + std::string(text) +
                     "' needs at least 2 widths: the input width and the output width");
  return widths;
}

ModelSpec make_mlp(const std::vector<int>& widths, Activation hidden, Activation output, Loss loss,
                   double leaky_slope) {
  ModelSpec spec;
  for (std::size_t k = 0; k + 1 < widths.size(); ++k) {
    spec.layers.push_back({widths[k], widths[k + 1]});
    spec.activations.push_back(k + 2 == widths.size() ? output : hidden);
  }
  spec.loss = loss;
  spec.leaky_slope = leaky_slope;
  validate(spec);
  return spec;
}

void validate(const ModelSpec& spec) {
  if (spec.layers.empty()) throw InputError("the model has no layers: give at least 2 widths");
  for (int k = 0; k < spec.num_layers(); ++k) {
    const auto& l = spec.layers[k];
    if (l.in <= 0 || l.out <= 0)
      throw InputError("layer " + std::to_string(k + 1) + " has shape " + std::to_string(l.out) +
                       "x" + std::to_string(l.in) + ": widths must be positive");
    if (k > 0 && spec.layers[k - 1].out != l.in)
      throw InputError("layer sizes do not chain: layer " + std::to_string(k) + " outputs " +
                       std::to_string(spec.layers[k - 1].out) + " values but layer " +
                       std::to_string(k + 1) + " expects " + std::to_string(l.in) + " inputs");
  }
  if (spec.activations.size() != spec.layers.size())
    throw InputError("the model has " + std::to_string(spec.layers.size()) + " layers but " +
                     std::to_string(spec.activations.size()) + " activations");
  if (!(spec.leaky_slope >= 0.0 && spec.leaky_slope < 1.0))
    throw InputError(setting("leaky_slope") + " " + format_number(spec.leaky_slope) + " must be in [0, 1)");
  check_loss_fits_outputs(spec.loss, spec.outputs());
}

ParameterLayout::ParameterLayout(const ModelSpec& spec) {
  for (const auto& shape : spec.layers) {
    LayerSlots slots;
    slots.in = shape.in;
    slots.out = shape.out;
    slots.weight_offset = size_;
    slots.bias_offset = size_ + slots.weight_count();
    size_ = slots.end();
    layers_.push_back(slots);
  }
}

}  // namespace dmlp
