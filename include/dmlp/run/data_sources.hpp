#pragma once
// Where a run's rows come from: a synthetic generator, or HDF5 files held whole
// in memory or streamed, by the load rule of run/config.hpp.
#include <memory>
#include <string>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/config.hpp"

namespace dmlp::run {

struct OpenedData {
  std::unique_ptr<RowSource> rows;
  std::string mode;  // "in memory", "streamed, reading 256 MiB ahead", "generated"
  std::string warning;  // what about the file looks wrong but is not an error
};

struct TrainingData {
  OpenedData train;
  OpenedData test;  // rows is null when there is no test set
};

// Collective; failures are agreed (mpi::JobFailure on every rank).
TrainingData open_training_data(const DataConfig& data, const LoadingConfig& loading, const ModelSpec& model,
                                std::uint64_t seed, const mpi::Communicator& world);

// One HDF5 set, for training, evaluation or prediction; with require_answers
// false, /labels and /targets are optional. Collective; failures are agreed.
OpenedData open_data_file(const std::string& path, const LoadingConfig& loading, bool require_answers,
                          const mpi::Communicator& world);

// "train.h5, 60000 x 784, 10 classes"
std::string describe_data(const RowSource& data);

}  // namespace dmlp::run
