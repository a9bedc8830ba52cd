#include "dmlp/core/loss.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/name_table.hpp"
#include "dmlp/core/parallel.hpp"

namespace dmlp {
namespace {
constexpr NameTable<Loss, 4> kLossNames{
    "loss", {{{Loss::SoftmaxCrossEntropy, "softmax-ce"}, {Loss::BinaryCrossEntropy, "bce"}, {Loss::SquaredError, "mse"},
              {Loss::Hinge, "hinge"}}}};
}  // namespace

std::string_view to_string(Loss l) { return kLossNames.name(l); }
Loss parse_loss(std::string_view name) { return kLossNames.parse(name); }
std::string loss_names() { return kLossNames.choices(); }

bool is_classification(Loss l) { return l != Loss::SquaredError; }

int num_classes_for_output(Loss l, int outputs) {
  return l == Loss::SoftmaxCrossEntropy ? outputs : (is_classification(l) ? 2 : 0);
}

void check_loss_fits_outputs(Loss l, int outputs) {
  const std::string name(to_string(l));
  if ((l == Loss::BinaryCrossEntropy || l == Loss::Hinge) && outputs != 1)
    throw InputError("loss " + name + " needs 1 output (a binary classifier), but " + setting("widths") + " ends in " +
                     std::to_string(outputs));
  if (l == Loss::SoftmaxCrossEntropy && outputs < 2)
    throw InputError("loss softmax-ce needs at least 2 outputs (one per class), but " + setting("widths") + " ends in " +
                     std::to_string(outputs) + "; use bce or hinge for a binary classifier");
}

template <class T>
int predicted_class(Loss loss, int k, const T* y) {
  if (loss == Loss::SoftmaxCrossEntropy) return int(std::max_element(y, y + k) - y);
  return y[0] > T(0) ? 1 : 0;
}

namespace {
// Σ over rows of row_fn(r), summed in fixed blocks and then in block order, so the
// total is bitwise the same for every thread count.
template <class RowFn>
LossSums sum_over_rows(int rows, std::size_t work, RowFn row_fn) {
  constexpr int kBlocks = 64;
  std::array<LossSums, kBlocks> partial{};
  const int rows_per_block = (rows + kBlocks - 1) / kBlocks;
#pragma omp parallel for schedule(static) if (work >= kParallelThreshold)
  for (int block = 0; block < kBlocks; ++block) {
    const int end = std::min(rows, (block + 1) * rows_per_block);
    for (int r = block * rows_per_block; r < end; ++r) {
      const LossSums row = row_fn(r);
      partial[block].loss += row.loss;
      partial[block].correct += row.correct;
    }
  }
  LossSums total;
  for (const LossSums& p : partial) {
    total.loss += p.loss;
    total.correct += p.correct;
  }
  return total;
}
}  // namespace

template <class T>
LossSums loss_forward_backward(Loss loss, int rows, int k, const T* Y, Targets<T> targets, T scale,
                               T* dY) {
  const std::size_t work = std::size_t(rows) * k;
  LossSums sums;
  switch (loss) {
    case Loss::SoftmaxCrossEntropy:
      sums = sum_over_rows(rows, work, [&](int r) {
        const T* y = Y + std::size_t(r) * k;
        const int label = targets.labels[r];
        const T max = *std::max_element(y, y + k);
        T sum = 0;
        for (int j = 0; j < k; ++j) sum += std::exp(y[j] - max);
        if (dY) {
          T* dy = dY + std::size_t(r) * k;
          const T inv_sum = T(1) / sum;
          for (int j = 0; j < k; ++j) dy[j] = scale * std::exp(y[j] - max) * inv_sum;
          dy[label] -= scale;
        }
        return LossSums{double(std::log(sum) - (y[label] - max)),
                        double(predicted_class(loss, k, y) == label)};
      });
      break;
    case Loss::BinaryCrossEntropy:
      sums = sum_over_rows(rows, work, [&](int r) {
        const T z = Y[r];
        const T t = T(targets.labels[r]);
        if (dY) dY[r] = scale * (T(1) / (T(1) + std::exp(-z)) - t);
        // log(1 + e^z) − t·z, written so that exp never overflows and log never sees 0.
        return LossSums{double(std::max(z, T(0)) - z * t + std::log1p(std::exp(-std::abs(z)))),
                        double(predicted_class(loss, 1, &z) == targets.labels[r])};
      });
      break;
    case Loss::SquaredError:
      sums = sum_over_rows(rows, work, [&](int r) {
        const T* y = Y + std::size_t(r) * k;
        const T* t = targets.values + std::size_t(r) * k;
        T row_sum = 0;
        for (int j = 0; j < k; ++j) {
          const T diff = y[j] - t[j];
          row_sum += diff * diff;
          if (dY) dY[std::size_t(r) * k + j] = scale * T(2) * diff;
        }
        return LossSums{double(row_sum), 0.0};
      });
      break;
    case Loss::Hinge:
      sums = sum_over_rows(rows, work, [&](int r) {
        const T z = Y[r];
        const T s = targets.labels[r] == 1 ? T(1) : T(-1);
        const T margin = T(1) - s * z;
        if (dY) dY[r] = margin > T(0) ? -scale * s : T(0);
        return LossSums{double(std::max(margin, T(0))),
                        double(predicted_class(loss, 1, &z) == targets.labels[r])};
      });
      break;
  }
  sums.loss *= double(scale);
  return sums;
}

#define DMLP_INSTANTIATE(T)                                                                   \
  template LossSums loss_forward_backward<T>(Loss, int, int, const T*, Targets<T>, T, T*);    \
  template int predicted_class<T>(Loss, int, const T*);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
#undef DMLP_INSTANTIATE

}  // namespace dmlp
