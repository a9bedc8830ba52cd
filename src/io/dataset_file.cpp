#include "dmlp/io/dataset_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <type_traits>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp {
namespace {

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

[[noreturn]] void bad(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

// value = scale · stored + offset, for features stored as integers.
void apply_scale(const DatasetFileInfo& info, float* X, std::size_t n) {
  if (info.feature_type.kind != h5::ElementKind::Integer) return;
  const float scale = float(info.scale), offset = float(info.offset);
  for (std::size_t i = 0; i < n; ++i) X[i] = scale * X[i] + offset;
}

}  // namespace

DatasetFileInfo inspect_dataset_file(const std::string& path, MPI_Comm comm, bool require_answers) {
  if (!std::filesystem::exists(path)) bad(path, "no such file");
  if (!h5::is_hdf5(path))
    bad(path, "not an HDF5 file (expected a data set as docs/formats.md describes; convert CSV or IDX files "
              "with dmlp convert)");
  h5::File file;
  try {
    file = h5::open_read(path, comm);
  } catch (const h5::H5Error& e) {  // a damaged file is bad input, not a failure of ours
    bad(path, std::string("cannot be read as HDF5 (damaged or truncated?): ") + e.what());
  }
  const hid_t f = file.get();
  DatasetFileInfo info;
  info.path = path;
  if (h5::has_attribute(f, "format_version")) {
    const auto version = h5::read_attribute<std::int64_t>(f, "format_version");
    if (version != kDatasetFormatVersion)
      bad(path, "format_version is " + std::to_string(version) + "; expected " + std::to_string(kDatasetFormatVersion));
  }
  if (!h5::exists(f, "features")) bad(path, "no dataset /features (expected float32 or uint8 [rows, features])");
  const h5::Dataset features = h5::open_dataset(f, "features");
  const auto dims = h5::shape(features.get());
  if (dims.size() != 2) bad(path, "dataset /features has shape " + shape_text(dims) + "; expected 2 dimensions [rows, features]");
  info.feature_type = h5::element_type(features.get());
  const auto& t = info.feature_type;
  const bool ok_type = (t.kind == h5::ElementKind::Float && (t.bytes == 4 || t.bytes == 8)) ||
                       (t.kind == h5::ElementKind::Integer && t.bytes == 1 && !t.is_signed);
  if (!ok_type) bad(path, "dataset /features has type " + t.describe() + "; expected float32, float64 or uint8");
  if (t.kind == h5::ElementKind::Integer) {
    if (h5::has_attribute(features.get(), "scale")) info.scale = h5::read_attribute<double>(features.get(), "scale");
    if (h5::has_attribute(features.get(), "offset")) info.offset = h5::read_attribute<double>(features.get(), "offset");
  }
  if (dims[0] == 0) bad(path, "dataset /features has 0 rows; expected at least 1");
  if (dims[1] == 0) bad(path, "dataset /features has 0 columns; expected at least 1");
  info.shape.rows = std::int64_t(dims[0]);
  info.shape.features = int(dims[1]);

  const bool has_labels = h5::exists(f, "labels"), has_targets = h5::exists(f, "targets");
  if (has_labels && has_targets) bad(path, "has both /labels and /targets; expected one of them");
  info.has_targets_or_labels = has_labels || has_targets;
  if (!info.has_targets_or_labels) {
    if (require_answers)
      bad(path, "has neither /labels (classification) nor /targets (regression); expected one of them");
    info.shape.task = TaskKind::Classification;
    return info;
  }
  const std::string name = has_labels ? "labels" : "targets";
  const h5::Dataset answers = h5::open_dataset(f, name);
  const auto adims = h5::shape(answers.get());
  const auto atype = h5::element_type(answers.get());
  if (adims.empty() || adims.size() > 2 || (has_labels && adims.size() == 2 && adims[1] != 1))
    bad(path, "dataset /" + name + " has shape " + shape_text(adims) + "; expected " +
                  (has_labels ? "[rows]" : "[rows] or [rows, targets]"));
  if (adims[0] != dims[0])
    bad(path, "dataset /features has " + std::to_string(dims[0]) + " rows but /" + name + " has " +
                  std::to_string(adims[0]) + "; expected the same number");
  if (has_labels) {
    if (atype.kind != h5::ElementKind::Integer)
      bad(path, "dataset /labels has type " + atype.describe() + "; expected an integer type (int32)");
    if (!h5::has_attribute(answers.get(), "num_classes"))
      bad(path, "dataset /labels has no num_classes attribute; expected the number of classes");
    const auto classes = h5::read_attribute<std::int64_t>(answers.get(), "num_classes");
    if (classes < 1) bad(path, "dataset /labels has num_classes " + std::to_string(classes) + "; expected at least 1");
    info.shape.task = TaskKind::Classification;
    info.shape.num_classes = int(classes);
  } else {
    if (atype.kind != h5::ElementKind::Float)
      bad(path, "dataset /targets has type " + atype.describe() + "; expected float32");
    info.shape.task = TaskKind::Regression;
    info.shape.targets = adims.size() == 2 ? int(adims[1]) : 1;
  }
  return info;
}

void check_rows(const DatasetFileInfo& info, std::int64_t count, std::int64_t first_row,
                std::span<const std::int64_t> row_ids, const float* X, const std::int32_t* labels,
                const float* targets) {
  auto row_of = [&](std::int64_t i) { return row_ids.empty() ? first_row + i : row_ids[std::size_t(i)]; };
  const std::size_t d = std::size_t(info.shape.features);
  for (std::int64_t i = 0; i < count; ++i) {
    const float* x = X + std::size_t(i) * d;
    for (std::size_t j = 0; j < d; ++j)
      if (!std::isfinite(x[j]))
        bad(info.path, "dataset /features row " + std::to_string(row_of(i)) + " column " + std::to_string(j) + " is " +
                           (std::isnan(x[j]) ? "NaN" : "infinite") + "; expected finite values");
    if (labels && info.shape.is_classification() && info.has_targets_or_labels) {
      const std::int32_t l = labels[i];
      if (l < 0 || l >= info.shape.num_classes)
        bad(info.path, "dataset /labels row " + std::to_string(row_of(i)) + " holds " + std::to_string(l) +
                           "; expected a class in [0, " + std::to_string(info.shape.num_classes) +
                           ") (num_classes = " + std::to_string(info.shape.num_classes) + ")");
    }
    if (targets && !info.shape.is_classification())
      for (int j = 0; j < info.shape.targets; ++j)
        if (!std::isfinite(targets[std::size_t(i) * info.shape.targets + j]))
          bad(info.path, "dataset /targets row " + std::to_string(row_of(i)) + " column " + std::to_string(j) +
                             " is not finite; expected finite values");
  }
}

std::unique_ptr<InMemoryDataset> load_dataset(const DatasetFileInfo& info, const mpi::Communicator& comm) {
  auto data = std::make_unique<InMemoryDataset>(info.shape, info.path);
  const std::size_t d = std::size_t(info.shape.features), k = std::size_t(std::max(info.shape.targets, 1));
  const Slice mine = shard(info.shape.rows, comm.size(), comm.rank());
  float* X = data->features().data() + std::size_t(mine.begin) * d;
  const bool answers = info.has_targets_or_labels;
  std::int32_t* labels = answers && !data->labels().empty() ? data->labels().data() + mine.begin : nullptr;
  float* targets = answers && !data->targets().empty() ? data->targets().data() + std::size_t(mine.begin) * k : nullptr;
  // Each rank reads its slab, all together (collective MPI-IO), then closes. An
  // I/O error here strikes one rank inside collectives: it ends the job, with
  // the file still open (closing it is collective too).
  h5::File file;
  mpi::or_abort(comm, [&] {
    file = h5::open_read(info.path, comm.get());
    h5::read_rows(h5::open_dataset(file.get(), "features").get(), hsize_t(mine.begin), hsize_t(mine.count), X, true);
    if (labels) h5::read_rows(h5::open_dataset(file.get(), "labels").get(), hsize_t(mine.begin), hsize_t(mine.count), labels, true);
    if (targets)
      h5::read_rows(h5::open_dataset(file.get(), "targets").get(), hsize_t(mine.begin), hsize_t(mine.count), targets, true);
    file.close();
  });
  apply_scale(info, X, std::size_t(mine.count) * d);
  std::optional<mpi::RankFailure> failure;
  try {
    check_rows(info, mine.count, mine.begin, {}, X, labels, targets);
  } catch (const InputError& e) {
    failure = mpi::RankFailure{comm.rank(), e.what(), kExitInputError};
  }
  if (const auto first = mpi::first_failure(comm, failure)) throw InputError(first->message);

  std::vector<int> counts(std::size_t(comm.size())), displs(std::size_t(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const Slice s = shard(info.shape.rows, comm.size(), r);
    counts[std::size_t(r)] = int(s.count);
    displs[std::size_t(r)] = int(s.begin);
  }
  if (comm.size() > 1) {
    comm.allgather_rows(data->features().data(), int(d), counts, displs);
    if (labels) comm.allgather_rows(data->labels().data(), 1, counts, displs);
    if (targets) comm.allgather_rows(data->targets().data(), int(k), counts, displs);
  }
  return data;
}

StreamingDataset::StreamingDataset(DatasetFileInfo info, std::int64_t chunk_rows)
    : info_(std::move(info)), chunk_rows_(std::max<std::int64_t>(chunk_rows, 1)), file_(h5::open_read(info_.path)) {
  features_ = h5::open_dataset(file_.get(), "features");
  if (info_.has_targets_or_labels)
    answers_ = h5::open_dataset(file_.get(), info_.shape.is_classification() ? "labels" : "targets");
  // Blocks: the storage chunks when the dataset has them, else 1 MiB of rows.
  const std::size_t row_bytes = std::size_t(info_.shape.features) * sizeof(float);
  block_rows_ = std::max<std::int64_t>(1, std::int64_t((std::size_t(1) << 20) / row_bytes));
  {
    const h5::PropertyList dcpl(h5::check(H5Dget_create_plist(features_.get()), "H5Dget_create_plist"));
    if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
      hsize_t chunk[2] = {1, 1};
      h5::check(H5Pget_chunk(dcpl.get(), 2, chunk), "H5Pget_chunk");
      // Whole chunks, up to 64 MiB: a file stored as one huge chunk must still stream.
      const auto cap = std::max<std::int64_t>(1, std::int64_t((std::size_t(64) << 20) / row_bytes));
      block_rows_ = std::min(std::int64_t(chunk[0]), cap);
      compressed_blocks_ = H5Pget_nfilters(dcpl.get()) > 0;
    }
  }
  const std::size_t n = std::size_t(chunk_rows_);
  staged_rows_.reserve(n);
  scratch_.reserve(n);
  staged_features_.reserve(n * std::size_t(info_.shape.features));
  staged_labels_.reserve(n);
  staged_targets_.reserve(n * std::size_t(std::max(info_.shape.targets, 0)));
  block_features_.reserve(std::size_t(block_rows_) * std::size_t(info_.shape.features));
  block_bytes_.reserve(std::size_t(block_rows_) * std::size_t(info_.shape.features));
  block_labels_.reserve(std::size_t(block_rows_));
  block_targets_.reserve(std::size_t(block_rows_) * std::size_t(std::max(info_.shape.targets, 0)));
}

template <class V, class Out>
void StreamingDataset::read_rows_into(hid_t dataset, std::span<const std::int64_t> rows, std::size_t width, Out* out,
                                      std::vector<V>& block) const {
  // Rows travel as stored (V) and are converted here, so only wanted rows are converted.
  const bool integer_features = info_.feature_type.kind == h5::ElementKind::Integer && width == std::size_t(info_.shape.features) &&
                                std::is_same_v<V, std::uint8_t>;
  const float scale = integer_features ? float(info_.scale) : 1.0f, offset = integer_features ? float(info_.offset) : 0.0f;
  auto convert = [&](const V* from, Out* to) {
    for (std::size_t c = 0; c < width; ++c) to[c] = integer_features ? Out(scale * float(from[c]) + offset) : Out(from[c]);
  };
  const std::int64_t total = info_.shape.rows;
  for (std::size_t i = 0; i < rows.size();) {
    const std::int64_t first = rows[i] / block_rows_ * block_rows_;
    const std::int64_t count = std::min(block_rows_, total - first);
    std::size_t end = i;
    while (end < rows.size() && rows[end] < first + count) ++end;
    // Dense, or stored compressed (where any read decodes the whole chunk): read the block once.
    const bool whole_block = compressed_blocks_ || std::int64_t(end - i) * 8 >= count;
    for (std::size_t j = i; j < end;) {
      std::size_t run = j + 1;
      while (!whole_block && run < end && rows[run] == rows[run - 1] + 1) ++run;
      const std::int64_t from = whole_block ? first : rows[j];
      const std::int64_t n = whole_block ? count : std::int64_t(run - j);
      block.resize(std::size_t(n) * width);
      h5::read_rows(dataset, hsize_t(from), hsize_t(n), block.data());
      const std::size_t last = whole_block ? end : run;
      for (std::size_t r = j; r < last; ++r) convert(block.data() + std::size_t(rows[r] - from) * width, out + r * width);
      j = last;
    }
    i = end;
  }
}

void StreamingDataset::stage(std::span<const std::int64_t> sorted_rows) const {
  const std::size_t n = sorted_rows.size(), d = std::size_t(info_.shape.features);
  staged_rows_.assign(sorted_rows.begin(), sorted_rows.end());
  staged_features_.resize(n * d);
  if (info_.feature_type.kind == h5::ElementKind::Integer)
    read_rows_into(features_.get(), sorted_rows, d, staged_features_.data(), block_bytes_);
  else
    read_rows_into(features_.get(), sorted_rows, d, staged_features_.data(), block_features_);
  const std::int32_t* labels = nullptr;
  const float* targets = nullptr;
  if (answers_ && info_.shape.is_classification()) {
    staged_labels_.resize(n);
    read_rows_into(answers_.get(), sorted_rows, 1, staged_labels_.data(), block_labels_);
    labels = staged_labels_.data();
  } else if (answers_) {
    const std::size_t k = std::size_t(info_.shape.targets);
    staged_targets_.resize(n * k);
    read_rows_into(answers_.get(), sorted_rows, k, staged_targets_.data(), block_targets_);
    targets = staged_targets_.data();
  }
  check_rows(info_, std::int64_t(n), 0, sorted_rows, staged_features_.data(), labels, targets);
}

void StreamingDataset::read_ahead(std::span<const std::int64_t> rows) {
  scratch_.assign(rows.begin(), rows.end());
  std::sort(scratch_.begin(), scratch_.end());
  scratch_.erase(std::unique(scratch_.begin(), scratch_.end()), scratch_.end());
  stage(scratch_);
}

template <class T>
void StreamingDataset::gather_as(std::span<const std::int64_t> indices, T* X, std::int32_t* labels, T* targets) const {
  auto staged = [&](std::int64_t row) { return std::binary_search(staged_rows_.begin(), staged_rows_.end(), row); };
  if (!std::all_of(indices.begin(), indices.end(), staged)) {  // not read ahead: read these rows now
    scratch_.assign(indices.begin(), indices.end());
    std::sort(scratch_.begin(), scratch_.end());
    scratch_.erase(std::unique(scratch_.begin(), scratch_.end()), scratch_.end());
    stage(scratch_);
  }
  const std::size_t d = std::size_t(info_.shape.features), k = std::size_t(std::max(info_.shape.targets, 0));
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto at = std::size_t(std::lower_bound(staged_rows_.begin(), staged_rows_.end(), indices[i]) - staged_rows_.begin());
    std::copy_n(staged_features_.data() + at * d, d, X + i * d);
    if (labels && !staged_labels_.empty()) labels[i] = staged_labels_[at];
    if (targets && k) std::copy_n(staged_targets_.data() + at * k, k, targets + i * k);
  }
}

