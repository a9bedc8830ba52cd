#pragma once
// The network forward over a contiguous range of a data set's rows, a chunk at
// a time: what evaluation and prediction both do with a rank's slice.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "dmlp/core/network.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/dataset.hpp"

namespace dmlp {

template <class T>
class ForwardRows {
 public:
  // with_answers false: the data may have no labels or targets (prediction).
  ForwardRows(const Network<T>& net, int chunk_rows, bool with_answers = true)
      : with_answers_(with_answers),
        net_(net),
        ws_(net.spec(), chunk_rows),
        indices_(std::size_t(chunk_rows)),
        labels_(std::size_t(chunk_rows)),
        targets_(std::size_t(chunk_rows) * net.spec().outputs()) {}

  // For each chunk of `rows`: visit(offset, n, Y, labels, targets), where offset
  // counts from rows.begin, Y(n, outputs) is the network's output, and labels (n)
  // or targets (n, outputs) hold the rows' answers when the data has them.
  template <class Visit>
  void run(const RowSource& data, Slice rows, Visit&& visit) {
    const auto chunk = std::int64_t(indices_.size());
    for (std::int64_t offset = 0; offset < rows.count; offset += chunk) {
      const int n = int(std::min(chunk, rows.count - offset));
      std::iota(indices_.begin(), indices_.begin() + n, rows.begin + offset);
      data.gather({indices_.data(), std::size_t(n)}, ws_.input(), with_answers_ ? labels_.data() : nullptr,
                  with_answers_ ? targets_.data() : nullptr);
      const T* Y = forward(net_, ws_, n);
      visit(offset, n, Y, static_cast<const std::int32_t*>(labels_.data()), static_cast<const T*>(targets_.data()));
    }
  }

 private:
  bool with_answers_;
  const Network<T>& net_;
  Workspace<T> ws_;
  std::vector<std::int64_t> indices_;  // (chunk)
  std::vector<std::int32_t> labels_;   // (chunk)
  std::vector<T> targets_;             // (chunk, outputs)
};

}  // namespace dmlp
