#include "dmlp/data/fingerprint.hpp"

#include <cinttypes>
#include <cstdio>

// xxHash (libxxhash-dev), header-only: nothing to link, for dmlp or its users.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace dmlp {

std::uint64_t hash_rows(const float* X, const std::int32_t* labels, const float* targets, std::int64_t rows, int d,
                        int k) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  const std::size_t n = std::size_t(rows);
  if (X) XXH3_64bits_update(&state, X, n * std::size_t(d) * sizeof(float));
  if (labels) XXH3_64bits_update(&state, labels, n * sizeof(std::int32_t));
  if (targets) XXH3_64bits_update(&state, targets, n * std::size_t(k) * sizeof(float));
  return XXH3_64bits_digest(&state);
}

std::uint64_t combine_block_hashes(std::span<const std::uint64_t> blocks) {
  return XXH3_64bits(blocks.data(), blocks.size_bytes());
}

namespace {
std::string hex(std::uint64_t value) {
  char text[20];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}
}  // namespace

nlohmann::json DataFingerprint::to_json() const {
  nlohmann::json j = {{"rows", shape.rows},         {"features", shape.features}, {"stored", stored},
                      {"content_xxh3", hex(content)}, {"block_rows", kFingerprintBlockRows}};
  if (shape.is_classification())
    j["classes"] = shape.num_classes;
  else
    j["targets"] = shape.targets;
  return j;
}

DataFingerprint DataFingerprint::from_json(const nlohmann::json& j) {
  DataFingerprint f;
  f.shape.rows = j.at("rows").get<std::int64_t>();
  f.shape.features = j.at("features").get<int>();
  f.stored = j.at("stored").get<std::string>();
  if (j.contains("classes")) {
    f.shape.task = TaskKind::Classification;
    f.shape.num_classes = j.at("classes").get<int>();
  } else {
    f.shape.task = TaskKind::Regression;
    f.shape.targets = j.at("targets").get<int>();
  }
  const std::string text = j.at("content_xxh3").get<std::string>();
  std::size_t used = 0;
  f.content = std::stoull(text, &used, 16);
  if (used != text.size() || j.at("block_rows").get<std::int64_t>() != kFingerprintBlockRows)
    throw nlohmann::json::other_error::create(501, "content_xxh3 or block_rows is malformed", nullptr);
  return f;
}

std::string DataFingerprint::differences(const DataFingerprint& now) const {
  std::string text;
  const auto differ = [&](const std::string& what, const std::string& then, const std::string& is) {
    if (then != is) text += (text.empty() ? "" : "; ") + what + " " + then + ", now " + is;
  };
  differ("rows", std::to_string(shape.rows), std::to_string(now.shape.rows));
  differ("features", std::to_string(shape.features), std::to_string(now.shape.features));
  differ("task", shape.is_classification() ? "classification" : "regression",
         now.shape.is_classification() ? "classification" : "regression");
  if (shape.is_classification() && now.shape.is_classification())
    differ("classes", std::to_string(shape.num_classes), std::to_string(now.shape.num_classes));
  if (!shape.is_classification() && !now.shape.is_classification())
    differ("targets", std::to_string(shape.targets), std::to_string(now.shape.targets));
  differ("stored as", stored, now.stored);
  if (text.empty() && content != now.content)
    text = "the same shape and storage, other values (content hash " + hex(content) + ", now " + hex(now.content) + ")";
  return text;
}

}  // namespace dmlp
