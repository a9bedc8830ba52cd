#pragma once
// A whole training run on every rank of a communicator: the configuration is
// checked, the data opened, threads placed, the network built and started
// (fresh, from a checkpoint's parameters, or resumed), then trained with
// checkpoints as the policy says. Everything is collective. Failures that the
// ranks can see together (configuration, data files, checkpoints, a failed
// checkpoint write) arrive as the same mpi::JobFailure on every rank. A failure
// on one rank alone in the middle of training (an observer's exception, a bad
// row met by one rank's streaming reader, an MPI error) arrives as a plain
// exception on that rank only, while the others wait in a collective: the
// program must then end the job, with mpi::report_and_abort (as dmlp's main
// and examples/train-from-cpp do). Nothing is printed: the run describes
// itself (description()) and reports through the program's log and observers.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/placement.hpp"
#include "dmlp/run/config.hpp"
#include "dmlp/run/log.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp {
class CheckpointDirLock;
}
namespace dmlp::mpi {
class StallWatchdog;
}

namespace dmlp::run {

struct DataDescription {
  std::string text;  // describe_data(): "train.h5, 60000 x 784, 10 classes"
  std::string mode;  // "in memory", "streamed, …", "generated"
  std::string fingerprint;  // "content xxh3 1a2b…, hashed in 0.05 s" (data/fingerprint.hpp)
};

// Everything the start-up summary shows.
struct RunDescription {
  std::string mpi_library;  // "Open MPI v4.1.4"
  std::string allreduce_algorithm;  // "libnbc's ring", or why not
  mpi::Placement placement;
  std::string threading;    // threading_summary(): BLAS build, kernels, thread counts
  RunConfig config;         // as given, after validation
  std::size_t parameters = 0;
  DataDescription train;
  std::optional<DataDescription> test;
  std::int64_t per_rank_batch_min = 0, per_rank_batch_max = 0;
  std::int64_t steps_per_epoch = 0, total_steps = 0;
  std::int64_t first_step = 0;  // > 0 when resumed
  std::size_t buckets = 0;      // gradient all-reduce buckets
  std::int64_t micro_shards_held = 0;  // --reproducible: micro-shards whose activations a rank holds at once
  std::size_t exact_buckets = 0;       // --reproducible over several ranks: the exact sums' buckets
  bool exact_shared = false;           // … read from the node's shared memory (else all-reduced)
  std::string reduction;        // how the gradient is summed and the update applied, in words
  double overlappable = 0;      // share of the gradient's bytes in buckets that start before backward ends
  std::vector<std::string> warnings;
};

struct RunOutcome {
  bool stopped = false;            // stopped on a signal, after its checkpoint
  TrainPosition position;
  double seconds = 0;              // training time (this process)
  std::int64_t samples = 0;        // rows trained on in this run, all ranks together
  std::optional<EvalResult> test;  // the final evaluation, when there is a test set and the run finished
  // Memory: the largest peak resident set of any rank (VmHWM: this process's own, which exec starts anew), that
  // rank, and what dmlp accounts for on a rank: parameters, gradients,
  // optimizer state, activations and workspace, --reproducible's buffers, and
  // the data it holds (whole sets in memory, or a streaming window).
  std::int64_t peak_rss_bytes = 0;
  int peak_rss_rank = 0;
  double accounted_bytes = 0;
};

class TrainingRun {
 public:
  // Keeps a reference to `log`, which must outlive the run. Every collective
  // of the run goes over a duplicate of `world`, watched by a stall watchdog
  // (--stall-timeout): from the agreement on the configuration on.
  TrainingRun(const mpi::Communicator& world, const RunConfig& config, RunLog& log);
  TrainingRun(mpi::Communicator&& temporary, const RunConfig&, RunLog&) = delete;
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  const RunDescription& description() const;
  // Trains until done or until an agreed stop (a signal, with checkpoints on,
  // or the observer); checkpoints by the policy and at the end.
  RunOutcome run(TrainingObserver* observer = nullptr);
  // The flat parameters now, as float64 (every rank holds the same).
  std::vector<double> parameters() const;

  class Impl;

 private:
  // Destroyed in reverse: the run, the lock, the communicator, then its watchdog.
  std::unique_ptr<mpi::StallWatchdog> watchdog_;
  std::unique_ptr<mpi::Communicator> comm_;  // the run's own, watched by watchdog_
  std::unique_ptr<CheckpointDirLock> directory_lock_;  // rank 0, with a checkpoint directory
  std::unique_ptr<Impl> impl_;
};

// Collective. Places this rank's threads (requested 0: the node's cores / its
// ranks) and sets OpenMP's and BLAS's counts.
mpi::Placement place_threads(const mpi::Communicator& world, int requested);

// The start-up summary, one line per aspect, e.g. "  model      784-256-10, …".
std::string format_summary(const RunDescription& description);

}  // namespace dmlp::run
