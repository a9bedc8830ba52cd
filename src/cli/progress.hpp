#pragma once
// What rank 0 shows while training: a live bar when stderr is a terminal, one
// plain line per report otherwise (batch jobs), and JSON lines for --metrics.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dmlp/run/log.hpp"
#include "dmlp/run/training_run.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::cli {

class ConsoleReporter final : public TrainingObserver {
 public:
  // Prints and writes only when `root`; metrics_path may be empty. `bar`: draw
  // the live bar (true), print lines (false).
  ConsoleReporter(bool root, bool bar, const std::string& metrics_path, std::int64_t total_steps,
                  std::int64_t steps_per_epoch, std::int64_t first_step);

  // --progress auto|bar|lines: auto draws the bar when stderr is a terminal,
  // which under mpirun it never is (mpirun forwards output through pipes).
  static bool want_bar(const std::string& progress);  // throws InputError
  ~ConsoleReporter() override;

  void on_step(const StepReport& r) override;
  void on_epoch_end(const StepReport& summary, const EvalResult* test) override;
  void after_step(const TrainPosition& p) override;

  void report_final(const run::RunOutcome& outcome);  // the "finished: …" line and the final metrics line
  void report_start(const run::RunDescription& d);    // the metrics' first line: what ran where
  void write_json(const std::string& line);  // one metrics line, when metrics are on
  void end_bar();                            // leave the bar's line before other output

 private:
  void draw_bar(const TrainPosition& p);

  bool root_;
  bool tty_;
  std::FILE* metrics_ = nullptr;
  std::string metrics_path_;
  std::int64_t total_steps_, steps_per_epoch_, first_step_;
  StepReport last_;
  // Over the run's reports: step seconds (mean over ranks) and the slowest rank's wait, summed per step.
  double step_seconds_ = 0, slowest_wait_seconds_ = 0;
  int ranks_ = 1;
  std::vector<double> slowest_steps_;  // per rank: steps of the intervals in which it was the slowest
  int slowest_rank() const;
  bool bar_drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

// The run's notes and warnings, printed by rank 0 on stdout.
class ConsoleLog final : public run::RunLog {
 public:
  explicit ConsoleLog(bool root) : root_(root) {}
  void note(const std::string& text) override;
  void warning(const std::string& text) override;

 private:
  bool root_;
};

// Test hook: DMLP_TEST_FAIL_RANK=r makes rank r throw after step
// DMLP_TEST_FAIL_STEP (default 1), to prove that one rank's failure ends the job.
class FailureInjector final : public TrainingObserver {
 public:
  explicit FailureInjector(int rank);
  void after_step(const TrainPosition& p) override;

 private:
  bool armed_ = false;
  std::int64_t step_ = 1;
  int rank_;
};

std::string format_eval(const EvalResult& e);  // "loss 0.3123 accuracy 0.8912" or "mse … r2 …"
std::string format_duration(double seconds);  // "1:02:03" or "2:03"

}  // namespace dmlp::cli
