#pragma once
// The node-aware gradient sum (--reduction node). Backward writes each rank's
// gradient into its segment of the node's shared memory (mpi/node_team.hpp);
// nothing is copied before the sum. When a bucket is done on every local rank
// (a non-blocking barrier per bucket, which the stall watchdog waits in like
// any collective), each rank sums its part of that bucket over the local
// ranks, in local-rank order, straight from their segments into its own; then,
// across nodes, the owners of that part (local rank i of every node) sum it
// with a non-blocking all-reduce on their communicator, every rank's link busy
// at once. Afterwards each rank holds the sum of its own parts only: the
// sharded update (train/sharded_updater.hpp) needs no more.
#include <span>
#include <vector>

#include "dmlp/core/aligned_buffer.hpp"
#include "dmlp/mpi/node_team.hpp"
#include "dmlp/train/collective.hpp"

namespace dmlp::mpi {

template <class T>
class NodeGradientSync final : public GradientSync<T> {
 public:
  NodeGradientSync(NodeTeam<T>& team, bool overlap);

  void begin(std::span<T> grads) override;
  void layer_ready(int k) override;
  void push_communication() override;
  bool wants_communication_pushed() const override { return started_ > summed_ || cross_started_ > 0; }
  void finish() override;
  // Tells `listener` of a bucket's layers once this rank's part of them is
  // summed over the nodes and every local rank is done reading their weights
  // (past the next bucket's barrier: the weights of a bucket's lowest layer
  // are read for that layer's dX). With overlap only.
  bool report_buckets(SummedObserver* listener) override;
  void book_on(StepClock* clock) override { clock_ = clock; }

  const std::vector<Bucket>& buckets() const { return team_.buckets(); }
  void set_trace(Trace* trace) { trace_ = trace; }

 private:
  void start(std::size_t b);   // this rank's bucket b is complete
  void sum_part(std::size_t b);  // every rank's is: sum this rank's part of it
  void report_free();            // to the listener: the buckets now final and free

  NodeTeam<T>& team_;
  bool overlap_;
  std::vector<MPI_Request> ready_;  // per bucket: the local ranks' barrier
  std::vector<MPI_Request> cross_;  // per bucket: the sum across nodes of this rank's part
  std::vector<std::span<const T>> peers_;  // every local rank's gradient, in local-rank order
  std::size_t started_ = 0, summed_ = 0, cross_started_ = 0, reported_ = 0;
  SummedObserver* listener_ = nullptr;
  StepClock* clock_ = nullptr;
  AlignedBuffer<T> tile_;  // the sum of one tile of a part, in L1
  Trace* trace_ = nullptr;
  std::vector<double> started_us_;
};

}  // namespace dmlp::mpi
