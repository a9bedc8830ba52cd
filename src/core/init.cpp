#include "dmlp/core/init.hpp"

#include <cmath>

#include "dmlp/core/rng.hpp"

namespace dmlp {

double init_bound(Activation act, int in, int out) {
  const bool relu_like = act == Activation::Relu || act == Activation::LeakyRelu;
  return relu_like ? std::sqrt(6.0 / in) : std::sqrt(6.0 / (in + out));
}

template <class T>
void initialize_parameters(Network<T>& net, std::uint64_t seed) {
  for (int k = 0; k < net.num_layers(); ++k) {
    const LayerSlots& s = net.layout().layer(k);
    const CounterRng rng(seed, RngStream::Init, std::uint32_t(k));
    const double bound = init_bound(net.spec().activations[k], s.in, s.out);
    T* W = net.weights(k);
    const auto n = std::ptrdiff_t(s.weight_count());
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i)
      W[i] = T((2.0 * rng.uniform(std::uint64_t(i)) - 1.0) * bound);
    std::fill_n(net.bias(k), s.out, T(0));
  }
}

template void initialize_parameters<float>(Network<float>&, std::uint64_t);
template void initialize_parameters<double>(Network<double>&, std::uint64_t);

}  // namespace dmlp
