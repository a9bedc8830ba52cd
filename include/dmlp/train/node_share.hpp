#pragma once
// The ranks of one node as a team (ZeRO stage 1 within the node): they
// compute forward from one shared parameter buffer, keep one shared
// optimizer state, and each updates its own pieces of them
// (train/sharded_updater.hpp). The interface keeps training free of MPI;
// mpi/node_team.hpp implements it over a node's shared memory.
#include <cstdint>
#include <span>
#include <vector>

#include "dmlp/core/shard_plan.hpp"

namespace dmlp {

// --reproducible's exact sums on one node: each rank keeps its accumulator's
// words and windows in the node's shared memory, and once every rank's part
// of a bucket is final, each reads its peers' words there for the tiles it
// needs (ExactSum::result_of_sum), with no all-reduce and no copy.
class NodeExactSums {
 public:
  virtual ~NodeExactSums() = default;
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::span<std::int64_t> words_of(int local_rank) const = 0;    // (elements, K)
  virtual std::span<std::int64_t> windows_of(int local_rank) const = 0;  // (segments)
  // This rank's words and windows of bucket b are final: starts the node's
  // barrier b, after ordering them before it.
  virtual void start(std::size_t b) = 0;
  // Whether every rank of the node has started barrier b (tested, which
  // moves it along); then every rank's words of b may be read.
  virtual bool done(std::size_t b) = 0;
  virtual void wait(std::size_t b) = 0;  // the same, waiting (and watched, as every wait)
};

template <class T>
class NodeShare {
 public:
  virtual ~NodeShare() = default;
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // This rank's pieces of the flat buffer: what it sums, and updates.
  virtual std::span<const Piece> pieces() const = 0;
  // The optimizer's state arrays (optimizer.hpp's order), shared by the node.
  virtual std::vector<std::span<T>> optimizer_storage() const = 0;
  // LARS's and LAMB's per-block norm sums of W_k: two per kNormBlock values,
  // every rank writing its pieces' blocks; after norms_written() each rank
  // reads the whole layer's.
  virtual std::span<double> norm_blocks(int k) const = 0;
  virtual void norms_written() = 0;
  // This rank's part of the update is done: waits for the node's, so that
  // the next forward reads the new parameters. Returns whether every rank's
  // update met finite values only.
  virtual bool update_done(bool finite) = 0;
  // Shared buffers written whole (at start, on resume) by one rank: this one?
  virtual bool writes_shared() const = 0;
  // After such a write: every rank waits for it.
  virtual void shared_written() = 0;
  // Shared room for every rank's exact sums (`words` and `windows` values
  // each) and `buckets` barriers, owned by this share; null where the sums
  // must cross nodes or the node's shared memory has no room (then they go
  // by all-reduce). Collective over the node's ranks.
  virtual NodeExactSums* share_exact_sums(std::size_t words, std::size_t windows, std::size_t buckets) = 0;
};

}  // namespace dmlp
