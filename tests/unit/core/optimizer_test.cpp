// SGD, momentum and Nesterov against values worked out by hand.
#include <catch2/catch.hpp>
#include <limits>
#include <vector>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/optimizer.hpp"

using namespace dmlp;

namespace {
// One layer 1 → 1: the flat buffer is [w, b].
ParameterLayout tiny_layout() {
  return ParameterLayout(make_mlp({1, 1}, Activation::Identity, Activation::Identity, Loss::SquaredError));
}
}  // namespace

TEST_CASE("plain SGD uses eta_w for weights and eta_b for biases", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.01}, tiny_layout());
  std::vector<double> p{1.0, 2.0};
  const std::vector<double> g{0.5, 0.5};
  sgd.step(p, g);
  CHECK(p[0] == Approx(0.95).epsilon(1e-15));   // 1 − 0.1·0.5
  CHECK(p[1] == Approx(1.995).epsilon(1e-15));  // 2 − 0.01·0.5
}

TEST_CASE("momentum: v = mu v + g, p -= eta v", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9}, tiny_layout());
  std::vector<double> p{1.0, 0.0};
  const std::vector<double> g{0.5, -1.0};
  sgd.step(p, g);  // v = 0.5;   p = 1 − 0.05 = 0.95
  CHECK(p[0] == Approx(0.95).epsilon(1e-15));
  sgd.step(p, g);  // v = 0.9·0.5 + 0.5 = 0.95;  p = 0.95 − 0.095 = 0.855
  CHECK(p[0] == Approx(0.855).epsilon(1e-15));
  CHECK(sgd.velocity()[0] == Approx(0.95).epsilon(1e-15));
  CHECK(p[1] == Approx(0.1 + 0.19).epsilon(1e-15));  // bias: 0.1, then +0.19
}

TEST_CASE("Nesterov: v = mu v + g, p -= eta (g + mu v)", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9, .nesterov = true}, tiny_layout());
  std::vector<double> p{1.0, 0.0};
  const std::vector<double> g{0.5, 0.0};
  sgd.step(p, g);  // v = 0.5;  p = 1 − 0.1·(0.5 + 0.45) = 0.905
  CHECK(p[0] == Approx(0.905).epsilon(1e-15));
  sgd.step(p, g);  // v = 0.95; p = 0.905 − 0.1·(0.5 + 0.855) = 0.7695
  CHECK(p[0] == Approx(0.7695).epsilon(1e-15));
}

TEST_CASE("weight decay adds wd·w to the weights' gradient only", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .weight_decay = 0.2}, tiny_layout());
  std::vector<double> p{2.0, 2.0};
  const std::vector<double> g{0.0, 0.0};
  sgd.step(p, g);
  CHECK(p[0] == Approx(2.0 - 0.1 * 0.2 * 2.0).epsilon(1e-15));
  CHECK(p[1] == 2.0);
}

TEST_CASE("optimizer settings are validated", "[optimizer][errors]") {
  CHECK_THROWS_AS(validate(OptimizerConfig{.lr_weights = 0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.lr_weights = 0.1, .lr_bias = -1}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.momentum = 1.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.nesterov = true}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.weight_decay = -0.1}), InputError);
}

TEST_CASE("step reports a NaN or infinite gradient, in every update variant", "[optimizer]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (const OptimizerConfig& config : {OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1},
                                 OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9},
                                 OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9, .nesterov = true}}) {
    Optimizer<double> sgd(config, tiny_layout());
    std::vector<double> p{1.0, 2.0};
    CHECK(sgd.step(p, std::vector<double>{0.5, -1e300}));  // large but finite
    CHECK_FALSE(sgd.step(p, std::vector<double>{nan, 0.5}));
    CHECK_FALSE(sgd.step(p, std::vector<double>{0.5, -inf}));
    Optimizer<float> single(config, tiny_layout());
    std::vector<float> q{1.0f, 2.0f};
    CHECK(single.step(q, std::vector<float>{3e38f, 0.5f}));
    CHECK_FALSE(single.step(q, std::vector<float>{0.5f, std::numeric_limits<float>::infinity()}));
  }
}
