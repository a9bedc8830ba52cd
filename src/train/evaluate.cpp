#include "dmlp/train/evaluate.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/train/exact_step.hpp"
#include "dmlp/train/forward_rows.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp {

namespace {
// One rank's evaluation sums, in one buffer so that one all-reduce adds them all.
class EvalSums {
 public:
  EvalSums(int outputs, int classes)
      : outputs_(std::size_t(outputs)), values_(3 + 2 * outputs_ + std::size_t(classes) * std::size_t(classes)) {}
  double& loss() { return values_[0]; }
  double& correct() { return values_[1]; }
  double& squared_error() { return values_[2]; }                       // Σ (y − y')²
  double* target_sum() { return &values_[3]; }                         // Σ y, per output
  double* target_square_sum() { return &values_[3 + outputs_]; }       // Σ y², per output
  double* confusion() { return values_.data() + 3 + 2 * outputs_; }    // (classes, classes)
  std::span<double> all() { return values_; }
  std::span<double> confusion_cells() { return all().subspan(3 + 2 * outputs_); }
  std::span<double> real_sums() { return all().first(3 + 2 * outputs_); }  // all but the counts of the confusion matrix
  void clear_real_sums() { std::fill_n(values_.begin(), 3 + 2 * outputs_, 0.0); }

 private:
  std::size_t outputs_;
  std::vector<double> values_;
};
}  // namespace

template <class T>
EvalResult evaluate(const Network<T>& net, RowSource& data, Collective& comm, int chunk_rows, bool exact) {
  const DataShape& shape = data.shape();
  const ModelSpec& spec = net.spec();
  const int k = spec.outputs();
  EvalResult result;
  result.classification = shape.is_classification();
  result.rows = shape.rows;
  result.num_classes = result.classification ? num_classes_for_output(spec.loss, k) : 0;
  const int classes = result.num_classes;

  comm.now_doing(Activity::evaluating);  // until the next step starts
  EvalSums sums(k, classes);
  const T scale = batch_mean_scale<T>(shape.rows);
  Slice mine = shard(shape.rows, comm.size(), comm.rank());
  std::optional<ExactSum> exact_sums;  // each real sum on its own window
  std::optional<SerialBlas> serial;
  if (exact) {
    // whole chunks, which lie at multiples of chunk_rows for every rank count
    const Slice chunks = shard((shape.rows + chunk_rows - 1) / chunk_rows, comm.size(), comm.rank());
    const std::int64_t begin = std::min(shape.rows, chunks.begin * chunk_rows);
    mine = {begin, std::min(shape.rows, (chunks.begin + chunks.count) * chunk_rows) - begin};
    std::vector<std::size_t> ends(sums.real_sums().size());
    std::iota(ends.begin(), ends.end(), std::size_t{1});
    exact_sums.emplace(std::move(ends), 3);
    serial.emplace();
  }
  ForwardRows<T> rows(net, int(std::clamp<std::int64_t>(mine.count, 1, chunk_rows)));
  // Each rank over its rows, then the ranks agree: a bad row or a changed
  // file met by any rank (a streamed set) is one failure, said once.
  comm.agreed([&] {
  rows.run(data, mine,
           [&](std::int64_t, int n, const T* y, const std::int32_t* labels, const T* targets) {
             if (exact_sums) sums.clear_real_sums();  // this chunk's sums alone
             const LossSums s = loss_forward_backward(spec.loss, n, k, y, Targets<T>{labels, targets}, scale,
                                                      static_cast<T*>(nullptr));
             sums.loss() += s.loss;
             sums.correct() += s.correct;
             for (int r = 0; r < n; ++r) {
               const T* yr = y + std::size_t(r) * k;
               if (result.classification) {
                 sums.confusion()[std::size_t(labels[r]) * classes + predicted_class(spec.loss, k, yr)] += 1;
                 continue;
               }
               for (int j = 0; j < k; ++j) {
                 const double target = targets[std::size_t(r) * k + j], diff = double(yr[j]) - target;
                 sums.squared_error() += diff * diff;
                 sums.target_sum()[j] += target;
                 sums.target_square_sum()[j] += target * target;
               }
             }
             if (exact_sums) exact_sums->add(std::span<const double>(sums.real_sums()));
           });
  });
  if (exact_sums) {
    sums.clear_real_sums();  // summed exactly instead; the counts are exact as they are
    comm.sum(sums.all());
    std::vector<std::int64_t> windows;
    reduce_exactly(*exact_sums, windows, comm);
    exact_sums->result(sums.real_sums());
  } else {
    comm.sum(sums.all());
  }

  const double n = double(shape.rows);
  result.loss = sums.loss();
  if (result.classification) {
    result.accuracy = sums.correct() / n;
    const auto cells = sums.confusion_cells();
    result.confusion.assign(cells.begin(), cells.end());
  } else {
    double sst = 0;
    for (int j = 0; j < k; ++j) sst += sums.target_square_sum()[j] - sums.target_sum()[j] * sums.target_sum()[j] / n;
    result.mse = sums.squared_error() / (n * k);
    result.r2 = sst > 0 ? 1.0 - sums.squared_error() / sst : 0.0;
  }
  return result;
}

template EvalResult evaluate<float>(const Network<float>&, RowSource&, Collective&, int, bool);
template EvalResult evaluate<double>(const Network<double>&, RowSource&, Collective&, int, bool);

}  // namespace dmlp
