#pragma once
// What the data set reader's files share: inspecting and writing
// (dataset_file.cpp), the collective load (dataset_load.cpp) and streaming
// (dataset_stream.cpp).
#include "dmlp/io/dataset_file.hpp"

namespace dmlp {

// Features stored as integers are read as value = scale · stored + offset; float
// features are read as stored, untouched (`applies` is false for them).
struct FeatureScale {
  bool applies = false;
  float scale = 1.0f, offset = 0.0f;
  float operator()(float stored) const { return scale * stored + offset; }
};

inline FeatureScale feature_scale(const DatasetFileInfo& info) {
  if (info.feature_type.kind != h5::ElementKind::Integer) return {};
  return {true, float(info.scale), float(info.offset)};
}

}  // namespace dmlp
