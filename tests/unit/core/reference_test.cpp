// The BLAS path (GEMMs, fused element-wise passes) against the naive loops of
// tests/support/reference_mlp.hpp.
#include <catch2/catch.hpp>

#include "random_fixture.hpp"
#include "reference_mlp.hpp"

using namespace dmlp;

namespace {
double max_rel_diff(const double* a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

struct Run {
  std::vector<double> output, grads;
  double loss;
};

template <class T>
Run run_library(const ModelSpec& spec, const std::vector<double>& params, const test::RandomBatch& batch,
                int rows) {
  Network<T> net(spec);
  std::copy(params.begin(), params.end(), net.params().begin());
  Workspace<T> ws(spec, rows);
  std::copy(batch.X.begin(), batch.X.end(), ws.input());
  const std::vector<T> targets(batch.targets.begin(), batch.targets.end());
  const T* y = forward(net, ws, rows);
  Run run;
  run.output.assign(y, y + std::size_t(rows) * spec.outputs());
  run.loss = loss_forward_backward(spec.loss, rows, spec.outputs(), y,
                                   Targets<T>{batch.labels.data(), targets.data()},
                                   batch_mean_scale<T>(rows), ws.output_grad())
                 .loss;
  net.zero_grad();
  backward(net, ws, rows);
  run.grads.assign(net.grads().begin(), net.grads().end());
  return run;
}
}  // namespace

TEST_CASE("BLAS path equals the naive-loop reference", "[reference]") {
  const Activation activation = GENERATE(Activation::Sigmoid, Activation::Tanh, Activation::Relu,
                                         Activation::LeakyRelu);
  const Loss loss = GENERATE(Loss::SquaredError, Loss::BinaryCrossEntropy,
                             Loss::SoftmaxCrossEntropy, Loss::Hinge);
  const int outputs = loss == Loss::SquaredError ? 3 : (loss == Loss::SoftmaxCrossEntropy ? 5 : 1);
  // Sizes past the OpenMP threshold (16384 elements) so the threaded passes run too.
  const ModelSpec spec = make_mlp({37, 300, 64, outputs}, activation, Activation::Identity, loss, 0.05);
  const int rows = 70;
  Network<double> init(spec);
  test::randomize(init, 3);
  const std::vector<double> params(init.params().begin(), init.params().end());
  const test::RandomBatch batch = test::random_batch(spec, rows, 3);
  const test::ReferenceResult ref = test::reference_mlp(spec, params, batch.X, rows, batch.labels, batch.targets);
  INFO(spec.describe());

  SECTION("double: agreement to rounding") {
    const Run run = run_library<double>(spec, params, batch, rows);
    CHECK(max_rel_diff(run.output.data(), ref.output) < 1e-12);
    CHECK(std::abs(run.loss - ref.loss) < 1e-12 * std::max(1.0, std::abs(ref.loss)));
    CHECK(max_rel_diff(run.grads.data(), ref.grads) < 1e-12);
  }
  SECTION("float: agreement to single precision") {
    const Run run = run_library<float>(spec, params, batch, rows);
    CHECK(max_rel_diff(run.output.data(), ref.output) < 1e-5);
    CHECK(std::abs(run.loss - ref.loss) < 1e-5 * std::max(1.0, std::abs(ref.loss)));
    CHECK(max_rel_diff(run.grads.data(), ref.grads) < 1e-4);
  }
}

TEST_CASE("backward accumulates into the gradient buffer until zero_grad", "[reference]") {
  const ModelSpec spec = make_mlp({4, 8, 3}, Activation::Tanh, Activation::Identity, Loss::SoftmaxCrossEntropy);
  Network<double> net(spec);
  test::randomize(net, 2);
  const test::RandomBatch batch = test::random_batch(spec, 5, 2);
  Workspace<double> ws(spec, 5);
  auto one_pass = [&] {
    std::copy(batch.X.begin(), batch.X.end(), ws.input());
    const double* y = forward(net, ws, 5);
    loss_forward_backward(spec.loss, 5, 3, y, Targets<double>{batch.labels.data(), nullptr}, 0.2, ws.output_grad());
    backward(net, ws, 5);
  };
  net.zero_grad();
  one_pass();
  const std::vector<double> once(net.grads().begin(), net.grads().end());
  one_pass();
  for (std::size_t i = 0; i < once.size(); ++i) REQUIRE(net.grads()[i] == Approx(2 * once[i]).margin(1e-15));
  net.zero_grad();
  for (double g : net.grads()) REQUIRE(g == 0.0);
}
