// The node path (--reduction node): the ranks of a node share one model in
// shared memory, each sums its part of every bucket and updates it. It must
// train as one process does, give its ranks one model, and repeat to the bit.
#include <catch2/catch.hpp>
#include <cstring>

#include "distributed_run.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "world.hpp"

using namespace dmlp;

using test::world;

namespace {
template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}
}  // namespace

TEST_CASE("node path: every optimizer reaches one process's parameters; its ranks agree; it repeats to the bit",
          "[node]") {
  for (const OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW, OptimizerKind::Lars, OptimizerKind::Lamb}) {
    test::RunSettings s;
    s.optimizer = kind;
    s.node = true;
    INFO("--optimizer " << to_string(kind) << ", P = " << world().size());
    const auto alone_d = test::train_alone<double>(s);
    const auto node_d = test::train_together<double>(world(), s);
    CHECK(test::relative_difference(node_d, alone_d) <= 1e-12);
    const auto alone_f = test::train_alone<float>(s);
    const auto node_f = test::train_together<float>(world(), s);
    CHECK(test::relative_difference(node_f, alone_f) <= 1e-5);
    CHECK_NOTHROW(mpi::require_identical<float>(world(), node_f, "parameters"));
    CHECK(bitwise_equal(test::train_together<float>(world(), s), node_f));
    // the training moved the parameters well away from the start
    test::RunSettings one = s;
    one.steps = 1;
    CHECK(test::relative_difference(test::train_alone<double>(one), alone_d) > 1e-2);
    // two ranks add in one order whichever path sums: the sharded update is
    // the whole update's arithmetic, so the paths agree to the bit
    s.node = false;
    const auto plain_f = test::train_together<float>(world(), s);
    if (world().size() <= 2)
      CHECK(bitwise_equal(plain_f, node_f));
    else
      CHECK(test::relative_difference(plain_f, node_f) <= 1e-5);
  }
}

TEST_CASE("node path: bucket sizes, --no-overlap and micro-batches sum the same", "[node]") {
  test::RunSettings s;
  s.node = true;
  const auto alone = test::train_alone<float>(s);
  s.overlap = false;
  const auto blocking = test::train_together<float>(world(), s);
  CHECK(test::relative_difference(blocking, alone) <= 1e-5);
  s.overlap = true;
  for (double bucket_mb : {0.0, 0.004, 100.0}) {
    s.bucket_mb = bucket_mb;
    INFO("P = " << world().size() << ", bucket " << bucket_mb << " MiB");
    const auto summed = test::train_together<float>(world(), s);
    // the parts are cut per bucket, so other buckets sum other values in
    // other tiles; the order of ranks is the same: the same bits
    CHECK(bitwise_equal(summed, blocking));
  }
  // updates of a bucket's pieces while backward runs below it (one bucket a
  // layer: the most of them) against updates after backward: the same bits,
  // with weight decay and an L2 penalty (equivalence_config) on every piece
  s.bucket_mb = 0;
  s.optimizer = OptimizerKind::AdamW;
  const auto early = test::train_together<float>(world(), s);
  s.early_update = false;
  CHECK(bitwise_equal(test::train_together<float>(world(), s), early));
  CHECK(test::relative_difference(early, test::train_alone<float>(s)) <= 1e-5);
  s = test::RunSettings{};
  s.node = true;
  s.micro_batch = 8;
  const auto micro = test::train_together<float>(world(), s);
  CHECK(test::relative_difference(micro, test::train_alone<float>(s)) <= 1e-5);
}

TEST_CASE("node path, --reproducible: the exact sums read from shared memory give one process's bits", "[node]") {
  test::RunSettings s;
  s.micro_batch = 8;  // 6 micro-shards a step, 2 in the epoch's last: at P = 3 and 4 some ranks hold none
  s.reproducible = true;
  s.node = true;
  {
    test::DistributedRun<float> run(world(), s);
    INFO("P = " << world().size());
    CHECK(run.trainer->sums_shared() == (world().size() > 1));  // one host: no all-reduce of the words
  }
  for (const OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Lamb}) {
    s.optimizer = kind;
    INFO("--optimizer " << to_string(kind) << ", P = " << world().size());
    s.node = true;
    const auto alone_f = test::train_alone<float>(s);
    CHECK(bitwise_equal(test::train_together<float>(world(), s), alone_f));
    const auto alone_d = test::train_alone<double>(s);
    CHECK(bitwise_equal(test::train_together<double>(world(), s), alone_d));
    s.node = false;  // the words all-reduced
    CHECK(bitwise_equal(test::train_together<float>(world(), s), alone_f));
    // the training moved the parameters well away from the start
    test::RunSettings one = s;
    one.steps = 1;
    CHECK(test::relative_difference(test::train_alone<float>(one), alone_f) > 1e-2);
  }
}
