#pragma once
// Loading checkpoints in a job: rank 0 reads and verifies, every rank receives
// the result; with a directory, the newest checkpoint that loads.
#include <string>
#include <vector>

#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/fingerprint.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/config.hpp"
#include "dmlp/run/log.hpp"

namespace dmlp::run {

// An optimizer's arrays as loaded: (name, values), in the checkpoint's order.
template <class T>
using OptimizerArrays = std::vector<std::pair<std::string, std::vector<T>>>;

// Collective. Rank 0 reads `path` (metadata and parameters, checksums
// verified); every rank returns the metadata and the parameters as T, and the
// optimizer's arrays when asked for. Throws mpi::JobFailure on every rank when
// the file is not a good checkpoint.
template <class T>
CheckpointMeta load_checkpoint(const mpi::Communicator& world, const std::string& path, std::vector<T>& params,
                               OptimizerArrays<T>* optimizer = nullptr);

// Collective. The network a checkpoint holds, on every rank, in float; its
// metadata goes to `meta`.
Network<float> load_network(const mpi::Communicator& world, const std::string& path, CheckpointMeta& meta);

// Collective. A directory: its newest checkpoint that loads, with a warning
// (rank 0's log) for each newer one that does not. A file: that file.
template <class T>
CheckpointMeta load_resume_checkpoint(const mpi::Communicator& world, const std::string& dir_or_file,
                                      std::vector<T>& params, OptimizerArrays<T>& optimizer, RunLog& log);

// Can a run with this configuration, at `ranks` ranks, continue from `meta`?
// Throws InputError when the model differs; returns the warnings otherwise
// (another rank count, settings that change the result, an older format).
// Another optimizer is refused: its state does not carry over.
std::vector<std::string> check_resume(const CheckpointMeta& meta, const RunConfig& config, int ranks);
// Throws InputError unless the checkpoint's counters (step, epoch, steps into
// it, samples) agree with each other as this plan's batches count them: every
// step a batch of the plan's rows, each epoch `steps_per_epoch` of them.
void check_position(const CheckpointMeta& meta, const BatchPlan& plan);
// Is the data the checkpoint trained on? Throws InputError when the training
// set's fingerprint differs (a file regenerated at the same path, say),
// naming the file and what changed; returns warnings for a test set that
// changed and for a checkpoint that keeps no fingerprints (before format 5).
std::vector<std::string> check_data(const CheckpointMeta& meta, const RunConfig& config, const DataFingerprint& train,
                                    const DataFingerprint* test);
// The same for starting fresh from its parameters (--init): the model must match.
void check_init(const CheckpointMeta& meta, const ModelSpec& model);

}  // namespace dmlp::run
