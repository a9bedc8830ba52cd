#pragma once
// A training run's whole configuration, as the library defines it: what
// determines the trained parameters (model, penalty, optimizer, schedule,
// batches, data, seed, precision) and how the run executes (threads,
// communication, data loading, reporting, checkpoints), which may change
// between a run and its resumption.
//
// to_json gives the checkpoint's `config` attribute (docs/formats.md); its
// layout belongs to this file, not to any command line.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::run {

enum class Precision { Float, Double };
Precision parse_precision(std::string_view name);  // float|double; throws InputError
std::string_view to_string(Precision p);

// HDF5 sets: held whole in memory on every rank (All), read a window of rows
// at a time (Stream), or All when the features take at most kLoadAllLimitBytes
// as float32 (Auto).
enum class LoadMode { Auto, All, Stream };
LoadMode parse_load_mode(std::string_view name);  // auto|all|stream; throws InputError
std::string_view to_string(LoadMode m);
inline constexpr std::size_t kLoadAllLimitBytes = std::size_t(1) << 30;

struct SyntheticData {
  SyntheticKind kind = SyntheticKind::Blobs;
  std::int64_t samples = 10000;     // training rows
  std::int64_t test_samples = -1;   // < 0: samples / 5
  int classes = 0;                  // 0: what the output layer fits
  double noise = -1;                // < 0: the generator's
};

struct DataConfig {
  std::optional<SyntheticData> synthetic;  // or HDF5 files:
  std::string train_file;
  std::string test_file;                   // optional
};

struct LoadingConfig {
  LoadMode mode = LoadMode::Auto;
  double read_ahead_mb = 256;  // streamed: upcoming rows read at once, in MiB of float32
};

struct CheckpointPolicy {
  std::string dir;               // empty: no checkpoints
  std::int64_t every_steps = 0;  // 0: not by steps
  double every_seconds = 0;      // 0: not by time
  int keep = 3;                  // the newest K are kept
};

inline constexpr double kMaxBucketMb = 1 << 20;  // 1 TiB: any larger is one bucket anyway

// --trace FILE --trace-steps A:B: a timeline of steps A … B (counted from 1).
struct TraceConfig {
  std::string file;  // empty: no trace
  std::int64_t first_step = 1, last_step = 20;
};

// How the gradient is summed over ranks and the update applied.
//   node       the ranks of a node share one model in shared memory: each sums
//              its part of every bucket from its peers' gradients and updates
//              that part (mpi/node_team.hpp); across nodes, the parts' owners
//              all-reduce them
//   allreduce  every rank all-reduces the whole gradient and updates the whole model
enum class Reduction { node, allreduce };
Reduction parse_reduction(std::string_view name);  // throws InputError naming --reduction
std::string_view to_string(Reduction reduction);

struct ExecutionConfig {
  int threads = 0;         // per rank; 0: the node's cores / its ranks
  double bucket_mb = 1.0;  // gradient all-reduce buckets
  bool overlap = true;     // all-reduce during backward
  double stall_timeout = 300;  // seconds a rank may wait in a collective; 0: no watchdog
  LoadingConfig loading;
  CheckpointPolicy checkpoint;
  TraceConfig trace;
  Reduction reduction = Reduction::node;
};

// Where the parameters come from: drawn from the seed, a checkpoint's
// parameters (init), or a checkpoint's whole state (resume: a file, or the
// newest good one in a directory).
struct StartFrom {
  std::string resume;
  std::string init;
};

struct RunConfig {
  ModelSpec model;
  TrainConfig training;  // batch, epochs, optimizer, schedule, penalty, seed, log interval
  DataConfig data;
  Precision precision = Precision::Float;
  ExecutionConfig execution;
  StartFrom start;
};

// Throws InputError naming the setting (as the command line spells it).
void validate(const RunConfig& config);

// The checkpoint's `config`: sections "model", "regularization", "optimizer",
// "training", "data" (what determines the result) and "execution" (what may
// change on resume). The start point is not part of it.
nlohmann::json to_json(const RunConfig& config);

// A checkpoint of format 1 stored the command line's option groups; this is
// the same configuration in to_json's layout, so that resuming compares it.
// The model comes from the checkpoint's own `model`. Throws
// nlohmann::json::exception when `v1` lacks a setting.
nlohmann::json config_from_format1(const nlohmann::json& v1, const ModelSpec& model);

// The settings (as JSON pointers, e.g. "/training/global_batch") whose stored
// value differs from this configuration's, outside the "execution" section.
std::vector<std::string> result_settings_differing(const nlohmann::json& stored, const RunConfig& config);

}  // namespace dmlp::run
