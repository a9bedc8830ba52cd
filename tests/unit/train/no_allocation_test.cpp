// No allocation inside the training step: after warm-up steps, training steps
// call operator new zero times, for the plain step, gradient accumulation over
// micro-batches, and --reproducible's exact step. Its own executable, since it
// replaces the global operator new.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/threads.hpp"
#include "train_fixture.hpp"

#include "allocation_counter.hpp"

using namespace dmlp;

TEST_CASE("the allocation counter counts", "[allocation]") {
  test::allocations = 0;
  test::counting = true;
  { const std::vector<int> v(10); }
  { const auto p = std::make_unique<double[]>(3); }
  test::counting = false;
  CHECK(test::allocations.load() == 2);
}

TEST_CASE("training steps allocate nothing after warm-up", "[allocation]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 64, 10, 1, -1}, 0, 2000);
  const ModelSpec spec = make_mlp({64, 128, 64, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  for (const auto& [micro, reproducible] : {std::pair{0, false}, {16, false}, {16, true}}) {
    for (int threads : {1, 2}) {
      set_threads(threads);
      TrainConfig config;
      config.global_batch = 100;  // 20 steps per epoch, the last micro-batch short
      config.max_steps = 1000;
      config.micro_batch = micro;
      config.reproducible = reproducible;
      config.optimizer = {.lr_weights = 0.01, .lr_bias = 0.01, .momentum = 0.9, .nesterov = true};
      test::LocalRun<float> run(spec, *data, config);
      for (int i = 0; i < 25; ++i) run.trainer.step();  // warm-up, across an epoch boundary
      test::allocations = 0;
      test::counting = true;
      for (int i = 0; i < 30; ++i) run.trainer.step();  // 30 more, across the next epoch boundary
      test::counting = false;
      INFO("micro-batch " << micro << (reproducible ? " --reproducible" : "") << ", threads " << threads);
      CHECK(test::allocations.load() == 0);
    }
  }
}

TEST_CASE("every optimizer's steps allocate nothing after warm-up", "[allocation]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 64, 10, 1, -1}, 0, 2000);
  // a first layer of 64 x 300 weights: LARS's and LAMB's blocked norms run on several blocks and threads
  const ModelSpec spec = make_mlp({64, 300, 64, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  for (const OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Lars, OptimizerKind::Lamb}) {
    for (int threads : {1, 2}) {
      set_threads(threads);
      TrainConfig config;
      config.global_batch = 100;
      config.max_steps = 1000;
      config.optimizer = {.lr_weights = 0.01, .lr_bias = 0.01, .weight_decay = 0.01, .kind = kind};
      if (kind == OptimizerKind::Lars) config.optimizer.momentum = 0.9;
      test::LocalRun<float> run(spec, *data, config);
      for (int i = 0; i < 25; ++i) run.trainer.step();
      test::allocations = 0;
      test::counting = true;
      for (int i = 0; i < 30; ++i) run.trainer.step();
      test::counting = false;
      INFO("--optimizer " << to_string(kind) << ", threads " << threads);
      CHECK(test::allocations.load() == 0);
    }
  }
}
