// The lecture's worked example (shared/seed/worked-example.md), every value to
// 1e-4. Network 2 → 3 → 1, sigmoid on both layers, x0 = [0.5, −0.5], y' = 1.
#include <catch2/catch.hpp>
#include <vector>

#include "dmlp/core/dense.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/core/network.hpp"

using namespace dmlp;
using Catch::Matchers::WithinAbs;

namespace {
constexpr double kTol = 1e-4;

void require_near(const double* actual, const std::vector<double>& expected) {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("component " << i);
    REQUIRE_THAT(actual[i], WithinAbs(expected[i], kTol));
  }
}

struct Lecture {
  std::vector<double> W1{0.5, -2.5, 1.2, 0.1, -0.7, -1.2}, b1{-1.5, -1.3, 2.0};
  std::vector<double> W2{-1.5, 0.2, 0.5}, b2{1.0};
  std::vector<double> x0{0.5, -0.5};
  DenseParams<double> layer1() const { return {W1.data(), b1.data(), 2, 3}; }
  DenseParams<double> layer2() const { return {W2.data(), b2.data(), 3, 1}; }
};
}  // namespace

TEST_CASE("worked example: forward pass", "[worked-example]") {
  Lecture L;
  std::vector<double> z1(3), x1(3), x2(1);
  dense_forward(L.layer1(), Activation::Identity, 0.0, 1, L.x0.data(), z1.data());
  require_near(z1.data(), {0, -0.75, 2.25});
  dense_forward(L.layer1(), Activation::Sigmoid, 0.0, 1, L.x0.data(), x1.data());
  require_near(x1.data(), {0.5, 0.320821, 0.904651});
  std::vector<double> z2(1);
  dense_forward(L.layer2(), Activation::Identity, 0.0, 1, x1.data(), z2.data());
  require_near(z2.data(), {0.766490});
  dense_forward(L.layer2(), Activation::Sigmoid, 0.0, 1, x1.data(), x2.data());
  require_near(x2.data(), {0.682761});
}

TEST_CASE("worked example: Jacobians, local partials and chain-rule gradients", "[worked-example]") {
  Lecture L;
  std::vector<double> x1(3), x2(1);
  dense_forward(L.layer1(), Activation::Sigmoid, 0.0, 1, L.x0.data(), x1.data());
  dense_forward(L.layer2(), Activation::Sigmoid, 0.0, 1, x1.data(), x2.data());

  // The lecture's loss l = y' log x2 + (1 − y') log(1 − x2), with y' = 1.
  const double dl_dx2 = 1.0 / x2[0];
  REQUIRE_THAT(dl_dx2, WithinAbs(1.464641, kTol));

  SECTION("Jacobians dx2/dx1 = σ'(z2)·W2 and dx1/dx0 = diag(σ'(z1))·W1") {
    const double s2 = activation_derivative_from_output(Activation::Sigmoid, 0.0, x2[0]);
    std::vector<double> dx2_dx1(3), dx1_dx0(6);
    for (int j = 0; j < 3; ++j) dx2_dx1[j] = s2 * L.W2[j];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j)
        dx1_dx0[i * 2 + j] = activation_derivative_from_output(Activation::Sigmoid, 0.0, x1[i]) * L.W1[i * 2 + j];
    require_near(dx2_dx1.data(), {-0.324898, 0.043320, 0.108299});
    require_near(dx1_dx0.data(), {0.125, -0.625, 0.261474, 0.021790, -0.060381, -0.103510});
  }

  SECTION("local partials: backward with an upstream gradient of 1") {
    std::vector<double> dW2(3, 0), db2(1, 0), dW1(6, 0), db1(3, 0);
    std::vector<double> ones2{1.0}, ones1{1.0, 1.0, 1.0};
    dense_backward_params(L.layer2(), Activation::Sigmoid, 0.0, 1, x1.data(), x2.data(), ones2.data(),
                          {dW2.data(), db2.data()});
    dense_backward_params(L.layer1(), Activation::Sigmoid, 0.0, 1, L.x0.data(), x1.data(), ones1.data(),
                          {dW1.data(), db1.data()});
    require_near(dW2.data(), {0.108299, 0.069489, 0.195946});
    require_near(db2.data(), {0.216598});
    require_near(dW1.data(), {0.125, -0.125, 0.108948, -0.108948, 0.043129, -0.043129});
    require_near(db1.data(), {0.25, 0.217895, 0.086258});
  }

  SECTION("full chain rule, dl/dx at every layer, last layer first") {
    std::vector<double> dW2(3, 0), db2(1, 0), dW1(6, 0), db1(3, 0);
    std::vector<double> delta2{dl_dx2}, delta1(3), dl_dx0(2);
    dense_backward_params(L.layer2(), Activation::Sigmoid, 0.0, 1, x1.data(), x2.data(), delta2.data(),
                          {dW2.data(), db2.data()});
    dense_backward_input(L.layer2(), 1, delta2.data(), delta1.data());
    require_near(delta1.data(), {-0.475858, 0.063448, 0.158619});  // dl/dx1
    dense_backward_params(L.layer1(), Activation::Sigmoid, 0.0, 1, L.x0.data(), x1.data(), delta1.data(),
                          {dW1.data(), db1.data()});
    dense_backward_input(L.layer1(), 1, delta1.data(), dl_dx0.data());
    require_near(dl_dx0.data(), {-0.052470, 0.282375});
    require_near(dW2.data(), {0.158619, 0.101777, 0.286990});
    require_near(db2.data(), {0.317239});
    require_near(dW1.data(), {-0.059482, 0.059482, 0.006912, -0.006912, 0.006841, -0.006841});
    require_near(db1.data(), {-0.118965, 0.013825, 0.013682});
  }
}

