#pragma once
// Checks back-propagation against finite differences of the objective
//   J(w) = (1/B) Σ_i ℓ(f_w(x_i), y_i) + λΩ(w)
// in double precision, with the fourth-order central difference
//   J'(w) ≈ [−J(w+2h) + 8J(w+h) − 8J(w−h) + J(w−2h)] / 12h.
//
// A parameter whose perturbation moves any ReLU, leaky ReLU or hinge across its
// kink (or an L1-penalised weight across 0) is skipped and counted: there the
// difference quotient measures the kink, not the gradient.
//
// The error of layer k is ‖g − ĝ‖∞ / max(‖g‖∞, ‖ĝ‖∞): the largest disagreement
// relative to the layer's largest gradient component.
#include <cstdint>
#include <vector>

#include "dmlp/core/loss.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/regularizer.hpp"

namespace dmlp {

struct GradcheckOptions {
  double step = 1e-4;                 // h
  std::int64_t max_per_layer = 0;     // parameters checked per layer; 0 = all
  std::uint64_t seed = 1;             // picks the sample when max_per_layer > 0
};

struct LayerGradcheck {
  int layer = 0;             // 0-based
  std::int64_t checked = 0;  // parameters compared
  std::int64_t skipped = 0;  // parameters next to a kink
  double max_abs_error = 0;
  double rel_error = 0;      // ‖g − ĝ‖∞ / max(‖g‖∞, ‖ĝ‖∞)
};

struct GradcheckResult {
  std::vector<LayerGradcheck> layers;
  double worst_rel_error() const;
};

// The objective J at the network's current parameters on `rows` rows of X.
double objective(Network<double>& net, Workspace<double>& ws, int rows, Targets<double> targets,
                 const Regularization& reg);

// X (rows, d) must already be in ws.input().
GradcheckResult gradient_check(Network<double>& net, Workspace<double>& ws, int rows,
                               Targets<double> targets, const Regularization& reg,
                               const GradcheckOptions& options);

}  // namespace dmlp
