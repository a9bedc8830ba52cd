#include "options.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/lr_schedule.hpp"
#include "dmlp/core/memory.hpp"

namespace dmlp::cli {
namespace {
// Unsigned options would silently wrap a negative value (--seed -1).
const CLI::Validator kNonNegative(
    [](std::string& text) { return !text.empty() && text[0] == '-' ? text + " is negative; expected >= 0" : std::string(); },
    "NONNEGATIVE");

// CLI11 reads "" as 0, clamps 2^64 to the largest value, and takes hex and
// leading blanks: a number must be written out plainly, and fit its type.
template <class Integer>
std::string plain_integer(const std::string& text) {
  const char* first = text.data();
  const char* last = first + text.size();
  const bool digits = !text.empty() && text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) == std::string::npos &&
                      text != "-";
  Integer value{};
  const auto [end, error] = std::from_chars(first, last, value);
  if (!digits || (error != std::errc() && error != std::errc::result_out_of_range) || end != last)
    return "'" + text + "' is not a whole number";
  if (error == std::errc::result_out_of_range)
    return text + " is out of range: " +
           (text[0] == '-' ? "at least " + std::to_string(std::numeric_limits<Integer>::min())
                           : "at most " + std::to_string(std::numeric_limits<Integer>::max()));
  return "";
}

std::string plain_real(const std::string& text) {
  const bool blank_or_hex = text.empty() || text.find_first_of(" \t\n\r\v\fxX") != std::string::npos;
  errno = 0;
  char* end = nullptr;
  const double value = blank_or_hex ? 0.0 : std::strtod(text.c_str(), &end);
  if (blank_or_hex || end != text.c_str() + text.size()) return "'" + text + "' is not a number";
  // "inf" and "nan" pass: each option says what it accepts; 1e400 and 1e-400 do not
  if (errno == ERANGE && std::isinf(value)) return text + " is out of range for a double";
  if (errno == ERANGE && value == 0 && text.find_first_of("123456789") != std::string::npos)
    return text + " is out of range for a double (it would be 0)";
  return "";
}

// An empty value is never meant (an unset shell variable, say): --resume ""
// would start afresh and set the directory's checkpoints aside.
std::string not_empty(const std::string& text) { return text.empty() ? "an empty value; give one, or leave the option out" : ""; }

const CLI::Validator kPlainInteger(plain_integer<std::int64_t>, "");
const CLI::Validator kPlainUnsigned(plain_integer<std::uint64_t>, "");
const CLI::Validator kPlainReal(plain_real, "");
const CLI::Validator kNotEmpty(not_empty, "");
}  // namespace

void require_plain_values(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    const std::string kind = type.substr(0, type.find(':'));
    if (kind == "INT") option->check(kPlainInteger);
    else if (kind == "UINT") option->check(kPlainUnsigned);
    else if (kind == "FLOAT") option->check(kPlainReal);
    else if (kind == "TEXT") option->check(kNotEmpty);
  }
  for (CLI::App* command : app.get_subcommands({})) require_plain_values(*command);
}

void ModelOptions::add_to(CLI::App& app) {
  app.add_option("--layers", layers,
                 "Layer widths, input first and output last: d,r_1,...,r_K (e.g. 784,256,128,10)");
  app.add_option("--activation", activation, "Hidden-layer activation: " + activation_names());
  app.add_option("--output-activation", output_activation,
                 "Output-layer activation; the losses take logits, so normally identity");
  app.add_option("--loss", loss,
                 "softmax-ce (multi-class), bce (binary, logistic regression), mse (regression), "
                 "hinge (binary, SVM)");
  app.add_option("--leaky-slope", leaky_slope, "Slope of leaky-relu for negative inputs, in [0,1)");
}

ModelSpec ModelOptions::spec() const {
  return make_mlp(parse_widths(layers), parse_activation(activation),
                  parse_activation(output_activation), parse_loss(loss), leaky_slope);
}

