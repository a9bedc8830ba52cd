#include "dmlp/core/trace.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace dmlp {

Trace::Trace(std::int64_t first_step, std::int64_t last_step, std::size_t capacity)
    : first_step_(first_step), last_step_(last_step), capacity_(capacity) {
  events_.reserve(capacity_);
  open_.reserve(64);
}

void Trace::start_clock() { zero_ = std::chrono::steady_clock::now(); }

double Trace::now() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - zero_).count();
}

void Trace::step_begins(std::int64_t step) {
  step_ = step;
  recording_ = step >= first_step_ && step <= last_step_;
  if (recording_) ++steps_recorded_;
  open_.clear();
}

void Trace::step_ends() {
  while (recording_ && !open_.empty()) end();
  recording_ = false;
}

void Trace::begin(const char* name, int index) {
  if (!recording_) return;
  if (open_.size() == open_.capacity()) return;  // nesting deeper than any step has: ignore
  open_.push_back({name, index, now()});
}

void Trace::end() {
  if (!recording_ || open_.empty()) return;
  const Open o = open_.back();
  open_.pop_back();
  span(o.name, o.index, kComputeLane, o.start_us, now());
}

void Trace::span(const char* name, int index, int lane, double start_us, double end_us) {
  if (!recording_) return;
  if (events_.size() == capacity_) {
    ++dropped_;
    return;
  }
  events_.push_back({name, index, lane, step_, start_us, end_us - start_us});
}

std::string Trace::json_events(int rank, const std::string& host) const {
  std::string out;
  const auto add = [&](const nlohmann::json& event) {
    if (!out.empty()) out += ",\n";
    out += event.dump();
  };
  add({{"ph", "M"}, {"pid", rank}, {"name", "process_name"},
       {"args", {{"name", "rank " + std::to_string(rank) + " (" + host + ")"}}}});
  add({{"ph", "M"}, {"pid", rank}, {"name", "process_sort_index"}, {"args", {{"sort_index", rank}}}});
  std::vector<int> lanes = {kComputeLane};
  for (const Event& e : events_)
    if (std::find(lanes.begin(), lanes.end(), e.lane) == lanes.end()) lanes.push_back(e.lane);
  for (int lane : lanes)
    add({{"ph", "M"}, {"pid", rank}, {"tid", lane}, {"name", "thread_name"},
         {"args", {{"name", lane == kComputeLane ? std::string("compute")
                                                 : "all-reduce " + std::to_string(lane - kFirstCommunicationLane + 1)}}}});
  for (const Event& e : events_) {
    std::string name = e.name;
    if (e.index >= 0) name += " " + std::to_string(e.index);
    add({{"ph", "X"},
         {"pid", rank},
         {"tid", e.lane},
         {"name", name},
         {"ts", e.start_us},
         {"dur", e.duration_us},
         {"args", {{"step", e.step}}}});
  }
  if (dropped_ > 0)
    add({{"ph", "i"}, {"pid", rank}, {"tid", 0}, {"s", "p"}, {"name", "trace buffer full"},
         {"ts", events_.empty() ? 0.0 : events_.back().start_us}, {"args", {{"dropped_events", dropped_}}}});
  return out;
}

}  // namespace dmlp
