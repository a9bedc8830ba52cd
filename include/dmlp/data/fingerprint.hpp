#pragma once
// What identifies a data set: its shape, how its file stores the features,
// and a hash of every row as training sees it (float32 features after any
// scale and offset, int32 labels or float32 targets). The rows are hashed in
// fixed blocks of kFingerprintBlockRows, and the blocks' hashes in order, so
// that any number of ranks, each hashing some blocks, gets the same value.
// A checkpoint keeps its training set's fingerprint; resuming on a file
// regenerated at the same path is then refused (run/checkpoint_load.hpp).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "dmlp/data/dataset.hpp"

namespace dmlp {

inline constexpr std::int64_t kFingerprintBlockRows = std::int64_t{1} << 16;

struct DataFingerprint {
  DataShape shape;
  std::string stored;          // how the features are stored: "float32", "uint8 x 0.00392157 + 0", "generated"
  std::uint64_t content = 0;   // XXH3-64 of the blocks' hashes

  nlohmann::json to_json() const;
  static DataFingerprint from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
  // What differs from `now`, in words ("rows 1200, now 1300; the rows' content");
  // empty when nothing does.
  std::string differences(const DataFingerprint& now) const;
};

// The blocks of a set of `rows` rows.
inline std::int64_t fingerprint_blocks(std::int64_t rows) {
  return (rows + kFingerprintBlockRows - 1) / kFingerprintBlockRows;
}
// The hash of `rows` consecutive rows: X (rows, d), labels (rows) or targets (rows, k); either may be null.
std::uint64_t hash_rows(const float* X, const std::int32_t* labels, const float* targets, std::int64_t rows, int d,
                        int k);
// The content hash of a set from its blocks' hashes, in block order.
std::uint64_t combine_block_hashes(std::span<const std::uint64_t> blocks);

}  // namespace dmlp
