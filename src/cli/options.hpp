#pragma once
// Command-line options, grouped as the subcommands share them, and their
// translation into the library's configuration (run/config.hpp).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/run/config.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::cli {

// Every integer and real option of `app` and its subcommands must be written
// out plainly and fit its type: "" (CLI11: 0), 2^64 (CLI11: clamped), 0x10 and
// " 5" are refused; and no option's value may be empty. Call once every
// option is added.
void require_plain_values(CLI::App& app);

struct ModelOptions {
  std::string layers = "784,256,128,10";
  std::string activation = "relu";
  std::string output_activation = "identity";
  std::string loss = "softmax-ce";
  double leaky_slope = 0.01;

  void add_to(CLI::App& app);
  ModelSpec spec() const;  // throws InputError
};

struct RegularizationOptions {
  double lambda = 0.0;
  std::string reg = "l2";
  bool reg_bias = false;

  void add_to(CLI::App& app);
  Regularization spec() const;
};

struct DataOptions {
  std::string synthetic;          // blobs|regression|xor|spirals
  std::int64_t samples = 10000;   // synthetic training rows
  std::int64_t test_samples = -1; // synthetic test rows; not given: samples / 5
  const CLI::Option* test_samples_option = nullptr;  // says whether it was given
  int classes = 0;                // synthetic classes; 0: what the output layer fits
  double noise = -1;
  std::string train_file;
  std::string test_file;
  std::string load = "auto";      // HDF5: auto|all|stream
  double read_ahead_mb = 256;     // streamed: rows read ahead, as float32

  void add_to(CLI::App& app);
  run::DataConfig spec() const;  // throws InputError
  run::LoadingConfig loading() const;
};

struct OptimizerOptions {
  std::string optimizer = "sgd";
  double lr = 0.05;
  double lr_bias = 0;  // 0: same as --lr
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double trust_coefficient = 0.001;
  std::string schedule = "constant";
  std::int64_t warmup_steps = 0;
  std::string lr_scaling = "none";
  std::int64_t lr_reference_batch = kDefaultLrReferenceBatch;
  // whether each optimizer-specific option was given: one given to an
  // optimizer that does not use it is an error
  struct Given {
    const CLI::Option *momentum, *nesterov, *beta1, *beta2, *eps, *trust_coefficient, *lr_reference_batch;
  } given{};

  void add_to(CLI::App& app);
  OptimizerConfig spec() const;  // throws InputError
};

struct RunOptions {
  std::int64_t batch_size = 128;
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;
  bool drop_last = false;
  std::uint64_t seed = 1;
  std::int64_t micro_batch = 0;  // when not given: none, or 32 with --reproducible
  const CLI::Option* micro_batch_option = nullptr;  // says whether it was given
  bool reproducible = false;
  int threads = 0;  // 0: cores on the node / ranks on the node
  std::string precision = "float";
  std::string reduction = "node";
  double bucket_mb = 1.0;
  bool no_overlap = false;
  int progress_slices = 1;
  bool no_early_update = false;
  double stall_timeout = 300;
  std::string metrics;
  std::string trace;
  std::string trace_steps = "1:20";
  const CLI::Option* trace_steps_option = nullptr;  // says whether it was given
  std::int64_t log_every = 100;
  std::string progress = "auto";

  void add_to(CLI::App& app);
};

struct CheckpointOptions {
  std::string dir;
  std::int64_t every_steps = 0;
  double every_seconds = 0;
  int keep = 3;
  std::string resume;
  std::string init;

  void add_to(CLI::App& app);
  run::CheckpointPolicy policy() const;
};

struct TrainOptions {
  ModelOptions model;
  RegularizationOptions reg;
  DataOptions data;
  OptimizerOptions optimizer;
  RunOptions run;
  CheckpointOptions checkpoint;

  void add_to(CLI::App& app);
  run::RunConfig config() const;  // throws InputError
};

struct GradcheckOptions {
  ModelOptions model;
  RegularizationOptions reg;
  std::int64_t batch_size = 4;
  std::uint64_t seed = 1;
  int threads = 1;
  double threshold = 1e-6;
  std::int64_t per_layer = 200;
  double step = 1e-4;

  void add_to(CLI::App& app);
};

struct ConvertIdxOptions {
  std::string images;  // IDX3 ubyte images, gzipped or raw
  std::string labels;  // IDX1 ubyte labels, gzipped or raw
  std::string out;
  int compression = 4;
  void add_to(CLI::App& app);
};

struct ConvertCsvOptions {
  std::string in;
  std::string out;
  bool header = false;
  char delimiter = ',';
  int label_column = -1;       // classification: this column holds the class (-1: the last)
  std::string target_columns;  // regression: these columns (e.g. "3,4") are targets
  const CLI::Option* target_columns_option = nullptr;  // given, even as ''?
  int num_classes = 0;         // 0: largest label + 1
  int compression = 4;
  void add_to(CLI::App& app);
};

struct SynthOptions {
  std::string kind = "blobs";
  std::int64_t rows = 10000;
  int features = 2;
  int classes = 2;
  int targets = 1;
  std::uint64_t seed = 1;
  double noise = -1;
  std::string out;
  std::int64_t test_rows = 0;
  std::string test_out;
  void add_to(CLI::App& app);
};

// What eval and predict share: a checkpoint, a data set, and how to read it.
struct InferenceOptions {
  std::string checkpoint;
  std::string data;
  std::int64_t batch_size = 1024;  // rows per forward pass
  std::string load = "auto";
  int threads = 0;
  void add_to(CLI::App& app, const std::string& data_help);
  run::LoadingConfig loading() const;  // checks --batch-size and --load; throws InputError
};

struct EvalOptions {
  InferenceOptions inference;
  bool json = false;
  bool reproducible = false;
  void add_to(CLI::App& app);
};

struct PredictOptions {
  InferenceOptions inference;
  std::string out;
  void add_to(CLI::App& app);
};

struct InspectOptions {
  std::string file;
  std::string compare;
  void add_to(CLI::App& app);
};

}  // namespace dmlp::cli
