// dmlp convert idx | csv: other formats to HDF5 data sets (docs/formats.md).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "dmlp/io/csv.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/file_identity.hpp"
#include "dmlp/io/idx.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::cli {
namespace {

void check_compression(int level) {
  if (level < 0 || level > 9)
    throw InputError("--compression " + std::to_string(level) + " must be a deflate level 0-9");
}

// Caught before any reading, and said more plainly than HDF5 would say it.
void check_output_directory(const std::string& out) {
  const std::filesystem::path dir = std::filesystem::path(out).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir))
    throw InputError("--out " + out + ": directory " + dir.string() + " does not exist");
}

std::string count_of(std::int64_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

void report_written(const std::string& path, const DataShape& shape) {
  const std::string answers = shape.is_classification() ? count_of(shape.num_classes, "class", "classes")
                                                        : count_of(shape.targets, "target", "targets");
  std::printf("wrote %s: %s x %s, %s\n", path.c_str(), count_of(shape.rows, "row", "rows").c_str(),
              count_of(shape.features, "feature", "features").c_str(), answers.c_str());
}

CsvLayout csv_layout(const ConvertCsvOptions& o) {
  CsvLayout layout;
  layout.header = o.header;
  layout.delimiter = o.delimiter;
  layout.label_column = o.label_column;
  if (o.target_columns_option && o.target_columns_option->count() > 0)  // '' too: it names no column
    layout.target_columns = parse_column_list(o.target_columns, "--target-columns");
  layout.num_classes = o.num_classes;
  validate(layout);
  return layout;
}

}  // namespace

int run_convert_idx(const mpi::Communicator& world, const ConvertIdxOptions& o) {
  mpi::collectively(world, [&] {
    check_compression(o.compression);
    if (world.rank() != 0) return;
    check_outputs({{"--images", o.images}, {"--labels", o.labels}}, {{"--out", o.out}});
    check_output_directory(o.out);
  });
  // One reader and writer; the other ranks, if any, wait for it.
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    const IdxDataset set = read_idx_dataset(o.images, o.labels);
    const std::vector<std::int32_t> labels(set.labels.begin(), set.labels.end());
    DataShape shape;
    shape.rows = set.images.count;
    shape.features = set.images.pixels_per_image();
    // No class count is assumed (MNIST has 10): a subset with fewer classes
    // gets a narrower output layer.
    shape.num_classes = *std::max_element(labels.begin(), labels.end()) + 1;
    // Pixels stay one byte each; readers scale them to [0, 1].
    write_dataset_file_u8(o.out, shape.rows, shape.features, set.images.pixels.data(), 1.0 / 255.0, 0.0, labels.data(),
                          shape.num_classes, {o.compression});
    report_written(o.out, shape);
  });
  return 0;
}

int run_convert_csv(const mpi::Communicator& world, const ConvertCsvOptions& o) {
  CsvLayout layout;
  mpi::collectively(world, [&] {
    layout = csv_layout(o);
    check_compression(o.compression);
    if (world.rank() != 0) return;
    check_outputs({{"--in", o.in}}, {{"--out", o.out}});
    check_output_directory(o.out);
  });
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    const CsvDataset set = read_csv_dataset(o.in, layout);
    const DataShape& s = set.shape;
    const bool labelled = s.is_classification();
    write_dataset_file(o.out, s.rows, s.features, set.features.data(), labelled ? set.labels.data() : nullptr,
                       s.num_classes, labelled ? nullptr : set.targets.data(), s.targets, {o.compression});
    report_written(o.out, s);
  });
  return 0;
}

}  // namespace dmlp::cli
