// P ranks train as one process would: same parameters, whatever P, overlap
// or bucket size; and bitwise the same from run to run.
#include <catch2/catch.hpp>
#include <cstring>

#include "distributed_run.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "world.hpp"

using namespace dmlp;

using test::world;

TEST_CASE("P ranks reach the parameters of one process (float 1e-5, double 1e-12)", "[equivalence]") {
  const test::RunSettings s;  // 30 steps, SGD with momentum, B = 48
  const auto alone_f = test::train_alone<float>(s);
  const auto together_f = test::train_together<float>(world(), s);
  INFO("P = " << world().size());
  CHECK(test::relative_difference(together_f, alone_f) <= 1e-5);
  const auto alone_d = test::train_alone<double>(s);
  const auto together_d = test::train_together<double>(world(), s);
  CHECK(test::relative_difference(together_d, alone_d) <= 1e-12);
  // and the ranks agree with each other to the bit
  CHECK_NOTHROW(mpi::require_identical<float>(world(), together_f, "parameters"));
  // the training moved the parameters well away from the start
  test::RunSettings none = s;
  none.steps = 1;
  CHECK(test::relative_difference(test::train_alone<float>(none), alone_f) > 1e-2);
}

TEST_CASE("every optimizer: P ranks reach one process's parameters, and the ranks agree to the bit", "[equivalence]") {
  for (const OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Lars, OptimizerKind::Lamb}) {
    test::RunSettings s;
    s.optimizer = kind;
    INFO("--optimizer " << to_string(kind) << ", P = " << world().size());
    const auto alone_d = test::train_alone<double>(s);
    const auto together_d = test::train_together<double>(world(), s);
    CHECK(test::relative_difference(together_d, alone_d) <= 1e-12);
    const auto alone_f = test::train_alone<float>(s);
    const auto together_f = test::train_together<float>(world(), s);
    CHECK(test::relative_difference(together_f, alone_f) <= 1e-5);
    CHECK_NOTHROW(mpi::require_identical<float>(world(), together_f, "parameters"));
    // early per-bucket updates (the layer norms of lars and lamb included) change no bit
    s.early_update = false;
    const auto late_f = test::train_together<float>(world(), s);
    CHECK(std::memcmp(late_f.data(), together_f.data(), late_f.size() * sizeof(float)) == 0);
    // the optimizer moved the parameters, and not as SGD would have
    test::RunSettings one = s;
    one.steps = 1;
    CHECK(test::relative_difference(test::train_alone<double>(one), alone_d) > 1e-2);
    test::RunSettings sgd;
    CHECK(test::relative_difference(test::train_alone<double>(sgd), alone_d) > 1e-2);
  }
}

TEST_CASE("overlapped buckets and one blocking all-reduce give the same parameters", "[overlap]") {
  test::RunSettings s;
  const auto alone = test::train_alone<float>(s);
  for (double bucket_mb : {0.0, 0.001, 0.004, 100.0}) {
    s.bucket_mb = bucket_mb;
    s.overlap = true;
    const auto overlapped = test::train_together<float>(world(), s);
    s.overlap = false;
    const auto blocking = test::train_together<float>(world(), s);
    INFO("P = " << world().size() << ", bucket " << bucket_mb << " MiB");
    CHECK(test::relative_difference(overlapped, blocking) <= 1e-5);
    CHECK(test::relative_difference(overlapped, alone) <= 1e-5);
  }
  s.overlap = false;
  const auto alone_d = test::train_alone<double>(s);
  CHECK(test::relative_difference(test::train_together<double>(world(), s), alone_d) <= 1e-12);
}

TEST_CASE("updating each bucket's layers as its sum completes changes no bit", "[determinism]") {
  test::RunSettings s;
  const auto early = test::train_together<float>(world(), s);
  s.early_update = false;
  const auto late = test::train_together<float>(world(), s);
  CHECK(std::memcmp(early.data(), late.data(), early.size() * sizeof(float)) == 0);
  s.bucket_mb = 1;  // one bucket: summed at the end of backward, updated at once
  s.early_update = true;
  const auto one_bucket = test::train_together<float>(world(), s);
  s.early_update = false;
  const auto one_bucket_late = test::train_together<float>(world(), s);
  CHECK(std::memcmp(one_bucket.data(), one_bucket_late.data(), early.size() * sizeof(float)) == 0);
}

TEST_CASE("two runs at the same P are bitwise identical", "[determinism]") {
  const test::RunSettings s;
  const auto first = test::train_together<float>(world(), s);
  const auto second = test::train_together<float>(world(), s);
  REQUIRE(first.size() == second.size());
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
}

TEST_CASE("uneven shards: B not divisible by P, a short last batch, an empty shard", "[uneven]") {
  // 53 rows in batches of 10: the last batch has 3 rows, so at P = 4 one rank has none.
  test::RunSettings s;
  s.rows = 53;
  s.batch = 10;
  s.steps = 14;  // two epochs and two steps
  for (bool overlap : {true, false}) {
    s.overlap = overlap;
    const auto alone = test::train_alone<double>(s);
    const auto together = test::train_together<double>(world(), s);
    INFO("P = " << world().size() << (overlap ? ", overlapped" : ", blocking"));
    CHECK(test::relative_difference(together, alone) <= 1e-12);
    for (double p : together) REQUIRE(std::isfinite(p));
  }
  // B = 7 splits unevenly over 2, 3 and 4 ranks; drop_last skips the remainder.
  s.batch = 7;
  s.drop_last = true;
  s.steps = 20;
  CHECK(test::relative_difference(test::train_together<double>(world(), s), test::train_alone<double>(s)) <= 1e-12);
}
