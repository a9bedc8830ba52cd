// Where the ranks run: rank ranges, hosts, and the threads each rank gets.
#include <catch2/catch.hpp>

#include <numeric>

#include "dmlp/mpi/placement.hpp"
#include "world.hpp"

using namespace dmlp;
using test::world;

TEST_CASE("ranks print as ascending ranges", "[placement]") {
  CHECK(mpi::rank_ranges({}) == "");
  CHECK(mpi::rank_ranges({4}) == "4");
  CHECK(mpi::rank_ranges({0, 1, 2, 3, 6, 8, 9}) == "0-3,6,8-9");
  CHECK(mpi::rank_ranges({1, 3, 5}) == "1,3,5");
}

TEST_CASE("a host is oversubscribed when its ranks' threads exceed its cores", "[placement]") {
  mpi::Host h{"h1", {0, 1}, {2, 2}, 4};
  CHECK_FALSE(h.oversubscribed());
  h.threads = {2, 3};
  CHECK(h.oversubscribed());
  CHECK(h.describe().find("h1") == 0);
}

TEST_CASE("every rank learns the same hosts, and every rank is on one of them", "[placement]") {
  const mpi::Placement p = mpi::discover_placement(world(), 1);
  CHECK(p.ranks == world().size());
  CHECK(p.threads == 1);
  CHECK_FALSE(p.threads_defaulted);
  CHECK(p.nodes == int(p.hosts.size()));
  int ranks = 0;
  for (const mpi::Host& h : p.hosts) ranks += int(h.ranks.size());
  CHECK(ranks == world().size());
  CHECK(p.ranks_on_node >= 1);
  CHECK(p.local_rank < p.ranks_on_node);
  // a thread count chosen for us: at least one, never more than this rank's cores
  const mpi::Placement chosen = mpi::discover_placement(world(), 0);
  CHECK(chosen.threads_defaulted);
  CHECK(chosen.threads >= 1);
  CHECK(chosen.threads <= chosen.own_cores);
  // more threads than the node has cores are cut to this rank's own
  const mpi::Placement capped = mpi::discover_placement(world(), 100000);
  CHECK(capped.threads_capped_from == 100000);
  CHECK(capped.threads == capped.own_cores);
}
