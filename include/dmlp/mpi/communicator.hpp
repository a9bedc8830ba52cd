#pragma once
// An owned MPI communicator whose errors come back as MpiError, with the few
// collectives dmlp uses, typed through Datatype<T>.
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dmlp/mpi/environment.hpp"
#include "dmlp/mpi/waiter.hpp"
#include "dmlp/train/collective.hpp"

namespace dmlp::mpi {

template <class T>
struct Datatype;
template <> struct Datatype<float> { static MPI_Datatype get() { return MPI_FLOAT; } };
template <> struct Datatype<double> { static MPI_Datatype get() { return MPI_DOUBLE; } };
template <> struct Datatype<std::int32_t> { static MPI_Datatype get() { return MPI_INT32_T; } };
template <> struct Datatype<std::int64_t> { static MPI_Datatype get() { return MPI_INT64_T; } };
template <> struct Datatype<std::uint64_t> { static MPI_Datatype get() { return MPI_UINT64_T; } };
template <> struct Datatype<char> { static MPI_Datatype get() { return MPI_CHAR; } };
template <> struct Datatype<unsigned char> { static MPI_Datatype get() { return MPI_UNSIGNED_CHAR; } };
template <class T>
MPI_Datatype datatype() {
  return Datatype<T>::get();
}

// MPI counts are int: larger buffers go in pieces of this many elements.
inline constexpr std::size_t kMaxCount = std::size_t{1} << 30;

// Every collective either blocks (MPI_Allreduce, …) or, when its waiter
// wants them so (a stall watchdog, which ends the job when a rank stops
// answering), starts the non-blocking one and completes it through the waiter.
class Communicator {
 public:
  static Communicator world();  // a duplicate of MPI_COMM_WORLD that returns errors
  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&&) = delete;
  Communicator(const Communicator&) = delete;
  ~Communicator() noexcept;

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  Communicator duplicate() const;     // the same ranks, a context of its own, waiting plainly
  Communicator split_shared() const;  // the ranks sharing this rank's node
  Communicator split(int color, int key) const;  // MPI_Comm_split, waiting through the same waiter

  // From now on its requests complete through `waiter`, which must outlive
  // the communicator (the default: PlainWaiter, MPI_Waitall).
  void wait_with(Waiter& waiter) { waiter_ = &waiter; }
  Waiter& waiter() const { return *waiter_; }
  // Completes requests on this communicator, through its waiter.
  void wait(std::span<MPI_Request> requests, Wait what) const { waiter_->wait(requests, what); }
  void wait(MPI_Request& request) const;  // a collective's

  void barrier() const;
  template <class T>
  void allreduce(std::span<T> values, MPI_Op op) const {  // in place
    for (std::size_t at = 0; at < values.size(); at += kMaxCount) {
      const int count = int(std::min(kMaxCount, values.size() - at));
      if (!nonblocking()) {
        check(MPI_Allreduce(MPI_IN_PLACE, values.data() + at, count, datatype<T>(), op, comm_), "MPI_Allreduce");
        continue;
      }
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Iallreduce(MPI_IN_PLACE, values.data() + at, count, datatype<T>(), op, comm_, &request),
            "MPI_Iallreduce");
      wait(request);
    }
  }
  template <class T>
  void broadcast(std::span<T> values, int root) const {
    for (std::size_t at = 0; at < values.size(); at += kMaxCount) {
      const int count = int(std::min(kMaxCount, values.size() - at));
      if (!nonblocking()) {
        check(MPI_Bcast(values.data() + at, count, datatype<T>(), root, comm_), "MPI_Bcast");
        continue;
      }
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(values.data() + at, count, datatype<T>(), root, comm_, &request), "MPI_Ibcast");
      wait(request);
    }
  }
  // Every rank contributes rows [displs[r], displs[r] + counts[r]) of `rows`,
  // each `width` elements, and receives everyone's: an in-place Allgatherv
  // counted in rows, so that no count exceeds an int for any realistic set.
  template <class T>
  void allgather_rows(T* rows, int width, const std::vector<int>& counts, const std::vector<int>& displs) const {
    const RowType row(width, datatype<T>());
    if (!nonblocking()) {
      check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rows, counts.data(), displs.data(), row.type, comm_),
            "MPI_Allgatherv");
      return;
    }
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rows, counts.data(), displs.data(), row.type, comm_,
                          &request),
          "MPI_Iallgatherv");
    wait(request);
  }
  // Every rank sends its `counts[r]` rows `mine`; `root` receives them all in
  // `all` at `displs` (its own already there: it sends nothing). Others pass
  // all = nullptr.
  template <class T>
  void gather_rows(const T* mine, T* all, int width, const std::vector<int>& counts, const std::vector<int>& displs,
                   int root) const {
    const RowType row(width, datatype<T>());
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Request* started = nonblocking() ? &request : nullptr;
    const int rc = rank_ == root
                       ? (started ? MPI_Igatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts.data(),
                                                     displs.data(), row.type, root, comm_, started)
                                      : MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts.data(),
                                                    displs.data(), row.type, root, comm_))
                       : (started ? MPI_Igatherv(mine, counts[std::size_t(rank_)], row.type, nullptr, nullptr,
                                                     nullptr, row.type, root, comm_, started)
                                      : MPI_Gatherv(mine, counts[std::size_t(rank_)], row.type, nullptr, nullptr,
                                                    nullptr, row.type, root, comm_));
    check(rc, "MPI_Gatherv");
    if (started) wait(request);
  }
  void broadcast(std::string& text, int root) const {
    std::int64_t length = std::int64_t(text.size());
    broadcast(std::span<std::int64_t>(&length, 1), root);
    text.resize(std::size_t(length));
    broadcast(std::span<char>(text.data(), text.size()), root);
  }
  // Element-wise maximum over ranks, with the lowest rank holding each (MPI_MAXLOC).
  void allreduce_max_with_rank(std::span<double> values, std::span<int> ranks) const;
  template <class T>
  T allreduce_one(T value, MPI_Op op) const {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }

 private:
  explicit Communicator(MPI_Comm comm);
  bool nonblocking() const { return waiter_->wants_nonblocking(); }
  // A committed contiguous type of `width` elements, freed when it goes.
  struct RowType {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    RowType(int width, MPI_Datatype element);
    ~RowType();
    RowType(const RowType&) = delete;
    RowType& operator=(const RowType&) = delete;
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  Waiter* waiter_ = &PlainWaiter::instance();
};

// The training loop's Collective over a Communicator, waiting through its waiter.
class MpiCollective final : public Collective {
 public:
  explicit MpiCollective(const Communicator& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void sum(std::span<double> values) override { comm_.allreduce(values, MPI_SUM); }
  void max(std::span<double> values) override { comm_.allreduce(values, MPI_MAX); }
  void max_with_rank(std::span<double> values, std::span<int> ranks) override {
    comm_.allreduce_max_with_rank(values, ranks);
  }
  void sum_integers(std::span<std::int64_t> values) override { comm_.allreduce(values, MPI_SUM); }
  void max_integers(std::span<std::int64_t> values) override { comm_.allreduce(values, MPI_MAX); }
  std::unique_ptr<BackgroundIntegers> background_integers(int slots) override;
  void now_doing(Activity activity) override { comm_.waiter().now_doing(activity); }
  Activity doing() const override { return comm_.waiter().doing(); }
  void step_started(std::int64_t step) override { comm_.waiter().step_started(step); }
  void agreed(const std::function<void()>& work) override;

 private:
  const Communicator& comm_;
};

}  // namespace dmlp::mpi