void RegularizationOptions::add_to(CLI::App& app) {
  app.add_option("--lambda", lambda, "Weight lambda of the penalty lambda*Omega(w)");
  app.add_option("--reg", reg, "Penalty Omega: l2 (sum w^2) or l1 (sum |w|)");
  app.add_flag("--reg-bias", reg_bias, "Penalise the biases too (by default only the weights)");
}

Regularization RegularizationOptions::spec() const {
  const Regularization r{parse_regularizer(reg), lambda, reg_bias};
  validate(r);
  return r;
}

void DataOptions::add_to(CLI::App& app) {
  app.add_option("--synthetic", synthetic,
                 "Train on a built-in data set: blobs|regression|xor|spirals (widths from --layers)");
  app.add_option("--samples", samples, "Synthetic training samples");
  test_samples_option = app.add_option("--test-samples", test_samples, "Synthetic test samples (default: samples/5)");
  app.add_option("--classes", classes,
                 "Synthetic classes (default: as many as the output layer can tell apart)");
  app.add_option("--noise", noise, "Synthetic noise level (default: the generator's)");
  app.add_option("--train", train_file, "Training set, an HDF5 file (see docs/formats.md)");
  app.add_option("--test", test_file, "Test set, an HDF5 file, evaluated after every epoch");
  app.add_option("--load", load,
                 "HDF5 training rows: all (every rank holds the set), stream (each rank reads its "
                 "rows, a read-ahead at a time), auto (all when its features take at most 1 GiB as float32)");
  app.add_option("--read-ahead-mb", read_ahead_mb,
                 "Streamed sets: how many upcoming rows (in MiB of float32) each rank reads at once");
}

run::DataConfig DataOptions::spec() const {
  run::DataConfig d;
  const bool test_samples_given = test_samples_option && test_samples_option->count() > 0;
  if (test_samples_given && test_samples < 0)
    throw InputError("--test-samples " + std::to_string(test_samples) + " must be >= 0 (0: no test set)");
  if (!synthetic.empty())
    d.synthetic = run::SyntheticData{parse_synthetic_kind(synthetic), samples, test_samples_given ? test_samples : -1,
                                     classes, noise};
  d.train_file = train_file;
  d.test_file = test_file;
  return d;
}

run::LoadingConfig DataOptions::loading() const { return {run::parse_load_mode(load), read_ahead_mb}; }

void OptimizerOptions::add_to(CLI::App& app) {
  app.add_option("--optimizer", optimizer,
                 "sgd, adamw (decoupled weight decay), lars (layer-wise trust ratio) or lamb (Adam moments with the "
                 "trust ratio); formulas in docs/optimizers.md");
  app.add_option("--lr", lr, "Learning rate eta_w for the weights");
  app.add_option("--lr-bias", lr_bias, "Learning rate eta_b for the biases (default: --lr)");
  given.momentum = app.add_option("--momentum", momentum, "Momentum mu, in [0,1) (sgd, lars); 0 is plain SGD");
  given.nesterov = app.add_flag("--nesterov", nesterov, "Nesterov momentum (sgd)");
  app.add_option("--weight-decay", weight_decay,
                 "Weight decay on the weights (biases excluded); decoupled from the gradient for adamw");
  given.beta1 = app.add_option("--beta1", beta1, "Decay of the first moment, in [0,1) (adamw, lamb)");
  given.beta2 = app.add_option("--beta2", beta2, "Decay of the second moment, in [0,1) (adamw, lamb)");
  given.eps = app.add_option("--eps", eps, "Added to the second moment's root, > 0 (adamw, lamb)");
  given.trust_coefficient =
      app.add_option("--trust-coefficient", trust_coefficient, "LARS's trust coefficient tau, > 0 (lars)");
  app.add_option("--lr-schedule", schedule, "constant or cosine (from --lr down towards 0 over the run)");
  app.add_option("--warmup-steps", warmup_steps, "Linear learning-rate warm-up steps");
  app.add_option("--lr-scaling", lr_scaling,
                 "Scale --lr and --lr-bias with the global batch B: none, linear (x B/B0) or sqrt (x sqrt(B/B0))");
  given.lr_reference_batch = app.add_option("--lr-reference-batch", lr_reference_batch,
                                            "B0, the batch that --lr and --lr-bias were tuned for (with --lr-scaling)");
}

