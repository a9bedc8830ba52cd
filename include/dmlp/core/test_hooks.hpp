#pragma once
// Hooks for the test suite, read from the environment, so that a test can act
// at a moment it chose and observed, whatever the machine's speed. Users have
// no reason to set them; each does nothing unless its variable is set.
//
//   DMLP_TEST_HOLD_AFTER_STEP=N   after step N, every rank waits (agreeing every
//                                 few milliseconds) until a stop signal reaches
//                                 any of them; rank 0 first logs "test hold:
//                                 after step N, waiting for a stop signal". The
//                                 run then stops at step N exactly, as a signal
//                                 during that step would have stopped it.
//   DMLP_TEST_HOLD_RELEASE=FILE   with the hold: the run also goes on, past step
//                                 N, once FILE exists (on rank 0), so that a test
//                                 can change something under a running job.
//   DMLP_TEST_STOP_AT=PHASE[@RANK] the rank (default 0) sends itself SIGSTOP on
//                                 reaching PHASE, as a rank hung in the file
//                                 system would stand still there: "startup"
//                                 (before it opens the data), "checkpoint-write"
//                                 (in the write of a checkpoint), "node-sum"
//                                 (--reduction node: about to sum its part of
//                                 a bucket from its peers' shared memory).
//   DMLP_TEST_STUCK_AT=PHASE[@RANK] the rank's thread that runs MPI stands still
//                                 there for good, as one spinning inside an MPI
//                                 call that never returns; its other threads run
//                                 on: "gradient-wait" (in the watchdog's wait for
//                                 a gradient sum, before its first MPI call).
//   DMLP_TEST_GROUP_SHARDS=N      --reproducible holds at most N micro-shards'
//                                 activations at once (default: 64 MiB's worth),
//                                 so that a small test runs several groups a step.
#include <cstdint>
#include <optional>
#include <string_view>

namespace dmlp {

// The step DMLP_TEST_HOLD_AFTER_STEP names, if set.
std::optional<std::int64_t> test_hold_after_step();
// Whether the file DMLP_TEST_HOLD_RELEASE names exists (false when unset).
bool test_hold_released();

// The cap DMLP_TEST_GROUP_SHARDS sets, if set (a positive count).
std::optional<std::int64_t> test_group_shards();

// Sends this process SIGSTOP when DMLP_TEST_STOP_AT names `phase` and `rank`.
void test_stop_point(std::string_view phase, int rank);
// Never returns when DMLP_TEST_STUCK_AT names `phase` and `rank`.
void test_stuck_point(std::string_view phase, int rank);

}  // namespace dmlp