TEST_CASE("worked example: the network API and BCE give the negated lecture gradients",
          "[worked-example]") {
  // The lecture's l is a log-likelihood; binary cross-entropy on the logit z2 is
  // its negative, so every gradient must come out negated.
  Network<double> net(make_mlp({2, 3, 1}, Activation::Sigmoid, Activation::Identity,
                               Loss::BinaryCrossEntropy));
  Lecture L;
  std::copy(L.W1.begin(), L.W1.end(), net.weights(0));
  std::copy(L.b1.begin(), L.b1.end(), net.bias(0));
  std::copy(L.W2.begin(), L.W2.end(), net.weights(1));
  std::copy(L.b2.begin(), L.b2.end(), net.bias(1));
  Workspace<double> ws(net.spec(), 1);
  std::copy(L.x0.begin(), L.x0.end(), ws.input());
  const double* z2 = forward(net, ws, 1);
  REQUIRE_THAT(z2[0], WithinAbs(0.766490, kTol));
  const std::int32_t label = 1;
  const LossSums sums = loss_forward_backward(Loss::BinaryCrossEntropy, 1, 1, z2, Targets<double>{&label, nullptr},
                                              1.0, ws.output_grad());
  REQUIRE_THAT(sums.loss, WithinAbs(-std::log(0.682761), kTol));
  net.zero_grad();
  backward(net, ws, 1);
  require_near(net.weight_grad(1), {-0.158619, -0.101777, -0.286990});
  require_near(net.bias_grad(1), {-0.317239});
  require_near(net.weight_grad(0), {0.059482, -0.059482, -0.006912, 0.006912, -0.006841, 0.006841});
  require_near(net.bias_grad(0), {0.118965, -0.013825, -0.013682});
}

TEST_CASE("worked example with ReLU: forward, and σ'(0) = 0 at the kink", "[worked-example]") {
  Lecture L;
  std::vector<double> x1(3), x2(1);
  dense_forward(L.layer1(), Activation::Relu, 0.0, 1, L.x0.data(), x1.data());
  require_near(x1.data(), {0, 0, 2.25});  // z1[0] = 0 exactly: the kink
  dense_forward(L.layer2(), Activation::Relu, 0.0, 1, x1.data(), x2.data());
  require_near(x2.data(), {2.125});

  // Upstream dl/dx2 = 1: dz2 = 1, dl/dx1 = W2, and dz1 = W2 ⊙ [0, 0, 1].
  std::vector<double> dW2(3, 0), db2(1, 0), dW1(6, 0), db1(3, 0), delta2{1.0}, delta1(3), dx0(2);
  dense_backward_params(L.layer2(), Activation::Relu, 0.0, 1, x1.data(), x2.data(), delta2.data(),
                        {dW2.data(), db2.data()});
  dense_backward_input(L.layer2(), 1, delta2.data(), delta1.data());
  require_near(delta1.data(), {-1.5, 0.2, 0.5});
  dense_backward_params(L.layer1(), Activation::Relu, 0.0, 1, L.x0.data(), x1.data(), delta1.data(),
                        {dW1.data(), db1.data()});
  dense_backward_input(L.layer1(), 1, delta1.data(), dx0.data());
  require_near(dW2.data(), {0, 0, 2.25});
  require_near(db1.data(), {0, 0, 0.5});
  require_near(dW1.data(), {0, 0, 0, 0, 0.25, -0.25});
  require_near(dx0.data(), {-0.35, -0.6});
}
