#pragma once
// Data sets in HDF5 (docs/formats.md):
//   /features  [n, d]  float32 (or float64), or uint8 with `scale` and `offset`
//                      attributes (value = scale · stored + offset)
//   /labels    [n]     int32, attribute num_classes      (classification)
//   /targets   [n, k]  float32                           (regression)
//   root attributes    dmlp_format = "dataset", format_version = 1
//
// Reading validates as it goes and throws InputError naming the file, the
// dataset, what was expected and what was found.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmlp/data/dataset.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp {

inline constexpr int kDatasetFormatVersion = 1;

struct DatasetFileInfo {
  std::string path;
  DataShape shape;
  h5::ElementType feature_type;
  double scale = 1.0, offset = 0.0;  // applied to stored features
  bool scaled = false;               // the file gave scale or offset
  bool has_targets_or_labels = true;  // false: features only (prediction inputs)
  // The other files its datasets read from (external links' targets, virtual
  // datasets' sources, external raw storage), each checked to be a regular
  // file that holds what is mapped from it.
  std::vector<std::string> sources;
  std::size_t float_bytes() const { return std::size_t(shape.rows) * shape.features * sizeof(float); }
};

// Reads and checks the metadata. Collective over `comm` when it is not
// MPI_COMM_NULL; `require_answers` demands /labels or /targets.
DatasetFileInfo inspect_dataset_file(const std::string& path, MPI_Comm comm, bool require_answers = true);

// The other files a data set file reads from (DatasetFileInfo::sources), for
// telling which files a command must not overwrite; empty when `path` is not
// a readable data set (inspect_dataset_file then says why).
std::vector<std::string> dataset_sources(const std::string& path);

// How a file stores its features, for fingerprints: "float32", "uint8 x 0.00392157 + 0".
std::string stored_as_text(const DatasetFileInfo& info);

// Loads the whole set once per node, in the node's shared memory: each of its
// ranks reads a slab of the rows through a serial handle of its own and
// checks them. Where some node's shared memory has no room for it (then
// `shortage` says so, for a warning), every rank holds the whole set: each
// reads 1/P of the rows, and the ranks exchange their parts. Collective; a
// damaged chunk or a bad row on any rank throws the same mpi::JobFailure on
// every rank.
std::unique_ptr<InMemoryDataset> load_dataset(const DatasetFileInfo& info, const mpi::Communicator& comm,
                                              std::string* shortage = nullptr);

// Reads rows on demand from its own serial handle on the file: a rank reads
// only the rows it trains on, a chunk of upcoming rows at a time, and checks
// each row as it arrives. The file is read in blocks of rows (the dataset's
// storage chunks, or 1 MiB where it has none): a block holding many wanted
// rows is read whole, once; from a sparse block only the wanted rows are read.
// Before each read it checks that the file is still the one it opened (path,
// device, inode, size and modification time): a file replaced, truncated or
// rewritten under a running job is an InputError, not rows of another set.
class StreamingDataset final : public RowSource {
 public:
  StreamingDataset(DatasetFileInfo info, std::int64_t chunk_rows);
  const DataShape& shape() const override { return info_.shape; }
  std::string name() const override { return info_.path; }
  std::int64_t read_ahead_rows() const override { return chunk_rows_; }
  void read_ahead(std::span<const std::int64_t> rows) override;
  void gather(std::span<const std::int64_t> indices, float* X, std::int32_t* labels,
              float* targets) const override;
  void gather(std::span<const std::int64_t> indices, double* X, std::int32_t* labels,
              double* targets) const override;
  // Reads the block's rows (a sequential read of its own, not the staged rows).
  std::uint64_t hash_block(std::int64_t block) const override;
  std::string stored_as() const override { return stored_as_text(info_); }

 private:
  template <class T>
  void gather_as(std::span<const std::int64_t> indices, T* X, std::int32_t* labels, T* targets) const;
  void stage(std::span<const std::int64_t> sorted_rows) const;
  template <class V, class Out>
  void read_rows_into(hid_t dataset, std::span<const std::int64_t> sorted_rows, std::size_t width, Out* out,
                      std::vector<V>& block) const;

  void require_unchanged() const;

  DatasetFileInfo info_;
  std::int64_t chunk_rows_;
  h5::File file_;
  struct Identity {
    std::uint64_t device = 0, inode = 0;
    std::int64_t size = 0, modified_ns = 0;
    bool operator==(const Identity&) const = default;
  } opened_;  // the file as it was opened
  h5::Dataset features_, answers_;
  // The staged rows, ascending, and their data.
  mutable std::vector<std::int64_t> staged_rows_;
  mutable std::vector<float> staged_features_, staged_targets_;
  mutable std::vector<std::int32_t> staged_labels_;
  mutable std::vector<std::int64_t> scratch_;
  std::int64_t block_rows_ = 1;
  bool compressed_blocks_ = false;  // chunked storage: any read of a block decodes all of it
  mutable std::vector<float> block_features_, block_targets_;
  mutable std::vector<std::uint8_t> block_bytes_;  // uint8 features, as stored
  mutable std::vector<std::int32_t> block_labels_;
};

// Checks `count` rows as read: finite features and targets, labels in range. The
// rows are file rows row_ids[i], or first_row + i when row_ids is empty.
void check_rows(const DatasetFileInfo& info, std::int64_t count, std::int64_t first_row,
                std::span<const std::int64_t> row_ids, const float* features, const std::int32_t* labels,
                const float* targets);

// Writes a data set file (serially).
struct DatasetWriteOptions {
  int compression_level = 4;
};
void write_dataset_file(const std::string& path, std::int64_t rows, int features, const float* X,
                        const std::int32_t* labels, int num_classes, const float* targets, int target_width,
                        const DatasetWriteOptions& options = {});
void write_dataset_file_u8(const std::string& path, std::int64_t rows, int features, const std::uint8_t* X,
                           double scale, double offset, const std::int32_t* labels, int num_classes,
                           const DatasetWriteOptions& options = {});

}  // namespace dmlp
