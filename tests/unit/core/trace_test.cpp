// The step timeline: only the window's steps, spans nested on the compute
// lane, a full buffer dropping and counting, and JSON a trace viewer reads.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "dmlp/core/trace.hpp"

using namespace dmlp;

namespace {
nlohmann::json events_of(const Trace& t) { return nlohmann::json::parse("[" + t.json_events(3, "h1") + "]"); }

std::vector<nlohmann::json> spans(const nlohmann::json& events) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events)
    if (e["ph"] == "X") out.push_back(e);
  return out;
}
}  // namespace

TEST_CASE("only the window's steps are recorded, their spans nested and named", "[trace]") {
  Trace trace(2, 3);
  trace.start_clock();
  for (std::int64_t step = 1; step <= 4; ++step) {
    trace.step_begins(step);
    {
      const TraceSpan outer(&trace, "step");
      const TraceSpan inner(&trace, "backward layer", 2);
    }
    trace.step_ends();
  }
  CHECK(trace.steps_recorded() == 2);
  CHECK(trace.events() == 4);
  CHECK(trace.dropped() == 0);
  const auto s = spans(events_of(trace));
  REQUIRE(s.size() == 4);
  CHECK(s[0]["name"] == "backward layer 2");  // the inner span ends first
  CHECK(s[1]["name"] == "step");
  CHECK(s[0]["args"]["step"] == 2);
  CHECK(s[3]["args"]["step"] == 3);
  for (const auto& e : s) {
    CHECK(e["pid"] == 3);
    CHECK(e["tid"] == kComputeLane);
    CHECK(e["dur"].get<double>() >= 0);
  }
  // the inner span lies within the outer
  CHECK(s[0]["ts"].get<double>() >= s[1]["ts"].get<double>());
  CHECK(s[0]["ts"].get<double>() + s[0]["dur"].get<double>() <= s[1]["ts"].get<double>() + s[1]["dur"].get<double>());
}

TEST_CASE("a full buffer drops further events and counts them", "[trace]") {
  Trace trace(1, 1, 3);
  trace.step_begins(1);
  for (int i = 0; i < 5; ++i) trace.span("all-reduce", i, kFirstCommunicationLane + i % 2, 0, 1);
  trace.step_ends();
  CHECK(trace.events() == 3);
  CHECK(trace.dropped() == 2);
  // each lane is named, compute first
  std::vector<std::string> lanes;
  for (const auto& e : events_of(trace))
    if (e["name"] == "thread_name") lanes.push_back(e["args"]["name"]);
  CHECK(lanes == std::vector<std::string>{"compute", "all-reduce 1", "all-reduce 2"});
}

TEST_CASE("spans outside a step, or a null trace, record nothing", "[trace]") {
  Trace trace(1, 10);
  { const TraceSpan before_any_step(&trace, "setup"); }
  { const TraceSpan none(nullptr, "nothing"); }
  trace.step_begins(11);
  { const TraceSpan past_the_window(&trace, "step"); }
  trace.step_ends();
  CHECK(trace.events() == 0);
  CHECK(trace.steps_recorded() == 0);
}
