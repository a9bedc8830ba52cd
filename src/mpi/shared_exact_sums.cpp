#include "dmlp/mpi/shared_exact_sums.hpp"

#include "dmlp/core/test_hooks.hpp"

namespace dmlp::mpi {

SharedExactSums::SharedExactSums(const Communicator& node, std::size_t words, std::size_t windows, std::size_t buckets)
    : node_(node),
      word_count_(words),
      window_count_(windows),
      words_(node, words, false),  // each rank's own pages: it writes them, the others only read
      windows_(node, windows, false),
      barriers_(buckets, MPI_REQUEST_NULL) {}

void SharedExactSums::sync() const {
  words_.sync();
  windows_.sync();
}

void SharedExactSums::start(std::size_t b) {
  test_stop_point("node-sum", node_.rank());  // one node: the local rank is the world's
  sync();  // this rank's stores to bucket b, before the barrier
  check(MPI_Ibarrier(node_.get(), &barriers_.at(b)), "MPI_Ibarrier");
}

bool SharedExactSums::done(std::size_t b) {
  if (barriers_.at(b) == MPI_REQUEST_NULL) return true;
  int finished = 0;
  check(MPI_Test(&barriers_[b], &finished, MPI_STATUS_IGNORE), "MPI_Test");
  if (finished) sync();  // the peers' stores, after the barrier
  return finished != 0;
}

void SharedExactSums::wait(std::size_t b) {
  if (barriers_.at(b) == MPI_REQUEST_NULL) return;
  node_.wait(std::span<MPI_Request>(&barriers_[b], 1), Wait::gradient_sum);
  sync();
}

}  // namespace dmlp::mpi