void StreamingDataset::gather(std::span<const std::int64_t> indices, float* X, std::int32_t* labels, float* targets) const {
  gather_as(indices, X, labels, targets);
}
void StreamingDataset::gather(std::span<const std::int64_t> indices, double* X, std::int32_t* labels,
                              double* targets) const {
  gather_as(indices, X, labels, targets);
}

namespace {
void write_answers(hid_t f, std::int64_t rows, const std::int32_t* labels, int num_classes, const float* targets,
                   int target_width, int level) {
  if (labels) {
    const hsize_t dims[1] = {hsize_t(rows)};
    h5::write_dataset<std::int32_t>(f, "labels", dims, labels, level);
    const h5::Dataset set = h5::open_dataset(f, "labels");
    h5::write_attribute<std::int64_t>(set.get(), "num_classes", num_classes);
  } else if (targets) {
    const hsize_t dims[2] = {hsize_t(rows), hsize_t(target_width)};
    h5::write_dataset<float>(f, "targets", dims, targets, level);
  }
  h5::write_attribute(f, "dmlp_format", std::string("dataset"));
  h5::write_attribute<std::int64_t>(f, "format_version", kDatasetFormatVersion);
}
}  // namespace

void write_dataset_file(const std::string& path, std::int64_t rows, int features, const float* X,
                        const std::int32_t* labels, int num_classes, const float* targets, int target_width,
                        const DatasetWriteOptions& options) {
  h5::File file = h5::create(path);
  const hsize_t dims[2] = {hsize_t(rows), hsize_t(features)};
  h5::write_dataset<float>(file.get(), "features", dims, X, options.compression_level);
  write_answers(file.get(), rows, labels, num_classes, targets, target_width, options.compression_level);
  file.close();
}

void write_dataset_file_u8(const std::string& path, std::int64_t rows, int features, const std::uint8_t* X,
                           double scale, double offset, const std::int32_t* labels, int num_classes,
                           const DatasetWriteOptions& options) {
  h5::File file = h5::create(path);
  const hsize_t dims[2] = {hsize_t(rows), hsize_t(features)};
  h5::write_dataset<std::uint8_t>(file.get(), "features", dims, X, options.compression_level);
  {
    const h5::Dataset set = h5::open_dataset(file.get(), "features");
    h5::write_attribute<double>(set.get(), "scale", scale);
    h5::write_attribute<double>(set.get(), "offset", offset);
  }
  write_answers(file.get(), rows, labels, num_classes, nullptr, 0, options.compression_level);
  file.close();
}

}  // namespace dmlp
