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
#include "dmlp/train/collective.hpp"

namespace dmlp::mpi {

class StallWatchdog;

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

  Communicator split_shared() const;  // the ranks sharing this rank's node

  void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }
  template <class T>
  void allreduce(std::span<T> values, MPI_Op op) const {  // in place
    for (std::size_t at = 0; at < values.size(); at += kMaxCount)
      check(MPI_Allreduce(MPI_IN_PLACE, values.data() + at, int(std::min(kMaxCount, values.size() - at)),
                          datatype<T>(), op, comm_),
            "MPI_Allreduce");
  }
  template <class T>
  void broadcast(std::span<T> values, int root) const {
    for (std::size_t at = 0; at < values.size(); at += kMaxCount)
      check(MPI_Bcast(values.data() + at, int(std::min(kMaxCount, values.size() - at)), datatype<T>(),
                      root, comm_),
            "MPI_Bcast");
  }
  // Every rank contributes rows [displs[r], displs[r] + counts[r]) of `rows`,
  // each `width` elements, and receives everyone's: an in-place Allgatherv
  // counted in rows, so that no count exceeds an int for any realistic set.
  template <class T>
  void allgather_rows(T* rows, int width, const std::vector<int>& counts, const std::vector<int>& displs) const {
    MPI_Datatype row = MPI_DATATYPE_NULL;
    check(MPI_Type_contiguous(width, datatype<T>(), &row), "MPI_Type_contiguous");
    check(MPI_Type_commit(&row), "MPI_Type_commit");
    const int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rows, counts.data(), displs.data(), row, comm_);
    MPI_Type_free(&row);
    check(rc, "MPI_Allgatherv");
  }
  // Every rank sends its `counts[r]` rows `mine`; `root` receives them all in
  // `all` at `displs` (its own already there: it sends nothing). Others pass
  // all = nullptr.
  template <class T>
  void gather_rows(const T* mine, T* all, int width, const std::vector<int>& counts, const std::vector<int>& displs,
                   int root) const {
    MPI_Datatype row = MPI_DATATYPE_NULL;
    check(MPI_Type_contiguous(width, datatype<T>(), &row), "MPI_Type_contiguous");
    check(MPI_Type_commit(&row), "MPI_Type_commit");
    const int rc = rank_ == root
                       ? MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts.data(), displs.data(), row, root, comm_)
                       : MPI_Gatherv(mine, counts[std::size_t(rank_)], row, nullptr, nullptr, nullptr, row, root, comm_);
    MPI_Type_free(&row);
    check(rc, "MPI_Gatherv");
  }
  void broadcast(std::string& text, int root) const {
    std::int64_t length = std::int64_t(text.size());
    broadcast(std::span<std::int64_t>(&length, 1), root);
    text.resize(std::size_t(length));
    broadcast(std::span<char>(text.data(), text.size()), root);
  }
  // Element-wise maximum over ranks, with the lowest rank holding each
  // (MPI_MAXLOC); a watched wait when `watchdog` is given.
  void allreduce_max_with_rank(std::span<double> values, std::span<int> ranks, StallWatchdog* watchdog = nullptr) const;
  template <class T>
  T allreduce_one(T value, MPI_Op op) const {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }

 private:
  explicit Communicator(MPI_Comm comm);
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

// The training loop's Collective over a Communicator. With a watchdog, its
// all-reduces are watched waits and each step start is a heartbeat.
class MpiCollective final : public Collective {
 public:
  explicit MpiCollective(const Communicator& comm, StallWatchdog* watchdog = nullptr)
      : comm_(comm), watchdog_(watchdog) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void sum(std::span<double> values) override;
  void max(std::span<double> values) override;
  void max_with_rank(std::span<double> values, std::span<int> ranks) override;
  void sum_integers(std::span<std::int64_t> values) override;
  void max_integers(std::span<std::int64_t> values) override;
  void step_started(std::int64_t step) override;
  void evaluation_started() override;

 private:
  const Communicator& comm_;
  StallWatchdog* watchdog_;
};

}  // namespace dmlp::mpi
