// Evaluation against an independent computation: the naive reference network,
// with loss, accuracy, confusion matrix and R² worked out in the test itself.
#include <catch2/catch.hpp>

#include "dmlp/data/synthetic.hpp"
#include "random_fixture.hpp"
#include "reference_mlp.hpp"
#include "train_fixture.hpp"

using namespace dmlp;

namespace {
// The reference's output rows and mean loss on all of `data`.
test::ReferenceResult reference_on(const ModelSpec& spec, const Network<double>& net, const InMemoryDataset& data) {
  const std::vector<double> params(net.params().begin(), net.params().end());
  const std::vector<double> X(data.features().begin(), data.features().end());
  const std::vector<double> targets(data.targets().begin(), data.targets().end());
  return test::reference_mlp(spec, params, X, int(data.shape().rows),
                              std::vector<std::int32_t>(data.labels().begin(), data.labels().end()), targets);
}
}  // namespace

TEST_CASE("evaluate matches the reference: loss, accuracy, confusion matrix", "[evaluate]") {
  const ModelSpec spec = make_mlp({6, 12, 4}, Activation::Tanh, Activation::Identity, Loss::SoftmaxCrossEntropy);
  const auto data = make_synthetic({SyntheticKind::Blobs, 6, 4, 9, 1.5}, 0, 157);
  Network<double> net(spec);
  test::randomize(net, 9);
  SingleProcess one;
  const EvalResult r = evaluate(net, *data, one, 10);  // chunks of 10 rows: the last one short

  const test::ReferenceResult ref = reference_on(spec, net, *data);
  std::vector<std::int64_t> confusion(16, 0);
  int correct = 0;
  for (int i = 0; i < 157; ++i) {
    const double* y = ref.output.data() + i * 4;
    const int predicted = int(std::max_element(y, y + 4) - y);
    confusion[std::size_t(data->labels()[std::size_t(i)] * 4 + predicted)] += 1;
    correct += predicted == data->labels()[std::size_t(i)];
  }
  CHECK(r.rows == 157);
  CHECK(r.loss == Approx(ref.loss).epsilon(1e-12));
  CHECK(r.accuracy == Approx(correct / 157.0).epsilon(1e-15));
  CHECK(r.confusion == confusion);
  CHECK(correct > 40);  // better than chance, and not trivially all right
  CHECK(correct < 157);
}

TEST_CASE("evaluate matches the reference: MSE and R2 for regression", "[evaluate]") {
  const ModelSpec spec = make_mlp({5, 8, 2}, Activation::Relu, Activation::Identity, Loss::SquaredError);
  const auto data = make_synthetic({SyntheticKind::Regression, 5, 2, 4, 0.2}, 0, 90);
  Network<double> net(spec);
  test::randomize(net, 4);
  SingleProcess one;
  const EvalResult r = evaluate(net, *data, one, 32);

  const test::ReferenceResult ref = reference_on(spec, net, *data);
  double sse = 0, mean[2] = {0, 0}, sst = 0;
  for (std::size_t i = 0; i < 180; ++i) mean[i % 2] += data->targets()[i] / 90.0;
  for (std::size_t i = 0; i < 180; ++i) {
    const double t = data->targets()[i];
    sse += (ref.output[i] - t) * (ref.output[i] - t);
    sst += (t - mean[i % 2]) * (t - mean[i % 2]);
  }
  CHECK_FALSE(r.classification);
  CHECK(r.mse == Approx(sse / 180).epsilon(1e-9));
  CHECK(r.r2 == Approx(1 - sse / sst).epsilon(1e-9));
  CHECK(r.loss == Approx(ref.loss).epsilon(1e-9));
}
