#include "dmlp/mpi/placement.hpp"

#include <sched.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace dmlp::mpi {

Placement discover_placement(const Communicator& world, int requested_threads) {
  Placement p;
  p.ranks = world.size();
  const Communicator node = world.split_shared();
  p.ranks_on_node = node.size();
  p.local_rank = node.rank();
  p.nodes = int(world.allreduce_one<std::int64_t>(p.local_rank == 0 ? 1 : 0, MPI_SUM));

  cpu_set_t own;
  CPU_ZERO(&own);
  if (sched_getaffinity(0, sizeof(own), &own) != 0)
    for (int c = 0; c < 2; ++c) CPU_SET(c, &own);  // unknown: assume a small machine
  p.own_cores = CPU_COUNT(&own);

  std::array<std::uint64_t, sizeof(cpu_set_t) / sizeof(std::uint64_t)> bits{};
  std::memcpy(bits.data(), &own, sizeof(own));
  node.allreduce(std::span<std::uint64_t>(bits), MPI_BOR);
  cpu_set_t node_set;
  std::memcpy(&node_set, bits.data(), sizeof(node_set));
  p.node_cores = CPU_COUNT(&node_set);

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
