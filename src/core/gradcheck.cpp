#include "dmlp/core/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "dmlp/core/rng.hpp"

namespace dmlp {
namespace {

bool has_kink(Activation a) { return a == Activation::Relu || a == Activation::LeakyRelu; }

// Which side of its kink every non-smooth unit is on, read off the forward pass in ws.
std::vector<std::uint8_t> kink_sides(const Network<double>& net, const Workspace<double>& ws,
                                     int rows, Targets<double> targets) {
  const double* y = ws.output();
  std::vector<std::uint8_t> sides;
  const ModelSpec& spec = net.spec();
  for (int k = 0; k < spec.num_layers(); ++k) {
    if (!has_kink(spec.activations[k])) continue;
    const double* a = ws.activation(k + 1);
    for (std::size_t i = 0; i < std::size_t(rows) * spec.layers[k].out; ++i) sides.push_back(a[i] > 0);
  }
  if (spec.loss == Loss::Hinge)
    for (int r = 0; r < rows; ++r) sides.push_back((targets.labels[r] == 1 ? 1.0 : -1.0) * y[r] < 1.0);
  return sides;
}

}  // namespace

double GradcheckResult::worst_rel_error() const {
  double worst = 0;
  for (const auto& l : layers) worst = std::max(worst, l.rel_error);
  return worst;
}

double objective(Network<double>& net, Workspace<double>& ws, int rows, Targets<double> targets,
                 const Regularization& reg) {
  const ModelSpec& spec = net.spec();
  const double* y = forward(net, ws, rows);
  const LossSums sums = loss_forward_backward(spec.loss, rows, spec.outputs(), y, targets,
                                              batch_mean_scale<double>(rows),
                                              static_cast<double*>(nullptr));
  return sums.loss + regularization_value(reg, net.layout(), net.params().data());
}

GradcheckResult gradient_check(Network<double>& net, Workspace<double>& ws, int rows,
                               Targets<double> targets, const Regularization& reg,
                               const GradcheckOptions& options) {
  const ModelSpec& spec = net.spec();
  // The analytic gradient: backward plus the penalty's gradient.
  const double* y = forward(net, ws, rows);
  loss_forward_backward(spec.loss, rows, spec.outputs(), y, targets, batch_mean_scale<double>(rows),
                        ws.output_grad());
  net.zero_grad();
  backward(net, ws, rows);
  add_regularization_gradient(reg, net.layout(), net.params().data(), net.grads().data());
  const std::vector<double> analytic(net.grads().begin(), net.grads().end());

  forward(net, ws, rows);
  const std::vector<std::uint8_t> sides = kink_sides(net, ws, rows, targets);
  const double h = options.step;
  const CounterRng pick(options.seed, RngStream::Test);
  GradcheckResult result;
  for (int k = 0; k < spec.num_layers(); ++k) {
    const LayerSlots& slots = net.layout().layer(k);
    std::vector<std::size_t> indices(slots.end() - slots.begin());
    std::iota(indices.begin(), indices.end(), slots.begin());
    if (options.max_per_layer > 0 && std::int64_t(indices.size()) > options.max_per_layer) {
      for (std::size_t i = 0; i < std::size_t(options.max_per_layer); ++i)  // partial Fisher-Yates
        std::swap(indices[i], indices[i + pick.below(slots.begin() + i, indices.size() - i)]);
      indices.resize(std::size_t(options.max_per_layer));
    }
    LayerGradcheck check;
    check.layer = k;
    double max_analytic = 0, max_numeric = 0;
    for (std::size_t i : indices) {
      double& w = net.params()[i];
      const double saved = w;
      const bool penalised_kink = reg.active() && reg.kind == Regularizer::L1 && std::abs(saved) <= 2 * h &&
                                  (reg.include_bias || i < slots.bias_offset);
      double J[4];
      bool crosses_kink = penalised_kink;
      const double offsets[4] = {2 * h, h, -h, -2 * h};
      for (int s = 0; s < 4 && !crosses_kink; ++s) {
        w = saved + offsets[s];
        J[s] = objective(net, ws, rows, targets, reg);
        crosses_kink = !sides.empty() && kink_sides(net, ws, rows, targets) != sides;
      }
      w = saved;
      if (crosses_kink) {
        ++check.skipped;
        continue;
      }
      const double numeric = (-J[0] + 8 * J[1] - 8 * J[2] + J[3]) / (12 * h);
      check.max_abs_error = std::max(check.max_abs_error, std::abs(numeric - analytic[i]));
      max_analytic = std::max(max_analytic, std::abs(analytic[i]));
      max_numeric = std::max(max_numeric, std::abs(numeric));
      ++check.checked;
    }
    const double scale = std::max(max_analytic, max_numeric);
    check.rel_error = scale > 0 ? check.max_abs_error / scale : 0.0;
    result.layers.push_back(check);
  }
  return result;
}

}  // namespace dmlp
