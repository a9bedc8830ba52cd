// No allocation inside the training step: after warm-up steps, training steps
// call operator new zero times, for the plain step, gradient accumulation over
// micro-batches, and --reproducible's exact step. Its own executable, since it
// replaces the global operator new.
#include <catch2/catch.hpp>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/threads.hpp"
#include "train_fixture.hpp"

// The replacements below pair malloc/aligned_alloc with free, as they must;
// GCC's inlining-based check cannot see that they replace each other.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> allocations{0};
std::atomic<bool> counting{false};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t align = std::size_t(a), size = (n + align - 1) / align * align;
  if (void* p = std::aligned_alloc(align, size ? size : align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace dmlp;

TEST_CASE("the allocation counter counts", "[allocation]") {
  allocations = 0;
  counting = true;
  { const std::vector<int> v(10); }
  { const auto p = std::make_unique<double[]>(3); }
  counting = false;
  CHECK(allocations.load() == 2);
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
      allocations = 0;
      counting = true;
      for (int i = 0; i < 30; ++i) run.trainer.step();  // 30 more, across the next epoch boundary
      counting = false;
      INFO("micro-batch " << micro << (reproducible ? " --reproducible" : "") << ", threads " << threads);
      CHECK(allocations.load() == 0);
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
      allocations = 0;
      counting = true;
      for (int i = 0; i < 30; ++i) run.trainer.step();
      counting = false;
      INFO("--optimizer " << to_string(kind) << ", threads " << threads);
      CHECK(allocations.load() == 0);
    }
  }
}
