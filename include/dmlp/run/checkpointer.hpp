#pragma once
// Checkpoints during training: every N steps and/or every S seconds, at the
// end, and when the job is told to stop (SIGTERM or SIGUSR1, as Slurm and PBS
// send before a wall-time limit): then every rank agrees to stop after the
// current step, and the state is saved. Keeps the newest K files.
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/config.hpp"
#include "dmlp/run/log.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::run {

// Collective. Creates the directory (rank 0); failures are agreed.
void prepare_checkpoint_dir(const CheckpointPolicy& policy, const mpi::Communicator& world);

// While one lives, SIGTERM and SIGUSR1 set a flag instead of ending the
// process; the handlers that were there before come back when the outermost
// one ends. Instances nest: the outermost installs the handlers and clears
// the flag, so a program may catch signals from its start (a signal during
// start-up then stops the run at its first step) while a signal caught during
// an earlier run does not stop the next.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static int received();  // the signal number, or 0

 private:
  bool outermost_ = false;
  struct sigaction previous_term_ {}, previous_usr1_ {};
};

template <class T>
class Checkpointer final : public TrainingObserver {
 public:
  // Sets aside (renames to *.superseded) checkpoints in the directory past the
  // trainer's current step: an abandoned run's, which would otherwise be pruned
  // wrongly or resumed from later.
  // `data`: the data sets' fingerprints, kept in every checkpoint (CheckpointState::data).
  // `lock` (rank 0's, or null): verified before every write.
  Checkpointer(Collective& comm, CheckpointPolicy policy, Trainer<T>& trainer, const Network<T>& net,
               nlohmann::json config, nlohmann::json data, RunLog& log, const CheckpointDirLock* lock = nullptr);

  // Collective, each step: the ranks agree whether to save now (by steps, or
  // by rank 0's clock, since rank 0 writes) and whether a stop signal arrived.
  void after_step(const TrainPosition& p) override;
  bool stop_requested(const TrainPosition& p) override;  // what after_step agreed
  // Collective. Writes the state now unless this step is already saved;
  // returns the path. A failed write is an agreed failure (mpi::JobFailure).
  std::string save(const TrainPosition& p);

 private:
  Collective& comm_;
  CheckpointPolicy policy_;
  Trainer<T>& trainer_;
  const Network<T>& net_;
  nlohmann::json config_, data_;
  RunLog& log_;
  const CheckpointDirLock* lock_;
  StopSignals signals_;
  void hold_for_stop_signal(const TrainPosition& p);  // DMLP_TEST_HOLD_AFTER_STEP (core/test_hooks.hpp)

  bool stop_ = false;
  std::int64_t saved_step_ = -1;
  std::int64_t hold_after_step_ = -1;
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

}  // namespace dmlp::run