OptimizerConfig OptimizerOptions::spec() const {
  OptimizerConfig c;
  c.kind = parse_optimizer(optimizer);
  c.lr_weights = lr;
  c.lr_bias = lr_bias == 0 ? lr : lr_bias;
  const bool sgd = c.kind == OptimizerKind::Sgd, lars = c.kind == OptimizerKind::Lars;
  const bool adam = c.kind == OptimizerKind::AdamW || c.kind == OptimizerKind::Lamb;
  // An option the chosen optimizer ignores would silently do nothing: refuse it.
  const auto refuse_unless = [&](bool used, const CLI::Option* option, const char* users) {
    if (!used && option && option->count() > 0)
      throw InputError(option->get_name() + " is an option of " + users + "; --optimizer " + optimizer +
                       " does not use it");
  };
  refuse_unless(sgd || lars, given.momentum, "sgd and lars");
  refuse_unless(sgd, given.nesterov, "sgd");
  refuse_unless(adam, given.beta1, "adamw and lamb");
  refuse_unless(adam, given.beta2, "adamw and lamb");
  refuse_unless(adam, given.eps, "adamw and lamb");
  refuse_unless(lars, given.trust_coefficient, "lars");
  c.momentum = adam ? 0.0 : momentum;
  c.nesterov = nesterov;
  c.weight_decay = weight_decay;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.eps = eps;
  c.trust_coefficient = trust_coefficient;
  validate(c);
  return c;
}

void RunOptions::add_to(CLI::App& app) {
  app.add_option("--batch-size", batch_size, "Global batch B, split over the ranks");
  app.add_option("--epochs", epochs, "Passes over the training set");
  app.add_option("--max-steps", max_steps, "Stop after this many steps (0: run all --epochs)");
  app.add_flag("--drop-last", drop_last, "Drop each epoch's final partial batch");
  micro_batch_option = app.add_option("--micro-batch", micro_batch,
                 "Cut each global batch into micro-batches of this many rows; each rank runs its micro-batches "
                 "one after another and communicates once per step (gradient accumulation; default: none, or " +
                     std::to_string(kDefaultReproducibleMicroBatch) + " with --reproducible)")
      ->default_str("none");
  app.add_flag("--reproducible", reproducible,
               "Bitwise the same results at every rank and thread count (micro-batches, one BLAS thread per "
               "micro-batch, exact sums; docs/reproducibility.md)");
  app.add_option("--seed", seed, "Seed of initialisation, data order and synthetic data")
      ->check(kNonNegative);
  app.add_option("--threads", threads,
                 "Threads per rank (default: cores on the node / ranks on the node)");
  app.add_option("--precision", precision, "float (training) or double (checks)");
  app.add_option("--bucket-mb", bucket_mb, "Gradient all-reduce bucket size in MiB");
  app.add_option("--reduction", reduction,
                 "node: the ranks of a node share one model in shared memory, each sums and updates its part of "
                 "it; allreduce: every rank all-reduces the whole gradient and updates the whole model")
      ->default_str("node");
  app.add_flag("--no-overlap", no_overlap,
               "One blocking all-reduce after backward instead of overlapped buckets");
  app.add_flag("--no-early-update", no_early_update,
               "Update the parameters after backward and the whole gradient sum, not each layer as soon as its "
               "gradient is final (for comparisons; the same bits)");
  app.add_option("--progress-slices", progress_slices,
                 "While gradient sums are in flight, cut backward's GEMMs into this many slices and let MPI progress "
                 "between them (1: whole GEMMs; other values may change the last bits, as --bucket-mb may)")
      ->check(CLI::Range(1, 64));
  app.add_option("--stall-timeout", stall_timeout,
                 "Seconds a rank may wait for the others in a collective before the job names the missing "
                 "ranks and ends with exit code 4 (0: never)");
  app.add_option("--metrics", metrics, "Write one JSON object per logged step and epoch here");
  app.add_option("--trace", trace,
                 "Write a per-rank timeline of the --trace-steps window here, as Chrome trace-event JSON "
                 "(Perfetto, chrome://tracing)");
  trace_steps_option = app.add_option("--trace-steps", trace_steps, "Steps A:B (counted from 1) that --trace records");
  app.add_option("--log-every", log_every, "Steps between progress lines");
  app.add_option("--progress", progress,
                 "auto (a live bar when stderr is a terminal, else lines), bar (also under mpirun), lines");
}

