#include "dmlp/mpi/consensus.hpp"

#include <climits>
#include <new>
#include <vector>

#include "dmlp/core/settings.hpp"

namespace dmlp::mpi {
namespace {
FailureReporter& installed_reporter() {
  static FailureReporter reporter;
  return reporter;
}
}  // namespace

std::string format_failure(const RankFailure& failure) {
  return "[rank " + std::to_string(failure.rank) + "] error: " + failure.message;
}

RankFailure failure_of(const std::exception& e, int rank) {
  if (const auto* agreed = dynamic_cast<const JobFailure*>(&e)) return agreed->failure();
  const ErrorKind kind = kind_of(e);
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return {rank, std::string("out of memory: an allocation failed (") + e.what() +
                      "); lower " + setting("global_batch") + ", the model's widths or the ranks per node",
            kind};
  return {rank, e.what(), kind};
}

void set_failure_reporter(FailureReporter reporter) { installed_reporter() = std::move(reporter); }

void report_failure(const RankFailure& failure) {
  if (installed_reporter()) installed_reporter()(failure);
}

void report_and_abort(const Communicator& comm, const std::exception& e) {
  const RankFailure failure = failure_of(e, comm.rank());
  report_failure(failure);
  abort_job(exit_status_of(failure.kind));
}

std::optional<RankFailure> first_failure(const Communicator& comm, const std::optional<RankFailure>& mine) {
  const std::int64_t lowest = comm.allreduce_one<std::int64_t>(mine ? comm.rank() : INT_MAX, MPI_MIN);
  if (lowest == INT_MAX) return std::nullopt;
  const int root = int(lowest);
  std::int64_t header[2] = {0, 0};  // message length, kind
  if (comm.rank() == root) header[0] = std::int64_t(mine->message.size()), header[1] = std::int64_t(mine->kind);
  comm.broadcast(std::span<std::int64_t>(header), root);
  std::vector<char> text(static_cast<std::size_t>(header[0]));
  if (comm.rank() == root) text.assign(mine->message.begin(), mine->message.end());
  comm.broadcast(std::span<char>(text), root);
  return RankFailure{root, std::string(text.begin(), text.end()), ErrorKind(header[1])};
}

void require_same_on_all_ranks(const Communicator& comm, std::string_view text, std::string_view what,
                               std::string_view hint) {
  const auto hash = std::int64_t(checksum(text) >> 1);
  std::int64_t root_hash = hash;
  comm.broadcast(std::span<std::int64_t>(&root_hash, 1), 0);
  const std::int64_t first_differing = comm.allreduce_one<std::int64_t>(hash != root_hash ? comm.rank() : INT_MAX, MPI_MIN);
  if (first_differing != INT_MAX)
    throw InputError("ranks disagree on the " + std::string(what) + ": rank " + std::to_string(first_differing) +
                     "'s differs from rank 0's; " + std::string(hint));
}

}  // namespace dmlp::mpi
