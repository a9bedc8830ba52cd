#pragma once
// A naive-loop MLP in double, written straight from the lecture's formulas and
// sharing nothing with the library but the flat parameter layout: the
// reference the BLAS path is tested against.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dmlp/core/model_spec.hpp"

namespace dmlp::test {

inline double ref_sigma(Activation a, double slope, double z) {
  switch (a) {
    case Activation::Identity: return z;
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return std::max(z, 0.0);
    case Activation::LeakyRelu: return z > 0 ? z : slope * z;
  }
  return z;
}

// σ'(z), from z itself; σ'(0) = 0 for ReLU and slope for leaky ReLU.
inline double ref_sigma_prime(Activation a, double slope, double z) {
  switch (a) {
    case Activation::Identity: return 1;
    case Activation::Sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-z));
      return s * (1 - s);
    }
    case Activation::Tanh: return 1 - std::tanh(z) * std::tanh(z);
    case Activation::Relu: return z > 0 ? 1 : 0;
    case Activation::LeakyRelu: return z > 0 ? 1 : slope;
  }
  return 1;
}

struct ReferenceResult {
  std::vector<double> output;      // (B, k)
  std::vector<double> grads;       // the flat layout, dJ/dw with J the batch-mean loss
  std::vector<double> input_grad;  // (B, d), dJ/dx_0
  double loss = 0;                 // batch mean
};

inline ReferenceResult reference_mlp(const ModelSpec& spec, const std::vector<double>& params,
                                     const std::vector<double>& X, int B,
                                     const std::vector<std::int32_t>& labels,
                                     const std::vector<double>& targets) {
  const ParameterLayout layout(spec);
  const int K = spec.num_layers();
  ReferenceResult r;
  r.grads.assign(layout.size(), 0.0);
  for (int n = 0; n < B; ++n) {
    // forward, one sample at a time: z_k = W_k x_{k-1} + b_k, x_k = σ(z_k)
    std::vector<std::vector<double>> x(K + 1), z(K + 1);
    x[0].assign(X.begin() + std::ptrdiff_t(n) * spec.inputs(), X.begin() + std::ptrdiff_t(n + 1) * spec.inputs());
    for (int k = 0; k < K; ++k) {
      const LayerSlots& s = layout.layer(k);
      z[k + 1].assign(s.out, 0.0);
      x[k + 1].assign(s.out, 0.0);
      for (int i = 0; i < s.out; ++i) {
        double sum = params[s.bias_offset + i];
        for (int j = 0; j < s.in; ++j) sum += params[s.weight_offset + std::size_t(i) * s.in + j] * x[k][j];
        z[k + 1][i] = sum;
        x[k + 1][i] = ref_sigma(spec.activations[k], spec.leaky_slope, sum);
      }
    }
    const std::vector<double>& y = x[K];
    r.output.insert(r.output.end(), y.begin(), y.end());

    // the loss of this sample and dℓ/dy
    const int k_out = spec.outputs();
    std::vector<double> dy(k_out, 0.0);
    double loss = 0;
    switch (spec.loss) {
      case Loss::SquaredError:
        for (int j = 0; j < k_out; ++j) {
          const double diff = y[j] - targets[std::size_t(n) * k_out + j];
          loss += diff * diff;
          dy[j] = 2 * diff;
        }
        break;
      case Loss::BinaryCrossEntropy: {
        const double p = 1.0 / (1.0 + std::exp(-y[0])), t = labels[n];
        loss = -(t * std::log(p) + (1 - t) * std::log(1 - p));
        dy[0] = p - t;
        break;
      }
      case Loss::SoftmaxCrossEntropy: {
        double total = 0;
        for (double v : y) total += std::exp(v);
        loss = -std::log(std::exp(y[labels[n]]) / total);
        for (int j = 0; j < k_out; ++j) dy[j] = std::exp(y[j]) / total - (j == labels[n] ? 1 : 0);
        break;
      }
      case Loss::Hinge: {
        const double s = labels[n] == 1 ? 1 : -1;
        loss = std::max(0.0, 1 - s * y[0]);
        dy[0] = 1 - s * y[0] > 0 ? -s : 0;
        break;
      }
    }
    r.loss += loss / B;

    // backward, last layer first: dz = dx ⊙ σ'(z); dW += dz xᵀ; db += dz; dx_prev = Wᵀ dz
    std::vector<double> dx = dy;
    for (double& v : dx) v /= B;
    for (int k = K - 1; k >= 0; --k) {
      const LayerSlots& s = layout.layer(k);
      std::vector<double> dz(s.out), dprev(s.in, 0.0);
      for (int i = 0; i < s.out; ++i) dz[i] = dx[i] * ref_sigma_prime(spec.activations[k], spec.leaky_slope, z[k + 1][i]);
      for (int i = 0; i < s.out; ++i) {
        r.grads[s.bias_offset + i] += dz[i];
        for (int j = 0; j < s.in; ++j) {
          r.grads[s.weight_offset + std::size_t(i) * s.in + j] += dz[i] * x[k][j];
          dprev[j] += params[s.weight_offset + std::size_t(i) * s.in + j] * dz[i];
        }
      }
      dx = dprev;
    }
    r.input_grad.insert(r.input_grad.end(), dx.begin(), dx.end());
  }
  return r;
}

}  // namespace dmlp::test