void CheckpointOptions::add_to(CLI::App& app) {
  app.add_option("--checkpoint-dir", dir, "Write checkpoints here");
  app.add_option("--checkpoint-every", every_steps, "Checkpoint every N steps");
  app.add_option("--checkpoint-every-seconds", every_seconds, "Checkpoint every S seconds");
  app.add_option("--keep-checkpoints", keep, "Keep the newest K checkpoints");
  app.add_option("--resume", resume, "Continue from a checkpoint file, or the newest valid one in a directory");
  app.add_option("--init", init, "Start a fresh run from the parameters of a checkpoint");
}

run::CheckpointPolicy CheckpointOptions::policy() const { return {dir, every_steps, every_seconds, keep}; }

void TrainOptions::add_to(CLI::App& app) {
  model.add_to(app);
  reg.add_to(app);
  data.add_to(app);
  optimizer.add_to(app);
  run.add_to(app);
  checkpoint.add_to(app);
}

run::RunConfig TrainOptions::config() const {
  run::RunConfig c;
  c.model = model.spec();
  TrainConfig& t = c.training;
  t.global_batch = run.batch_size;
  t.epochs = run.epochs;
  t.max_steps = run.max_steps;
  t.drop_last = run.drop_last;
  t.seed = run.seed;
  t.reproducible = run.reproducible;
  t.tuning.progress_slices = run.progress_slices;
  t.early_update = !run.no_early_update;
  const bool micro_batch_given = run.micro_batch_option && run.micro_batch_option->count() > 0;
  t.micro_batch = micro_batch_given ? run.micro_batch : run.reproducible ? kDefaultReproducibleMicroBatch : 0;
  t.optimizer = optimizer.spec();
  t.lr_scaling = parse_lr_scaling(optimizer.lr_scaling);
  t.lr_reference_batch = optimizer.lr_reference_batch;
  if (t.lr_scaling == LrScaling::None && optimizer.given.lr_reference_batch &&
      optimizer.given.lr_reference_batch->count() > 0)
    throw InputError("--lr-reference-batch is used by --lr-scaling linear or sqrt; --lr-scaling none does not use it");
  t.schedule = parse_lr_schedule(optimizer.schedule);
  t.warmup_steps = optimizer.warmup_steps;
  t.reg = reg.spec();
  t.log_every = run.log_every;
  c.data = data.spec();
  c.precision = run::parse_precision(run.precision);
  const run::Reduction reduction = run::parse_reduction(run.reduction);
  c.execution = {run.threads, run.bucket_mb, !run.no_overlap, run.stall_timeout, data.loading(), checkpoint.policy(),
                 {run.trace, 1, 20}, reduction};
  if (run.trace.empty() && run.trace_steps_option && run.trace_steps_option->count() > 0)
    throw InputError("--trace-steps " + run.trace_steps + " needs --trace FILE");
  {
    // A:B, two non-negative integers
    const std::string& s = run.trace_steps;
    const auto colon = s.find(':');
    const auto digits = [](const std::string& d) {
      return !d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == std::string::npos;
    };
    if (colon == std::string::npos || !digits(s.substr(0, colon)) || !digits(s.substr(colon + 1)))
      throw InputError("--trace-steps '" + s + "' (expected A:B, steps counted from 1, e.g. 10:20)");
    c.execution.trace.first_step = std::stoll(s.substr(0, colon));
    c.execution.trace.last_step = std::stoll(s.substr(colon + 1));
  }
  c.start = {checkpoint.resume, checkpoint.init};
  return c;
}

