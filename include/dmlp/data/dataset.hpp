#pragma once
// Where training rows come from. A RowSource knows the shape of its data and
// copies any set of rows, by index, into a batch buffer: from memory, from a
// generator, or from an HDF5 file.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dmlp {

enum class TaskKind { Classification, Regression };

// Bounds on any data set's shape, whoever writes or reads it (files, the
// converters, the generators). Widths end up as int BLAS dimensions; an
// evaluation keeps a classes x classes confusion matrix of doubles (at this
// many classes, 32 GiB).
inline constexpr std::int64_t kMaxClasses = 1 << 16;
inline constexpr std::int64_t kMaxWidth = std::int64_t{1} << 24;  // features or targets per row

struct DataShape {
  std::int64_t rows = 0;
  int features = 0;  // d
  TaskKind task = TaskKind::Classification;
  int num_classes = 0;  // classification: labels lie in [0, num_classes)
  int targets = 0;      // regression: k real targets per row
  bool is_classification() const { return task == TaskKind::Classification; }
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual const DataShape& shape() const = 0;
  virtual std::string name() const = 0;  // for messages: a file path or "synthetic blobs"

  // Copies rows indices[i] into X (count, d) and into labels (count) or
  // targets (count, k), whichever the task has (the other may be null).
  virtual void gather(std::span<const std::int64_t> indices, float* X, std::int32_t* labels,
                      float* targets) const = 0;
  virtual void gather(std::span<const std::int64_t> indices, double* X, std::int32_t* labels,
                      double* targets) const = 0;

  // Sources that read from storage ask to be told, `read_ahead_rows()` rows at a
  // time, which rows this rank will gather next; in-memory sources need not.
  virtual std::int64_t read_ahead_rows() const { return 0; }
  // Processes that share the rows this source holds, which count once among them.
  virtual int sharers() const { return 1; }
  virtual void read_ahead(std::span<const std::int64_t> /*rows*/) {}

  // hash_rows of block `block` (data/fingerprint.hpp: rows [block·K, (block+1)·K)
  // with K = kFingerprintBlockRows), as gather would give them.
  virtual std::uint64_t hash_block(std::int64_t block) const = 0;
  // How the source stores its features, for the fingerprint ("float32", "generated").
  virtual std::string stored_as() const = 0;
};

// Memory for a data set's rows that the data set does not allocate: the
// node's shared memory, which one rank or the node's ranks fill and all read
// (io/dataset_file.hpp). `owner` keeps it alive as long as the data set.
struct RowStorage {
  std::span<float> features;      // (rows, d)
  std::span<std::int32_t> labels;  // (rows), classification
  std::span<float> targets;       // (rows, k), regression
  std::shared_ptr<void> owner;
  int sharers = 1;                // processes that read it: it counts once among them
};

// Rows held in memory as float32.
class InMemoryDataset final : public RowSource {
 public:
  InMemoryDataset(DataShape shape, std::string name);
  // Over outside storage, sized for `shape` (throws std::logic_error if not).
  InMemoryDataset(DataShape shape, std::string name, RowStorage storage);
  InMemoryDataset(const InMemoryDataset&) = delete;  // the views would point into the original
  InMemoryDataset& operator=(const InMemoryDataset&) = delete;
  InMemoryDataset(InMemoryDataset&&) noexcept = default;  // the views follow the moved vectors' heap storage
  InMemoryDataset& operator=(InMemoryDataset&&) = delete;
  const DataShape& shape() const override { return shape_; }
  std::string name() const override { return name_; }
  void gather(std::span<const std::int64_t> indices, float* X, std::int32_t* labels,
              float* targets) const override;
  void gather(std::span<const std::int64_t> indices, double* X, std::int32_t* labels,
              double* targets) const override;
  std::uint64_t hash_block(std::int64_t block) const override;
  std::string stored_as() const override { return stored_as_; }
  void set_stored_as(std::string text) { stored_as_ = std::move(text); }

  // Throws InputError naming the first row with a label outside
  // [0, num_classes) or a feature or target that is NaN or infinite.
  void validate() const;

  std::span<float> features() { return features_; }  // (rows, d)
  std::span<std::int32_t> labels() { return labels_; }  // (rows)
  std::span<float> targets() { return targets_; }      // (rows, k)
  std::span<const float> features() const { return features_; }
  std::span<const std::int32_t> labels() const { return labels_; }
  std::span<const float> targets() const { return targets_; }
  // Processes that share these rows (1: this one holds them alone).
  int sharers() const override { return storage_.sharers; }

 private:
  template <class T>
  void gather_as(std::span<const std::int64_t> indices, T* X, std::int32_t* labels,
                 T* targets) const;

  DataShape shape_;
  std::string name_;
  std::string stored_as_ = "float32";
  std::vector<float> owned_features_, owned_targets_;  // empty over outside storage
  std::vector<std::int32_t> owned_labels_;
  RowStorage storage_;
  std::span<float> features_;
  std::span<std::int32_t> labels_;
  std::span<float> targets_;
};

}  // namespace dmlp
