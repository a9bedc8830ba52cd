#include "dmlp/mpi/gradient_sync.hpp"

#include <algorithm>

namespace dmlp::mpi {

std::vector<Bucket> make_buckets(const ParameterLayout& layout, std::size_t element_bytes,
                                 std::size_t bucket_bytes) {
  std::vector<Bucket> buckets;
  const auto& layers = layout.layers();
  Bucket open{layers.back().end(), layers.back().end(), 0};
  for (int k = int(layers.size()) - 1; k >= 0; --k) {
    open.begin = layers[k].begin();
    open.lowest_layer = k;
    const bool full = (open.end - open.begin) * element_bytes >= bucket_bytes;
    // MPI counts are int: a bucket never exceeds kMaxCount elements unless one layer does.
    const bool next_overflows = k > 0 && open.end - layers[k - 1].begin() > kMaxCount;
    if (full || next_overflows || k == 0) {
      buckets.push_back(open);
      open = Bucket{open.begin, open.begin, 0};
    }
  }
  return buckets;
}

template <class T>
MpiGradientSync<T>::MpiGradientSync(const Communicator& comm, const ParameterLayout& layout,
                                    double bucket_mb, bool overlap)
    : comm_(comm),
      buckets_(make_buckets(layout, sizeof(T), std::size_t(std::max(bucket_mb, 0.0) * 1024 * 1024))),
      requests_(buckets_.size(), MPI_REQUEST_NULL),
      overlap_(overlap),
      started_us_(buckets_.size() + 1, 0.0),
      reported_(buckets_.size() + 1, 0),
      layers_(int(layout.layers().size())) {}

template <class T>
bool MpiGradientSync<T>::report_buckets(SummedObserver* listener) {
  if (!overlap_ || comm_.size() == 1) return false;
  listener_ = listener;
  return listener != nullptr;
}

template <class T>
void MpiGradientSync<T>::completed(std::size_t b) {
  reported_[b] = 1;
  if (trace_ && trace_->on())
    trace_->span("all-reduce bucket", int(b) + 1, kFirstCommunicationLane + int(b), started_us_[b], trace_->now());
  if (listener_) {
    listener_->layers_summed(buckets_[b].lowest_layer, highest_layer(buckets_, b, layers_));
  }
}

template <class T>
void MpiGradientSync<T>::begin(std::span<T> grads) {
  grads_ = grads;
  started_ = 0;
  std::fill(reported_.begin(), reported_.end(), 0);
}

template <class T>
void MpiGradientSync<T>::layer_ready(int k) {
  if (!overlap_ || comm_.size() == 1) return;
  if (started_ < buckets_.size() && buckets_[started_].lowest_layer == k) {
    const Bucket& b = buckets_[started_];
    if (trace_ && trace_->on()) started_us_[started_] = trace_->now();
    check(MPI_Iallreduce(MPI_IN_PLACE, grads_.data() + b.begin, int(b.end - b.begin),
                         datatype<T>(), MPI_SUM, comm_.get(), &requests_[started_]),
          "MPI_Iallreduce");
    ++started_;
  }
  push_communication();
}

template <class T>
void MpiGradientSync<T>::push_communication() {
  // Open MPI advances non-blocking collectives only inside MPI calls.
  if (started_ == 0) return;
  if (watching()) {  // one test per bucket, to see when each completes
    for (std::size_t b = 0; b < started_; ++b) {
      if (reported_[b]) continue;
      int done = 0;
      check(MPI_Test(&requests_[b], &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) completed(b);
    }
    return;
  }
  int all_done = 0;
  check(MPI_Testall(int(started_), requests_.data(), &all_done, MPI_STATUSES_IGNORE),
        "MPI_Testall");
}


template <class T>
void MpiGradientSync<T>::finish() {
  if (comm_.size() == 1) return;
  if (!overlap_) {
    // The same non-blocking call as the buckets, so that --no-overlap sums in
    // the same algorithm and its wait can be watched.
    for (std::size_t at = 0; at < grads_.size(); at += kMaxCount) {
      MPI_Request request = MPI_REQUEST_NULL;
      const double start = trace_ && trace_->on() ? trace_->now() : 0.0;
      check(MPI_Iallreduce(MPI_IN_PLACE, grads_.data() + at, int(std::min(kMaxCount, grads_.size() - at)),
                           datatype<T>(), MPI_SUM, comm_.get(), &request),
            "MPI_Iallreduce");
      wait(std::span<MPI_Request>(&request, 1));
      if (trace_ && trace_->on()) trace_->span("all-reduce", -1, kFirstCommunicationLane, start, trace_->now());
    }
    return;
  }
  if (!watching()) {
    wait(std::span<MPI_Request>(requests_.data(), started_));
    return;
  }
  // Bucket by bucket, in the order they started (and mostly complete): each
  // is told the moment it is summed, its sums still in cache.
  for (std::size_t b = 0; b < started_; ++b)
    if (!reported_[b]) {
      wait(std::span<MPI_Request>(&requests_[b], 1));
      completed(b);
    }
}

template <class T>
void MpiGradientSync<T>::wait(std::span<MPI_Request> requests) {
  comm_.wait(requests, Wait::gradient_sum);
}

template class MpiGradientSync<float>;
template class MpiGradientSync<double>;

}  // namespace dmlp::mpi
