#pragma once
// The optimizers, on the flat buffers and their per-layer views. Every one
// keeps the lecture's separate step sizes: η_w for the weights W_k and η_b for
// the biases b_k (both times the schedule's factor). With g the gradient of
// the objective and wd the weight decay, which touches the weights only:
//
// sgd (PyTorch's torch.optim.SGD convention, so results compare one to one)
//   plain             w ← w − η (g + wd·w)
//   momentum          v ← μ v + (g + wd·w);  w ← w − η v
//   Nesterov          v ← μ v + (g + wd·w);  w ← w − η (g + wd·w + μ v)
//
// adamw (torch.optim.AdamW's documented algorithm, in its order of operations)
//   t ← t + 1
//   w ← w·(1 − η·wd)                      decoupled decay, weights only
//   m ← m + (1 − β1)(g − m)                torch's lerp
//   v ← β2 v + (1 − β2) g²
//   w ← w − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
//
// lars (You, Gitman, Ginsburg 2017, Algorithm 1, as TensorFlow's reference
// LARSOptimizer computes it: tensorflow/tpu models/official/efficientnet/lars_optimizer.py)
//   for each W_k:  ρ = τ·‖W‖ / (‖g‖ + wd·‖W‖), or 1 when ‖W‖ = 0 or ‖g‖ = 0
//                  v ← μ v + η ρ (g + wd·W);  W ← W − v
//   for each b_k:  ρ = 1 and no decay (1-D parameters are excluded):
//                  v ← μ v + η_b g;           b ← b − v
//
// lamb (You et al. 2019, "Large Batch Optimization for Deep Learning",
// Algorithm 2, with bias correction; φ clips ‖W‖ to [0, 10] as the widely
// used reference pytorch-lamb (cybertronai) does)
//   t ← t + 1
//   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
//   r ← (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε) + wd·W
//   for each W_k:  ρ = φ(‖W‖) / ‖r‖, or 1 when φ(‖W‖) = 0 or ‖r‖ = 0
//   for each b_k:  ρ = 1 and no decay
//   w ← w − η ρ r
//
// Layer norms are summed in fixed blocks of kNormBlock values, each block in
// one fixed order, and the blocks in index order: the same bits at every
// thread count (what --reproducible needs). Nothing is allocated per step.
#include <cstdint>
#include <span>
#include <string>
#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "dmlp/core/aligned_buffer.hpp"
#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/shard_plan.hpp"

namespace dmlp {

enum class OptimizerKind { Sgd, AdamW, Lars, Lamb };
OptimizerKind parse_optimizer(std::string_view name);  // sgd|adamw|lars|lamb; throws InputError
std::optional<OptimizerKind> find_optimizer(std::string_view name);  // the same, or nothing
std::string_view to_string(OptimizerKind kind);

// The library's defaults; the command line's differ where it says so
// (--momentum 0.9, --lr 0.05).
struct OptimizerConfig {
  double lr_weights = 0.1;  // η_w
  double lr_bias = 0.1;     // η_b
  double momentum = 0.0;    // μ: sgd, lars
  bool nesterov = false;    // sgd
  double weight_decay = 0.0;
  OptimizerKind kind = OptimizerKind::Sgd;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adamw, lamb
  double trust_coefficient = 0.001;               // τ: lars
};

inline constexpr double kLambNormClip = 10.0;     // φ(z) = min(max(z, 0), 10)
inline constexpr std::size_t kNormBlock = 4096;   // values per fixed block of a layer norm

// Throws InputError naming the option: values out of range, and settings the
// kind does not use (momentum for adamw and lamb, Nesterov beyond sgd).
void validate(const OptimizerConfig& config);

// Parameters, gradients and the state arrays: how many parameter-sized
// buffers the optimizer needs, for memory checks.
int parameter_copies(const OptimizerConfig& config);
int state_arrays(const OptimizerConfig& config);  // parameter-sized state arrays: 0, 1 or 2

// The state arrays an optimizer may keep: SGD's and LARS's momentum, and
// Adam's first and second moments; all of them in the order checkpoints list them.
inline constexpr std::string_view kVelocity = "velocity", kExpAvg = "exp_avg", kExpAvgSq = "exp_avg_sq";
inline constexpr std::array<std::string_view, 3> kOptimizerStateNames{kVelocity, kExpAvg, kExpAvgSq};

// The state arrays the configuration keeps (from kOptimizerStateNames), each laid out like the
// parameters: "velocity" (sgd with momentum, lars with momentum), or
// "exp_avg" and "exp_avg_sq" (adamw, lamb: m and v). Checkpoints store them
// under /optimizer/<name>.
std::vector<std::string> optimizer_state_names(const OptimizerConfig& config);
// "SGD lr 0.1 (bias 0.1), momentum 0.9", "AdamW lr 0.001 (bias 0.001), betas 0.9/0.999, eps 1e-08", …
std::string describe(const OptimizerConfig& config);
// A likely mistake in valid settings, or empty: LARS with its large weight
// rate (above 1) applied to the biases too, which have no trust ratio.
std::string optimizer_warning(const OptimizerConfig& config);

// LAMB's scalars of step t, in T.
template <class T>
struct LambScalars {
  T correction1, correction2, beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
};

template <class T>
class Optimizer {
 public:
  Optimizer(OptimizerConfig config, const ParameterLayout& layout);
  // Over state arrays it does not own (state_arrays(config) of them, each
  // laid out like the parameters): the node's one copy, which its ranks
  // update piece by piece (train/sharded_updater.hpp). Not zeroed here.
  Optimizer(OptimizerConfig config, const ParameterLayout& layout, std::vector<std::span<T>> storage);

