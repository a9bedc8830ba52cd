#pragma once
// Where the CLI's data comes from: a synthetic generator, or HDF5 files held
// whole in memory or streamed, by the size rule below.
#include <memory>
#include <string>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "options.hpp"

namespace dmlp::cli {

// --load auto holds a set in memory on every rank when its features take at
// most this much as float32; larger sets stream.
inline constexpr std::size_t kLoadAllLimitBytes = std::size_t(1) << 30;

struct DataSets {
  std::unique_ptr<RowSource> train;
  std::unique_ptr<RowSource> test;
  std::string train_mode, test_mode;  // "in memory", "streamed", "generated"
};

// Collective over `world`; throws InputError on every rank alike.
DataSets open_training_data(const DataOptions& options, const ModelSpec& spec, std::uint64_t seed,
                            const mpi::Communicator& world);

// One HDF5 set for evaluation or prediction; labels optional when !require_answers.
std::unique_ptr<RowSource> open_data_file(const std::string& path, const std::string& load, bool require_answers,
                                          const mpi::Communicator& world, std::string* mode = nullptr,
                                          double read_ahead_mb = 256);

std::string describe_data(const RowSource& d);

}  // namespace dmlp::cli
