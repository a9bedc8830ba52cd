#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/name_table.hpp"
#include "dmlp/core/parallel.hpp"

namespace dmlp {
namespace {
constexpr NameTable<OptimizerKind, 4> kOptimizers{"optimizer",
                                                  {{{OptimizerKind::Sgd, "sgd"},
                                                    {OptimizerKind::AdamW, "adamw"},
                                                    {OptimizerKind::Lars, "lars"},
                                                    {OptimizerKind::Lamb, "lamb"}}}};

bool adam_like(OptimizerKind k) { return k == OptimizerKind::AdamW || k == OptimizerKind::Lamb; }
bool has_velocity(const OptimizerConfig& c) {
  return (c.kind == OptimizerKind::Sgd || c.kind == OptimizerKind::Lars) && c.momentum > 0;
}

// ρ = numerator / denominator, or 1 when either is 0 (a fresh zero layer, a
// zero gradient): the trust ratio is never NaN or infinite.
double trust_ratio(double numerator, double denominator) {
  return numerator > 0 && denominator > 0 ? numerator / denominator : 1.0;
}
}  // namespace

OptimizerKind parse_optimizer(std::string_view name) { return kOptimizers.parse(name); }
std::optional<OptimizerKind> find_optimizer(std::string_view name) { return kOptimizers.find(name); }
std::string_view to_string(OptimizerKind kind) { return kOptimizers.name(kind); }

void validate(const OptimizerConfig& c) {
  auto positive = [](double v, const std::string& name) {
    if (!(v > 0.0) || !std::isfinite(v))
      throw InputError(name + " " + format_number(v) + " must be positive");
  };
  positive(c.lr_weights, setting("lr_weights"));
  positive(c.lr_bias, setting("lr_bias"));
  if (!(c.momentum >= 0.0 && c.momentum < 1.0))
    throw InputError(setting("momentum") + " " + format_number(c.momentum) + " must be in [0, 1)");
  if (c.nesterov && c.momentum == 0.0)
    throw InputError(setting("nesterov") + " needs a positive " + setting("momentum"));
  if (c.nesterov && c.kind != OptimizerKind::Sgd)
    throw InputError(setting("nesterov") + " is an option of sgd; " + setting("optimizer") + " " + std::string(to_string(c.kind)) + " does not use it");
  if (c.momentum > 0 && adam_like(c.kind))
    throw InputError(setting("momentum") + " is an option of sgd and lars; " + setting("optimizer") + " " + std::string(to_string(c.kind)) +
                     " does not use it (its first moment is " + setting("beta1") + ")");
  if (!(c.weight_decay >= 0.0) || !std::isfinite(c.weight_decay))
    throw InputError(setting("weight_decay") + " " + format_number(c.weight_decay) + " must be >= 0");
  if (c.kind == OptimizerKind::AdamW && !(c.lr_weights * c.weight_decay < 1.0))
    throw InputError(setting("lr_weights") + " x " + setting("weight_decay") + " is " + format_number(c.lr_weights * c.weight_decay) +
                     ": AdamW scales the weights by 1 - lr x weight decay each step, so it must be below 1");
  if (!(c.beta1 >= 0.0 && c.beta1 < 1.0))
    throw InputError(setting("beta1") + " " + format_number(c.beta1) + " must be in [0, 1)");
  if (!(c.beta2 >= 0.0 && c.beta2 < 1.0))
    throw InputError(setting("beta2") + " " + format_number(c.beta2) + " must be in [0, 1)");
  positive(c.eps, setting("eps"));
  positive(c.trust_coefficient, setting("trust_coefficient"));
}

std::vector<std::string> optimizer_state_names(const OptimizerConfig& c) {
  if (adam_like(c.kind)) return {std::string(kExpAvg), std::string(kExpAvgSq)};
  if (has_velocity(c)) return {std::string(kVelocity)};
  return {};
}

int parameter_copies(const OptimizerConfig& c) { return 2 + int(optimizer_state_names(c).size()); }

std::string describe(const OptimizerConfig& c) {
  static constexpr const char* kNames[] = {"SGD", "AdamW", "LARS", "LAMB"};
  std::string text;
  auto add = [&](const char* format, auto... values) {
    char part[96];
    std::snprintf(part, sizeof part, format, values...);
    text += part;
  };
  add("%s lr %g (bias %g)", kNames[int(c.kind)], c.lr_weights, c.lr_bias);
  if (c.kind == OptimizerKind::Sgd || c.kind == OptimizerKind::Lars) add(", momentum %g", c.momentum);
  if (c.nesterov) add(" nesterov");
  if (c.kind == OptimizerKind::Lars) add(", trust coefficient %g", c.trust_coefficient);
  if (adam_like(c.kind)) add(", betas %g/%g, eps %g", c.beta1, c.beta2, c.eps);
  if (c.weight_decay > 0)
    add(", weight decay %g%s", c.weight_decay, c.kind == OptimizerKind::AdamW ? " (decoupled)" : "");
  return text;
}

std::string optimizer_warning(const OptimizerConfig& c) {
  if (c.kind != OptimizerKind::Lars || c.lr_bias != c.lr_weights || c.lr_weights <= 1.0) return {};
  return setting("optimizer") + " lars trains the biases at " + setting("lr_weights") + " " + format_number(c.lr_weights) +
         " with no trust ratio (biases are excluded from it): give " + setting("lr_bias") + ", a plain SGD rate such as 0.1";
}

int state_arrays(const OptimizerConfig& config) { return int(optimizer_state_names(config).size()); }

template <class T>
Optimizer<T>::Optimizer(OptimizerConfig config, const ParameterLayout& layout)
    : Optimizer(config, layout, {}) {}

template <class T>
Optimizer<T>::Optimizer(OptimizerConfig config, const ParameterLayout& layout, std::vector<std::span<T>> storage)
    : config_(config), layout_(layout) {
  validate(config_);
  const std::size_t arrays = std::size_t(state_arrays(config_));
  if (!storage.empty() && storage.size() != arrays)
    throw std::logic_error("Optimizer: " + std::to_string(storage.size()) + " state arrays given for " +
                           std::to_string(arrays));
  for (std::size_t i = 0; i < arrays; ++i) {
    if (storage.empty()) {
      owned_[i] = AlignedBuffer<T>(layout.size());
      arrays_[i] = owned_[i].span();
    } else {
      if (storage[i].size() != layout.size())
        throw std::logic_error("Optimizer: a state array must hold " + std::to_string(layout.size()) + " values");
      arrays_[i] = storage[i];
    }
  }
  // ε below T's smallest normal rounds to 0 or loses its meaning: 0/0 for a
  // parameter whose gradient is exactly 0 (a dead unit, a constant input)
  if (adam_like(config_.kind) && !(T(config_.eps) >= std::numeric_limits<T>::min()))
    throw InputError(setting("eps") + " " + format_number(config_.eps) + " is below the smallest normal " +
                     (sizeof(T) == 4 ? "float32" : "float64") + " value (" +
                     format_number(double(std::numeric_limits<T>::min())) + "): it would act as 0");
  if (adam_like(config_.kind) && !std::isfinite(T(config_.eps)))
    throw InputError(setting("eps") + " " + format_number(config_.eps) + " is infinite in " +
                     (sizeof(T) == 4 ? "float32" : "float64") + ": every update would be 0");
  std::size_t largest = 0;
  for (const LayerSlots& s : layout_.layers()) largest = std::max(largest, s.weight_count());
  block_sums_.assign(2 * ((largest + kNormBlock - 1) / kNormBlock), 0.0);
}

template <class T>
std::vector<std::span<T>> Optimizer<T>::state() {
  std::vector<std::span<T>> arrays;
  for (const std::string& name : optimizer_state_names(config_)) arrays.push_back(state(name));
  return arrays;
}

template <class T>
std::span<T> Optimizer<T>::state(std::string_view name) {
  const auto names = optimizer_state_names(config_);
  if (std::find(names.begin(), names.end(), name) == names.end()) return {};
  return name == kExpAvgSq ? arrays_[1] : arrays_[0];
}

namespace {
// Runs add(begin, end, sums) over fixed blocks of kNormBlock values of [0, n),
// on any number of threads, block b writing its two partial sums at
// partial[2b], partial[2b + 1]: the same bits at any thread count.
template <class Add>
void block_sums(std::size_t n, double* partial, Add add) {
  const auto blocks = std::ptrdiff_t((n + kNormBlock - 1) / kNormBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::ptrdiff_t b = 0; b < blocks; ++b) {
    const std::size_t begin = std::size_t(b) * kNormBlock, end = std::min(n, begin + kNormBlock);
    add(begin, end, &partial[2 * std::size_t(b)]);
  }
}

// The two totals of `blocks` blocks' partial sums, added in block order.
std::pair<double, double> block_totals(std::span<const double> partial) {
  double first = 0, second = 0;
  for (std::size_t b = 0; 2 * b + 1 < partial.size(); ++b) {
    first += partial[2 * b];
    second += partial[2 * b + 1];
  }
  return {first, second};
}

template <class Add>
std::pair<double, double> blocked_sums(std::size_t n, std::vector<double>& partial, Add add) {
  block_sums(n, partial.data(), add);
  return block_totals(std::span<const double>(partial.data(), 2 * ((n + kNormBlock - 1) / kNormBlock)));
}

// ‖W‖² and ‖g‖² of values [begin, end), LARS's norms.
template <class T>
void lars_norm_block(const T* p, const T* g, std::size_t begin, std::size_t end, double* sums) {
  double w = 0, d = 0;
#pragma omp simd reduction(+ : w, d)
  for (std::size_t i = begin; i < end; ++i) {
    w += double(p[i]) * double(p[i]);
    d += double(g[i]) * double(g[i]);
  }
  sums[0] = w;
  sums[1] = d;
}
}  // namespace

template <class T>
bool Optimizer<T>::sgd_range(T* p, const T* g, T* v, std::size_t n, T lr, T decay) const {
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
bool Optimizer<T>::adamw_range(T* p, const T* g, T* m, T* v, std::size_t n, double lr, T decay) const {
  // torch.optim.AdamW (single tensor): the scalars in double, as Python computes them
  const double t = double(steps_);
  const double bias_correction1 = 1 - std::pow(config_.beta1, t), bias_correction2 = 1 - std::pow(config_.beta2, t);
  const T shrink = T(1 - lr * double(decay));
  const T step_size = T(lr / bias_correction1), correction2_sqrt = T(std::sqrt(bias_correction2));
  const T one_minus_beta1 = T(1 - config_.beta1), beta2 = T(config_.beta2), one_minus_beta2 = T(1 - config_.beta2);
  const T eps = T(config_.eps);
  // torch's lerp(m, g, w) with w = 1 − β1: m + w(g − m) for |w| < ½, else g − (g − m)(1 − w)
  const bool lerp_from_m = std::abs(1 - config_.beta1) < 0.5;
  const T lerp_weight = lerp_from_m ? one_minus_beta1 : T(1) - one_minus_beta1;
  const auto count = std::ptrdiff_t(n);
  T probe = 0;
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold) reduction(+ : probe)
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    probe += T(0) * g[i];
    p[i] *= shrink;
    m[i] = lerp_from_m ? m[i] + lerp_weight * (g[i] - m[i]) : g[i] - (g[i] - m[i]) * lerp_weight;
    v[i] = v[i] * beta2 + one_minus_beta2 * g[i] * g[i];
    const T denom = std::sqrt(v[i]) / correction2_sqrt + eps;
    p[i] += -step_size * (m[i] / denom);
    probe += T(0) * v[i];  // g² overflowed: v is infinite, and the weight would freeze unseen
  }
  return probe == T(0);
}

