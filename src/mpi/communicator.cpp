#include "dmlp/mpi/communicator.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

#include "dmlp/mpi/stall_watchdog.hpp"

namespace dmlp::mpi {

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}

Communicator::~Communicator() noexcept {
  if (comm_ != MPI_COMM_NULL && !finalized()) MPI_Comm_free(&comm_);
}

Communicator Communicator::world() {
  MPI_Comm dup = MPI_COMM_NULL;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &dup), "MPI_Comm_dup");
  return Communicator(dup);
}

Communicator Communicator::split_shared() const {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  return Communicator(node);
}


void Communicator::allreduce_max_with_rank(std::span<double> values, std::span<int> ranks,
                                           StallWatchdog* watchdog) const {
  struct ValueRank {  // MPI_DOUBLE_INT's layout
    double value;
    int rank;
  };
  if (ranks.size() != values.size()) throw std::invalid_argument("allreduce_max_with_rank: spans of different sizes");
  // A step's report needs a handful: those stay on the stack, since the
  // training loop allocates nothing once it runs.
  constexpr std::size_t kOnStack = 16;
  ValueRank on_stack[kOnStack];
  std::vector<ValueRank> on_heap;
  if (values.size() > kOnStack) on_heap.resize(values.size());
  ValueRank* pairs = values.size() > kOnStack ? on_heap.data() : on_stack;
  for (std::size_t i = 0; i < values.size(); ++i) pairs[i] = {values[i], rank_};
  if (watchdog)
    watchdog->allreduce(pairs, int(values.size()), MPI_DOUBLE_INT, MPI_MAXLOC, Activity::reduction);
  else
    check(MPI_Allreduce(MPI_IN_PLACE, pairs, int(values.size()), MPI_DOUBLE_INT, MPI_MAXLOC, comm_),
          "MPI_Allreduce(MPI_MAXLOC)");
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = pairs[i].value, ranks[i] = pairs[i].rank;
}

void MpiCollective::sum(std::span<double> values) {
  if (watchdog_) watchdog_->allreduce(values, MPI_SUM, Activity::reduction);
  else comm_.allreduce(values, MPI_SUM);
}

void MpiCollective::max(std::span<double> values) {
  if (watchdog_) watchdog_->allreduce(values, MPI_MAX, Activity::reduction);
  else comm_.allreduce(values, MPI_MAX);
}

void MpiCollective::sum_integers(std::span<std::int64_t> values) {
  if (watchdog_) watchdog_->allreduce(values, MPI_SUM, Activity::reduction);
  else comm_.allreduce(values, MPI_SUM);
}

void MpiCollective::max_integers(std::span<std::int64_t> values) {
  if (watchdog_) watchdog_->allreduce(values, MPI_MAX, Activity::reduction);
  else comm_.allreduce(values, MPI_MAX);
}

void MpiCollective::max_with_rank(std::span<double> values, std::span<int> ranks) {
  comm_.allreduce_max_with_rank(values, ranks, watchdog_);
}

void MpiCollective::evaluation_started() {
  if (watchdog_) watchdog_->evaluation_started();
}

void MpiCollective::step_started(std::int64_t step) {
  if (watchdog_) watchdog_->step_started(step);
}

}  // namespace dmlp::mpi
