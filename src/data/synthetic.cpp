#include "dmlp/data/synthetic.hpp"
#include "dmlp/core/settings.hpp"

#include <cmath>
#include <numbers>
#include <vector>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/name_table.hpp"
#include "dmlp/core/rng.hpp"

namespace dmlp {
namespace {
// Substreams of RngStream::Synthetic, one per kind of draw.
enum Part : std::uint32_t { kFeatures = 0, kLabels = 1, kModel = 2, kModelBias = 3 };

double default_noise(SyntheticKind kind) {
  switch (kind) {
    case SyntheticKind::Blobs: return 0.5;
    case SyntheticKind::Regression: return 0.1;
    case SyntheticKind::Xor: return 0.0;
    case SyntheticKind::Spirals: return 0.05;
  }
  return 0.0;
}

constexpr NameTable<SyntheticKind, 4> kSyntheticKindNames{
    "synthetic data set", {{{SyntheticKind::Blobs, "blobs"}, {SyntheticKind::Regression, "regression"},
                            {SyntheticKind::Xor, "xor"}, {SyntheticKind::Spirals, "spirals"}}}};
}  // namespace

SyntheticKind parse_synthetic_kind(std::string_view name) { return kSyntheticKindNames.parse(name); }
std::string_view to_string(SyntheticKind kind) { return kSyntheticKindNames.name(kind); }

void validate(const SyntheticSpec& spec) {
  const std::string name(to_string(spec.kind));
  if (spec.features < 1)
    throw InputError("synthetic " + name + ": the input width must be positive");
  if ((spec.kind == SyntheticKind::Xor || spec.kind == SyntheticKind::Spirals) && spec.features < 2)
    throw InputError("synthetic " + name + " needs at least 2 inputs, but the model has " +
                     std::to_string(spec.features));
  if (spec.kind == SyntheticKind::Xor && spec.outputs != 2)
    throw InputError("synthetic xor has 2 classes, but the model's output fits " +
                     std::to_string(spec.outputs));
  if (spec.kind != SyntheticKind::Regression && spec.outputs < 2)
    throw InputError("synthetic " + name + " needs at least 2 classes");
  if (spec.outputs < 1) throw InputError("synthetic " + name + ": the output width must be positive");
  if (spec.features > kMaxWidth)
    throw InputError("synthetic " + name + ": " + std::to_string(spec.features) + " features; at most " +
                     std::to_string(kMaxWidth) + " (what a data set may hold)");
  const bool regression = spec.kind == SyntheticKind::Regression;
  if (spec.outputs > (regression ? kMaxWidth : kMaxClasses))
    throw InputError("synthetic " + name + ": " + std::to_string(spec.outputs) + (regression ? " targets" : " classes") +
                     "; at most " + std::to_string(regression ? kMaxWidth : kMaxClasses) + " (what a data set may hold)");
  if (!std::isfinite(spec.noise) || (spec.noise < 0 && spec.noise != -1))
    throw InputError(setting("noise") + " " + format_number(spec.noise) + " must be a finite number >= 0");
  if (spec.noise > kMaxSyntheticNoise)
    throw InputError(setting("noise") + " " + format_number(spec.noise) + " is more than " + format_number(kMaxSyntheticNoise) +
                     ": the generators' structure has unit scale, so such noise is all the data would hold, and "
                     "its squares overflow float32 in training");
}

std::unique_ptr<InMemoryDataset> make_synthetic(const SyntheticSpec& spec, std::int64_t first_row,
                                                std::int64_t rows) {
  validate(spec);
  const int d = spec.features, k = spec.outputs;
  const double noise = spec.noise >= 0 ? spec.noise : default_noise(spec.kind);
  DataShape shape;
  shape.rows = rows;
  shape.features = d;
  if (spec.kind == SyntheticKind::Regression) {
    shape.task = TaskKind::Regression;
    shape.targets = k;
  } else {
    shape.task = TaskKind::Classification;
    shape.num_classes = k;
  }
  auto data = std::make_unique<InMemoryDataset>(
      shape, "synthetic " + std::string(to_string(spec.kind)) + " (seed " +
                 std::to_string(spec.seed) + ")");
  data->set_stored_as("generated");
  const CounterRng features(spec.seed, RngStream::Synthetic, kFeatures);
  const CounterRng labels(spec.seed, RngStream::Synthetic, kLabels);
  const CounterRng model(spec.seed, RngStream::Synthetic, kModel);
  const CounterRng model_bias(spec.seed, RngStream::Synthetic, kModelBias);

  // The generating model's parameters: blob centres (k, d), or A (k, d) and c (k).
  std::vector<double> centres(std::size_t(k) * d);
  std::vector<double> offsets(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < centres.size(); ++i)
    centres[i] = spec.kind == SyntheticKind::Regression ? model.normal(i) / std::sqrt(double(d))
                                                        : 2 * model.uniform(i) - 1;
  for (std::size_t t = 0; t < offsets.size(); ++t) offsets[t] = 2 * model_bias.uniform(t) - 1;

  float* X = data->features().data();
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto row = std::uint64_t(first_row + r);
    float* x = X + std::size_t(r) * d;
    const std::uint64_t base = row * std::uint64_t(d + 1);  // d + 1 draws per row at most
    switch (spec.kind) {
      case SyntheticKind::Blobs: {
        const int c = int(labels.below(row, std::uint64_t(k)));
        for (int j = 0; j < d; ++j)
          x[j] = float(centres[std::size_t(c) * d + j] + noise * features.normal(base + j));
        data->labels()[r] = c;
        break;
      }
      case SyntheticKind::Regression: {
        for (int j = 0; j < d; ++j) x[j] = float(2 * features.uniform(base + j) - 1);
        for (int t = 0; t < k; ++t) {
          double y = offsets[t] + noise * labels.normal(row * std::uint64_t(k) + t);
          for (int j = 0; j < d; ++j) y += centres[std::size_t(t) * d + j] * x[j];
          data->targets()[std::size_t(r) * k + t] = float(y);
        }
        break;
      }
      case SyntheticKind::Xor: {
        for (int j = 0; j < d; ++j) x[j] = float(2 * features.uniform(base + j) - 1);
        data->labels()[r] = (x[0] > 0) != (x[1] > 0) ? 1 : 0;
        for (int j = 0; j < 2; ++j) x[j] += float(noise * features.normal(~(base + j)));
        break;
      }
      case SyntheticKind::Spirals: {
        const int c = int(labels.below(row, std::uint64_t(k)));
        const double t = features.uniform(base);  // position along the arm
        const double angle = 2 * std::numbers::pi * (double(c) / k + 0.75 * t);
        x[0] = float(t * std::cos(angle) + noise * features.normal(base + 1));
        x[1] = float(t * std::sin(angle) + noise * features.normal(base + 2));
        for (int j = 2; j < d; ++j) x[j] = float(noise * features.normal(base + j + 1));
        data->labels()[r] = c;
        break;
      }
    }
  }
  return data;
}

}  // namespace dmlp
