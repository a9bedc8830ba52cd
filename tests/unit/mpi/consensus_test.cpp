// Agreement on failures: one rank's exception becomes the same JobFailure on
// every rank, naming the lowest failing rank, its message and its kind.
#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>

#include "dmlp/mpi/consensus.hpp"
#include "world.hpp"

using namespace dmlp;
using test::world;

namespace {
// The failure `fn` ends in on this rank when run collectively, or nothing.
template <class Fn>
std::optional<mpi::RankFailure> agreed_failure(Fn&& fn) {
  try {
    mpi::collectively(world(), fn);
  } catch (const mpi::JobFailure& f) {
    return f.failure();
  }
  return std::nullopt;
}
}  // namespace

TEST_CASE("nobody failed: collectively returns on every rank", "[consensus]") {
  int ran = 0;
  CHECK_FALSE(agreed_failure([&] { ++ran; }).has_value());
  CHECK(ran == 1);
  CHECK_FALSE(mpi::first_failure(world(), std::nullopt).has_value());
}

TEST_CASE("the lowest failing rank's failure reaches every rank, with its kind", "[consensus]") {
  const int P = world().size(), last = P - 1;
  // the last rank fails with bad input; with more ranks, rank 1 fails too, and rank 1 is the one named
  const auto failure = agreed_failure([&] {
    if (world().rank() == last) throw InputError("rank " + std::to_string(last) + "'s bad input");
    if (P > 2 && world().rank() == 1) throw DivergedError("rank 1 diverged");
  });
  REQUIRE(failure.has_value());
  if (P > 2) {
    CHECK(failure->rank == 1);
    CHECK(failure->message == "rank 1 diverged");
    CHECK(failure->kind == ErrorKind::diverged);
  } else {
    CHECK(failure->rank == last);
    CHECK(failure->message == "rank " + std::to_string(last) + "'s bad input");
    CHECK(failure->kind == ErrorKind::input);
  }
  CHECK(mpi::format_failure(*failure) == "[rank " + std::to_string(failure->rank) + "] error: " + failure->message);
}

TEST_CASE("the kind of each exception type", "[consensus]") {
  CHECK(mpi::failure_of(InputError("x"), 3).kind == ErrorKind::input);
  CHECK(mpi::failure_of(StalledError("x"), 3).kind == ErrorKind::stalled);
  CHECK(mpi::failure_of(DivergedError("x"), 3).kind == ErrorKind::diverged);
  CHECK(mpi::failure_of(std::runtime_error("x"), 3).kind == ErrorKind::failure);
  const mpi::RankFailure oom = mpi::failure_of(std::bad_alloc(), 2);
  CHECK(oom.rank == 2);
  CHECK(oom.message.find("out of memory") == 0);
  // an agreed failure keeps the rank that failed, not the one that rethrows it
  const mpi::JobFailure agreed({5, "from rank 5", ErrorKind::input});
  CHECK(mpi::failure_of(agreed, 0).rank == 5);
}

TEST_CASE("a failure every rank meets alike is reported by rank 0", "[consensus]") {
  try {
    mpi::all_fail_alike([] { throw InputError("the same everywhere"); });
    FAIL("no JobFailure");
  } catch (const mpi::JobFailure& f) {
    CHECK(f.rank() == 0);
    CHECK(f.kind() == ErrorKind::input);
    CHECK(std::string(f.what()) == "the same everywhere");
  }
}

TEST_CASE("ranks holding different texts are refused on every rank", "[consensus]") {
  CHECK_NOTHROW(mpi::require_same_on_all_ranks(world(), "same", "the option"));
  if (world().size() > 1)
    CHECK_THROWS_AS(mpi::require_same_on_all_ranks(world(), world().rank() == 0 ? "a" : "b", "the option"), InputError);
}
