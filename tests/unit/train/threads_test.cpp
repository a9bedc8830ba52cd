// Results do not depend on the thread count.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cstring>

#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/threads.hpp"
#include "train_fixture.hpp"

using namespace dmlp;

namespace {
std::vector<float> train_with_threads(int threads) {
  set_threads(threads);
  const auto data = make_synthetic({SyntheticKind::Blobs, 64, 10, 5, -1}, 0, 1024);
  TrainConfig config;
  config.global_batch = 256;  // 256 x 256 activations: past the OpenMP threshold
  config.max_steps = 8;
  config.optimizer = {.lr_weights = 0.05, .lr_bias = 0.05, .momentum = 0.9};
  config.reg = {Regularizer::L2, 1e-3, false};
  test::LocalRun<float> run(make_mlp({64, 256, 256, 10}, Activation::Relu, Activation::Identity,
                                     Loss::SoftmaxCrossEntropy),
                            *data, config);
  run.trainer.run();
  return {run.net.params().begin(), run.net.params().end()};
}
}  // namespace

// README's promise: bitwise at a fixed rank and thread count; across thread
// counts to rounding (the per-thread partial sums of the element-wise loops
// group differently).
TEST_CASE("the same thread count twice gives the same bits", "[threads]") {
  const std::vector<float> first = train_with_threads(2), second = train_with_threads(2);
  REQUIRE(first.size() == second.size());
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
  set_threads(1);
}

TEST_CASE("1 and 2 threads give the same parameters within 1e-6 relative", "[threads]") {
  const std::vector<float> one = train_with_threads(1);
  REQUIRE(omp_get_max_threads() == 1);
  const std::vector<float> two = train_with_threads(2);
  REQUIRE(omp_get_max_threads() == 2);
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    diff = std::max(diff, double(std::abs(one[i] - two[i])));
    scale = std::max(scale, double(std::abs(one[i])));
  }
  INFO("max |difference| " << diff << ", max |parameter| " << scale);
  // Equal bits are allowed: whether the per-thread partial sums round
  // differently depends on the kernels and the data, not on correctness.
  CHECK(diff / scale <= 1e-6);
  set_threads(1);
}

TEST_CASE("a warning when OpenBLAS's kernels are narrower than the CPU", "[threads]") {
  using dmlp::blas_kernel_warning;
  CHECK(blas_kernel_warning("SkylakeX", 3).empty());
  CHECK(blas_kernel_warning("Haswell", 2).empty());
  CHECK(blas_kernel_warning("Zen", 2).empty());
  CHECK(blas_kernel_warning("Prescott", 0).empty());
  const std::string prescott = blas_kernel_warning("Prescott", 3);
  CHECK(prescott.find("OpenBLAS runs its Prescott kernels on a CPU with AVX-512 (avx512f)") != std::string::npos);
  CHECK(prescott.find("Benchmark with the CPU's own kernels") != std::string::npos);
  CHECK(blas_kernel_warning("Haswell", 3).find("Haswell kernels on a CPU with AVX-512") != std::string::npos);
  CHECK(blas_kernel_warning("Sandybridge", 2).find("on a CPU with AVX2") != std::string::npos);
}