void GradcheckOptions::add_to(CLI::App& app) {
  model.add_to(app);
  reg.add_to(app);
  app.add_option("--batch-size", batch_size, "Rows in the random batch");
  app.add_option("--seed", seed, "Seed of the random network and batch")->check(kNonNegative);
  app.add_option("--threads", threads, "Threads");
  app.add_option("--threshold", threshold, "Fail when a layer's relative error exceeds this");
  app.add_option("--per-layer", per_layer, "Parameters checked per layer (0: all)");
  app.add_option("--step", step, "Finite-difference step h");
}

void ConvertIdxOptions::add_to(CLI::App& app) {
  app.add_option("--images", images, "IDX3 image file (.gz or raw), e.g. train-images-idx3-ubyte.gz")->required();
  app.add_option("--labels", labels, "IDX1 label file (.gz or raw)")->required();
  app.add_option("--out", out, "HDF5 data set to write")->required();
  app.add_option("--compression", compression, "Deflate level 0-9");
}

void ConvertCsvOptions::add_to(CLI::App& app) {
  app.add_option("--in", in, "CSV file: one row per sample, numeric columns")->required();
  app.add_option("--out", out, "HDF5 data set to write")->required();
  app.add_flag("--header", header, "The first line names the columns");
  app.add_option("--delimiter", delimiter, "Column separator");
  app.add_option("--label-column", label_column,
                 "Classification: 0-based column holding the integer class (-1: the last column)");
  target_columns_option = app.add_option("--target-columns", target_columns,
                 "Regression: 0-based columns holding the targets, e.g. 3 or 3,4 (instead of a label)");
  app.add_option("--num-classes", num_classes, "Number of classes (default: largest label + 1)");
  app.add_option("--compression", compression, "Deflate level 0-9");
}

void InferenceOptions::add_to(CLI::App& app, const std::string& data_help) {
  app.add_option("--checkpoint", checkpoint, "Checkpoint file")->required();
  app.add_option("--data", data, data_help)->required();
  app.add_option("--batch-size", batch_size, "Rows per forward pass");
  app.add_option("--load", load, "auto|all|stream, as for dmlp train");
  app.add_option("--threads", threads, "Threads per rank (default: cores on the node / ranks on the node)");
}

run::LoadingConfig InferenceOptions::loading() const {
  require_positive(double(batch_size), "--batch-size");
  require_at_most(batch_size, kMaxRows, "--batch-size");
  if (threads < 0) throw InputError("--threads " + std::to_string(threads) + " must be positive (0: choose)");
  return {run::parse_load_mode(load)};
}

void EvalOptions::add_to(CLI::App& app) {
  inference.add_to(app, "HDF5 data set with labels or targets");
  app.add_flag("--json", json, "Print one JSON object instead of text");
  app.add_flag("--reproducible", reproducible,
               "Bitwise the same sums at every rank and thread count: chunks of --batch-size rows at fixed "
               "places, one BLAS thread, exact sums");
}

void PredictOptions::add_to(CLI::App& app) {
  inference.add_to(app, "HDF5 data set; /features is all it needs");
  app.add_option("--out", out, "HDF5 file to write: /outputs [rows, outputs], /predicted_class [rows]")->required();
}

void InspectOptions::add_to(CLI::App& app) {
  app.add_option("file", file, "Checkpoint file")->required();
  app.add_option("--compare", compare, "A second checkpoint: report how far its parameters are from the first's");
}

void SynthOptions::add_to(CLI::App& app) {
  app.add_option("--kind", kind, "blobs|regression|xor|spirals");
  app.add_option("--rows", rows, "Training rows");
  app.add_option("--features", features, "Features per row (d)");
  app.add_option("--classes", classes, "Classes (blobs, spirals; xor has 2)");
  app.add_option("--targets", targets, "Targets per row (regression)");
  app.add_option("--seed", seed, "Seed: the same seed gives the same rows")->check(kNonNegative);
  app.add_option("--noise", noise, "Noise level (default: the generator's)");
  app.add_option("--out", out, "HDF5 file for the training rows")->required();
  app.add_option("--test-rows", test_rows, "Rows for a test set, disjoint from the training rows");
  app.add_option("--test-out", test_out, "HDF5 file for the test rows");
}

}  // namespace dmlp::cli