template <class T>
double Optimizer<T>::lars_ratio(double w2, double g2, T decay) const {
  const double w_norm = std::sqrt(w2), g_norm = std::sqrt(g2);
  // the reference takes 1 when ‖g‖ = 0 even where wd·‖W‖ > 0
  return g_norm > 0 ? trust_ratio(config_.trust_coefficient * w_norm, g_norm + double(decay) * w_norm) : 1.0;
}

template <class T>
bool Optimizer<T>::lars_range(T* p, const T* g, T* v, std::size_t n, double lr, T decay, bool layer_adaptive) {
  double ratio = 1.0;
  if (layer_adaptive) {
    const auto [w2, g2] = blocked_sums(n, block_sums_, [&](std::size_t begin, std::size_t end, double* sums) {
      lars_norm_block(p, g, begin, end, sums);
    });
    if (!std::isfinite(g2)) return false;
    ratio = lars_ratio(w2, g2, decay);
  }
  return lars_apply(p, g, v, n, T(lr * ratio), decay);
}

template <class T>
bool Optimizer<T>::lars_apply(T* p, const T* g, T* v, std::size_t n, T scaled_lr, T decay) const {
  const T mu = T(config_.momentum);
  const auto count = std::ptrdiff_t(n);
  T probe = 0;
  if (!v) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold) reduction(+ : probe)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      probe += T(0) * g[i];
      p[i] -= scaled_lr * (g[i] + decay * p[i]);
    }
  } else {
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold) reduction(+ : probe)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      probe += T(0) * g[i];
      v[i] = mu * v[i] + scaled_lr * (g[i] + decay * p[i]);
      p[i] -= v[i];
    }
  }
  return probe == T(0);
}

