// Back-propagation against central differences, in double, for every hidden
// activation × loss × penalty, on random networks with two hidden layers.
#include <catch2/catch.hpp>

#include "dmlp/core/gradcheck.hpp"
#include "random_fixture.hpp"

using namespace dmlp;

namespace {
GradcheckResult check(const ModelSpec& spec, const Regularization& reg, int rows, std::uint64_t seed) {
  Network<double> net(spec);
  test::randomize(net, seed);
  test::RandomBatch batch = test::random_batch(spec, rows, seed);
  Workspace<double> ws(spec, rows);
  std::copy(batch.X.begin(), batch.X.end(), ws.input());
  return gradient_check(net, ws, rows, {batch.labels.data(), batch.targets.data()}, reg, {});
}
}  // namespace

TEST_CASE("gradient check: every activation x loss x penalty", "[gradcheck]") {
  const Activation activation = GENERATE(Activation::Identity, Activation::Sigmoid, Activation::Tanh,
                                         Activation::Relu, Activation::LeakyRelu);
  const Loss loss = GENERATE(Loss::SquaredError, Loss::BinaryCrossEntropy,
                             Loss::SoftmaxCrossEntropy, Loss::Hinge);
  const Regularizer penalty = GENERATE(Regularizer::None, Regularizer::L2, Regularizer::L1);
  const int outputs = loss == Loss::SquaredError ? 3 : (loss == Loss::SoftmaxCrossEntropy ? 4 : 1);
  const ModelSpec spec = make_mlp({5, 7, 6, outputs}, activation, Activation::Identity, loss, 0.1);
  const Regularization reg{penalty, 0.03, false};
  INFO(spec.describe() << ", penalty " << to_string(penalty));

  const GradcheckResult result = check(spec, reg, 4, 11);
  for (const auto& layer : result.layers) {
    INFO("layer " << layer.layer + 1 << ": " << layer.checked << " checked, " << layer.skipped
                  << " skipped, max abs error " << layer.max_abs_error);
    CHECK(layer.checked >= 0.9 * double(layer.checked + layer.skipped));
    CHECK(layer.rel_error <= 1e-6);
  }
}

TEST_CASE("gradient check: penalised biases, sigmoid output, deeper net", "[gradcheck]") {
  const ModelSpec spec = make_mlp({3, 6, 5, 4, 2}, Activation::Tanh, Activation::Sigmoid,
                                  Loss::SquaredError);
  for (Regularizer r : {Regularizer::L2, Regularizer::L1}) {
    const GradcheckResult result = check(spec, {r, 0.05, true}, 5, 3);
    CHECK(result.worst_rel_error() <= 1e-6);
  }
}

TEST_CASE("gradient check skips parameters whose perturbation crosses a ReLU kink", "[gradcheck]") {
  // The lecture's network with ReLU: hidden unit 1 has z = 0 exactly, so
  // nudging its weights or bias either way lands on different sides of the kink.
  const ModelSpec spec = make_mlp({2, 3, 1}, Activation::Relu, Activation::Identity, Loss::SquaredError);
  Network<double> net(spec);
  const double W1[] = {0.5, -2.5, 1.2, 0.1, -0.7, -1.2}, b1[] = {-1.5, -1.3, 2.0};
  const double W2[] = {-1.5, 0.2, 0.5}, b2[] = {1.0};
  std::copy(std::begin(W1), std::end(W1), net.weights(0));
  std::copy(std::begin(b1), std::end(b1), net.bias(0));
  std::copy(std::begin(W2), std::end(W2), net.weights(1));
  std::copy(std::begin(b2), std::end(b2), net.bias(1));
  Workspace<double> ws(spec, 1);
  ws.input()[0] = 0.5;
  ws.input()[1] = -0.5;
  const double target = 1.0;
  const GradcheckResult result = gradient_check(net, ws, 1, {nullptr, &target}, {}, {});
  CHECK(result.layers[0].skipped == 3);  // W1[0][0], W1[0][1], b1[0]
  CHECK(result.layers[0].checked == 6);
  CHECK(result.layers[1].skipped == 0);
  CHECK(result.worst_rel_error() <= 1e-9);
}
