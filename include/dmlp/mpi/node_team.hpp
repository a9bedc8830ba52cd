#pragma once
// The ranks of one node over shared memory: one parameter buffer that all
// compute forward from (local rank 0's segment), one gradient buffer per
// rank that the others read, the optimizer state once per node, and the
// pieces each rank sums and updates: its part of every gradient bucket
// (core/shard_plan.hpp). Across nodes, local rank i of every node owns the
// same pieces and sums them with its peers on `cross()`; so every node holds
// the whole model once. Constructed collectively over the world.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/gradient_sync.hpp"
#include "dmlp/mpi/shared_exact_sums.hpp"
#include "dmlp/mpi/shared_window.hpp"
#include "dmlp/train/node_share.hpp"

namespace dmlp::mpi {

template <class T>
class NodeTeam final : public NodeShare<T> {
 public:
  // `node`: the ranks of this node (Communicator::split_shared), waiting
  // like `world`; `state_arrays`: the optimizer's (optimizer.hpp).
  NodeTeam(const Communicator& world, const ParameterLayout& layout, int state_arrays, double bucket_mb);

  const ParameterLayout& layout() const { return layout_; }
  const Communicator& node() const { return node_; }
  const Communicator& cross() const { return cross_; }  // local rank i of every node
  const std::vector<Bucket>& buckets() const { return buckets_; }
  // [begin, end) of local rank r's part of bucket b
  std::pair<std::size_t, std::size_t> part(std::size_t b, int r) const {
    return {cuts_[b][std::size_t(r)], cuts_[b][std::size_t(r) + 1]};
  }
  std::span<T> params() const { return params_.whole(layout_.size()); }
  // (a segment may be rounded up to whole pages: the first values are the gradient)
  std::span<T> grads_of(int local_rank) const { return grads_.of(local_rank).first(layout_.size()); }
  std::span<T> grads() const { return grads_of(node_.rank()); }
  void sync_gradients() const { grads_.sync(); }

  int world_rank() const { return world_rank_; }
  int local_rank() const override { return node_.rank(); }
  int local_size() const override { return node_.size(); }
  std::span<const Piece> pieces() const override { return pieces_; }
  std::vector<std::span<T>> optimizer_storage() const override;
  std::span<double> norm_blocks(int k) const override;
  void norms_written() override;
  bool update_done(bool finite) override;
  bool writes_shared() const override { return node_.rank() == 0; }
  void shared_written() override;
  NodeExactSums* share_exact_sums(std::size_t words, std::size_t windows, std::size_t buckets) override;
  // Why the last share_exact_sums found no room (empty: it did, or was not asked).
  const std::string& exact_sums_declined() const { return exact_declined_; }

 private:
  void synced_barrier();
  void sync_all() const;

  ParameterLayout layout_;
  int world_rank_;
  Communicator node_, cross_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<std::size_t>> cuts_;  // per bucket: local_size + 1 boundaries
  std::vector<Piece> pieces_;                   // this rank's, bucket by bucket
  SharedArray<T> params_, grads_;
  std::vector<std::unique_ptr<SharedArray<T>>> state_;  // not movable: the window's handle
  SharedArray<double> norms_;
  std::vector<std::size_t> norm_offsets_;  // per layer, into norms_
  std::unique_ptr<SharedExactSums> exact_;  // --reproducible on one node
  std::string exact_declined_;
};

// A team for the world's ranks, or none where no node holds two of them
// (then every rank is alone on its node, and the plain all-reduce is the
// same), the nodes hold different numbers of ranks, or a node's shared memory
// has no room for the model; then `declined` says which. Collective.
template <class T>
std::optional<NodeTeam<T>> make_node_team(const Communicator& world, const ParameterLayout& layout, int state_arrays,
                                          double bucket_mb, std::string* declined = nullptr);

}  // namespace dmlp::mpi
