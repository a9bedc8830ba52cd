#include "dmlp/mpi/communicator.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

#include "dmlp/mpi/consensus.hpp"

namespace dmlp::mpi {

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      rank_(other.rank_),
      size_(other.size_),
      waiter_(std::exchange(other.waiter_, &PlainWaiter::instance())) {}

Communicator::~Communicator() noexcept {
  if (comm_ != MPI_COMM_NULL && !finalized()) MPI_Comm_free(&comm_);
}

Communicator Communicator::world() {
  MPI_Comm dup = MPI_COMM_NULL;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &dup), "MPI_Comm_dup");
  return Communicator(dup);
}

Communicator Communicator::duplicate() const {
  MPI_Comm dup = MPI_COMM_NULL;
  check(MPI_Comm_dup(comm_, &dup), "MPI_Comm_dup");
  return Communicator(dup);
}

Communicator Communicator::split_shared() const {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  Communicator result(node);
  result.waiter_ = waiter_;
  return result;
}

Communicator Communicator::split(int color, int key) const {
  MPI_Comm part = MPI_COMM_NULL;
  check(MPI_Comm_split(comm_, color, key, &part), "MPI_Comm_split");
  Communicator result(part);
  result.waiter_ = waiter_;
  return result;
}

void PlainWaiter::wait(std::span<MPI_Request> requests, Wait) {
  check(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
}

PlainWaiter& PlainWaiter::instance() {
  static PlainWaiter waiter;  // stateless
  return waiter;
}

void Communicator::wait(MPI_Request& request) const { wait(std::span<MPI_Request>(&request, 1), Wait::collective); }

void Communicator::barrier() const {
  if (!nonblocking()) return check(MPI_Barrier(comm_), "MPI_Barrier");
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
  wait(request);
}

Communicator::RowType::RowType(int width, MPI_Datatype element) {
  check(MPI_Type_contiguous(width, element, &type), "MPI_Type_contiguous");
  check(MPI_Type_commit(&type), "MPI_Type_commit");
}

Communicator::RowType::~RowType() {
  if (type != MPI_DATATYPE_NULL && !finalized()) MPI_Type_free(&type);
}

void Communicator::allreduce_max_with_rank(std::span<double> values, std::span<int> ranks) const {
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
  if (nonblocking()) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, pairs, int(values.size()), MPI_DOUBLE_INT, MPI_MAXLOC, comm_, &request),
          "MPI_Iallreduce(MPI_MAXLOC)");
    wait(request);
  } else {
    check(MPI_Allreduce(MPI_IN_PLACE, pairs, int(values.size()), MPI_DOUBLE_INT, MPI_MAXLOC, comm_),
          "MPI_Allreduce(MPI_MAXLOC)");
  }
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = pairs[i].value, ranks[i] = pairs[i].rank;
}

void MpiCollective::agreed(const std::function<void()>& work) { collectively(comm_, work); }

namespace {
// MPI_Iallreduce on int64s, completed through the communicator's waiter (a
// stall watchdog names a rank that never joins).
class MpiBackgroundIntegers final : public BackgroundIntegers {
 public:
  MpiBackgroundIntegers(const Communicator& comm, int slots) : comm_(comm), requests_(std::size_t(slots), MPI_REQUEST_NULL) {}
  // A request still active here follows a failure, and the job is ending:
  // freeing a collective's request is erroneous, so it is left.
  void start(int slot, std::span<std::int64_t> values, bool maximum) override {
    if (values.size() > kMaxCount) throw std::logic_error("background all-reduce: too many values for one call");
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_INT64_T, maximum ? MPI_MAX : MPI_SUM,
                         comm_.get(), &requests_[std::size_t(slot)]),
          "MPI_Iallreduce");
  }
  bool done(int slot) override {
    MPI_Request& r = requests_[std::size_t(slot)];
    if (r == MPI_REQUEST_NULL) return true;
    int finished = 0;
    check(MPI_Test(&r, &finished, MPI_STATUS_IGNORE), "MPI_Test");
    return finished != 0;
  }
  void wait(int slot) override {
    MPI_Request& r = requests_[std::size_t(slot)];
    if (r != MPI_REQUEST_NULL) comm_.wait(std::span<MPI_Request>(&r, 1), Wait::gradient_sum);
  }

 private:
  const Communicator& comm_;
  std::vector<MPI_Request> requests_;
};
}  // namespace

std::unique_ptr<BackgroundIntegers> MpiCollective::background_integers(int slots) {
  return std::make_unique<MpiBackgroundIntegers>(comm_, slots);
}

}  // namespace dmlp::mpi
