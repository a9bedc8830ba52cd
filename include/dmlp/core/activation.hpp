#pragma once
// Point-wise activations σ, forward and backward.
//
// Conventions: σ'(0) = 0 for ReLU and σ'(0) = slope for leaky ReLU (the left
// derivative). Backward computes σ'(z) from the layer's output a = σ(z), so no
// pre-activation buffer is kept: sigmoid' = a(1-a), tanh' = 1-a², and for the
// ReLUs a > 0 exactly when z > 0.
#include <cstddef>
#include <string>
#include <string_view>

namespace dmlp {

enum class Activation { Identity, Sigmoid, Tanh, Relu, LeakyRelu };

std::string_view to_string(Activation a);
Activation parse_activation(std::string_view name);  // throws InputError
std::string activation_names();                      // "identity|sigmoid|..."

// A(rows,cols) = σ(Z + b), b(cols) added to every row; in place on Z.
template <class T>
void bias_activation_forward(Activation act, T leaky_slope, int rows, int cols, const T* b, T* Z);

// dZ = dA ⊙ σ'(z), with σ' read off A = σ(Z); in place on dA. n = rows·cols.
template <class T>
void activation_backward(Activation act, T leaky_slope, std::size_t n, const T* A, T* dA);

// Both at once, one pass over dA instead of two: dZ = dA ⊙ σ'(z) in place,
// and db(cols) (+)= Σ_rows dZ in row order, as column_sums adds them, adding
// to db or, with overwrite, replacing it.
template <class T>
void activation_backward_and_bias_grad(Activation act, T leaky_slope, int rows, int cols, const T* A, T* dA, T* db,
                                       bool overwrite);

// σ and σ' of one value, for references and tests.
template <class T>
T activate(Activation act, T leaky_slope, T z);
template <class T>
T activation_derivative_from_output(Activation act, T leaky_slope, T a);

}  // namespace dmlp
