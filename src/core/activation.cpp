#include "dmlp/core/activation.hpp"

#include <algorithm>
#include <cmath>

#include "dmlp/core/name_table.hpp"
#include "dmlp/core/parallel.hpp"

namespace dmlp {
namespace {
constexpr NameTable<Activation, 5> kActivationNames{
    "activation", {{{Activation::Identity, "identity"}, {Activation::Sigmoid, "sigmoid"}, {Activation::Tanh, "tanh"},
                    {Activation::Relu, "relu"}, {Activation::LeakyRelu, "leaky-relu"}}}};
}  // namespace

std::string_view to_string(Activation a) { return kActivationNames.name(a); }
Activation parse_activation(std::string_view name) { return kActivationNames.parse(name); }
std::string activation_names() { return kActivationNames.choices(); }

template <class T>
T activate(Activation act, T slope, T z) {
  switch (act) {
    case Activation::Identity: return z;
    case Activation::Sigmoid: return T(1) / (T(1) + std::exp(-z));
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return z > T(0) ? z : T(0);
    case Activation::LeakyRelu: return z > T(0) ? z : slope * z;
  }
  return z;
}

template <class T>
T activation_derivative_from_output(Activation act, T slope, T a) {
  switch (act) {
    case Activation::Identity: return T(1);
    case Activation::Sigmoid: return a * (T(1) - a);
    case Activation::Tanh: return T(1) - a * a;
    case Activation::Relu: return a > T(0) ? T(1) : T(0);
    case Activation::LeakyRelu: return a > T(0) ? T(1) : slope;
  }
  return T(1);
}

namespace {
// The loops live in plain function templates, not in lambdas: GCC 12 miscompiles
// an OpenMP region inside a lambda that captures by reference.
template <class T, class Sigma>
void bias_then(int rows, int cols, const T* b, T* Z, Sigma sigma) {
  const std::size_t n = std::size_t(rows) * cols;
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (int r = 0; r < rows; ++r) {
    T* z = Z + std::size_t(r) * cols;
    for (int j = 0; j < cols; ++j) z[j] = sigma(z[j] + b[j]);
  }
}

template <class T, class Derivative>
void times_derivative(std::size_t n, const T* A, T* dA, Derivative derivative) {
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (std::size_t i = 0; i < n; ++i) dA[i] *= derivative(A[i]);
}
}  // namespace

template <class T>
void bias_activation_forward(Activation act, T slope, int rows, int cols, const T* b, T* Z) {
  // One switch outside the loops keeps each inner loop branch-free and vectorisable.
  switch (act) {
    case Activation::Identity: bias_then(rows, cols, b, Z, [](T z) { return z; }); break;
    case Activation::Sigmoid: bias_then(rows, cols, b, Z, [](T z) { return T(1) / (T(1) + std::exp(-z)); }); break;
    case Activation::Tanh: bias_then(rows, cols, b, Z, [](T z) { return std::tanh(z); }); break;
    case Activation::Relu: bias_then(rows, cols, b, Z, [](T z) { return z > T(0) ? z : T(0); }); break;
    case Activation::LeakyRelu:
      bias_then(rows, cols, b, Z, [slope](T z) { return z > T(0) ? z : slope * z; });
      break;
  }
}

template <class T>
void activation_backward(Activation act, T slope, std::size_t n, const T* A, T* dA) {
  switch (act) {
    case Activation::Identity: return;
    case Activation::Sigmoid: times_derivative(n, A, dA, [](T a) { return a * (T(1) - a); }); break;
    case Activation::Tanh: times_derivative(n, A, dA, [](T a) { return T(1) - a * a; }); break;
    case Activation::Relu: times_derivative(n, A, dA, [](T a) { return a > T(0) ? T(1) : T(0); }); break;
    case Activation::LeakyRelu:
      times_derivative(n, A, dA, [slope](T a) { return a > T(0) ? T(1) : slope; });
      break;
  }
}

namespace {
template <class T, class Derivative>
void derivative_and_column_sums(int rows, int cols, const T* A, T* dA, T* db, bool overwrite, Derivative derivative) {
  if (overwrite) std::fill_n(db, cols, T(0));
  for_column_blocks(rows, cols, [&](int j0, int j1) {  // as column_sums, with σ' on the way
    for (int r = 0; r < rows; ++r) {
      const T* a = A + std::size_t(r) * cols;
      T* d = dA + std::size_t(r) * cols;
      for (int j = j0; j < j1; ++j) {
        d[j] *= derivative(a[j]);
        db[j] += d[j];
      }
    }
  });
}
}  // namespace

template <class T>
void activation_backward_and_bias_grad(Activation act, T slope, int rows, int cols, const T* A, T* dA, T* db,
                                       bool overwrite) {
  switch (act) {
    case Activation::Identity:
      derivative_and_column_sums(rows, cols, A, dA, db, overwrite, [](T) { return T(1); });
      break;
    case Activation::Sigmoid:
      derivative_and_column_sums(rows, cols, A, dA, db, overwrite, [](T a) { return a * (T(1) - a); });
      break;
    case Activation::Tanh:
      derivative_and_column_sums(rows, cols, A, dA, db, overwrite, [](T a) { return T(1) - a * a; });
      break;
    case Activation::Relu:
      derivative_and_column_sums(rows, cols, A, dA, db, overwrite, [](T a) { return a > T(0) ? T(1) : T(0); });
      break;
    case Activation::LeakyRelu:
      derivative_and_column_sums(rows, cols, A, dA, db, overwrite, [slope](T a) { return a > T(0) ? T(1) : slope; });
      break;
  }
}

#define DMLP_INSTANTIATE(T)                                                                     \
  template void activation_backward_and_bias_grad<T>(Activation, T, int, int, const T*, T*, T*, bool); \
  template T activate<T>(Activation, T, T);                                                     \
  template T activation_derivative_from_output<T>(Activation, T, T);                            \
  template void bias_activation_forward<T>(Activation, T, int, int, const T*, T*);              \
  template void activation_backward<T>(Activation, T, std::size_t, const T*, T*);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