template <class T>
LambScalars<T> Optimizer<T>::lamb_scalars() const {
  const double t = double(steps_);
  return {T(1 - std::pow(config_.beta1, t)), T(1 - std::pow(config_.beta2, t)), T(config_.beta1),
          T(1 - config_.beta1), T(config_.beta2), T(1 - config_.beta2), T(config_.eps)};
}

namespace {
// r_i from the updated moments: the same expression in both passes, so the
// norm is the norm of the update applied
template <class T>
T lamb_direction(const LambScalars<T>& c, const T* p, const T* m, const T* v, T decay, std::size_t i) {
  return (m[i] / c.correction1) / (std::sqrt(v[i] / c.correction2) + c.eps) + decay * p[i];
}

// pass 1 over [begin, end): the moments, ‖w‖² and ‖r‖²; any non-finite
// gradient makes ‖r‖² NaN
template <class T>
void lamb_moment_block(const LambScalars<T>& c, const T* p, const T* g, T* m, T* v, T decay, std::size_t begin,
                       std::size_t end, double* sums) {
  double w = 0, r = 0;
#pragma omp simd reduction(+ : w, r)
  for (std::size_t i = begin; i < end; ++i) {
    m[i] = c.beta1 * m[i] + c.one_minus_beta1 * g[i];
    v[i] = c.beta2 * v[i] + c.one_minus_beta2 * g[i] * g[i];
    const double d = double(lamb_direction(c, p, m, v, decay, i));
    // 0·v: NaN once g² overflowed (v infinite makes r finite, and the weight would freeze unseen)
    w += double(p[i]) * double(p[i]) + 0.0 * double(v[i]);
    r += d * d;  // NaN once a gradient is NaN or infinite
  }
  sums[0] = w;
  sums[1] = r;
}
}  // namespace

