#include "data_sources.hpp"

#include "app.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::cli {
namespace {

DataSets synthetic_sets(const DataOptions& o, const ModelSpec& spec, std::uint64_t seed) {
  require_positive(double(o.samples), "--samples");
  SyntheticSpec s;
  s.kind = parse_synthetic_kind(o.synthetic);
  s.features = spec.inputs();
  s.outputs = s.kind == SyntheticKind::Regression
                  ? spec.outputs()
                  : (o.classes > 0 ? o.classes : std::max(2, num_classes_for_output(spec.loss, spec.outputs())));
  s.seed = seed;
  s.noise = o.noise;
  DataSets sets;
  const std::int64_t test_rows = o.test_samples >= 0 ? o.test_samples : o.samples / 5;
  sets.train = make_synthetic(s, 0, o.samples);
  if (test_rows > 0) sets.test = make_synthetic(s, o.samples, test_rows);
  sets.train_mode = sets.test_mode = "generated";
  return sets;
}
}  // namespace

std::unique_ptr<RowSource> open_data_file(const std::string& path, const std::string& load, bool require_answers,
                                          const mpi::Communicator& world, std::string* mode, double read_ahead_mb) {
  if (load != "auto" && load != "all" && load != "stream")
    collectively(world, [&] { throw InputError("--load '" + load + "' (expected auto|all|stream)"); });
  if (!(read_ahead_mb > 0)) collectively(world, [&] { require_positive(read_ahead_mb, "--read-ahead-mb"); });
  // Every rank reads the metadata for itself, serially: a path missing on one
  // node is caught here, before any collective file access.
  DatasetFileInfo info;
  collectively(world, [&] {
    if (path.empty()) throw InputError("no data file given");
    info = inspect_dataset_file(path, MPI_COMM_NULL, require_answers);
  });
  const bool all = load == "all" || (load == "auto" && info.float_bytes() <= kLoadAllLimitBytes);
  std::unique_ptr<RowSource> source;
  if (all) {
    // load_dataset agrees on bad rows itself (InputError on every rank) and aborts on I/O errors.
    try {
      source = load_dataset(info, world);
    } catch (const InputError& e) {
      throw JobFailure{{0, e.what(), kExitInputError}};
    }
  }
  collectively(world, [&] {
    if (!all) {
      const std::size_t row_bytes = std::size_t(info.shape.features) * sizeof(float);
      const auto rows = std::int64_t(read_ahead_mb * double(1 << 20) / double(row_bytes));
      source = std::make_unique<StreamingDataset>(info, std::max<std::int64_t>(rows, 1));
    }
  });
  if (mode) *mode = all ? "in memory" : "streamed, reading " + format_number(read_ahead_mb) + " MiB ahead";
  return source;
}

DataSets open_training_data(const DataOptions& o, const ModelSpec& spec, std::uint64_t seed,
                            const mpi::Communicator& world) {
  DataSets sets;
  if (!o.synthetic.empty() && !o.train_file.empty())
    collectively(world, [] { throw InputError("give --synthetic or --train, not both"); });
  if (!o.synthetic.empty()) {
    collectively(world, [&] { sets = synthetic_sets(o, spec, seed); });
    return sets;
  }
  if (o.train_file.empty())
    collectively(world, [] { throw InputError("no training data: give --train FILE or --synthetic KIND"); });
  sets.train = open_data_file(o.train_file, o.load, true, world, &sets.train_mode, o.read_ahead_mb);
  if (!o.test_file.empty())
    sets.test = open_data_file(o.test_file, o.load, true, world, &sets.test_mode, o.read_ahead_mb);
  return sets;
}

std::string describe_data(const RowSource& d) {
  const DataShape& s = d.shape();
  return d.name() + ", " + std::to_string(s.rows) + " x " + std::to_string(s.features) +
         (s.is_classification() ? ", " + std::to_string(s.num_classes) + " classes"
                                : ", " + std::to_string(s.targets) + " targets");
}

}  // namespace dmlp::cli
