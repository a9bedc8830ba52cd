#pragma once
// Where a run's rows come from: a synthetic generator, or HDF5 files held whole
// in memory or streamed, by the load rule of run/config.hpp.
#include <memory>
#include <string>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/data/fingerprint.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/config.hpp"

namespace dmlp::run {

struct OpenedData {
  std::unique_ptr<RowSource> rows;
  std::string mode;  // "in memory", "streamed, reading 256 MiB ahead", "generated"
  std::string warning;  // what about the file looks wrong but is not an error
  DataFingerprint fingerprint;  // of open_training_data's sets (data/fingerprint.hpp)
  double fingerprint_seconds = 0;  // what computing it took (a whole read of a streamed set)
};

struct TrainingData {
  OpenedData train;
  OpenedData test;  // rows is null when there is no test set
};

// Collective; failures are agreed (mpi::JobFailure on every rank). Each set's
// fingerprint is computed: from memory, or by one read of a streamed file,
// every rank reading 1/P of it.
TrainingData open_training_data(const DataConfig& data, const LoadingConfig& loading, const ModelSpec& model,
                                std::uint64_t seed, const mpi::Communicator& world);

// One HDF5 set, for training, evaluation or prediction; with require_answers
// false, /labels and /targets are optional. Collective; failures are agreed.
OpenedData open_data_file(const std::string& path, const LoadingConfig& loading, bool require_answers,
                          const mpi::Communicator& world);

// Collective: the fingerprint of `data`, each rank hashing every P-th block;
// a read failure anywhere is agreed.
DataFingerprint fingerprint_of(const RowSource& data, const mpi::Communicator& world);

// "train.h5, 60000 x 784, 10 classes"
std::string describe_data(const RowSource& data);

}  // namespace dmlp::run