template <class T>
bool Optimizer<T>::lamb_range(T* p, const T* g, T* m, T* v, std::size_t n, double lr, T decay, bool layer_adaptive) {
  const LambScalars<T> c = lamb_scalars();
  const auto [w2, r2] = blocked_sums(n, block_sums_, [&](std::size_t begin, std::size_t end, double* sums) {
    lamb_moment_block(c, p, g, m, v, decay, begin, end, sums);
  });
  return lamb_apply(p, m, v, n, lr, decay, layer_adaptive, w2, r2);
}

template <class T>
bool Optimizer<T>::lamb_apply(T* p, const T* m, const T* v, std::size_t n, double lr, T decay, bool layer_adaptive,
                              double w2, double r2) const {
  if (!std::isfinite(r2) || !std::isfinite(w2)) return false;
  const LambScalars<T> c = lamb_scalars();
  const double clipped = std::min(std::sqrt(w2), kLambNormClip);
  const double ratio = layer_adaptive ? trust_ratio(clipped, std::sqrt(r2)) : 1.0;
  const T scaled_lr = T(lr * ratio);
  const auto count = std::ptrdiff_t(n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) p[i] -= scaled_lr * lamb_direction(c, p, m, v, decay, std::size_t(i));
  return true;
}

template <class T>
bool Optimizer<T>::step_layer(int k, std::span<T> params, std::span<const T> grads, double lr_scale) {
  if (adam_like(config_.kind) && steps_ < 1)
    throw std::logic_error("Optimizer::step_layer: call begin_step() first (the update count t starts at 1)");
  const double lr_w = config_.lr_weights * lr_scale, lr_b = config_.lr_bias * lr_scale;
  const T decay = T(config_.weight_decay);
  const LayerSlots& s = layout_.layer(k);
  T* const p = params.data();
  const T* const g = grads.data();
  T* const first = arrays_[0].empty() ? nullptr : arrays_[0].data();
  T* const second = arrays_[1].empty() ? nullptr : arrays_[1].data();
  auto at = [](T* base, std::size_t offset) { return base ? base + offset : nullptr; };
  const std::size_t w = s.weight_offset, b = s.bias_offset, nw = s.weight_count(), nb = std::size_t(s.out);
  switch (config_.kind) {
    case OptimizerKind::Sgd:
      return sgd_range(p + w, g + w, at(first, w), nw, T(lr_w), decay) &
             sgd_range(p + b, g + b, at(first, b), nb, T(lr_b), T(0));
    case OptimizerKind::AdamW:
      return adamw_range(p + w, g + w, first + w, second + w, nw, lr_w, decay) &
             adamw_range(p + b, g + b, first + b, second + b, nb, lr_b, T(0));
    case OptimizerKind::Lars:
      return lars_range(p + w, g + w, at(first, w), nw, lr_w, decay, true) &
             lars_range(p + b, g + b, at(first, b), nb, lr_b, T(0), false);
    case OptimizerKind::Lamb:
      return lamb_range(p + w, g + w, first + w, second + w, nw, lr_w, decay, true) &
             lamb_range(p + b, g + b, first + b, second + b, nb, lr_b, T(0), false);
  }
  return false;
}

