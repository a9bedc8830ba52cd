// StreamingDataset: a data set file read row by row, as training asks for rows.
#include "dataset_file_internal.hpp"
#include "dmlp/data/fingerprint.hpp"
#include "dmlp/core/settings.hpp"
#include "dmlp/io/file_error.hpp"
#include "dmlp/mpi/liveness.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <type_traits>

namespace dmlp {
namespace {
// `rows` ascending, each once, into `out`.
void sorted_unique(std::span<const std::int64_t> rows, std::vector<std::int64_t>& out) {
  out.assign(rows.begin(), rows.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}
struct stat stat_of(const std::string& path) {
  struct stat s {};
  if (::stat(path.c_str(), &s) != 0) s.st_ino = 0;
  return s;
}
}  // namespace

void StreamingDataset::require_unchanged() const {
  const struct stat now = stat_of(info_.path);
  const Identity seen{std::uint64_t(now.st_dev), std::uint64_t(now.st_ino), std::int64_t(now.st_size),
                      std::int64_t(now.st_mtim.tv_sec) * 1000000000 + now.st_mtim.tv_nsec};
  if (seen == opened_) return;
  std::string what;
  if (now.st_ino == 0)
    what = "it is gone";
  else if (seen.device != opened_.device || seen.inode != opened_.inode)
    what = "another file took its name";
  else if (seen.size != opened_.size)
    what = "its size went from " + std::to_string(opened_.size) + " to " + std::to_string(seen.size) + " bytes";
  else
    what = "it was rewritten (its modification time changed)";
  file_error(info_.path, "changed while this run was reading it: " + what +
                             "; the rows read from it now would not be the set this run started with. Restart the run "
                             "(with " + setting("resume") + ") once the file is final");
}

StreamingDataset::StreamingDataset(DatasetFileInfo info, std::int64_t chunk_rows)
    : info_(std::move(info)), chunk_rows_(std::max<std::int64_t>(chunk_rows, 1)) {
  const struct stat before = stat_of(info_.path);
  file_ = h5::open_read(info_.path);
  opened_ = {std::uint64_t(before.st_dev), std::uint64_t(before.st_ino), std::int64_t(before.st_size),
             std::int64_t(before.st_mtim.tv_sec) * 1000000000 + before.st_mtim.tv_nsec};
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
  const FeatureScale to_value = feature_scale(info_);
  const bool scaled = to_value.applies && width == std::size_t(info_.shape.features) && std::is_same_v<V, std::uint8_t>;
  auto convert = [&](const V* from, Out* to) {
    for (std::size_t c = 0; c < width; ++c) to[c] = scaled ? Out(to_value(float(from[c]))) : Out(from[c]);
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
      try {
        h5::read_rows(dataset, hsize_t(from), hsize_t(n), block.data());
      } catch (const h5::H5Error& e) {  // a damaged chunk, say: bad input, named
        file_error(info_.path, "cannot read rows " + std::to_string(from) + " to " + std::to_string(from + n - 1) +
                                   " (damaged?): " + e.what());
      }
      mpi::still_working();
      const std::size_t last = whole_block ? end : run;
      for (std::size_t r = j; r < last; ++r) convert(block.data() + std::size_t(rows[r] - from) * width, out + r * width);
      j = last;
    }
    i = end;
  }
}

void StreamingDataset::stage(std::span<const std::int64_t> sorted_rows) const {
  require_unchanged();
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
  require_unchanged();  // the rows came from the file as it was opened
  check_rows(info_, std::int64_t(n), 0, sorted_rows, staged_features_.data(), labels, targets);
}

std::uint64_t StreamingDataset::hash_block(std::int64_t block) const {
  require_unchanged();
  const std::int64_t first = block * kFingerprintBlockRows;
  const std::int64_t rows = std::min(kFingerprintBlockRows, info_.shape.rows - first);
  const std::size_t d = std::size_t(info_.shape.features), k = std::size_t(std::max(info_.shape.targets, 0));
  std::vector<float> X(std::size_t(rows) * d), targets;
  std::vector<std::int32_t> labels;
  try {
    if (info_.feature_type.kind == h5::ElementKind::Integer) {  // as stage() converts them
      std::vector<std::uint8_t> stored(X.size());
      h5::read_rows(features_.get(), hsize_t(first), hsize_t(rows), stored.data());
      const FeatureScale to_value = feature_scale(info_);
      for (std::size_t i = 0; i < X.size(); ++i) X[i] = to_value.applies ? to_value(float(stored[i])) : float(stored[i]);
    } else {
      h5::read_rows(features_.get(), hsize_t(first), hsize_t(rows), X.data());
    }
    if (answers_ && info_.shape.is_classification()) {
      labels.resize(std::size_t(rows));
      h5::read_rows(answers_.get(), hsize_t(first), hsize_t(rows), labels.data());
    } else if (answers_) {
      targets.resize(std::size_t(rows) * k);
      h5::read_rows(answers_.get(), hsize_t(first), hsize_t(rows), targets.data());
    }
  } catch (const h5::H5Error& e) {
    file_error(info_.path, "cannot read rows " + std::to_string(first) + " to " + std::to_string(first + rows - 1) +
                               " (damaged?): " + e.what());
  }
  check_rows(info_, rows, first, {}, X.data(), labels.empty() ? nullptr : labels.data(),
             targets.empty() ? nullptr : targets.data());
  return hash_rows(X.data(), labels.empty() ? nullptr : labels.data(), targets.empty() ? nullptr : targets.data(), rows,
                   info_.shape.features, info_.shape.targets);
}

void StreamingDataset::read_ahead(std::span<const std::int64_t> rows) {
  sorted_unique(rows, scratch_);
  stage(scratch_);
}

template <class T>
void StreamingDataset::gather_as(std::span<const std::int64_t> indices, T* X, std::int32_t* labels, T* targets) const {
  auto staged = [&](std::int64_t row) { return std::binary_search(staged_rows_.begin(), staged_rows_.end(), row); };
  if (!std::all_of(indices.begin(), indices.end(), staged)) {  // not read ahead: read these rows now
    sorted_unique(indices, scratch_);
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

}  // namespace dmlp
