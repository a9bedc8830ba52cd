#include "dmlp/mpi/stall_verdict.hpp"

#include <cstdio>

namespace dmlp::mpi {
namespace {
// What a rank is doing (not waiting), in words.
std::string activity_text(Activity activity, std::int64_t step) {
  const std::string n = std::to_string(step);
  switch (activity) {
    case Activity::starting_up: return "starting up";
    case Activity::reading_data: return "reading a data set";
    case Activity::reading_checkpoint: return "reading the checkpoint to start from";
    case Activity::training: return "computing step " + n;
    case Activity::evaluating: return "evaluating after step " + n;
    case Activity::writing_checkpoint: return "writing the checkpoint of step " + n;
    case Activity::finishing: return "finishing after step " + n;
  }
  return "at step " + n;
}

// Where a rank waits, in words: what the collective it waits in is for.
std::string waiting(Activity activity, Wait wait, std::int64_t step) {
  const std::string n = std::to_string(step);
  if (wait == Wait::gradient_sum) return "in the gradient all-reduce of step " + n;
  switch (activity) {
    case Activity::starting_up: return "in a collective of start-up";
    case Activity::reading_data: return "in a collective while the ranks read a data set";
    case Activity::reading_checkpoint: return "for rank 0 to read the checkpoint to start from";
    case Activity::training: return "in an all-reduce of metrics or checkpoint decisions at step " + n;
    case Activity::evaluating: return "in a collective of the evaluation after step " + n;
    case Activity::writing_checkpoint: return "for rank 0 to write the checkpoint of step " + n;
    case Activity::finishing: return "in a collective while finishing after step " + n;
  }
  return "in a collective at step " + n;
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", s);
  return text;
}
}  // namespace

std::string describe(Activity activity, Wait wait, std::int64_t step) {
  return wait == Wait::none ? activity_text(activity, step) : waiting(activity, wait, step);
}

RankVerdict verdict(const LastHeard& h, std::int64_t entered, double silent_after) {
  const bool arrived = h.ever && h.collectives_entered >= entered;
  if (h.ever && h.quiet_seconds <= silent_after && (arrived || h.wait != Wait::none)) return RankVerdict::waiting;
  if (!h.ever) return RankVerdict::never_heard;
  return arrived ? RankVerdict::went_silent : RankVerdict::never_reached;
}

bool still_working(const LastHeard& h, std::int64_t entered, double silent_after) {
  return h.ever && h.collectives_entered < entered && h.wait == Wait::none && h.quiet_seconds <= silent_after;
}

std::string verdict_text(RankVerdict v, const LastHeard& h) {
  switch (v) {
    case RankVerdict::never_heard: return "never heard from since start-up";
    case RankVerdict::went_silent:
      return "reached it, then went silent " + seconds(h.quiet_seconds) + " ago (stopped, or its network is down)";
    case RankVerdict::never_reached:  // what it did after its last collective (it has left that one)
      return "never reached it; last heard " + seconds(h.quiet_seconds) + " ago, " + activity_text(h.activity, h.step);
    case RankVerdict::waiting: break;
  }
  return "waiting";
}

}  // namespace dmlp::mpi
