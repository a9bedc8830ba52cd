#pragma once
// Where a step's time goes. The clock books every moment of a step to one
// phase; a PhaseScope switches it to another phase for its lifetime (and
// records the span on the trace), then back. Scopes nest, so an early update
// run inside backward is booked as the update, and backward resumes after it.
#include <chrono>

#include "dmlp/core/trace.hpp"
#include "dmlp/train/reports.hpp"

namespace dmlp {

class StepClock {
 public:
  using Clock = std::chrono::steady_clock;
  // Books to `times`, from now, starting with `phase`.
  StepClock(PhaseTimes& times, Phase phase) : times_(times), phase_(phase), mark_(Clock::now()) {}
  Phase phase() const { return phase_; }
  // Books the time since the last switch to the current phase; then `phase` runs.
  Phase switch_to(Phase phase) {
    const auto now = Clock::now();
    times_[phase_] += std::chrono::duration<double>(now - mark_).count();
    mark_ = now;
    const Phase before = phase_;
    phase_ = phase;
    return before;
  }
  // Rebooks seconds measured inside one phase (a thread's share of a
  // parallel region) as another's.
  void move(Phase from, Phase to, double seconds) {
    times_[from] -= seconds;
    times_[to] += seconds;
  }

 private:
  PhaseTimes& times_;
  Phase phase_;
  Clock::time_point mark_;
};

// A phase for the scope's lifetime, with its span on the trace (null or off:
// none). The span's name is the phase's unless given (a string literal).
class PhaseScope {
 public:
  PhaseScope(StepClock& clock, Phase phase, Trace* trace, const char* span = nullptr, int index = -1)
      : clock_(clock), before_(clock.switch_to(phase)), span_(trace, span ? span : phase_span(phase), index) {}
  // A switch of the clock alone, with no span: the time is booked, the trace is not told.
  PhaseScope(StepClock& clock, Phase phase) : clock_(clock), before_(clock.switch_to(phase)), span_(nullptr, "") {}
  ~PhaseScope() { clock_.switch_to(before_); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  StepClock& clock_;
  Phase before_;
  TraceSpan span_;
};

}  // namespace dmlp
