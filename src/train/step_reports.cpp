#include "dmlp/train/step_reports.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "dmlp/core/errors.hpp"

namespace dmlp {
namespace {
constexpr std::size_t kPhaseCount = kPhases.size();

PhaseTimes divided(const PhaseTimes& t, double d) {
  PhaseTimes out;
  for (const Phase p : kPhases) out[p] = t[p] / d;
  return out;
}
}  // namespace

void StepReports::start() {
  interval_ = Tally{};
  epoch_ = Tally{};
  started_ = Clock::now();
}

void StepReports::add(const LossSums& sums, std::int64_t batch, const PhaseTimes& times) {
  for (Tally* tally : {&interval_, &epoch_}) {
    tally->loss += sums.loss;
    tally->correct += sums.correct;
    tally->rows += double(batch);
    tally->steps += 1;
    for (const Phase p : kPhases) tally->time[p] += times[p];
  }
}

StepReport StepReports::reduce(Tally& tally, const ReportContext& at) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - tally.start).count();
  // The sum over ranks: loss, correct, then the phases. An exact step's loss
  // is already the total over the ranks, the same bits on each.
  std::array<double, 2 + kPhaseCount> summed{loss_over_ranks_ ? 0.0 : tally.loss, tally.correct};
  // The maximum: each phase, and last the negated all-reduce wait: the rank
  // that waited least is the one the others waited for.
  std::array<double, kPhaseCount + 1> maxes{};
  for (std::size_t i = 0; i < kPhaseCount; ++i) summed[2 + i] = maxes[i] = tally.time[kPhases[i]];
  maxes[kPhaseCount] = -tally.time.allreduce_wait;
  std::array<int, kPhaseCount + 1> slowest{};
  comm_.sum(summed);
  comm_.max_with_rank(maxes, slowest);
  const double loss = loss_over_ranks_ ? tally.loss : summed[0];
  const double steps = std::max(tally.steps, 1.0), ranks = comm_.size();
  StepReport r;
  r.step = at.position.step;
  r.epoch = at.position.epoch;
  r.step_in_epoch = at.position.step_in_epoch;
  r.steps_per_epoch = at.steps_per_epoch;
  r.total_steps = at.total_steps;
  r.interval_steps = std::int64_t(tally.steps);
  r.loss = loss / steps;
  if (!std::isfinite(r.loss))
    throw DivergedError(
        divergence_.message(at.position.step, "the mean loss of the steps up to it is " + format_number(r.loss)));
  divergence_.loss_reported(at.position.step, r.loss);
  r.accuracy = classification_ && tally.rows > 0 ? summed[1] / tally.rows : -1;
  r.lr = at.lr;
  r.samples_per_second = seconds > 0 ? tally.rows / seconds : 0;
  r.elapsed_seconds = std::chrono::duration<double>(now - started_).count();
  PhaseTimes max_time, sum_time;
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    max_time[kPhases[i]] = maxes[i];
    sum_time[kPhases[i]] = summed[2 + i];
    r.phase_max_rank[kPhases[i]] = slowest[i];
  }
  r.phase_max_rank.allreduce_wait = slowest[kPhaseCount];  // whom the others waited for
  r.phase_max = divided(max_time, steps);
  r.phase_mean = divided(divided(sum_time, steps), ranks);
  r.slowest_rank_wait = -maxes[kPhaseCount] / steps;
  tally = Tally{};
  return r;
}

}  // namespace dmlp
