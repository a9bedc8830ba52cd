#pragma once
// --reproducible's exact sums in a node's shared memory (train/node_share.hpp):
// each rank's words and windows in a segment of its own, and one
// non-blocking barrier per bucket that says every rank's are final. MPI's
// shared-memory model: sync before a barrier orders this rank's stores; sync
// after it orders its loads of the peers'.
#include <mpi.h>

#include <vector>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/shared_window.hpp"
#include "dmlp/train/node_share.hpp"

namespace dmlp::mpi {

class SharedExactSums final : public NodeExactSums {
 public:
  // Collective over `node`, which must outlive this.
  SharedExactSums(const Communicator& node, std::size_t words, std::size_t windows, std::size_t buckets);
  SharedExactSums(const SharedExactSums&) = delete;
  SharedExactSums& operator=(const SharedExactSums&) = delete;

  int local_rank() const override { return node_.rank(); }
  int local_size() const override { return node_.size(); }
  std::span<std::int64_t> words_of(int r) const override { return words_.of(r).first(word_count_); }
  std::span<std::int64_t> windows_of(int r) const override { return windows_.of(r).first(window_count_); }
  void start(std::size_t b) override;
  bool done(std::size_t b) override;
  void wait(std::size_t b) override;
  void sync() const;  // both windows, as NodeTeam's barriers need

 private:
  const Communicator& node_;
  std::size_t word_count_, window_count_;
  SharedArray<std::int64_t> words_, windows_;
  // per bucket, this step's; one still open when a step threw is left to
  // MPI_Finalize or the abort (MPI forbids freeing a collective's request)
  std::vector<MPI_Request> barriers_;
};

}  // namespace dmlp::mpi
