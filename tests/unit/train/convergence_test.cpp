// The lecture's models trained to their known answers.
#include <catch2/catch.hpp>
#include <cmath>

#include "dmlp/core/rng.hpp"
#include "dmlp/data/synthetic.hpp"
#include "train_fixture.hpp"

using namespace dmlp;

namespace {
// Solves the normal equations (AᵀA) w = Aᵀy, A = [x 1], by Gaussian elimination.
std::vector<double> least_squares(const InMemoryDataset& data) {
  const int d = data.shape().features, m = d + 1;
  std::vector<double> M(std::size_t(m) * (m + 1), 0.0);
  for (std::int64_t r = 0; r < data.shape().rows; ++r) {
    std::vector<double> a(data.features().begin() + r * d, data.features().begin() + (r + 1) * d);
    a.push_back(1.0);
    const double y = data.targets()[std::size_t(r)];
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < m; ++j) M[std::size_t(i) * (m + 1) + j] += a[i] * a[j];
      M[std::size_t(i) * (m + 1) + m] += a[i] * y;
    }
  }
  for (int c = 0; c < m; ++c)
    for (int r = c + 1; r < m; ++r) {
      const double f = M[std::size_t(r) * (m + 1) + c] / M[std::size_t(c) * (m + 1) + c];
      for (int j = c; j <= m; ++j) M[std::size_t(r) * (m + 1) + j] -= f * M[std::size_t(c) * (m + 1) + j];
    }
  std::vector<double> w(m);
  for (int r = m - 1; r >= 0; --r) {
    double s = M[std::size_t(r) * (m + 1) + m];
    for (int j = r + 1; j < m; ++j) s -= M[std::size_t(r) * (m + 1) + j] * w[j];
    w[r] = s / M[std::size_t(r) * (m + 1) + r];
  }
  return w;
}

// Points on either side of a random hyperplane, at least `margin` away from it.
std::unique_ptr<InMemoryDataset> separable_set(int n, int d, double margin, std::uint64_t seed) {
  const CounterRng rng(seed, RngStream::Test, 1);
  std::uint64_t draw = 0;
  std::vector<double> w(d);
  for (double& v : w) v = rng.normal(draw++);
  const double b = 0.2;
  std::vector<float> X;
  std::vector<std::int32_t> labels;
  while (int(labels.size()) < n) {
    std::vector<float> x(d);
    double s = b;
    for (int j = 0; j < d; ++j) s += w[j] * (x[j] = float(2 * rng.uniform(draw++) - 1));
    if (std::abs(s) < margin) continue;
    X.insert(X.end(), x.begin(), x.end());
    labels.push_back(s > 0 ? 1 : 0);
  }
  return test::classification_set(X, labels, d, 2);
}
}  // namespace

TEST_CASE("linear regression reaches the closed-form least-squares solution", "[convergence]") {
  SyntheticSpec s{SyntheticKind::Regression, 5, 1, 7, 0.3};
  const auto data = make_synthetic(s, 0, 200);
  const std::vector<double> exact = least_squares(*data);

  TrainConfig config;
  config.global_batch = 200;  // full batch: gradient descent, which converges exactly
  config.max_steps = 600;
  config.optimizer = {.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9};
  test::LocalRun<float> run(make_mlp({5, 1}, Activation::Identity, Activation::Identity, Loss::SquaredError),
                            *data, config);
  run.trainer.run();
  for (int j = 0; j < 5; ++j) CHECK(run.net.weights(0)[j] == Approx(exact[j]).margin(1e-3));
  CHECK(run.net.bias(0)[0] == Approx(exact[5]).margin(1e-3));
  const EvalResult fit = run.trainer.evaluate(*data);
  CHECK(fit.r2 > 0.5);
}

TEST_CASE("logistic regression separates a linearly separable set", "[convergence]") {
  const auto data = separable_set(300, 10, 0.1, 3);
  TrainConfig config;
  config.global_batch = 30;
  config.epochs = 60;
  config.optimizer = {.lr_weights = 0.5, .lr_bias = 0.5, .momentum = 0.9};
  test::LocalRun<float> run(make_mlp({10, 1}, Activation::Identity, Activation::Identity,
                                     Loss::BinaryCrossEntropy),
                            *data, config);
  run.trainer.run();
  CHECK(run.trainer.evaluate(*data).accuracy == 1.0);
}

TEST_CASE("the SVM (hinge loss) separates a linearly separable set", "[convergence]") {
  const auto data = separable_set(300, 10, 0.1, 4);
  TrainConfig config;
  config.global_batch = 30;
  config.epochs = 60;
  config.optimizer = {.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9};
  config.reg = {Regularizer::L2, 1e-4, false};
  test::LocalRun<float> run(make_mlp({10, 1}, Activation::Identity, Activation::Identity, Loss::Hinge),
                            *data, config);
  run.trainer.run();
  CHECK(run.trainer.evaluate(*data).accuracy == 1.0);
}

TEST_CASE("a one-hidden-layer MLP fits XOR", "[convergence]") {
  const auto data = test::classification_set({0, 0, 0, 1, 1, 0, 1, 1}, {0, 1, 1, 0}, 2, 2);
  TrainConfig config;
  config.global_batch = 4;
  config.max_steps = 500;
  config.optimizer = {.lr_weights = 0.3, .lr_bias = 0.3, .momentum = 0.9};
  test::LocalRun<float> run(make_mlp({2, 8, 2}, Activation::Tanh, Activation::Identity,
                                     Loss::SoftmaxCrossEntropy),
                            *data, config);
  run.trainer.run();
  const EvalResult fit = run.trainer.evaluate(*data);
  CHECK(fit.accuracy == 1.0);
  CHECK(fit.loss < 0.05);

  // Without the hidden layer the same training cannot fit it.
  test::LocalRun<float> linear(make_mlp({2, 2}, Activation::Identity, Activation::Identity,
                                        Loss::SoftmaxCrossEntropy),
                               *data, config);
  linear.trainer.run();
  CHECK(linear.trainer.evaluate(*data).accuracy <= 0.75);
}
