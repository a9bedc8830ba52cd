#include "dmlp/run/config.hpp"
#include "dmlp/train/memory_plan.hpp"

#include "dmlp/core/memory.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/core/name_table.hpp"
#include "dmlp/io/checkpoint.hpp"

namespace dmlp::run {
namespace {
constexpr NameTable<Precision, 2> kPrecisions{"--precision", {{{Precision::Float, "float"}, {Precision::Double, "double"}}}};
constexpr NameTable<LoadMode, 3> kLoadModes{
    "--load", {{{LoadMode::Auto, "auto"}, {LoadMode::All, "all"}, {LoadMode::Stream, "stream"}}}};

void validate(const CheckpointPolicy& c) {
  if (c.every_steps < 0) throw InputError("--checkpoint-every " + std::to_string(c.every_steps) + " must be >= 0");
  if (!(c.every_seconds >= 0))
    throw InputError("--checkpoint-every-seconds " + format_number(c.every_seconds) + " must be >= 0");
  if (c.keep < 1) throw InputError("--keep-checkpoints " + std::to_string(c.keep) + " must be at least 1");
  if ((c.every_steps > 0 || c.every_seconds > 0) && c.dir.empty())
    throw InputError("--checkpoint-every and --checkpoint-every-seconds need --checkpoint-dir");
}

void validate(const DataConfig& d, const LoadingConfig& loading) {
  if (d.synthetic && !d.train_file.empty()) throw InputError("give --synthetic or --train, not both");
  if (d.synthetic && !d.test_file.empty())
    throw InputError("--test " + d.test_file + " goes with --train; --synthetic makes its own test set (--test-samples)");
  if (!d.synthetic && d.train_file.empty()) throw InputError("no training data: give --train FILE or --synthetic KIND");
  if (d.synthetic) {
    require_positive(double(d.synthetic->samples), "--samples");
    if (d.synthetic->classes < 0)
      throw InputError("--classes " + std::to_string(d.synthetic->classes) + " must be positive (0: what the model fits)");
  }
  // checked even where nothing is streamed: it is part of the configuration a checkpoint keeps
  require_positive(loading.read_ahead_mb, "--read-ahead-mb");
  if (loading.read_ahead_mb > kMaxBucketMb)
    throw InputError("--read-ahead-mb " + format_number(loading.read_ahead_mb) + " must be at most " +
                     format_number(kMaxBucketMb) + " (1 TiB)");
}

nlohmann::json data_json(const DataConfig& d) {
  nlohmann::json synthetic = nullptr;
  if (const auto& s = d.synthetic)
    synthetic = {{"kind", std::string(to_string(s->kind))},
                 {"samples", s->samples},
                 {"test_samples", s->test_samples},
                 {"classes", s->classes},
                 {"noise", s->noise}};
  return {{"synthetic", synthetic}, {"train", d.train_file}, {"test", d.test_file}};
}

constexpr NameTable<Reduction, 2> kReductions{"--reduction", {{{Reduction::node, "node"}, {Reduction::allreduce, "allreduce"}}}};

nlohmann::json execution_json(const ExecutionConfig& e, const TrainConfig& t) {
  const CheckpointPolicy& c = e.checkpoint;
  return {{"threads", e.threads},
          {"bucket_mb", e.bucket_mb},
          {"overlap", e.overlap},
          {"reduction", std::string(to_string(e.reduction))},
          {"stall_timeout", e.stall_timeout},
          {"load", std::string(to_string(e.loading.mode))},
          {"read_ahead_mb", e.loading.read_ahead_mb},
          {"log_every", t.log_every},
          {"trace", {{"file", e.trace.file}, {"first_step", e.trace.first_step}, {"last_step", e.trace.last_step}}},
          {"checkpoint",
           {{"dir", c.dir}, {"every_steps", c.every_steps}, {"every_seconds", c.every_seconds}, {"keep", c.keep}}}};
}
}  // namespace

Precision parse_precision(std::string_view name) { return kPrecisions.parse(name); }
Reduction parse_reduction(std::string_view name) { return kReductions.parse(name); }
std::string_view to_string(Reduction reduction) { return kReductions.name(reduction); }
std::string_view to_string(Precision p) { return kPrecisions.name(p); }
LoadMode parse_load_mode(std::string_view name) { return kLoadModes.parse(name); }
std::string_view to_string(LoadMode m) { return kLoadModes.name(m); }

void validate(const RunConfig& c) {
  validate(c.model);
  validate(c.training);
  validate(c.execution.checkpoint);
  validate(c.data, c.execution.loading);
  if (!(c.execution.bucket_mb >= 0 && c.execution.bucket_mb <= kMaxBucketMb))
    throw InputError("--bucket-mb " + format_number(c.execution.bucket_mb) + " must be a number of MiB in [0, " +
                     std::to_string(std::int64_t(kMaxBucketMb)) + "]");
  if (!(c.execution.stall_timeout == 0 || c.execution.stall_timeout >= 1) || !std::isfinite(c.execution.stall_timeout))
    throw InputError("--stall-timeout " + format_number(c.execution.stall_timeout) +
                     " must be 0 (no stall watchdog) or at least 1 second");
  if (c.execution.threads < 0)
    throw InputError("--threads " + std::to_string(c.execution.threads) + " must be positive (0: choose)");
  if (const TraceConfig& t = c.execution.trace; t.first_step < 1 || t.last_step < t.first_step)
    throw InputError("--trace-steps " + std::to_string(t.first_step) + ":" + std::to_string(t.last_step) +
                     " must be A:B with 1 <= A <= B");
  if (!c.start.resume.empty() && !c.start.init.empty()) throw InputError("give --resume or --init, not both");
  const std::size_t element = c.precision == Precision::Double ? 8 : 4;
  require_memory(training_memory(c.model, c.training.optimizer, element, 0, 1, false).model,
                 "the model " + c.model.describe() + " (parameters, gradients and optimizer state)");
  if (const auto& s = c.data.synthetic) {
    const double rows = double(s->samples) + double(s->test_samples >= 0 ? s->test_samples : s->samples / 5);
    require_memory(rows * (double(c.model.inputs()) * 4 + 8),
                   "the synthetic set of " + format_number(rows) + " rows (--samples, --test-samples)");
  }
}

nlohmann::json to_json(const RunConfig& c) {
  const TrainConfig& t = c.training;
  return {{"model", model_to_json(c.model)},
          {"regularization",
           {{"penalty", std::string(to_string(t.reg.kind))}, {"lambda", t.reg.lambda}, {"include_bias", t.reg.include_bias}}},
          {"optimizer",
           {{"kind", std::string(to_string(t.optimizer.kind))},
            {"lr_weights", t.optimizer.lr_weights},
            {"lr_bias", t.optimizer.lr_bias},
            {"momentum", t.optimizer.momentum},
            {"nesterov", t.optimizer.nesterov},
            {"weight_decay", t.optimizer.weight_decay},
            {"beta1", t.optimizer.beta1},
            {"beta2", t.optimizer.beta2},
            {"eps", t.optimizer.eps},
            {"trust_coefficient", t.optimizer.trust_coefficient},
            {"lr_scaling", std::string(to_string(t.lr_scaling))},
            {"lr_reference_batch", t.lr_reference_batch},
            {"schedule", std::string(to_string(t.schedule))},
            {"warmup_steps", t.warmup_steps}}},
          {"training",
           {{"global_batch", t.global_batch},
            {"epochs", t.epochs},
            {"max_steps", t.max_steps},
            {"drop_last", t.drop_last},
            {"seed", t.seed},
            {"micro_batch", t.micro_batch},
            {"reproducible", t.reproducible},
            {"precision", std::string(to_string(c.precision))}}},
          {"data", data_json(c.data)},
          {"execution", execution_json(c.execution, t)}};
}

nlohmann::json config_from_format1(const nlohmann::json& v1, const ModelSpec& model) {
  // Where each compared setting of to_json's layout stood in format 1.
  static constexpr std::pair<const char*, const char*> kMoves[] = {
      {"/regularization/penalty", "/regularization/reg"},     {"/regularization/lambda", "/regularization/lambda"},
      {"/regularization/include_bias", "/regularization/reg_bias"}, {"/optimizer/lr_weights", "/optimizer/lr"},
      {"/optimizer/lr_bias", "/optimizer/lr_bias"},           {"/optimizer/momentum", "/optimizer/momentum"},
      {"/optimizer/nesterov", "/optimizer/nesterov"},         {"/optimizer/weight_decay", "/optimizer/weight_decay"},
      {"/optimizer/schedule", "/optimizer/lr_schedule"},      {"/optimizer/warmup_steps", "/optimizer/warmup_steps"},
      {"/training/global_batch", "/run/batch_size"},          {"/training/epochs", "/run/epochs"},
      {"/training/max_steps", "/run/max_steps"},              {"/training/drop_last", "/run/drop_last"},
      {"/training/seed", "/run/seed"},                        {"/training/precision", "/run/precision"},
      {"/data/train", "/data/train"},                         {"/data/test", "/data/test"}};
  static constexpr std::pair<const char*, const char*> kSyntheticMoves[] = {
      {"/data/synthetic/kind", "/data/synthetic"},       {"/data/synthetic/samples", "/data/samples"},
      {"/data/synthetic/test_samples", "/data/test_samples"}, {"/data/synthetic/classes", "/data/classes"},
      {"/data/synthetic/noise", "/data/noise"}};
  using Pointer = nlohmann::json::json_pointer;
  nlohmann::json now = {{"model", model_to_json(model)}, {"data", {{"synthetic", nullptr}}}};
  for (const auto& [to, from] : kMoves) now[Pointer(to)] = v1.at(Pointer(from));
  if (!v1.at(Pointer("/data/synthetic")).get<std::string>().empty())
    for (const auto& [to, from] : kSyntheticMoves) now[Pointer(to)] = v1.at(Pointer(from));
  return now;
}

namespace {
// A synthetic set's defaults as the generator resolves them (synthetic_sets in
// data_sources.cpp): classes 0 is what the output layer fits, test_samples < 0
// is samples / 5. A run that gave them explicitly made the same data.
void resolve_synthetic_defaults(nlohmann::json& config, const ModelSpec& model) {
  const nlohmann::json::json_pointer at("/data/synthetic");
  if (!config.contains(at) || !config.at(at).is_object()) return;
  nlohmann::json& s = config.at(at);
  if (s.contains("kind") && s["kind"] == "regression")
    s["classes"] = 0;  // unused
  else if (s.contains("classes") && s["classes"].is_number_integer() && s["classes"].get<std::int64_t>() <= 0)
    s["classes"] = std::max(2, num_classes_for_output(model.loss, model.outputs()));
  if (s.contains("test_samples") && s["test_samples"].is_number_integer() && s["test_samples"].get<std::int64_t>() < 0 &&
      s.contains("samples") && s["samples"].is_number_integer())
    s["test_samples"] = s["samples"].get<std::int64_t>() / 5;
}
}  // namespace

std::vector<std::string> result_settings_differing(const nlohmann::json& stored, const RunConfig& config) {
  nlohmann::json a = stored.is_object() ? stored : nlohmann::json::object(), b = to_json(config);
  resolve_synthetic_defaults(a, config.model);
  resolve_synthetic_defaults(b, config.model);
  // Checkpoints before micro-batches trained without them.
  if (a.contains("training") && a["training"].is_object()) {
    if (!a["training"].contains("micro_batch")) a["training"]["micro_batch"] = 0;
    if (!a["training"].contains("reproducible")) a["training"]["reproducible"] = false;
  }
  // Checkpoints before the other optimizers trained with SGD's settings alone.
  if (a.contains("optimizer") && a["optimizer"].is_object() && !a["optimizer"].contains("kind")) {
    const OptimizerConfig defaults;
    a["optimizer"].update({{"kind", "sgd"},
                           {"beta1", defaults.beta1},
                           {"beta2", defaults.beta2},
                           {"eps", defaults.eps},
                           {"trust_coefficient", defaults.trust_coefficient},
                           {"lr_scaling", "none"},
                           {"lr_reference_batch", kDefaultLrReferenceBatch}});
  }
  a.erase("execution");
  b.erase("execution");
  const nlohmann::json fa = a.flatten(), fb = b.flatten();
  std::vector<std::string> keys;
  for (const auto& [key, value] : fa.items())
    if (!fb.contains(key) || fb[key] != value) keys.push_back(key);
  for (const auto& [key, value] : fb.items())
    if (!fa.contains(key)) keys.push_back(key);
  return keys;
}

}  // namespace dmlp::run
