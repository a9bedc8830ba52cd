#include "dmlp/train/memory_plan.hpp"

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/train/exact_step.hpp"

namespace dmlp {

TrainingMemory training_memory(const ModelSpec& spec, const OptimizerConfig& optimizer, std::size_t element,
                               std::int64_t rows, int workers, bool reproducible) {
  const double parameters = double(ParameterLayout(spec).size());
  TrainingMemory m;
  m.model = parameter_bytes(spec, element, parameter_copies(optimizer));
  if (reproducible) {  // one workspace of `rows`, the deltas of every layer, a tile per thread
    double outs = 0;
    for (const auto& layer : spec.layers) outs += layer.out;
    m.workspaces = workspace_bytes(spec, rows, element) + double(rows) * outs * double(element);
    m.worker_gradients = double(workers) * kShardsAtOnce * double(tile_elements(element)) * double(element);
  } else {
    m.workspaces = double(workers) * workspace_bytes(spec, rows, element);
  }
  // the gradient and the loss, each value in exact_sum_words 64-bit words
  m.exact_sums = reproducible ? (parameters + 1) * 8.0 * (element <= 4 ? exact_sum_words<float>() : exact_sum_words<double>())
                              : 0.0;
  return m;
}

}  // namespace dmlp
