#pragma once
// What dmlp eval and predict start from: a checkpoint's network and a data set
// it can read, on every rank, with this rank's threads placed.
#include <memory>
#include <string>

#include "dmlp/core/network.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/config.hpp"

namespace dmlp::run {

struct InferenceInputs {
  CheckpointMeta meta;
  Network<float> net;
  std::unique_ptr<RowSource> data;
};

// Collective; failures are agreed. With require_answers the data must have
// labels or targets that fit the model's output; without, only its width is checked.
InferenceInputs open_inference(const mpi::Communicator& world, const std::string& checkpoint,
                               const std::string& data_path, const LoadingConfig& loading, int threads,
                               bool require_answers);

}  // namespace dmlp::run
