#pragma once
// What the training loop reports: per logged step, per epoch, per evaluation.
#include <array>
#include <cstdint>
#include <vector>

namespace dmlp {

// The phases of a training step, in the order a step runs them: the one list
// that reports, metrics and the step's clock (step_clock.hpp) go by.
// "reduction": summing the gradient with this rank's own hands (the node
// path's slice sums from shared memory), wherever in the step it happens.
enum class Phase : int { data, forward, backward, reduction, allreduce_wait, update };
inline constexpr std::array<Phase, 6> kPhases{Phase::data,      Phase::forward,        Phase::backward,
                                              Phase::reduction, Phase::allreduce_wait, Phase::update};
// Its key in metrics ("allreduce_wait"), and its span in a trace ("allreduce wait").
constexpr const char* phase_key(Phase p) {
  constexpr const char* keys[] = {"data", "forward", "backward", "reduction", "allreduce_wait", "update"};
  return keys[int(p)];
}
constexpr const char* phase_span(Phase p) {
  constexpr const char* spans[] = {"data", "forward", "backward", "reduction", "allreduce wait", "update"};
  return spans[int(p)];
}

// A value for each phase, by name or by Phase.
template <class V>
struct PerPhase {
  V data{}, forward{}, backward{}, reduction{}, allreduce_wait{}, update{};
  V& operator[](Phase p) { return *field(*this, p); }
  const V& operator[](Phase p) const { return *field(*this, p); }

 private:
  template <class Self>
  static auto field(Self& self, Phase p) {
    switch (p) {
      case Phase::data: return &self.data;
      case Phase::forward: return &self.forward;
      case Phase::backward: return &self.backward;
      case Phase::reduction: return &self.reduction;
      case Phase::allreduce_wait: return &self.allreduce_wait;
      case Phase::update: break;
    }
    return &self.update;
  }
};

// Seconds spent in each phase of a step.
struct PhaseTimes : PerPhase<double> {
  double total() const {
    double sum = 0;
    for (const Phase p : kPhases) sum += (*this)[p];
    return sum;
  }
};

// A rank for each phase.
using PhaseRanks = PerPhase<int>;

struct StepReport {
  std::int64_t step = 0;           // global steps done, counting this one
  std::int64_t epoch = 0;          // 0-based epoch this step belongs to
  std::int64_t step_in_epoch = 0;  // steps done in this epoch, counting this one
  std::int64_t steps_per_epoch = 0;
  std::int64_t total_steps = 0;    // steps the run will do
  std::int64_t interval_steps = 0; // steps averaged in this report
  double loss = 0;                 // mean training loss over those steps (without λΩ)
  double accuracy = -1;            // fraction correct; < 0 for regression
  double lr = 0;                   // η_w at this step
  double samples_per_second = 0;   // over the interval, all ranks together
  double elapsed_seconds = 0;      // since training started (this process)
  PhaseTimes phase_max;            // per-step seconds, max over ranks
  PhaseRanks phase_max_rank;       // the slowest rank in each phase: the one with the maximum, but for
                                   // allreduce_wait the one that waited least, whom the others waited for
  PhaseTimes phase_mean;           // per-step seconds, mean over ranks
  double slowest_rank_wait = 0;    // per-step all-reduce wait of the slowest rank (the least of any rank)
};

struct EvalResult {
  bool classification = true;
  std::int64_t rows = 0;
  double loss = 0;      // mean loss
  double accuracy = 0;  // classification
  double mse = 0;       // regression: mean over rows and outputs of (y − y')²
  double r2 = 0;        // regression: 1 − SSE / SST, pooled over outputs
  int num_classes = 0;
  std::vector<std::int64_t> confusion;  // classification: [true class][predicted class]
};

}  // namespace dmlp
