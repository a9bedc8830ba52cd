#pragma once
// Where the ranks run, and how many threads each should use.
//
// The default is (cores of the node) / (ranks on the node), where the node's
// cores are the union of its ranks' affinity masks (so a Slurm or mpirun
// binding is respected), and never more than this rank's own mask.
#include <string>
#include <vector>

#include "dmlp/mpi/communicator.hpp"

namespace dmlp::mpi {

// One node of the job, as its ranks report it.
struct Host {
  std::string name;        // MPI_Get_processor_name
  std::vector<int> ranks;  // ascending
  std::vector<int> threads;  // per rank, in the order of `ranks`
  int cores = 1;           // union of its ranks' affinity masks
  bool oversubscribed() const;  // its ranks' threads exceed its cores
  std::string describe() const;  // "h1: ranks 0-1 (2 threads each)"
};

struct Placement {
  int ranks = 1;           // in the job
  int nodes = 1;
  int ranks_on_node = 1;
  int local_rank = 0;
  int node_cores = 1;      // union of the node's ranks' affinity masks
  int own_cores = 1;       // this rank's affinity mask
  int threads = 1;         // per rank: the chosen count
  bool threads_defaulted = true;
  int threads_capped_from = 0;  // > 0: the threads asked for, more than the node's cores, cut to own_cores
  std::vector<Host> hosts; // every node, ordered by its lowest rank; the same on every rank
};

// Ranks as ranges, ascending input: "0-3,6,8-9".
std::string rank_ranges(const std::vector<int>& ranks);

// Collective over `world`. requested_threads 0 means "choose".
Placement discover_placement(const Communicator& world, int requested_threads);

}  // namespace dmlp::mpi
