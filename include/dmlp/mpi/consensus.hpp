#pragma once
// Agreement between ranks: before any rank starts a collective that the
// others might not reach, they agree that nobody failed; and they prove they
// hold the same configuration and the same parameter bytes.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>

#include "dmlp/core/checksum.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::mpi {

struct RankFailure {
  int rank;
  std::string message;
  int exit_code;
};

// Collective. Each rank passes its own failure, if any; every rank returns the
// failure of the lowest failing rank (its message travels to all), or nothing.
std::optional<RankFailure> first_failure(const Communicator& comm,
                                         const std::optional<RankFailure>& mine);

// For code that runs collectives which can fail on one rank alone (collective
// file I/O): a failure there cannot be agreed on, so it ends the job. Runs fn;
// on an exception prints "[rank r] error: ..." and aborts every rank (exit 2
// for InputError, else 1). In a single process it rethrows instead.
void report_and_abort(const Communicator& comm, const std::exception& e);
template <class Fn>
void or_abort(const Communicator& comm, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    if (comm.size() == 1) throw;
    report_and_abort(comm, e);
  }
}

// Collective. Throws InputError on every rank unless all ranks passed the same text.
void require_same_on_all_ranks(const Communicator& comm, std::string_view text,
                               std::string_view what);

}  // namespace dmlp::mpi

namespace dmlp::mpi {

// Collective. Throws (on every rank) unless every rank holds the same bytes.
template <class T>
void require_identical(const Communicator& comm, std::span<const T> values, std::string_view what) {
  const auto hash = std::int64_t(checksum(values) >> 1);
  if (comm.allreduce_one(hash, MPI_MIN) != comm.allreduce_one(hash, MPI_MAX))
    throw std::runtime_error("ranks hold different " + std::string(what) + " (checksums differ)");
}

}  // namespace dmlp::mpi