  // Starts the next update: t ← t + 1. Call once per step, before the step's
  // step() or step_layer() calls.
  void begin_step() { ++steps_; }
  // One update of params from grads. lr_scale multiplies η_w and η_b (a
  // schedule's factor). Returns false when a gradient was NaN or infinite
  // (found in the same pass, at no extra memory traffic): the run diverged.
  bool step(std::span<T> params, std::span<const T> grads, double lr_scale = 1.0);
  // The same for layer k alone (W_k and b_k): step() is step_layer for every k.
  bool step_layer(int k, std::span<T> params, std::span<const T> grads, double lr_scale = 1.0);

  // The sharded update, a piece of one tensor at a time: the same operations
  // on each value as step_layer, so the same bits. LARS's and LAMB's weights
  // (layer_adaptive) need their layer's norms: piece_norm_blocks writes the
  // piece's two partial sums per block of kNormBlock values (LAMB: updating
  // its moments), and apply_piece, given every block of the layer, updates.
  bool layer_adaptive(const Piece& piece) const;
  bool step_piece(const Piece& piece, std::span<T> params, std::span<const T> grads, double lr_scale);
  void piece_norm_blocks(const Piece& piece, std::span<const T> params, std::span<const T> grads,
                         std::span<double> sums);
  bool apply_piece(const Piece& piece, std::span<T> params, std::span<const T> grads, double lr_scale,
                   std::span<const double> layer_blocks);

  const OptimizerConfig& config() const { return config_; }
  std::int64_t steps() const { return steps_; }  // t: updates begun so far
  void set_steps(std::int64_t t) { steps_ = t; }
  // The arrays optimizer_state_names() names, in that order.
  std::vector<std::span<T>> state();
  std::span<T> state(std::string_view name);  // empty when the configuration keeps no such array
  std::span<T> velocity() { return state("velocity"); }

 private:
  bool sgd_range(T* p, const T* g, T* v, std::size_t n, T lr, T decay) const;
  // lr in double: the scalars built from it are rounded once, as torch's are
  bool adamw_range(T* p, const T* g, T* m, T* v, std::size_t n, double lr, T decay) const;
  // layer_adaptive: W_k, with the trust ratio and decay; false for b_k
  bool lars_range(T* p, const T* g, T* v, std::size_t n, double lr, T decay, bool layer_adaptive);
  double lars_ratio(double w2, double g2, T decay) const;
  bool lars_apply(T* p, const T* g, T* v, std::size_t n, T scaled_lr, T decay) const;
  bool lamb_range(T* p, const T* g, T* m, T* v, std::size_t n, double lr, T decay, bool layer_adaptive);
  bool lamb_apply(T* p, const T* m, const T* v, std::size_t n, double lr, T decay, bool layer_adaptive, double w2,
                  double r2) const;
  LambScalars<T> lamb_scalars() const;

  OptimizerConfig config_;
  ParameterLayout layout_;
  std::int64_t steps_ = 0;
  // The state arrays, owned or not: [0] the velocity (sgd and lars with
  // momentum) or Adam's first moment m (adamw, lamb); [1] Adam's v. Empty
  // where the configuration keeps no such array.
  std::array<AlignedBuffer<T>, 2> owned_;
  std::array<std::span<T>, 2> arrays_;
  std::vector<double> block_sums_;  // one per kNormBlock values of the largest layer
};

}  // namespace dmlp
