// The run configuration: its JSON (the checkpoint's `config`), which settings
// a resumed run may change, and the checks that refuse bad settings.
#include <catch2/catch.hpp>

#include "dmlp/core/errors.hpp"
#include "dmlp/run/config.hpp"
#include "run_fixture.hpp"

using namespace dmlp;
using Catch::Contains;

TEST_CASE("the configuration's JSON has the documented sections and values", "[run]") {
  const run::RunConfig c = test::small_run("ckpt");
  const nlohmann::json j = run::to_json(c);
  for (const char* section : {"model", "regularization", "optimizer", "training", "data", "execution"})
    CHECK(j.contains(section));
  CHECK(j.size() == 6);
  CHECK(j["model"]["widths"] == std::vector<int>{6, 16, 3});
  CHECK(j["training"]["global_batch"] == 32);
  CHECK(j["training"]["precision"] == "float");
  CHECK(j["optimizer"]["nesterov"] == true);
  CHECK(j["optimizer"]["schedule"] == "cosine");
  CHECK(j["data"]["synthetic"]["kind"] == "blobs");
  CHECK(j["execution"]["checkpoint"]["every_steps"] == 20);
  CHECK(j["execution"]["load"] == "auto");
}

TEST_CASE("only settings outside 'execution' count as differences on resume", "[run]") {
  const run::RunConfig stored = test::small_run("ckpt");
  const nlohmann::json stored_json = run::to_json(stored);
  run::RunConfig same_result = stored;
  same_result.execution = {.threads = 2, .bucket_mb = 4, .overlap = false, .loading = {run::LoadMode::Stream, 8},
                           .checkpoint = {.dir = "elsewhere", .every_steps = 5, .every_seconds = 60, .keep = 1},
                           .trace = {.file = "trace.json", .first_step = 2, .last_step = 3}};
  same_result.training.log_every = 3;
  same_result.start.resume = "ckpt";
  CHECK(run::result_settings_differing(stored_json, same_result).empty());

  run::RunConfig other = stored;
  other.training.global_batch = 64;
  other.training.optimizer.momentum = 0.5;
  other.precision = run::Precision::Double;
  CHECK(run::result_settings_differing(stored_json, other) ==
        std::vector<std::string>{"/optimizer/momentum", "/training/global_batch", "/training/precision"});
  // a stored config of another shape (format 1) differs everywhere, but never throws
  CHECK(run::result_settings_differing(nlohmann::json("text"), other).size() > 10);
}

TEST_CASE("bad run settings are refused, naming the option", "[run]") {
  auto refused = [](auto change) {
    run::RunConfig c = test::small_run("ckpt");
    change(c);
    try {
      run::validate(c);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refused([](run::RunConfig& c) { c.execution.checkpoint.dir.clear(); }),
             Contains("--checkpoint-every and --checkpoint-every-seconds need --checkpoint-dir"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.execution.checkpoint.keep = 0; }), Contains("--keep-checkpoints 0"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.start = {"a", "b"}; }), Contains("give --resume or --init, not both"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.execution.bucket_mb = -1; }),
             Contains("--bucket-mb -1 must be a number of MiB in [0, 1048576]"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.execution.bucket_mb = 1e30; }), Contains("--bucket-mb 1e+30 must be"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.execution.stall_timeout = 0.5; }),
             Contains("--stall-timeout 0.5 must be 0 (no stall watchdog) or at least 1 second"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.data.synthetic->classes = -3; }), Contains("--classes -3 must be positive"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.training.global_batch = 1LL << 32; }),
             Contains("--batch-size 4294967296 is too large: at most 2147483647"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.model = make_mlp({4, 100000, 100000, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy); }),
             Contains("(parameters, gradients and optimizer state) needs "));
  CHECK_THAT(refused([](run::RunConfig& c) { c.data.synthetic->samples = 1LL << 40; }),
             Contains("the synthetic set of 1099511627896 rows (--samples, --test-samples) needs "));
  CHECK_THAT(refused([](run::RunConfig& c) { c.data.train_file = "x.h5"; }), Contains("--synthetic or --train, not both"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.data.synthetic.reset(); }), Contains("no training data"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.data.synthetic->samples = 0; }), Contains("--samples 0 must be positive"));
  CHECK_THAT(refused([](run::RunConfig& c) { c.training.optimizer.lr_weights = -1; }), Contains("--lr -1 must be positive"));
  CHECK(refused([](run::RunConfig&) {}) == "accepted");
  CHECK_THROWS_WITH(run::parse_load_mode("some"), Contains("unknown --load 'some' (expected auto|all|stream)"));
  CHECK_THROWS_WITH(run::parse_precision("half"), Contains("unknown --precision 'half' (expected float|double)"));
}

TEST_CASE("a format-1 checkpoint's config is compared in the new layout", "[run]") {
  // As dmlp before the run layer wrote it for small_run's settings (its CLI option groups).
  const nlohmann::json v1 = nlohmann::json::parse(R"({
    "model": {"layers": "6,16,3", "activation": "tanh", "output_activation": "identity", "loss": "softmax-ce",
              "leaky_slope": 0.01},
    "regularization": {"lambda": 0.0, "reg": "none", "reg_bias": false},
    "data": {"synthetic": "blobs", "samples": 600, "test_samples": 120, "classes": 0, "noise": -1.0,
             "train": "", "test": "", "load": "auto", "read_ahead_mb": 256.0},
    "optimizer": {"lr": 0.05, "lr_bias": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.0,
                  "lr_schedule": "cosine", "warmup_steps": 0},
    "run": {"batch_size": 32, "epochs": 1, "max_steps": 40, "drop_last": false, "seed": 5, "precision": "float",
            "bucket_mb": 1.0, "overlap": true, "threads": 1, "metrics": "", "log_every": 1000, "progress": "auto"},
    "checkpoint": {"dir": "ckpt", "every_steps": 20, "every_seconds": 0.0, "keep": 5, "resume": "", "init": ""}})");
  run::RunConfig c = test::small_run("ckpt");
  const nlohmann::json upgraded = run::config_from_format1(v1, c.model);
  CHECK(run::result_settings_differing(upgraded, c).empty());
  c.training.seed = 6;
  c.data.synthetic->samples = 700;
  CHECK(run::result_settings_differing(upgraded, c) ==
        std::vector<std::string>{"/data/synthetic/samples", "/training/seed"});
  nlohmann::json incomplete = v1;
  incomplete.erase("run");
  CHECK_THROWS_AS(run::config_from_format1(incomplete, c.model), nlohmann::json::exception);
}
