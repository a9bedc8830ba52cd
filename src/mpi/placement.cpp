#include "dmlp/mpi/placement.hpp"

#include <algorithm>

#include "dmlp/train/threads.hpp"

namespace dmlp::mpi {

Placement discover_placement(const Communicator& world, int requested_threads) {
  Placement p;
  p.ranks = world.size();
  const Communicator node = world.split_shared();
  p.ranks_on_node = node.size();
  p.local_rank = node.rank();
  p.nodes = int(world.allreduce_one<std::int64_t>(p.local_rank == 0 ? 1 : 0, MPI_SUM));

  const CpuMask own = own_cpu_mask().value_or(CpuMask{{0b11}});  // unknown: assume a small machine, CPUs 0 and 1
  p.own_cores = own.count();
  CpuMask node_cpus = own;
  node.allreduce(std::span<std::uint64_t>(node_cpus.words), MPI_BOR);
  p.node_cores = node_cpus.count();

  p.threads_defaulted = requested_threads <= 0;
  p.threads = p.threads_defaulted
                  ? std::max(1, std::min(p.own_cores, p.node_cores / p.ranks_on_node))
                  : requested_threads;
  // Every rank reports whether its node is oversubscribed; rank 0 prints it.
  const int over = p.ranks_on_node * p.threads > p.node_cores ? 1 : 0;
  const int worst = int(world.allreduce_one<std::int64_t>(over, MPI_MAX));
  if (p.threads > p.own_cores)
    p.warning = "warning: " + std::to_string(p.threads) + " threads per rank but each rank is bound to " +
                std::to_string(p.own_cores) + " core" + (p.own_cores == 1 ? "" : "s") +
                "; bind ranks to more cores (mpirun --map-by slot:PE=" + std::to_string(p.threads) +
                ", srun --cpus-per-task=" + std::to_string(p.threads) + ") or lower --threads";
  else if (worst)
    p.warning = "warning: ranks x threads exceeds the cores on at least one node (here " +
                std::to_string(p.ranks_on_node) + " ranks x " + std::to_string(p.threads) +
                " threads on " + std::to_string(p.node_cores) +
                " cores): expect contention; lower --threads or the rank count";
  return p;
}

}  // namespace dmlp::mpi
