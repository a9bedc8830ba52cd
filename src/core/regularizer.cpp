#include "dmlp/core/regularizer.hpp"

#include <cmath>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/settings.hpp"

#include "dmlp/core/name_table.hpp"
#include "dmlp/core/parallel.hpp"

namespace dmlp {
namespace {
constexpr NameTable<Regularizer, 3> kRegularizerNames{
    "regulariser", {{{Regularizer::L2, "l2"}, {Regularizer::L1, "l1"}, {Regularizer::None, "none"}}}};
}  // namespace

std::string_view to_string(Regularizer r) { return kRegularizerNames.name(r); }
Regularizer parse_regularizer(std::string_view name) { return kRegularizerNames.parse(name); }

namespace {
// Calls fn(begin, end) for each parameter range the penalty covers.
template <class Fn>
void for_each_penalised_range(const Regularization& reg, const ParameterLayout& layout, Fn fn) {
  for (const auto& l : layout.layers()) {
    if (reg.include_bias)
      fn(l.begin(), l.end());
    else
      fn(l.weight_offset, l.weight_offset + l.weight_count());
  }
}
}  // namespace

void validate(const Regularization& reg) {
  if (!(reg.lambda >= 0) || !std::isfinite(reg.lambda))
    throw InputError(setting("lambda") + " " + format_number(reg.lambda) + " must be >= 0");
}

template <class T>
double regularization_value(const Regularization& reg, const ParameterLayout& layout, const T* w) {
  if (!reg.active()) return 0.0;
  double omega = 0.0;
  for_each_penalised_range(reg, layout, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      omega += reg.kind == Regularizer::L2 ? double(w[i]) * double(w[i]) : std::abs(double(w[i]));
  });
  return reg.lambda * omega;
}

template <class T>
void add_regularization_gradient(const Regularization& reg, const ParameterLayout& layout,
                                 const T* w, T* g) {
  for (int k = 0; k < int(layout.layers().size()); ++k) add_regularization_gradient_layer(reg, layout, k, w, g);
}

namespace {
// ∂Ω/∂w added into g over values [begin, end): the one loop of the layer's and the piece's versions.
template <class T>
void add_penalty_gradient(const Regularization& reg, std::size_t begin, std::size_t end, const T* w, T* g) {
  const T lambda = T(reg.lambda);
  const auto n = std::ptrdiff_t(end - begin);
  const T* wr = w + begin;
  T* gr = g + begin;
  if (reg.kind == Regularizer::L2) {
#pragma omp parallel for schedule(static) if (std::size_t(n) >= kParallelThreshold)
    for (std::ptrdiff_t i = 0; i < n; ++i) gr[i] += T(2) * lambda * wr[i];
  } else {
#pragma omp parallel for schedule(static) if (std::size_t(n) >= kParallelThreshold)
    for (std::ptrdiff_t i = 0; i < n; ++i) gr[i] += lambda * T((wr[i] > T(0)) - (wr[i] < T(0)));
  }
}
}  // namespace

template <class T>
void add_regularization_gradient_layer(const Regularization& reg, const ParameterLayout& layout, int k,
                                       const T* w, T* g) {
  if (!reg.active()) return;
  const LayerSlots& l = layout.layer(k);
  add_penalty_gradient(reg, l.weight_offset, reg.include_bias ? l.end() : l.bias_offset, w, g);
}

template <class T>
void add_regularization_gradient_piece(const Regularization& reg, const Piece& piece, const T* w, T* g) {
  if (!reg.active() || (piece.bias && !reg.include_bias)) return;
  add_penalty_gradient(reg, piece.begin, piece.end, w, g);
}

#define DMLP_INSTANTIATE(T)                                                                    \
  template double regularization_value<T>(const Regularization&, const ParameterLayout&,       \
                                          const T*);                                           \
  template void add_regularization_gradient<T>(const Regularization&, const ParameterLayout&,  \
                                               const T*, T*);                                  \
  template void add_regularization_gradient_layer<T>(const Regularization&, const ParameterLayout&, int, \
                                                     const T*, T*);                            \
  template void add_regularization_gradient_piece<T>(const Regularization&, const Piece&, const T*, T*);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
