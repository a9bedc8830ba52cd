#include "dmlp/mpi/node_team.hpp"

#include <algorithm>

#include "dmlp/core/optimizer.hpp"

namespace dmlp::mpi {
namespace {
Communicator node_of(const Communicator& world) {
  Communicator node = world.split_shared();
  node.wait_with(world.waiter());
  return node;
}

std::size_t norm_block_values(const ParameterLayout& layout) {
  std::size_t n = 0;
  for (const LayerSlots& s : layout.layers()) n += 2 * ((s.weight_count() + kNormBlock - 1) / kNormBlock);
  return n;
}
}  // namespace

template <class T>
NodeTeam<T>::NodeTeam(const Communicator& world, const ParameterLayout& layout, int state_arrays, double bucket_mb)
    : layout_(layout),
      world_rank_(world.rank()),
      node_(node_of(world)),
      cross_(world.split(node_.rank(), world.rank())),
      buckets_(make_buckets(layout, sizeof(T), std::size_t(std::max(bucket_mb, 0.0) * 1024 * 1024))),
      params_(node_, node_.rank() == 0 ? layout.size() : 0, true),
      grads_(node_, layout.size(), false),
      norms_(node_, node_.rank() == 0 ? norm_block_values(layout) : 0, true) {
  const int parts = node_.size(), me = node_.rank();
  for (const Bucket& b : buckets_) {
    cuts_.push_back(split_range(layout, b.begin, b.end, parts, kNormBlock));
    for (const Piece& p : pieces_of(layout, cuts_.back()[std::size_t(me)], cuts_.back()[std::size_t(me) + 1]))
      pieces_.push_back(p);
  }
  // Each state array in even contiguous segments: a rank's pages hold about
  // 1/P of it (its pieces, which it first touches, may lie in others' segments).
  const std::size_t n = layout.size(), share = n / std::size_t(parts);
  for (int i = 0; i < state_arrays; ++i)
    state_.push_back(std::make_unique<SharedArray<T>>(node_, me + 1 == parts ? n - share * std::size_t(parts - 1) : share, true));
  std::size_t at = 0;
  for (const LayerSlots& s : layout.layers()) {
    norm_offsets_.push_back(at);
    at += 2 * ((s.weight_count() + kNormBlock - 1) / kNormBlock);
  }
  norm_offsets_.push_back(at);
  // Zero what starts at zero, each rank its own: its gradient, its pieces of
  // the state; local rank 0 the parameters and the norm blocks.
  std::fill(grads().begin(), grads().end(), T(0));
  for (const std::span<T>& array : optimizer_storage())
    for (const Piece& p : pieces_) std::fill(array.begin() + std::ptrdiff_t(p.begin), array.begin() + std::ptrdiff_t(p.end), T(0));
  if (me == 0) {
    std::fill(params().begin(), params().end(), T(0));
    const std::span<double> norms = norms_.whole(at);
    std::fill(norms.begin(), norms.end(), 0.0);
  }
  shared_written();
}

template <class T>
std::vector<std::span<T>> NodeTeam<T>::optimizer_storage() const {
  std::vector<std::span<T>> arrays;
  for (const auto& a : state_) arrays.push_back(a->whole(layout_.size()));
  return arrays;
}

template <class T>
std::span<double> NodeTeam<T>::norm_blocks(int k) const {
  const std::size_t begin = norm_offsets_[std::size_t(k)], end = norm_offsets_[std::size_t(k) + 1];
  return norms_.whole(norm_offsets_.back()).subspan(begin, end - begin);
}

template <class T>
void NodeTeam<T>::synced_barrier() {
  // MPI's shared-memory model: sync, barrier, sync orders every rank's
  // stores before the barrier with every rank's loads after it.
  sync_all();
  node_.barrier();
  sync_all();
}

template <class T>
void NodeTeam<T>::sync_all() const {
  params_.sync();
  grads_.sync();
  for (const auto& a : state_) a->sync();
  norms_.sync();
  if (exact_) exact_->sync();
}

template <class T>
void NodeTeam<T>::norms_written() {
  synced_barrier();
}

template <class T>
bool NodeTeam<T>::update_done(bool finite) {
  sync_all();
  // The barrier that ends the update carries whether anyone met a NaN: every
  // rank then finds the divergence alike.
  const int failed = node_.allreduce_one<int>(finite ? 0 : 1, MPI_MAX);
  sync_all();
  return failed == 0;
}

template <class T>
void NodeTeam<T>::shared_written() {
  synced_barrier();
}

template <class T>
NodeExactSums* NodeTeam<T>::share_exact_sums(std::size_t words, std::size_t windows, std::size_t buckets) {
  exact_.reset();
  exact_declined_.clear();
  if (cross_.size() > 1) return nullptr;  // several nodes: the sums cross them by all-reduce
  // one node: it is the world, over which the room is checked
  const std::size_t bytes = (words + windows) * sizeof(std::int64_t) * std::size_t(node_.size()) +
                            std::size_t(2 * node_.size()) * (64 << 10);
  exact_declined_ = shared_memory_shortage(node_, node_, bytes, "--reproducible's accumulator");
  if (!exact_declined_.empty()) return nullptr;
  exact_ = std::make_unique<SharedExactSums>(node_, words, windows, buckets);
  return exact_.get();
}

template <class T>
std::optional<NodeTeam<T>> make_node_team(const Communicator& world, const ParameterLayout& layout, int state_arrays,
                                          double bucket_mb, std::string* declined) {
  const Communicator node = world.split_shared();
  const int most = world.allreduce_one<int>(node.size(), MPI_MAX);
  const int fewest = world.allreduce_one<int>(node.size(), MPI_MIN);
  const auto decline = [&](std::string why) {
    if (declined) *declined = std::move(why);
    return std::nullopt;
  };
  if (most < 2) return decline("one rank per node");
  // Local rank i of every node owns the same part: the nodes must hold alike many ranks.
  if (fewest != most) return decline("the nodes hold different numbers of ranks, which --reduction node needs alike");
  // the parameters, every rank's gradient, the optimizer state, a page or two each
  const std::size_t values = layout.size() * std::size_t(2 + node.size() + state_arrays);
  const std::size_t bytes = values * sizeof(T) + std::size_t(node.size() + state_arrays + 3) * (64 << 10);
  if (std::string short_of = shared_memory_shortage(world, node, bytes, "the node's shared model");
      !short_of.empty())
    return decline(short_of);
  return std::optional<NodeTeam<T>>(std::in_place, world, layout, state_arrays, bucket_mb);
}

template class NodeTeam<float>;
template class NodeTeam<double>;
template std::optional<NodeTeam<float>> make_node_team(const Communicator&, const ParameterLayout&, int, double,
                                                       std::string*);
template std::optional<NodeTeam<double>> make_node_team(const Communicator&, const ParameterLayout&, int, double,
                                                        std::string*);

}  // namespace dmlp::mpi
