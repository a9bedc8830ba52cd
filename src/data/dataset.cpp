#include "dmlp/data/dataset.hpp"

#include <algorithm>

namespace dmlp {

InMemoryDataset::InMemoryDataset(DataShape shape, std::string name)
    : shape_(shape),
      name_(std::move(name)),
      features_(std::size_t(shape.rows) * shape.features),
      labels_(shape.is_classification() ? std::size_t(shape.rows) : 0),
      targets_(shape.is_classification() ? 0 : std::size_t(shape.rows) * shape.targets) {}

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
