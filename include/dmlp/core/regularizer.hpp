#pragma once
// The penalty λΩ(w) of the objective (1/n) Σ ℓ_i + λΩ(w).
//
//   L2: Ω(w) = Σ w²    ∂/∂w = 2w
//   L1: Ω(w) = Σ |w|   ∂/∂w = sign(w), with the subgradient 0 at w = 0
//
// Ω covers the weights W_k only; biases join only when include_bias is set.
// It is a property of the whole objective, not of a batch shard: every rank
// adds it once, after the all-reduce, identically.
#include <string>
#include <string_view>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/shard_plan.hpp"

namespace dmlp {

enum class Regularizer { None, L2, L1 };

std::string_view to_string(Regularizer r);
Regularizer parse_regularizer(std::string_view name);  // throws InputError

struct Regularization {
  Regularizer kind = Regularizer::None;
  double lambda = 0.0;
  bool include_bias = false;
  bool active() const { return kind != Regularizer::None && lambda != 0.0; }
};

// Throws InputError unless λ is a finite number >= 0.
void validate(const Regularization& reg);

// λΩ(w).
template <class T>
double regularization_value(const Regularization& reg, const ParameterLayout& layout, const T* params);

// grads += λ ∂Ω/∂w.
template <class T>
void add_regularization_gradient(const Regularization& reg, const ParameterLayout& layout,
                                 const T* params, T* grads);
// The same for layer k alone.
template <class T>
void add_regularization_gradient_layer(const Regularization& reg, const ParameterLayout& layout, int k,
                                       const T* params, T* grads);
// The same for one piece of a tensor (core/shard_plan.hpp): the sharded update's.
template <class T>
void add_regularization_gradient_piece(const Regularization& reg, const Piece& piece, const T* w, T* g);

}  // namespace dmlp
