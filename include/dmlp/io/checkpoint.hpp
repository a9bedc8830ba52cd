#pragma once
// Checkpoints: parameters, optimizer state, where training stands and how it
// was configured, in one HDF5 file (layout in docs/formats.md). Written to a
// temporary name, flushed to disk and renamed, so a crash never leaves half a
// checkpoint under a checkpoint's name; verified by checksum on load.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/train/position.hpp"

namespace dmlp {

// 2: the `config` attribute holds the run layer's configuration (run/config.hpp,
// docs/formats.md). Version 1 files still load; their config is not compared on resume.
// 3: state_fnv1a64 covers the whole training state, not only the arrays.
// 4: the optimizer's kind, update count and state arrays (/optimizer/<name>,
// each with <name>_fnv1a64), all covered by state_fnv1a64.
// 5: `data`, the fingerprints of the training and test sets (data/fingerprint.hpp),
// covered by state_fnv1a64.
inline constexpr int kCheckpointFormatVersion = 5;
inline constexpr int kOldestReadableCheckpointFormat = 1;

// What a checkpoint stores of the optimizer: its kind, its update count t,
// and its arrays by name (from kOptimizerStateNames), each laid out like the parameters.
template <class T>
struct OptimizerSnapshot {
  OptimizerKind kind = OptimizerKind::Sgd;
  std::int64_t steps = 0;
  std::vector<std::pair<std::string, std::span<const T>>> arrays;
};

nlohmann::json model_to_json(const ModelSpec& spec);
ModelSpec model_from_json(const nlohmann::json& j);  // throws InputError

struct CheckpointMeta {
  std::string path;
  int format_version = 0;
  std::string dmlp_version;
  std::string precision;  // "float32" or "float64"
  ModelSpec spec;
  nlohmann::json config;  // the run configuration (run::to_json), opaque here
  int ranks = 0;          // P that wrote it
  TrainPosition position;
  std::uint64_t seed = 0;
  std::uint64_t parameters_checksum = 0;
  bool has_velocity = false;
  std::uint64_t velocity_checksum = 0;
  OptimizerKind optimizer = OptimizerKind::Sgd;  // before format 4: sgd
  std::int64_t optimizer_steps = 0;
  std::vector<std::pair<std::string, std::uint64_t>> optimizer_arrays;  // name, checksum (velocity included)
  nlohmann::json data;  // format 5: {"train": fingerprint, "test": fingerprint or null}; null before
};

struct CheckpointState {
  const nlohmann::json& config;
  int ranks;
  std::uint64_t seed;
  const TrainPosition& position;
  const nlohmann::json& data;  // the data sets' fingerprints ({"train": …, "test": …}), opaque here
};

// Writes `path` atomically: DIR/.NAME.tmp-PID, fsync, rename, fsync DIR.
template <class T>
void write_checkpoint(const std::string& path, const Network<T>& net, const OptimizerSnapshot<T>& optimizer,
                      const CheckpointState& state);

// Reads and checks the metadata; throws InputError naming the file and the problem.
CheckpointMeta read_checkpoint_meta(const std::string& path);
// The metadata as one JSON value, every field exactly but the path (a file
// name need not be UTF-8), and back: how one rank's reading reaches the others.
nlohmann::json meta_to_json(const CheckpointMeta& meta);
CheckpointMeta meta_from_json(const nlohmann::json& j);

// The state_fnv1a64 that a file's attributes give (formats 3 on), whether or
// not the file holds it: for tools that repair checkpoints, and for tests that
// forge consistent ones.
std::uint64_t computed_state_checksum(const std::string& path);

// Reads the parameters, and each of the optimizer's arrays named that the
// file holds into its span (others are left alone), and verifies their
// checksums; throws InputError on a mismatch. Every span holds the model's
// parameter count.
template <class T>
void read_checkpoint_state(const CheckpointMeta& meta, std::span<T> params,
                           std::span<const std::pair<std::string, std::span<T>>> optimizer_arrays);

}  // namespace dmlp
