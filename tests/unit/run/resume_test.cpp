// A run resumed from a checkpoint continues bit for bit; with a directory, a
// damaged newest checkpoint is skipped, named, and the one before it used.
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>

#include "dmlp/mpi/consensus.hpp"
#include "run_fixture.hpp"

using namespace dmlp;
using test::world;

namespace {
bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
bool any_contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("a resumed run ends with the parameters of the uninterrupted run, bit for bit", "[run]") {
  const test::SharedTempDir dir;
  test::RecordingLog log;
  const test::Trained whole = test::train(test::small_run(dir / "whole"), log);
  REQUIRE(whole.outcome.position.step == 40);
  REQUIRE_FALSE(whole.outcome.stopped);
  REQUIRE(std::filesystem::exists(dir / "whole/ckpt-000000020.h5"));
  if (world().rank() == 0) CHECK(any_contains(log.notes, "ckpt-000000040.h5 written (step 40)"));

  run::RunConfig config = test::small_run(dir / "resumed");
  config.start.resume = dir / "whole/ckpt-000000020.h5";
  test::RecordingLog resumed_log;
  const test::Trained resumed = test::train(config, resumed_log);
  CHECK(resumed.description.first_step == 20);
  CHECK(resumed.outcome.position.step == 40);
  CHECK(resumed.outcome.position.samples == whole.outcome.position.samples);
  CHECK(resumed.outcome.samples == 600 + 32);  // steps 21-40: the rest of epoch 2 (600 rows), one batch of epoch 3
  CHECK(bitwise_equal(resumed.parameters, whole.parameters));
  CHECK(resumed.outcome.test->accuracy == whole.outcome.test->accuracy);
  CHECK(any_contains(resumed.description.warnings, "resuming from " + (dir / "whole/ckpt-000000020.h5") + " at step 20"));
  // the parameters moved: a resume that restored nothing would not match
  test::RecordingLog short_log;
  run::RunConfig first_steps = test::small_run(dir / "short");
  first_steps.training.max_steps = 20;
  CHECK_FALSE(bitwise_equal(test::train(first_steps, short_log).parameters, whole.parameters));
}

TEST_CASE("resuming from a directory skips a damaged newest checkpoint and uses the one before", "[run]") {
  const test::SharedTempDir dir;
  test::RecordingLog log;
  const test::Trained whole = test::train(test::small_run(dir / "a"), log);
  if (world().rank() == 0) {  // cut the newest checkpoint short, as a crash mid-copy would
    const std::string newest = dir / "a/ckpt-000000040.h5";
    std::filesystem::resize_file(newest, std::filesystem::file_size(newest) / 2);
  }
  run::RunConfig config = test::small_run(dir / "a");
  config.start.resume = dir / "a";
  test::RecordingLog resumed_log;
  const test::Trained resumed = test::train(config, resumed_log);
  CHECK(resumed.description.first_step == 20);
  CHECK(bitwise_equal(resumed.parameters, whole.parameters));
  if (world().rank() == 0) {
    CHECK(any_contains(resumed_log.warnings, "skipping checkpoint " + (dir / "a/ckpt-000000040.h5")));
    CHECK(any_contains(resumed_log.warnings, "renamed to *.superseded"));
    CHECK(std::filesystem::exists(dir / "a/ckpt-000000040.h5.superseded"));
  } else {
    CHECK(resumed_log.warnings.empty());  // rank 0 alone tells
  }
  CHECK(std::filesystem::exists(dir / "a/ckpt-000000040.h5"));  // written again by the resumed run
}

TEST_CASE("every optimizer resumes bit for bit: its whole state is in the checkpoint", "[run]") {
  const test::SharedTempDir dir;
  for (const OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Lars, OptimizerKind::Lamb}) {
    const std::string name(to_string(kind));
    INFO("--optimizer " << name);
    auto configured = [&](const std::string& sub) {
      run::RunConfig c = test::small_run(dir / (name + sub));
      c.training.optimizer = {.lr_weights = 0.02, .lr_bias = 0.01, .weight_decay = 0.01, .kind = kind};
      if (kind == OptimizerKind::Lars) {
        c.training.optimizer.lr_weights = 5.0;
        c.training.optimizer.momentum = 0.9;
      }
      c.training.lr_scaling = LrScaling::Sqrt;  // and the batch-scaled rates restart alike
      c.training.lr_reference_batch = 16;
      c.training.warmup_steps = 5;
      return c;
    };
    test::RecordingLog log;
    const test::Trained whole = test::train(configured("-whole"), log);
    run::RunConfig config = configured("-resumed");
    config.start.resume = dir / (name + "-whole/ckpt-000000020.h5");
    const test::Trained resumed = test::train(config, log);
    CHECK(resumed.outcome.position.step == 40);
    CHECK(bitwise_equal(resumed.parameters, whole.parameters));
    // without the restored state (moments, velocity, update count) the end differs
    run::RunConfig fresh = configured("-fresh");
    fresh.start.init = dir / (name + "-whole/ckpt-000000020.h5");
    fresh.training.max_steps = 20;
    CHECK_FALSE(bitwise_equal(test::train(fresh, log).parameters, whole.parameters));
  }
}

namespace {
// Resuming from a checkpoint of the small run, with `change` made to the
// configuration: every rank must fail with one agreed input error.
std::string refused_resume(const std::function<void(run::RunConfig&)>& change) {
  const test::SharedTempDir dir;
  test::RecordingLog log;
  test::train(test::small_run(dir / "a"), log);
  run::RunConfig config = test::small_run(dir / "b");
  change(config);
  config.start.resume = dir / "a/ckpt-000000020.h5";
  try {
    run::TrainingRun training(world(), config, log);
  } catch (const mpi::JobFailure& f) {
    CHECK(f.kind() == ErrorKind::input);
    return f.what();
  }
  FAIL("the run started");
  return {};
}
}  // namespace

TEST_CASE("resuming with another optimizer is refused on every rank with one agreed error", "[run]") {
  CHECK_THAT(refused_resume([](run::RunConfig& c) {
               c.training.optimizer = {.lr_weights = 0.01, .lr_bias = 0.01, .kind = OptimizerKind::AdamW};
             }),
             Catch::Contains("trained with --optimizer sgd") && Catch::Contains("--optimizer adamw"));
}

TEST_CASE("resuming with another model is refused on every rank with one agreed error", "[run]") {
  CHECK_THAT(refused_resume([](run::RunConfig& c) {
               c.model = make_mlp({6, 8, 3}, Activation::Tanh, Activation::Identity, Loss::SoftmaxCrossEntropy);
             }),
             Catch::Contains("holds the model 6-16-3") && Catch::Contains("6-8-3"));
}
