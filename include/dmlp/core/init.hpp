#pragma once
// Parameter initialisation, a pure function of (seed, layer, element).
//
//   ReLU, leaky ReLU:          He uniform      W ~ U(−√(6/in), +√(6/in))
//   sigmoid, tanh, identity:   Glorot uniform  W ~ U(−√(6/(in+out)), +√(6/(in+out)))
//   biases:                    0
//
// Draws come from Philox4x32-10 (rng.hpp) with the layer as substream and
// the element index as counter, so the result does not depend on the thread
// count or on the rank count; uniform rather than normal keeps it free of
// libm (no log or cos), hence bitwise portable.
#include <cstdint>

#include "dmlp/core/network.hpp"

namespace dmlp {

double init_bound(Activation act, int in, int out);

template <class T>
void initialize_parameters(Network<T>& net, std::uint64_t seed);

}  // namespace dmlp
