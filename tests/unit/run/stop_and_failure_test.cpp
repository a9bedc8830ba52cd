// A run stops where all ranks agree, saves, and leaves the process as it found
// it; failures that would leave ranks apart become one agreed error instead.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "dmlp/io/atomic_file.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "run_fixture.hpp"

using namespace dmlp;
using test::world;

namespace {
// Does `act` on one rank after one step.
class OnStep final : public TrainingObserver {
 public:
  OnStep(int rank, std::int64_t step, std::function<void()> act) : rank_(rank), step_(step), act_(std::move(act)) {}
  void after_step(const TrainPosition& p) override {
    if (world().rank() == rank_ && p.step == step_) act_();
  }

 private:
  int rank_;
  std::int64_t step_;
  std::function<void()> act_;
};

void (*handler_of(int signal))(int) {
  struct sigaction now {};
  sigaction(signal, nullptr, &now);
  return now.sa_handler;
}
}  // namespace

TEST_CASE("a signal on one rank stops every rank at the same step, saved; the next run is not stopped", "[run]") {
  const test::SharedTempDir dir;
  const auto usr1_before = handler_of(SIGUSR1);
  test::RecordingLog log;
  run::RunConfig config = test::small_run(dir / "a");
  OnStep signal_last_rank(world().size() - 1, 7, [] { ::raise(SIGUSR1); });
  run::TrainingRun stopped(world(), config, log);
  const run::RunOutcome outcome = stopped.run(&signal_last_rank);
  CHECK(outcome.stopped);
  CHECK(outcome.position.step == 7);  // agreed in the step the signal came
  CHECK_FALSE(outcome.test.has_value());
  CHECK(std::filesystem::exists(dir / "a/ckpt-000000007.h5"));
  CHECK(handler_of(SIGUSR1) == usr1_before);  // the process's own handling is back

  const test::Trained next = test::train(test::small_run(dir / "b"), log);
  CHECK_FALSE(next.outcome.stopped);
  CHECK(next.outcome.position.step == 40);
}

TEST_CASE("a checkpoint that rank 0 cannot write is one agreed error on every rank", "[run]") {
  const test::SharedTempDir dir;
  test::RecordingLog log;
  run::RunConfig config = test::small_run(dir / "a");
  config.execution.checkpoint.every_steps = 5;
  // the write at step 5 finds its temporary name taken (by a directory), and fails on rank 0
  const std::string path = dir / ("a/" + checkpoint_file_name(5));
  OnStep break_write(0, 3, [&] { std::filesystem::create_directory(temporary_path(path)); });
  run::TrainingRun training(world(), config, log);
  try {
    training.run(&break_write);
    FAIL("the run went on");
  } catch (const mpi::JobFailure& f) {
    CHECK(f.rank() == 0);
    CHECK(f.kind() == ErrorKind::failure);  // the directory took files at the start: a failure, not bad input
    CHECK_THAT(f.what(), Catch::Contains("cannot write checkpoint ") && Catch::Contains("a/ckpt-000000005.h5: ") &&
                             Catch::Contains("(File exists)"));
  }
}

TEST_CASE("a checkpoint directory replaced under a run: it writes nothing there, one agreed error", "[run]") {
  const test::SharedTempDir dir;
  test::RecordingLog log;
  run::RunConfig config = test::small_run(dir / "a");
  config.execution.checkpoint.every_steps = 5;
  // the directory is moved away after step 3 and another takes its name
  OnStep replace_dir(0, 3, [&] {
    std::filesystem::rename(dir / "a", dir / "a.old");
    std::filesystem::create_directory(dir / "a");
  });
  run::TrainingRun training(world(), config, log);
  try {
    training.run(&replace_dir);
    FAIL("the run went on");
  } catch (const mpi::JobFailure& f) {
    CHECK(f.rank() == 0);
    CHECK_THAT(f.what(), Catch::Contains("a: the directory was moved or replaced while this run held it"));
  }
  CHECK(std::filesystem::is_empty(dir / "a"));
}

TEST_CASE("ranks that would start from different checkpoints are stopped before any collective", "[run]") {
  if (world().size() < 2) return;  // needs a second rank to disagree
  const test::SharedTempDir dir;
  test::RecordingLog log;
  test::train(test::small_run(dir / "a"), log);
  run::RunConfig config = test::small_run(dir / "b");
  if (world().rank() == 1) config.start.resume = dir / "a/ckpt-000000020.h5";
  try {
    run::TrainingRun training(world(), config, log);
    FAIL("the run started");
  } catch (const mpi::JobFailure& f) {
    CHECK(f.kind() == ErrorKind::input);
    CHECK_THAT(f.what(), Catch::Contains("ranks disagree on the configuration: rank 1's differs from rank 0's"));
  }
}
