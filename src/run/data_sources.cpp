#include "dmlp/run/data_sources.hpp"

#include <algorithm>
#include <chrono>

#include "dmlp/core/checksum.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/liveness.hpp"

namespace dmlp::run {
namespace {

TrainingData synthetic_sets(const SyntheticData& d, const ModelSpec& model, std::uint64_t seed) {
  SyntheticSpec s;
  s.kind = d.kind;
  s.features = model.inputs();
  s.outputs = s.kind == SyntheticKind::Regression
                  ? model.outputs()
                  : (d.classes > 0 ? d.classes : std::max(2, num_classes_for_output(model.loss, model.outputs())));
  s.seed = seed;
  s.noise = d.noise;
  TrainingData sets;
  const std::int64_t test_rows = d.test_samples >= 0 ? d.test_samples : d.samples / 5;
  sets.train.rows = make_synthetic(s, 0, d.samples);
  sets.train.mode = "generated";
  if (test_rows > 0) {
    sets.test.rows = make_synthetic(s, d.samples, test_rows);
    sets.test.mode = "generated";
  }
  return sets;
}

// What every rank must see alike in a data file: its shape, types and classes,
// and its first and last rows (a copy that differs between nodes, say).
std::string data_fingerprint(const DatasetFileInfo& info) {
  std::string text = std::to_string(info.shape.rows) + "x" + std::to_string(info.shape.features) + " " +
                     info.feature_type.describe() + " classes " + std::to_string(info.shape.num_classes) +
                     " targets " + std::to_string(info.shape.targets) + " scale " + format_number(info.scale) +
                     " offset " + format_number(info.offset);
  const h5::File file = h5::open_read(info.path);
  const h5::Dataset features = h5::open_dataset(file.get(), "features");
  std::vector<float> row(std::size_t(info.shape.features));
  for (const std::int64_t r : {std::int64_t{0}, info.shape.rows - 1}) {
    h5::read_rows<float>(features.get(), hsize_t(r), 1, row.data());
    text += " " + std::to_string(checksum<float>(row));
  }
  return text;
}

}  // namespace

OpenedData open_data_file(const std::string& path, const LoadingConfig& loading, bool require_answers,
                          const mpi::Communicator& world) {
  // Every rank reads the metadata for itself, serially: a path missing on one
  // node is caught here, before any collective file access.
  DatasetFileInfo info;
  mpi::collectively(world, [&] {
    if (path.empty()) throw InputError("no data file given");
    require_positive(loading.read_ahead_mb, "--read-ahead-mb");
    info = inspect_dataset_file(path, MPI_COMM_NULL, require_answers);
  });
  std::string fingerprint;
  mpi::collectively(world, [&] {
    try {
      fingerprint = data_fingerprint(info);
    } catch (const h5::H5Error& e) {
      throw InputError(path + ": cannot read its first and last rows (damaged?): " + e.what());
    }
  });
  mpi::all_fail_alike([&] {
    mpi::require_same_on_all_ranks(world, fingerprint, "data in " + path + " (its shape, types, or first and last rows)",
                                   "every node must see the same file (a stale copy on one node?)");
  });
  const bool all = loading.mode == LoadMode::All ||
                   (loading.mode == LoadMode::Auto && info.float_bytes() <= kLoadAllLimitBytes);
  if (all)
    mpi::collectively(world, [&] {
      require_memory(double(info.float_bytes()), path + " held in memory (--load all; --load stream reads it in parts)");
    });
  OpenedData opened;
  if (info.feature_type.kind == h5::ElementKind::Integer && !info.scaled)
    opened.warning = path + ": uint8 /features without scale or offset attributes: training on raw values 0-255 "
                            "(dmlp convert idx stores scale 1/255)";
  if (all) {
    // load_dataset agrees on damaged chunks and bad rows itself (one mpi::JobFailure on every rank)
    std::string shortage;
    opened.rows = load_dataset(info, world, &shortage);
    if (!shortage.empty())
      opened.warning += (opened.warning.empty() ? "" : "; ") + shortage + ": every rank holds a copy of the rows";
    const int sharers = opened.rows->sharers();
    opened.mode = sharers > 1 ? "in memory once per node, shared by its " + std::to_string(sharers) + " ranks"
                              : "in memory";
    return opened;
  }
  mpi::collectively(world, [&] {
    const std::size_t row_bytes = std::size_t(info.shape.features) * sizeof(float);
    const auto rows = std::int64_t(loading.read_ahead_mb * double(1 << 20) / double(row_bytes));
    opened.rows = std::make_unique<StreamingDataset>(info, std::max<std::int64_t>(rows, 1));
  });
  opened.mode = "streamed, reading " + format_number(loading.read_ahead_mb) + " MiB ahead";
  return opened;
}

DataFingerprint fingerprint_of(const RowSource& data, const mpi::Communicator& world) {
  DataFingerprint f{data.shape(), data.stored_as(), 0};
  const std::size_t n = std::size_t(fingerprint_blocks(f.shape.rows)), ranks = std::size_t(world.size());
  const std::size_t rank = std::size_t(world.rank());
  // A streamed set is read by each rank from its own copy of the file: each
  // block is hashed by two ranks, and they must agree (a stale copy on one
  // node); a set in memory is the same bytes on every rank already.
  const bool cross_check = data.read_ahead_rows() > 0 && ranks > 1;
  std::vector<std::uint64_t> blocks(n, 0), again(cross_check ? n : 0, 0);
  mpi::collectively(world, [&] {
    for (std::size_t b = rank; b < n; b += ranks) {
      blocks[b] = data.hash_block(std::int64_t(b));
      mpi::still_working();  // a streamed set is read here, all of it: slow, not stalled
    }
    for (std::size_t b = (rank + ranks - 1) % ranks; cross_check && b < n; b += ranks) {
      again[b] = data.hash_block(std::int64_t(b));
      mpi::still_working();
    }
  });
  world.allreduce(std::span<std::uint64_t>(blocks), MPI_SUM);  // each block's hash comes from one rank
  world.allreduce(std::span<std::uint64_t>(again), MPI_SUM);
  mpi::all_fail_alike([&] {
    for (std::size_t b = 0; b < again.size(); ++b)
      if (again[b] != blocks[b]) {
        const std::int64_t first = std::int64_t(b) * kFingerprintBlockRows;
        throw InputError("ranks " + std::to_string(b % ranks) + " and " + std::to_string((b % ranks + 1) % ranks) +
                         " read different rows " + std::to_string(first) + " to " +
                         std::to_string(std::min(first + kFingerprintBlockRows, f.shape.rows) - 1) + " of " +
                         data.name() + ": every node must see the same file (a stale copy on one node?)");
      }
  });
  f.content = combine_block_hashes(blocks);
  return f;
}

TrainingData open_training_data(const DataConfig& data, const LoadingConfig& loading, const ModelSpec& model,
                                std::uint64_t seed, const mpi::Communicator& world) {
  TrainingData sets;
  if (data.synthetic) {
    mpi::collectively(world, [&] { sets = synthetic_sets(*data.synthetic, model, seed); });
  } else {
    sets.train = open_data_file(data.train_file, loading, true, world);
    // Before a streamed set is read whole for its fingerprint: training needs
    // its epoch order in memory, 8 bytes a row (Trainer checks it too).
    mpi::collectively(world, [&] {
      const std::int64_t rows = sets.train.rows->shape().rows;
      require_memory(double(rows) * sizeof(std::int64_t),
                     "the epoch order of " + data.train_file + "'s " + std::to_string(rows) + " rows");
    });
    if (!data.test_file.empty()) sets.test = open_data_file(data.test_file, loading, true, world);
  }
  for (OpenedData* set : {&sets.train, &sets.test}) {
    if (!set->rows) continue;
    const auto start = std::chrono::steady_clock::now();
    set->fingerprint = fingerprint_of(*set->rows, world);
    set->fingerprint_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return sets;
}

std::string describe_data(const RowSource& d) {
  const DataShape& s = d.shape();
  return d.name() + ", " + std::to_string(s.rows) + " x " + std::to_string(s.features) +
         (s.is_classification() ? ", " + std::to_string(s.num_classes) + " classes"
                                : ", " + std::to_string(s.targets) + " targets");
}

}  // namespace dmlp::run