template <class T>
bool Optimizer<T>::layer_adaptive(const Piece& piece) const {
  return !piece.bias && (config_.kind == OptimizerKind::Lars || config_.kind == OptimizerKind::Lamb);
}

template <class T>
bool Optimizer<T>::step_piece(const Piece& piece, std::span<T> params, std::span<const T> grads, double lr_scale) {
  if (layer_adaptive(piece))
    throw std::logic_error("Optimizer::step_piece: a LARS or LAMB weight piece needs its layer's norms");
  if (adam_like(config_.kind) && steps_ < 1)
    throw std::logic_error("Optimizer::step_piece: call begin_step() first (the update count t starts at 1)");
  const double lr = (piece.bias ? config_.lr_bias : config_.lr_weights) * lr_scale;
  const T decay = piece.bias ? T(0) : T(config_.weight_decay);
  T* const p = params.data() + piece.begin;
  const T* const g = grads.data() + piece.begin;
  T* const first = arrays_[0].empty() ? nullptr : arrays_[0].data() + piece.begin;
  T* const second = arrays_[1].empty() ? nullptr : arrays_[1].data() + piece.begin;
  switch (config_.kind) {
    case OptimizerKind::Sgd: return sgd_range(p, g, first, piece.size(), T(lr), decay);
    case OptimizerKind::AdamW: return adamw_range(p, g, first, second, piece.size(), lr, decay);
    case OptimizerKind::Lars: return lars_range(p, g, first, piece.size(), lr, decay, false);
    case OptimizerKind::Lamb: return lamb_range(p, g, first, second, piece.size(), lr, decay, false);
  }
  return false;
}

template <class T>
void Optimizer<T>::piece_norm_blocks(const Piece& piece, std::span<const T> params, std::span<const T> grads,
                                     std::span<double> sums) {
  const T decay = T(config_.weight_decay);
  const T* const p = params.data() + piece.begin;
  const T* const g = grads.data() + piece.begin;
  if (sums.size() < 2 * ((piece.size() + kNormBlock - 1) / kNormBlock))
    throw std::logic_error("Optimizer::piece_norm_blocks: too few block sums");
  if (config_.kind == OptimizerKind::Lars) {
    block_sums(piece.size(), sums.data(),
               [&](std::size_t begin, std::size_t end, double* out) { lars_norm_block(p, g, begin, end, out); });
    return;
  }
  const LambScalars<T> c = lamb_scalars();
  T* const m = arrays_[0].data() + piece.begin;
  T* const v = arrays_[1].data() + piece.begin;
  block_sums(piece.size(), sums.data(), [&](std::size_t begin, std::size_t end, double* out) {
    lamb_moment_block(c, p, g, m, v, decay, begin, end, out);
  });
}

template <class T>
bool Optimizer<T>::apply_piece(const Piece& piece, std::span<T> params, std::span<const T> grads, double lr_scale,
                               std::span<const double> layer_blocks) {
  const auto [first_total, second_total] = block_totals(layer_blocks);
  const double lr = config_.lr_weights * lr_scale;
  const T decay = T(config_.weight_decay);
  T* const p = params.data() + piece.begin;
  T* const first = arrays_[0].empty() ? nullptr : arrays_[0].data() + piece.begin;
  if (config_.kind == OptimizerKind::Lars) {
    if (!std::isfinite(second_total)) return false;
    return lars_apply(p, grads.data() + piece.begin, first, piece.size(), T(lr * lars_ratio(first_total, second_total, decay)),
                      decay);
  }
  return lamb_apply(p, first, arrays_[1].data() + piece.begin, piece.size(), lr, decay, true, first_total, second_total);
}

template <class T>
bool Optimizer<T>::step(std::span<T> params, std::span<const T> grads, double lr_scale) {
  bool finite = true;
  for (int k = 0; k < int(layout_.layers().size()); ++k) finite &= step_layer(k, params, grads, lr_scale);
  return finite;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace dmlp
