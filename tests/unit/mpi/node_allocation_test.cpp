// No allocation inside the training step on the node path either: after
// warm-up, the steps of the plain and the --reproducible step, with the
// node's shared model and shared exact sums, call operator new zero times.
// Its own executable, since it replaces the global operator new.
#include <catch2/catch.hpp>
#include <vector>

#include "allocation_counter.hpp"
#include "distributed_run.hpp"
#include "world.hpp"

using namespace dmlp;

TEST_CASE("node path: training steps allocate nothing after warm-up", "[allocation]") {
  test::allocations = 0;  // the counter counts here too
  test::counting = true;
  { const std::vector<int> v(10); }
  test::counting = false;
  REQUIRE(test::allocations.load() == 1);
  for (const bool reproducible : {false, true}) {
    test::RunSettings s;
    s.node = true;
    s.steps = 1000;
    s.reproducible = reproducible;
    s.micro_batch = reproducible ? 8 : 0;
    test::DistributedRun<float> run(test::world(), s);
    INFO((reproducible ? "--reproducible" : "plain") << ", P = " << test::world().size());
    if (reproducible) CHECK(run.trainer->sums_shared() == (test::world().size() > 1));
    for (int i = 0; i < 10; ++i) run.trainer->step();  // warm-up, across an epoch boundary (7 steps an epoch)
    test::allocations = 0;
    test::counting = true;
    for (int i = 0; i < 20; ++i) run.trainer->step();  // across two more
    test::counting = false;
    CHECK(test::allocations.load() == 0);
  }
}
