#pragma once
// A per-rank timeline of training steps (--trace), written as Chrome
// trace-event JSON, which Perfetto and chrome://tracing open.
//
// Events are "complete" events (a start and a duration) on lanes (threads, in
// the viewer's terms): lane 0 computes, and its spans nest (step > backward >
// backward layer k); lane 1 + b holds bucket b's all-reduces, each from its
// start to the moment a test or wait saw it complete. Buckets' all-reduces
// overlap in time, and spans on one lane must nest, hence a lane each. The buffer is allocated once; a full
// buffer drops further events and counts them. Code that traces checks
// Trace::on() first, so with tracing off the cost is that one branch.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dmlp {

inline constexpr int kComputeLane = 0;
inline constexpr int kFirstCommunicationLane = 1;

class Trace {
 public:
  // Records steps first_step … last_step (counted from 1), at most `capacity` events.
  // 2^18 events: about 30 MB of JSON per rank, some thousands of steps.
  Trace(std::int64_t first_step, std::int64_t last_step, std::size_t capacity = std::size_t{1} << 18);

  // Time zero of the timeline: call on every rank right after a barrier, so
  // that ranks' timelines line up (to the barrier's skew).
  void start_clock();
  // A step begins or ends; events are recorded only inside the window.
  void step_begins(std::int64_t step);
  void step_ends();
  bool on() const { return recording_; }
  std::int64_t step() const { return step_; }

  double now() const;  // microseconds since start_clock()
  // A span on the compute lane: begin(name[, index]) … end(), nested.
  // `name` must outlive the trace (a string literal); index ≥ 0 is appended,
  // e.g. "backward layer" 2 → "backward layer 2".
  void begin(const char* name, int index = -1);
  void end();
  // A finished span on any lane.
  void span(const char* name, int index, int lane, double start_us, double end_us);
  // Steps recorded so far (a window outside the run records none).
  std::int64_t steps_recorded() const { return steps_recorded_; }

  std::size_t events() const { return events_.size(); }
  std::size_t dropped() const { return dropped_; }
  // This rank's events as a JSON array body (comma-separated objects, no
  // brackets), pid = rank, with metadata naming the process and its lanes.
  std::string json_events(int rank, const std::string& host) const;

 private:
  struct Event {
    const char* name;
    int index;
    int lane;
    std::int64_t step;
    double start_us, duration_us;
  };
  struct Open {
    const char* name;
    int index;
    double start_us;
  };
  std::int64_t first_step_, last_step_;
  std::size_t capacity_;
  bool recording_ = false;
  std::int64_t step_ = 0;
  std::chrono::steady_clock::time_point zero_ = std::chrono::steady_clock::now();
  std::vector<Event> events_;
  std::vector<Open> open_;
  std::size_t dropped_ = 0;
  std::int64_t steps_recorded_ = 0;
};

// RAII span on the compute lane, for a trace that may be null or off.
class TraceSpan {
 public:
  TraceSpan(Trace* trace, const char* name, int index = -1) : trace_(trace && trace->on() ? trace : nullptr) {
    if (trace_) trace_->begin(name, index);
  }
  ~TraceSpan() {
    if (trace_) trace_->end();
  }
  TraceSpan(const TraceSpan&) = delete;
  TraceSpan& operator=(const TraceSpan&) = delete;

 private:
  Trace* trace_;
};

}  // namespace dmlp
