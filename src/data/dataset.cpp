#include "dmlp/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/fingerprint.hpp"

namespace dmlp {

InMemoryDataset::InMemoryDataset(DataShape shape, std::string name)
    : shape_(shape),
      name_(std::move(name)),
      owned_features_(std::size_t(shape.rows) * shape.features),
      owned_targets_(shape.is_classification() ? 0 : std::size_t(shape.rows) * shape.targets),
      owned_labels_(shape.is_classification() ? std::size_t(shape.rows) : 0),
      features_(owned_features_),
      labels_(owned_labels_),
      targets_(owned_targets_) {}

InMemoryDataset::InMemoryDataset(DataShape shape, std::string name, RowStorage storage)
    : shape_(shape),
      name_(std::move(name)),
      storage_(std::move(storage)),
      features_(storage_.features),
      labels_(storage_.labels),
      targets_(storage_.targets) {
  if (features_.size() != std::size_t(shape.rows) * std::size_t(shape.features) ||
      labels_.size() != (shape.is_classification() ? std::size_t(shape.rows) : 0) ||
      targets_.size() != (shape.is_classification() ? 0 : std::size_t(shape.rows) * std::size_t(shape.targets)))
    throw std::logic_error("InMemoryDataset: the storage does not fit " + name_);
}

std::uint64_t InMemoryDataset::hash_block(std::int64_t block) const {
  const std::int64_t first = block * kFingerprintBlockRows;
  const std::int64_t rows = std::min(kFingerprintBlockRows, shape_.rows - first);
  const std::size_t d = std::size_t(shape_.features), k = std::size_t(shape_.targets);
  return hash_rows(features_.data() + std::size_t(first) * d, labels_.empty() ? nullptr : labels_.data() + first,
                   targets_.empty() ? nullptr : targets_.data() + std::size_t(first) * k, rows, shape_.features,
                   shape_.targets);
}

void InMemoryDataset::validate() const {
  const std::size_t d = std::size_t(shape_.features);
  for (std::size_t r = 0; r < labels_.size(); ++r)
    if (labels_[r] < 0 || labels_[r] >= shape_.num_classes)
      throw InputError(name_ + ": label " + std::to_string(labels_[r]) + " at row " + std::to_string(r) +
                       " is outside [0, " + std::to_string(shape_.num_classes) + ")");
  for (std::size_t i = 0; i < features_.size(); ++i)
    if (!std::isfinite(features_[i]))
      throw InputError(name_ + ": feature " + std::to_string(i % d) + " of row " + std::to_string(i / d) +
                       " is " + (std::isnan(features_[i]) ? "NaN" : "infinite"));
  for (std::size_t i = 0; i < targets_.size(); ++i)
    if (!std::isfinite(targets_[i]))
      throw InputError(name_ + ": target " + std::to_string(i % std::size_t(shape_.targets)) + " of row " +
                       std::to_string(i / std::size_t(shape_.targets)) + " is not finite");
}

template <class T>
void InMemoryDataset::gather_as(std::span<const std::int64_t> indices, T* X, std::int32_t* labels,
                                T* targets) const {
  const std::size_t d = std::size_t(shape_.features), k = std::size_t(shape_.targets);
  const auto count = std::ptrdiff_t(indices.size());
#pragma omp parallel for schedule(static) if (indices.size() * d >= (1u << 15))
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    const std::size_t row = std::size_t(indices[i]);
    std::copy_n(features_.data() + row * d, d, X + std::size_t(i) * d);
    if (labels && !labels_.empty()) labels[i] = labels_[row];
    if (targets && !targets_.empty()) std::copy_n(targets_.data() + row * k, k, targets + i * k);
  }
}

void InMemoryDataset::gather(std::span<const std::int64_t> indices, float* X, std::int32_t* labels,
                             float* targets) const {
  gather_as(indices, X, labels, targets);
}
void InMemoryDataset::gather(std::span<const std::int64_t> indices, double* X,
                             std::int32_t* labels, double* targets) const {
  gather_as(indices, X, labels, targets);
}

}  // namespace dmlp
