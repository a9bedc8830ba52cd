// The stall watchdog's rules, on heartbeats made up for each case.
#include <catch2/catch.hpp>

#include "dmlp/mpi/stall_verdict.hpp"

using namespace dmlp;
using mpi::LastHeard;
using mpi::RankVerdict;
using mpi::Wait;

namespace {
constexpr std::int64_t kEntered = 10;  // rank 0 waits in its 10th collective
constexpr double kSilentAfter = 2.0;
LastHeard heard(std::int64_t entered, Wait wait, double quiet, Activity activity = Activity::training) {
  return {true, 7, entered, activity, wait, quiet};
}
}  // namespace

TEST_CASE("a rank that reached the collective and still beats is waiting, not stalled", "[verdict]") {
  CHECK(mpi::verdict(heard(kEntered, Wait::collective, 0.5), kEntered, kSilentAfter) == RankVerdict::waiting);
  // waiting in an earlier collective, held up by someone else: not the culprit either
  CHECK(mpi::verdict(heard(kEntered - 1, Wait::gradient_sum, 0.5), kEntered, kSilentAfter) == RankVerdict::waiting);
}

TEST_CASE("silence, absence and never having been heard are told apart", "[verdict]") {
  CHECK(mpi::verdict(LastHeard{}, kEntered, kSilentAfter) == RankVerdict::never_heard);
  CHECK(mpi::verdict(heard(kEntered, Wait::collective, 2.5), kEntered, kSilentAfter) == RankVerdict::went_silent);
  CHECK(mpi::verdict(heard(kEntered - 1, Wait::none, 0.5), kEntered, kSilentAfter) == RankVerdict::never_reached);
  CHECK(mpi::verdict(heard(kEntered - 1, Wait::none, 9.0), kEntered, kSilentAfter) == RankVerdict::never_reached);
  // exactly at the silence limit a rank still counts as beating
  CHECK(mpi::verdict(heard(kEntered, Wait::collective, kSilentAfter), kEntered, kSilentAfter) == RankVerdict::waiting);
}

TEST_CASE("a rank that has not arrived but keeps saying it works is slow, not stalled", "[verdict]") {
  CHECK(mpi::still_working(heard(kEntered - 1, Wait::none, 0.5, Activity::reading_data), kEntered, kSilentAfter));
  CHECK_FALSE(mpi::still_working(heard(kEntered - 1, Wait::none, 3.0), kEntered, kSilentAfter));  // gone quiet
  CHECK_FALSE(mpi::still_working(heard(kEntered, Wait::none, 0.5), kEntered, kSilentAfter));      // already here
  CHECK_FALSE(mpi::still_working(heard(kEntered - 1, Wait::collective, 0.5), kEntered, kSilentAfter));  // waits itself
  CHECK_FALSE(mpi::still_working(LastHeard{}, kEntered, kSilentAfter));
}

TEST_CASE("the report says what each stalled rank last did", "[verdict]") {
  CHECK(mpi::verdict_text(RankVerdict::never_heard, LastHeard{}) == "never heard from since start-up");
  CHECK(mpi::verdict_text(RankVerdict::went_silent, heard(kEntered, Wait::collective, 3.04)) ==
        "reached it, then went silent 3.0 s ago (stopped, or its network is down)");
  CHECK(mpi::verdict_text(RankVerdict::never_reached, heard(kEntered - 1, Wait::none, 12.0, Activity::writing_checkpoint)) ==
        "never reached it; last heard 12.0 s ago, writing the checkpoint of step 7");
  CHECK(mpi::describe(Activity::training, Wait::gradient_sum, 7) == "in the gradient all-reduce of step 7");
  CHECK(mpi::describe(Activity::reading_checkpoint, Wait::collective, 0) == "for rank 0 to read the checkpoint to start from");
  CHECK(mpi::describe(Activity::training, Wait::none, 3) == "computing step 3");
}
