#pragma once
// Sums the flat gradient buffer over ranks during back-propagation.
//
// The buffer is [W_1 b_1 … W_K b_K], and backward finishes layers from K down
// to 1, so the buffer fills from its tail. Buckets are runs of whole layers
// taken from the tail until they hold at least bucket_bytes; a bucket's
// MPI_Iallreduce starts the moment its lowest layer is done, and runs while
// the layers below it are still being back-propagated. finish() waits for all
// of them before the update. Without overlap, finish() does one blocking
// MPI_Allreduce over the whole buffer instead.
#include <cstddef>
#include <span>
#include <vector>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/waiter.hpp"

namespace dmlp::mpi {

struct Bucket {
  std::size_t begin = 0, end = 0;  // element range in the flat buffer
  int lowest_layer = 0;            // the bucket is complete once this layer is
};

// Buckets for `layout`, in the order backward completes them.
std::vector<Bucket> make_buckets(const ParameterLayout& layout, std::size_t element_bytes,
                                 std::size_t bucket_bytes);
// The highest layer of bucket b: the one below the previous bucket's lowest
// (of `layers`, the top one for the first bucket).
inline int highest_layer(const std::vector<Bucket>& buckets, std::size_t b, int layers) {
  return b == 0 ? layers - 1 : buckets[b - 1].lowest_layer - 1;
}

template <class T>
class MpiGradientSync final : public GradientSync<T> {
 public:
  MpiGradientSync(const Communicator& comm, const ParameterLayout& layout, double bucket_mb,
                  bool overlap);

  void begin(std::span<T> grads) override;
  void layer_ready(int k) override;
  void push_communication() override;
  bool wants_communication_pushed() const override { return overlap_ && started_ > 0; }
  bool report_buckets(SummedObserver* listener) override;
  void finish() override;

  const std::vector<Bucket>& buckets() const { return buckets_; }
  bool overlap() const { return overlap_; }
  // Each bucket's all-reduce becomes a span on the trace's communication
  // lane, from its start to the first test or wait that saw it complete.
  void set_trace(Trace* trace) { trace_ = trace; }

 private:
  void wait(std::span<MPI_Request> requests);
  void completed(std::size_t b);  // bucket b's sum is complete: trace it, tell the listener
  bool watching() const { return listener_ || (trace_ && trace_->on()); }  // per-bucket completions wanted

  const Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::vector<MPI_Request> requests_;  // one per bucket, preallocated
  std::size_t started_ = 0;            // buckets started this step
  std::span<T> grads_;
  bool overlap_;
  Trace* trace_ = nullptr;
  std::vector<double> started_us_;  // per bucket, for the trace
  std::vector<char> reported_;      // per bucket: its completion is traced and told
  SummedObserver* listener_ = nullptr;
  int layers_ = 0;
};

}  // namespace dmlp::mpi
