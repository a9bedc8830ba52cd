#pragma once
#include <algorithm>
// Building data sets and running the trainer in one process, for the tests.
#include <memory>
#include <vector>

#include "dmlp/core/init.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::test {

inline std::unique_ptr<InMemoryDataset> classification_set(const std::vector<float>& X,
                                                           const std::vector<std::int32_t>& labels,
                                                           int d, int classes) {
  DataShape shape;
  shape.rows = std::int64_t(labels.size());
  shape.features = d;
  shape.num_classes = classes;
  auto data = std::make_unique<InMemoryDataset>(shape, "test set");
  std::copy(X.begin(), X.end(), data->features().begin());
  std::copy(labels.begin(), labels.end(), data->labels().begin());
  return data;
}

template <class T>
struct LocalRun {
  Network<T> net;
  SingleProcess collective;
  NoGradientSync<T> sync;
  Trainer<T> trainer;
  LocalRun(const ModelSpec& spec, RowSource& train, const TrainConfig& config)
      : net(spec), trainer((initialize_parameters(net, config.seed), net), train, nullptr, config, collective, sync) {}
};

}  // namespace dmlp::test
