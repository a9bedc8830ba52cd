#pragma once
// Random networks and batches for the tests, drawn from the library's
// counter-based generator so that every run sees the same numbers.
#include <cstdint>
#include <vector>

#include "dmlp/core/init.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/rng.hpp"

namespace dmlp::test {

struct RandomBatch {
  std::vector<double> X;               // (B, d)
  std::vector<std::int32_t> labels;    // (B)
  std::vector<double> targets;         // (B, k)
};

inline RandomBatch random_batch(const ModelSpec& spec, int rows, std::uint64_t seed) {
  const CounterRng rng(seed, RngStream::Test, 7);
  std::uint64_t draw = 0;
  RandomBatch b;
  for (int i = 0; i < rows * spec.inputs(); ++i) b.X.push_back(rng.normal(draw++));
  const int classes = num_classes_for_output(spec.loss, spec.outputs());
  for (int i = 0; i < rows; ++i)
    b.labels.push_back(classes ? std::int32_t(rng.below(draw++, std::uint64_t(classes))) : 0);
  for (int i = 0; i < rows * spec.outputs(); ++i) b.targets.push_back(rng.normal(draw++));
  return b;
}

// Initialised weights plus small random biases (so no unit starts on a kink).
template <class T>
void randomize(Network<T>& net, std::uint64_t seed) {
  initialize_parameters(net, seed);
  const CounterRng rng(seed, RngStream::Test, 8);
  std::uint64_t draw = 0;
  for (int k = 0; k < net.num_layers(); ++k)
    for (int j = 0; j < net.spec().layers[k].out; ++j) net.bias(k)[j] = T(0.1 * rng.normal(draw++));
}

}  // namespace dmlp::test
