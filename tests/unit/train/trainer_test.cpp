// The training loop's bookkeeping: epochs, steps, rows seen.
#include <catch2/catch.hpp>
#include <cstring>

#include "dmlp/data/synthetic.hpp"
#include "train_fixture.hpp"

using namespace dmlp;

namespace {
TrainConfig small_config() {
  TrainConfig c;
  c.global_batch = 16;
  c.epochs = 3;
  c.optimizer = {.lr_weights = 0.05, .lr_bias = 0.05, .momentum = 0.9};
  return c;
}
const ModelSpec& small_model() {
  static const ModelSpec spec =
      make_mlp({6, 10, 3}, Activation::Tanh, Activation::Identity, Loss::SoftmaxCrossEntropy);
  return spec;
}
}  // namespace

TEST_CASE("run() and a loop of step() train identically across epoch boundaries", "[trainer]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 6, 3, 2, -1}, 0, 50);  // 4 steps per epoch
  test::LocalRun<float> looped(small_model(), *data, small_config());
  REQUIRE(looped.trainer.steps_per_epoch() == 4);
  REQUIRE(looped.trainer.total_steps() == 12);
  while (!looped.trainer.done()) looped.trainer.step();
  CHECK(looped.trainer.position().epoch == 2);
  CHECK(looped.trainer.position().step_in_epoch == 4);
  CHECK(looped.trainer.position().samples == 150);

  test::LocalRun<float> ran(small_model(), *data, small_config());
  ran.trainer.run();
  CHECK(std::memcmp(looped.net.params().data(), ran.net.params().data(),
                    looped.net.params().size_bytes()) == 0);
}

TEST_CASE("max_steps overrides epochs", "[trainer]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 6, 3, 2, -1}, 0, 50);
  TrainConfig c = small_config();
  c.max_steps = 9;
  test::LocalRun<float> run(small_model(), *data, c);
  CHECK(run.trainer.total_steps() == 9);
  run.trainer.run();
  CHECK(run.trainer.position().step == 9);
  CHECK(run.trainer.position().epoch == 2);  // 4 + 4 + 1
}

TEST_CASE("overwriting backward equals zero_grad then accumulating", "[trainer]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 6, 3, 2, -1}, 0, 8);
  Network<double> net(small_model());
  initialize_parameters(net, 4);
  Workspace<double> ws(small_model(), 8);
  std::vector<std::int64_t> rows{0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<std::int32_t> labels(8);
  data->gather(rows, ws.input(), labels.data(), nullptr);
  auto pass = [&](GradMode mode) {
    const double* y = forward(net, ws, 8);
    loss_forward_backward(Loss::SoftmaxCrossEntropy, 8, 3, y, Targets<double>{labels.data(), nullptr}, 0.125,
                          ws.output_grad());
    backward(net, ws, 8, nullptr, mode);
    return std::vector<double>(net.grads().begin(), net.grads().end());
  };
  net.zero_grad();
  const auto accumulated = pass(GradMode::Accumulate);
  std::fill(net.grads().begin(), net.grads().end(), 123.0);  // stale values must not survive
  CHECK(pass(GradMode::Overwrite) == accumulated);
  std::fill(net.grads().begin(), net.grads().end(), 123.0);
  backward(net, ws, 0, nullptr, GradMode::Overwrite);  // an empty shard
  for (double g : net.grads()) REQUIRE(g == 0.0);
}

TEST_CASE("the step's speed-ups change no bit: early update and fused bias gradient, whole or in micro-batches of one",
          "[trainer]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 20, 4, 1, -1}, 0, 300);
  const ModelSpec spec = make_mlp({20, 64, 32, 4}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  auto train = [&](bool early, bool fused, std::int64_t micro_batch) {
    TrainConfig c;
    c.global_batch = 32;
    c.epochs = 2;
    c.optimizer = {.lr_weights = 0.05, .lr_bias = 0.02, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-3};
    c.reg = {Regularizer::L2, 1e-3, true};
    c.early_update = early;
    c.tuning.fuse_bias_grad = fused;
    c.micro_batch = micro_batch;
    test::LocalRun<double> run(spec, *data, c);
    run.trainer.run();
    return std::vector<double>(run.net.params().begin(), run.net.params().end());
  };
  // Micro-batches add the gradient in another order: each is compared with its own reference.
  for (const std::int64_t micro_batch : {0, 1}) {
    const auto reference = train(false, false, micro_batch);
    for (const auto& [early, fused] : {std::pair{true, false}, {false, true}, {true, true}}) {
      const auto got = train(early, fused, micro_batch);
      INFO("early update " << early << ", fused " << fused << ", micro-batch " << micro_batch);
      CHECK(std::memcmp(got.data(), reference.data(), got.size() * sizeof(double)) == 0);
    }
  }
}
