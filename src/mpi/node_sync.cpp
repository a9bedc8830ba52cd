#include "dmlp/mpi/node_sync.hpp"

#include <algorithm>
#include <optional>

#include "dmlp/core/test_hooks.hpp"

namespace dmlp::mpi {
namespace {
constexpr std::size_t kTile = 2048;  // values summed at once: 8 KiB of floats, the tile and its sources in L1
}

template <class T>
NodeGradientSync<T>::NodeGradientSync(NodeTeam<T>& team, bool overlap)
    : team_(team),
      overlap_(overlap),
      ready_(team.buckets().size(), MPI_REQUEST_NULL),
      cross_(team.buckets().size(), MPI_REQUEST_NULL),
      tile_(kTile),
      started_us_(team.buckets().size(), 0.0) {
  for (int r = 0; r < team.local_size(); ++r) peers_.push_back(team.grads_of(r));
}

template <class T>
void NodeGradientSync<T>::begin(std::span<T>) {
  started_ = summed_ = cross_started_ = reported_ = 0;
}

template <class T>
bool NodeGradientSync<T>::report_buckets(SummedObserver* listener) {
  if (!overlap_) return false;
  listener_ = listener;
  return listener != nullptr;
}

template <class T>
void NodeGradientSync<T>::report_free() {
  const std::vector<Bucket>& buckets = team_.buckets();
  while (listener_ && reported_ < summed_) {
    const std::size_t b = reported_;
    // every local rank past bucket b+1's barrier is done with b's layers; the
    // last bucket's lowest layer is the first, which has no dX to compute
    if (!(b + 1 < summed_ || buckets[b].lowest_layer == 0)) break;
    if (cross_[b] != MPI_REQUEST_NULL) {
      int done = 0;
      check(MPI_Test(&cross_[b], &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (!done) break;
    }
    ++reported_;
    listener_->layers_summed(buckets[b].lowest_layer,
                             highest_layer(buckets, b, int(team_.layout().layers().size())));
  }
}

template <class T>
void NodeGradientSync<T>::start(std::size_t b) {
  team_.sync_gradients();  // this rank's stores to bucket b, before the barrier
  if (trace_ && trace_->on()) started_us_[b] = trace_->now();
  check(MPI_Ibarrier(team_.node().get(), &ready_[b]), "MPI_Ibarrier");
  ++started_;
}

template <class T>
void NodeGradientSync<T>::layer_ready(int k) {
  if (!overlap_) return;
  if (started_ < ready_.size() && team_.buckets()[started_].lowest_layer == k) start(started_);
  push_communication();
}

template <class T>
void NodeGradientSync<T>::sum_part(std::size_t b) {
  test_stop_point("node-sum", team_.world_rank());
  std::optional<PhaseScope> summing;
  if (clock_) summing.emplace(*clock_, Phase::reduction);
  team_.sync_gradients();  // the peers' stores, after the barrier
  const auto [begin, end] = team_.part(b, team_.local_rank());
  T* const out = team_.grads().data();
  T* const tile = tile_.data();
  const std::size_t ranks = peers_.size();
  // Σ_r g_r in local-rank order, a tile at a time: the same bits on every
  // rank and at every bucket size; `out` is this rank's own g, read before written.
  for (std::size_t at = begin; at < end; at += kTile) {
    const std::size_t n = std::min(kTile, end - at);
    const T* g0 = peers_[0].data() + at;
    const T* g1 = peers_[1].data() + at;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) tile[i] = g0[i] + g1[i];
    for (std::size_t r = 2; r < ranks; ++r) {
      const T* g = peers_[r].data() + at;
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) tile[i] += g[i];
    }
    std::copy_n(tile, n, out + at);
  }
  if (trace_ && trace_->on())
    trace_->span("node sum bucket", int(b) + 1, kFirstCommunicationLane + int(b), started_us_[b], trace_->now());
  if (team_.cross().size() > 1 && end > begin) {
    check(MPI_Iallreduce(MPI_IN_PLACE, out + begin, int(end - begin), datatype<T>(), MPI_SUM, team_.cross().get(),
                         &cross_[b]),
          "MPI_Iallreduce");
    ++cross_started_;
  }
  ++summed_;
}

template <class T>
void NodeGradientSync<T>::push_communication() {
  // Open MPI advances non-blocking collectives only inside MPI calls.
  while (summed_ < started_) {
    int done = 0;
    check(MPI_Test(&ready_[summed_], &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (!done) break;
    sum_part(summed_);
  }
  if (cross_started_ > 0) {
    int all_done = 0;
    check(MPI_Testall(int(summed_), cross_.data(), &all_done, MPI_STATUSES_IGNORE), "MPI_Testall");
  }
  report_free();
}

template <class T>
void NodeGradientSync<T>::finish() {
  while (started_ < ready_.size()) start(started_);  // --no-overlap: all at once
  for (; summed_ < started_;) {
    team_.node().wait(std::span<MPI_Request>(&ready_[summed_], 1), Wait::gradient_sum);
    sum_part(summed_);
  }
  if (cross_started_ > 0) team_.cross().wait(std::span<MPI_Request>(cross_.data(), summed_), Wait::gradient_sum);
}

template class NodeGradientSync<float>;
template class NodeGradientSync<double>;

}  // namespace dmlp::mpi
