#pragma once
// How every subcommand runs under MPI: stages that all ranks pass or fail
// together, and one report of the first failure.
#include <optional>

#include "dmlp/core/errors.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::cli {

// Thrown on every rank when a collective stage failed somewhere; carries the
// lowest failing rank's message, which only that rank prints.
struct JobFailure {
  mpi::RankFailure failure;
};

// Runs fn, which must not call collectives, on every rank; then the ranks
// agree. If fn threw anywhere, every rank throws JobFailure. So a bad option or
// a missing file ends all ranks together, cleanly, with one message.
template <class Fn>
void collectively(const mpi::Communicator& comm, Fn&& fn) {
  std::optional<mpi::RankFailure> mine;
  try {
    fn();
  } catch (const InputError& e) {
    mine = mpi::RankFailure{comm.rank(), e.what(), kExitInputError};
  } catch (const std::exception& e) {
    mine = mpi::RankFailure{comm.rank(), e.what(), kExitFailure};
  }
  if (auto first = mpi::first_failure(comm, mine)) throw JobFailure{*first};
}

// Prints "[rank r] error: message" on stderr.
void report_error(int rank, const std::string& message);

}  // namespace dmlp::cli
