#pragma once
// What the run layer's MPI tests share: a small run configuration, a
// directory every rank sees, and a log that keeps what rank 0 was told.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dmlp/run/training_run.hpp"
#include "world.hpp"

namespace dmlp::test {

// A temporary directory made by rank 0, named to all, removed at the end.
class SharedTempDir {
 public:
  SharedTempDir() {
    if (world().rank() == 0) {
      char name[] = "/tmp/dmlp-run-test-XXXXXX";
      path_ = ::mkdtemp(name) ? name : "";
    }
    world().broadcast(path_, 0);
  }
  ~SharedTempDir() {
    world().allreduce_one<std::int64_t>(0, MPI_SUM);  // everyone is done with it
    std::error_code ignored;
    if (world().rank() == 0) std::filesystem::remove_all(path_, ignored);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class RecordingLog final : public run::RunLog {
 public:
  void note(const std::string& text) override { notes.push_back(text); }
  void warning(const std::string& text) override { warnings.push_back(text); }
  std::vector<std::string> notes, warnings;
};

// 40 steps of Nesterov momentum with a cosine schedule on synthetic blobs,
// checkpointed every 20 steps.
inline run::RunConfig small_run(const std::string& checkpoint_dir) {
  run::RunConfig c;
  c.model = make_mlp({6, 16, 3}, Activation::Tanh, Activation::Identity, Loss::SoftmaxCrossEntropy);
  c.data.synthetic = run::SyntheticData{.kind = SyntheticKind::Blobs, .samples = 600, .test_samples = 120};
  c.training.global_batch = 32;
  c.training.max_steps = 40;
  c.training.seed = 5;
  c.training.optimizer = {.lr_weights = 0.05, .lr_bias = 0.05, .momentum = 0.9, .nesterov = true};
  c.training.schedule = LrSchedule::Cosine;
  c.training.log_every = 1000;
  c.execution.threads = 1;
  c.execution.checkpoint = {.dir = checkpoint_dir, .every_steps = 20, .keep = 5};
  return c;
}

struct Trained {
  std::vector<double> parameters;
  run::RunOutcome outcome;
  run::RunDescription description;
};

inline Trained train(const run::RunConfig& config, run::RunLog& log) {
  run::TrainingRun training(world(), config, log);
  Trained t;
  t.outcome = training.run();
  t.parameters = training.parameters();
  t.description = training.description();
  return t;
}

}  // namespace dmlp::test
