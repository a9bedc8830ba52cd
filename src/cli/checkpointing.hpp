#pragma once
// Checkpoints during training: every N steps and/or every S seconds, at the
// end, and when the job is told to stop (SIGTERM or SIGUSR1, as Slurm and PBS
// send before a wall-time limit): then every rank agrees to stop after the
// current step, and the state is saved.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/train/trainer.hpp"
#include "options.hpp"

namespace dmlp::cli {

// Checks the options; creates the directory on rank 0. Throws InputError.
void prepare_checkpoint_dir(const CheckpointOptions& o, int rank);

// SIGTERM and SIGUSR1 set a flag instead of killing the process.
void catch_stop_signals();

template <class T>
class CheckpointWriter final : public TrainingObserver {
 public:
  CheckpointWriter(const mpi::Communicator& world, const CheckpointOptions& options, Trainer<T>& trainer,
                   const Network<T>& net, nlohmann::json config, std::uint64_t seed);

  void after_step(const TrainProgress& p) override;
  bool stop_requested(const TrainProgress& p) override;
  // Writes the state now unless this step is already saved; returns the path.
  std::string save(const TrainProgress& p);

 private:
  const mpi::Communicator& world_;
  CheckpointOptions options_;
  Trainer<T>& trainer_;
  const Network<T>& net_;
  nlohmann::json config_;
  std::uint64_t seed_;
  std::int64_t saved_step_ = -1;
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

}  // namespace dmlp::cli
