#pragma once
// The reports of a run: sums over a span of steps on this rank (the steps
// since the last report, and the epoch), reduced over the ranks into a
// StepReport: one sum and one maximum over ranks carry all it needs.
#include <chrono>
#include <cstdint>

#include "dmlp/core/loss.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/divergence.hpp"
#include "dmlp/train/position.hpp"
#include "dmlp/train/reports.hpp"

namespace dmlp {

// Where the run stands when it reports, and what it runs at.
struct ReportContext {
  TrainPosition position;
  std::int64_t steps_per_epoch = 0, total_steps = 0;
  double lr = 0;  // η_w at the last step
};

class StepReports {
 public:
  // `classification`: accuracies are reported; `loss_over_ranks`: a step's
  // loss is already the sum over every rank (exact sums), not this rank's.
  StepReports(Collective& comm, bool classification, bool loss_over_ranks)
      : comm_(comm), classification_(classification), loss_over_ranks_(loss_over_ranks) {}

  void start();  // the run begins: the sums start from nothing, and the elapsed time from now
  void add(const LossSums& sums, std::int64_t batch, const PhaseTimes& times);  // a step is done
  // Collective: the steps since the last report, or the epoch's; starts the
  // next span. Throws DivergedError when the mean loss is not finite.
  StepReport since_last(const ReportContext& at) { return reduce(interval_, at); }
  StepReport epoch(const ReportContext& at) { return reduce(epoch_, at); }
  const DivergenceNotes& divergence() const { return divergence_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Tally {  // sums over a span of steps, this rank
    double loss = 0, correct = 0, rows = 0, steps = 0;
    PhaseTimes time;
    Clock::time_point start = Clock::now();
  };
  StepReport reduce(Tally& tally, const ReportContext& at);

  Collective& comm_;
  bool classification_, loss_over_ranks_;
  Tally interval_, epoch_;
  DivergenceNotes divergence_;
  Clock::time_point started_ = Clock::now();
};

}  // namespace dmlp
