#pragma once
// Agreement between ranks: before any rank starts a collective that the
// others might not reach, they agree that nobody failed; and they prove they
// hold the same configuration and the same parameter bytes.
//
// Failures are one concept: a step runs on every rank, the ranks agree, and
// every rank throws the same JobFailure naming the lowest failing rank, whose
// message only that rank reports. Library code never prints: the program says
// how a failure reaches the person (set_failure_reporter).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dmlp/core/checksum.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::mpi {

struct RankFailure {
  int rank;
  std::string message;
  ErrorKind kind;  // which the program's exit status tells
};

// "[rank r] error: message": the one way a failure is written.
std::string format_failure(const RankFailure& failure);

// The failure of the whole job, agreed by every rank. Only the rank named
// reports it; every rank exits with the status of its kind.
class JobFailure : public std::runtime_error {
 public:
  explicit JobFailure(RankFailure failure) : std::runtime_error(failure.message), failure_(std::move(failure)) {}
  const RankFailure& failure() const { return failure_; }
  int rank() const { return failure_.rank; }
  ErrorKind kind() const { return failure_.kind; }

 private:
  RankFailure failure_;
};

// The failure an exception means on this rank (its kind: kind_of).
RankFailure failure_of(const std::exception& e, int rank);

// Collective. Each rank passes its own failure, if any; every rank returns the
// failure of the lowest failing rank (its message travels to all), or nothing.
std::optional<RankFailure> first_failure(const Communicator& comm, const std::optional<RankFailure>& mine);

// Runs fn, which must not call collectives, on every rank; then the ranks
// agree. If fn threw anywhere, every rank throws one JobFailure. So a bad
// option or a missing file ends all ranks together, cleanly, with one message.
template <class Fn>
void collectively(const Communicator& comm, Fn&& fn) {
  std::optional<RankFailure> mine;
  try {
    fn();
  } catch (const std::exception& e) {
    mine = failure_of(e, comm.rank());
  }
  if (auto first = first_failure(comm, mine)) throw JobFailure(std::move(*first));
}

// For collective calls that fail on every rank alike (each checked the same
// agreed facts): their InputError becomes one JobFailure that rank 0 reports.
template <class Fn>
decltype(auto) all_fail_alike(Fn&& fn) {
  try {
    return fn();
  } catch (const InputError& e) {
    throw JobFailure({0, e.what(), ErrorKind::input});
  }
}

// How the program reports a failure (the dmlp executable prints
// format_failure on stderr). Until one is set, failures are not printed.
using FailureReporter = std::function<void(const RankFailure&)>;
void set_failure_reporter(FailureReporter reporter);
void report_failure(const RankFailure& failure);

// For code that runs collectives which can fail on one rank alone (collective
// file I/O): a failure there cannot be agreed on, so it ends the job. Reports
// the failure through the program's reporter and aborts every rank.
[[noreturn]] void report_and_abort(const Communicator& comm, const std::exception& e);
// Runs fn; on an exception, report_and_abort. In a single process it rethrows instead.
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
void require_same_on_all_ranks(const Communicator& comm, std::string_view text, std::string_view what,
                               std::string_view hint = "every rank must run the same command line");

// Collective. Throws (on every rank) unless every rank holds the same bytes.
template <class T>
void require_identical(const Communicator& comm, std::span<const T> values, std::string_view what) {
  const auto hash = std::int64_t(checksum(values) >> 1);
  if (comm.allreduce_one(hash, MPI_MIN) != comm.allreduce_one(hash, MPI_MAX))
    throw std::runtime_error("ranks hold different " + std::string(what) + " (checksums differ)");
}

}  // namespace dmlp::mpi
