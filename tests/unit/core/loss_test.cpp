// Losses: hand-computed values, the batch-mean scaling, numerical stability.
#include <catch2/catch.hpp>
#include <cmath>

#include "dmlp/core/loss.hpp"

using namespace dmlp;

TEST_CASE("squared error is ||y - y'||^2, averaged over the global batch", "[loss]") {
  const double Y[] = {1.0, 2.0, 0.0, -1.0}, T[] = {0.0, 2.5, 1.0, -1.0};
  double dY[4];
  // Two rows of k = 2 held here, out of a global batch of 4: scale 1/4.
  const LossSums s = loss_forward_backward(Loss::SquaredError, 2, 2, Y, Targets<double>{nullptr, T},
                                           batch_mean_scale<double>(4), dY);
  CHECK(s.loss == Approx((1.0 + 0.25 + 1.0 + 0.0) / 4));
  CHECK(dY[0] == Approx(2 * 1.0 / 4));
  CHECK(dY[1] == Approx(2 * -0.5 / 4));
  CHECK(dY[2] == Approx(2 * -1.0 / 4));
  CHECK(dY[3] == 0.0);
}

TEST_CASE("softmax cross-entropy: value, gradient, accuracy, stability", "[loss]") {
  const double Y[] = {1.0, 2.0, 3.0, 1000.0, -1000.0, 0.0};
  const std::int32_t labels[] = {2, 1};
  double dY[6];
  const LossSums s = loss_forward_backward(Loss::SoftmaxCrossEntropy, 2, 3, Y,
                                           Targets<double>{labels, nullptr}, 0.5, dY);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double row0 = -std::log(std::exp(3.0) / z), row1 = 2000.0;  // −log softmax = 1000 − (−1000)
  CHECK(s.loss == Approx(0.5 * (row0 + row1)));
  CHECK(s.correct == 1);  // row 0 predicts class 2 (right), row 1 class 0 (wrong)
  CHECK(dY[2] == Approx(0.5 * (std::exp(3.0) / z - 1)));
  CHECK(dY[3] == Approx(0.5));
  CHECK(dY[4] == Approx(-0.5));
  for (double g : dY) CHECK(std::isfinite(g));
}

TEST_CASE("binary cross-entropy on logits never takes log(0)", "[loss]") {
  const double Y[] = {0.0, 800.0, -800.0, 2.0};
  const std::int32_t labels[] = {1, 0, 0, 1};
  double dY[4];
  const LossSums s = loss_forward_backward(Loss::BinaryCrossEntropy, 4, 1, Y,
                                           Targets<double>{labels, nullptr}, 1.0, dY);
  const double expected = std::log(2.0) + 800.0 + 0.0 + std::log1p(std::exp(-2.0));
  CHECK(std::isfinite(s.loss));
  CHECK(s.loss == Approx(expected));
  CHECK(dY[0] == Approx(-0.5));
  CHECK(dY[1] == Approx(1.0));
  CHECK(dY[2] == Approx(0.0).margin(1e-300));
  CHECK(s.correct == 2);  // rows 2 and 3; row 0 (logit 0) predicts class 0
  float Yf[] = {100.0f, -100.0f};
  const std::int32_t lf[] = {0, 1};
  float dYf[2];
  const LossSums sf = loss_forward_backward(Loss::BinaryCrossEntropy, 2, 1, Yf, Targets<float>{lf, nullptr}, 1.0f, dYf);
  CHECK(sf.loss == Approx(200.0));
}

TEST_CASE("hinge: max(0, 1 - s y) with s = 2 label - 1 and subgradient 0 at the kink", "[loss]") {
  const double Y[] = {0.5, -2.0, 1.0, 0.2};
  const std::int32_t labels[] = {1, 0, 1, 0};  // s = +1, −1, +1, −1
  double dY[4];
  const LossSums s = loss_forward_backward(Loss::Hinge, 4, 1, Y, Targets<double>{labels, nullptr}, 1.0, dY);
  CHECK(s.loss == Approx(0.5 + 0.0 + 0.0 + 1.2));
  CHECK(dY[0] == -1.0);
  CHECK(dY[1] == 0.0);
  CHECK(dY[2] == 0.0);  // exactly at the kink
  CHECK(dY[3] == 1.0);
  CHECK(s.correct == 3);
}

TEST_CASE("losses check the output width", "[loss][errors]") {
  CHECK_THROWS_WITH(check_loss_fits_outputs(Loss::Hinge, 10), Catch::Contains("needs 1 output"));
  CHECK_THROWS_WITH(check_loss_fits_outputs(Loss::BinaryCrossEntropy, 3), Catch::Contains("needs 1 output"));
  CHECK_THROWS_WITH(check_loss_fits_outputs(Loss::SoftmaxCrossEntropy, 1), Catch::Contains("at least 2"));
  CHECK_NOTHROW(check_loss_fits_outputs(Loss::SquaredError, 7));
}
