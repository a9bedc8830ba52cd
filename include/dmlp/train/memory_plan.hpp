#pragma once
// What a run's buffers take on one rank, part by part: the one formula that
// the configuration check, the trainer before it allocates, and the summary
// (next to the measured peak) all use.
#include <cstddef>
#include <cstdint>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/optimizer.hpp"

namespace dmlp {

struct TrainingMemory {
  double model = 0;           // parameters, gradients and optimizer state
  double workspaces = 0;      // activations and their gradients, one workspace per worker
  double worker_gradients = 0;  // each thread's tile of the gradient (--reproducible)
  double exact_sums = 0;      // the exact sums' fixed-point words (--reproducible)
  double total() const { return model + workspaces + worker_gradients + exact_sums; }
};

// For a model trained by `optimizer` in `element`-byte numbers, with one
// workspace of `rows` rows; `workers` threads matter only when reproducible
// (ExactStep: the rows of a group of micro-shards, with every layer's deltas).
TrainingMemory training_memory(const ModelSpec& spec, const OptimizerConfig& optimizer, std::size_t element,
                               std::int64_t rows, int workers, bool reproducible);

}  // namespace dmlp
