#pragma once
// What the stall watchdog concludes from the heartbeats it heard: pure
// functions of what each rank last said and how long ago, so that the rules
// are tested without a stalled job (tests/unit/mpi/stall_verdict_test.cpp).
#include <cstdint>
#include <string>

#include "dmlp/mpi/waiter.hpp"
#include "dmlp/train/collective.hpp"

namespace dmlp::mpi {

// Another rank's last heartbeat, as rank 0 holds it when its own wait runs out.
struct LastHeard {
  bool ever = false;                   // any heartbeat since start-up
  std::int64_t step = 0;               // the step it was at
  std::int64_t collectives_entered = 0;
  Activity activity = Activity::starting_up;
  Wait wait = Wait::none;
  double quiet_seconds = 0;  // since that heartbeat (never heard: since the wait began)
};

enum class RankVerdict {
  waiting,        // alive, waiting here or in an earlier collective a stalled rank holds up: not the culprit
  never_heard,    // no heartbeat since start-up
  went_silent,    // reached the collective, then stopped beating: stopped, or its network is down
  never_reached,  // still in what it did after its last collective
};

// `entered`: the collectives rank 0 has entered, the one it waits in counted;
// `silent_after`: seconds without a heartbeat that make a rank silent.
RankVerdict verdict(const LastHeard& h, std::int64_t entered, double silent_after);
// Whether a rank that has not reached the collective says it is working (a
// long read, say): slow, not stalled, so rank 0 waits on.
bool still_working(const LastHeard& h, std::int64_t entered, double silent_after);
// The line of the report that names a stalled rank's state ("never reached
// it; last heard 3.0 s ago, computing step 7").
std::string verdict_text(RankVerdict v, const LastHeard& h);

// What a rank is doing or waiting in, in words: "computing step 7", "in the
// gradient all-reduce of step 7".
std::string describe(Activity activity, Wait wait, std::int64_t step);

}  // namespace dmlp::mpi
