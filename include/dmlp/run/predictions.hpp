#pragma once
// dmlp predict's output: the network's outputs for every row of a data set,
// written by all ranks into one HDF5 file (docs/formats.md, "Predictions").
#include <cstdint>
#include <string>

#include "dmlp/core/network.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::run {

struct PredictionsWritten {
  std::int64_t rows = 0;
  int outputs = 0;
  bool with_classes = false;  // /predicted_class written (classification losses)
};

// Provenance stored as attributes of the file.
struct PredictionSource {
  std::string checkpoint;
  std::string data;
};

// Collective. Rank r runs the network over its contiguous slice of `data`,
// chunk_rows at a time; rank 0 gathers every rank's rows and writes `out`
// (io/atomic_file.hpp: whole or not at all, a device in place). Its failure
// is agreed.
PredictionsWritten write_predictions(const mpi::Communicator& world, const Network<float>& net, RowSource& data,
                                     std::int64_t chunk_rows, const std::string& out, const PredictionSource& source);

}  // namespace dmlp::run
