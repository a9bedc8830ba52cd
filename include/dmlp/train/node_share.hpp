#pragma once
// The ranks of one node as a team (ZeRO stage 1 within the node): they
// compute forward from one shared parameter buffer, keep one shared
// optimizer state, and each updates its own pieces of them
// (train/sharded_updater.hpp). The interface keeps training free of MPI;
// mpi/node_team.hpp implements it over a node's shared memory.
#include <span>
#include <vector>

#include "dmlp/core/shard_plan.hpp"

namespace dmlp {

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
};

}  // namespace dmlp
