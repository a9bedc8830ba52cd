// dmlp's exit codes, as README's "Exit codes" gives them, and the library's
// way to learn them for the failures it must end itself.
#include <catch2/catch.hpp>

#include "exit_codes.hpp"

using namespace dmlp;

TEST_CASE("each kind of failure has its exit code", "[cli]") {
  CHECK(cli::exit_code(ErrorKind::failure) == 1);
  CHECK(cli::exit_code(ErrorKind::input) == 2);
  CHECK(cli::exit_code(ErrorKind::diverged) == 3);
  CHECK(cli::exit_code(ErrorKind::stalled) == 4);
  CHECK(cli::kExitStopped == 75);  // EX_TEMPFAIL: requeue me
  CHECK(kind_of(InputError("x")) == ErrorKind::input);
  CHECK(kind_of(std::runtime_error("x")) == ErrorKind::failure);
}

TEST_CASE("the library ends the process with the front end's code, or EXIT_FAILURE without one", "[cli]") {
  set_exit_status_of(nullptr);
  CHECK(exit_status_of(ErrorKind::stalled) == EXIT_FAILURE);
  set_exit_status_of([](ErrorKind k) { return cli::exit_code(k); });
  CHECK(exit_status_of(ErrorKind::stalled) == 4);
  set_exit_status_of(nullptr);
}
