// The learning-rate schedule's factors and the penalty's closed forms, against
// values worked out by hand.
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>
#include <vector>

#include "dmlp/core/lr_schedule.hpp"
#include "dmlp/core/regularizer.hpp"

using namespace dmlp;

TEST_CASE("lr schedule: constant, linear warm-up, cosine to 0 over the remaining steps", "[schedule]") {
  // constant: 1 everywhere; warm-up W = 4 raises it as (s+1)/W
  CHECK(lr_factor(LrSchedule::Constant, 0, 100, 0) == 1.0);
  CHECK(lr_factor(LrSchedule::Constant, 99, 100, 0) == 1.0);
  CHECK(lr_factor(LrSchedule::Constant, 0, 100, 4) == 0.25);
  CHECK(lr_factor(LrSchedule::Constant, 3, 100, 4) == 1.0);
  CHECK(lr_factor(LrSchedule::Constant, 50, 100, 4) == 1.0);
  // cosine over S = 100 without warm-up: ½(1 + cos(π s/100))
  CHECK(lr_factor(LrSchedule::Cosine, 0, 100, 0) == 1.0);
  CHECK(lr_factor(LrSchedule::Cosine, 50, 100, 0) == Approx(0.5).margin(1e-15));
  CHECK(lr_factor(LrSchedule::Cosine, 25, 100, 0) == Approx(0.5 * (1 + std::sqrt(0.5))).epsilon(1e-15));
  CHECK(lr_factor(LrSchedule::Cosine, 100, 100, 0) == Approx(0.0).margin(1e-15));
  CHECK(lr_factor(LrSchedule::Cosine, 150, 100, 0) == Approx(0.0).margin(1e-15));  // past the end: stays 0
  // cosine with W = 10 of S = 110: warm-up 0.1, 0.2, …, 1.0, then the cosine over the other 100
  CHECK(lr_factor(LrSchedule::Cosine, 0, 110, 10) == Approx(0.1).epsilon(1e-15));
  CHECK(lr_factor(LrSchedule::Cosine, 9, 110, 10) == 1.0);
  CHECK(lr_factor(LrSchedule::Cosine, 10, 110, 10) == 1.0);
  CHECK(lr_factor(LrSchedule::Cosine, 60, 110, 10) == Approx(0.5).margin(1e-15));
  // a warm-up as long as the run: the cosine never starts
  CHECK(lr_factor(LrSchedule::Cosine, 20, 10, 10) == 1.0);
}

TEST_CASE("penalty: L2 is lambda sum w^2 with gradient 2 lambda w; L1 lambda sum |w| with sign(w); biases only when asked",
          "[penalty]") {
  // one layer 2 → 1: the flat buffer is [w1, w2, b]
  const ParameterLayout layout(make_mlp({2, 1}, Activation::Identity, Activation::Identity, Loss::SquaredError));
  REQUIRE(layout.size() == 3);
  const std::vector<double> w{3.0, -4.0, 2.0};
  const Regularization l2{Regularizer::L2, 0.1, false}, l2b{Regularizer::L2, 0.1, true};
  CHECK(regularization_value(l2, layout, w.data()) == Approx(0.1 * (9 + 16)).epsilon(1e-15));
  CHECK(regularization_value(l2b, layout, w.data()) == Approx(0.1 * (9 + 16 + 4)).epsilon(1e-15));
  std::vector<double> g{1.0, 1.0, 1.0};
  add_regularization_gradient(l2, layout, w.data(), g.data());
  CHECK(g == std::vector<double>{1.0 + 2 * 0.1 * 3, 1.0 - 2 * 0.1 * 4, 1.0});  // bias untouched
  g = {0, 0, 0};
  add_regularization_gradient(l2b, layout, w.data(), g.data());
  CHECK(g[2] == Approx(2 * 0.1 * 2).epsilon(1e-15));

  const Regularization l1{Regularizer::L1, 0.5, false};
  const std::vector<double> z{0.0, -4.0, 2.0};
  CHECK(regularization_value(l1, layout, z.data()) == Approx(0.5 * 4).epsilon(1e-15));
  g = {0, 0, 0};
  add_regularization_gradient(l1, layout, z.data(), g.data());
  CHECK(g == std::vector<double>{0.0, -0.5, 0.0});  // subgradient 0 at w = 0

  const Regularization none{Regularizer::None, 0.1, true};
  CHECK(regularization_value(none, layout, w.data()) == 0.0);
  g = {1, 1, 1};
  add_regularization_gradient(none, layout, w.data(), g.data());
  CHECK(g == std::vector<double>{1, 1, 1});
}
