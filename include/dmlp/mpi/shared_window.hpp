#pragma once
// Memory that the ranks of one node share (MPI_Win_allocate_shared, osc/sm):
// every rank allocates its segment and reaches every other rank's with plain
// loads and stores. The window stays in a passive-target epoch for its
// lifetime (MPI_Win_lock_all), so that sync() (MPI_Win_sync) orders this
// rank's stores before a barrier and its loads after one, as MPI's
// shared-memory model asks.
#include <mpi.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "dmlp/mpi/communicator.hpp"

namespace dmlp::mpi {

class SharedBytes {
 public:
  // `bytes` of this rank's own; `contiguous`: the segments follow each other
  // in rank order, so that rank 0's base reaches all of them as one array.
  SharedBytes(const Communicator& node, std::size_t bytes, std::size_t element_bytes, bool contiguous);
  ~SharedBytes() noexcept;  // collective; skipped while an exception unwinds, when other ranks may not come
  SharedBytes(const SharedBytes&) = delete;
  SharedBytes& operator=(const SharedBytes&) = delete;

  void* segment(int local_rank) const { return bases_[std::size_t(local_rank)]; }
  std::size_t segment_bytes(int local_rank) const { return sizes_[std::size_t(local_rank)]; }
  void sync() const;

 private:
  MPI_Win window_ = MPI_WIN_NULL;
  std::vector<void*> bases_;
  std::vector<std::size_t> sizes_;
};

template <class T>
class SharedArray {
 public:
  SharedArray(const Communicator& node, std::size_t mine, bool contiguous)
      : bytes_(node, mine * sizeof(T), sizeof(T), contiguous) {}
  // At least the values that rank asked for (MPI may round a segment up).
  std::span<T> of(int local_rank) const {
    return {static_cast<T*>(bytes_.segment(local_rank)), bytes_.segment_bytes(local_rank) / sizeof(T)};
  }
  // A contiguous window's segments as one array of `count` values.
  std::span<T> whole(std::size_t count) const { return {static_cast<T*>(bytes_.segment(0)), count}; }
  void sync() const { bytes_.sync(); }

 private:
  SharedBytes bytes_;
};

// Whether every node's shared memory has room for what it would place there
// (`node_bytes`, the same on every rank of a node): osc/sm backs a window with
// a file in /dev/shm (or OMPI_MCA_osc_sm_backing_directory), whose pages are
// taken only when first touched, so a full tmpfs would end the job with
// SIGBUS in the middle of a step; checked up front instead. Collective over
// `world`, one answer on every rank: empty where all fit, else what is short,
// for a warning (`what`: the use, e.g. "the data set"). A node that places
// nothing there (`node_bytes` 0) always fits.
std::string shared_memory_shortage(const Communicator& world, const Communicator& node, std::size_t node_bytes,
                                   const std::string& what);

}  // namespace dmlp::mpi
