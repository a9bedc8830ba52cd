#include "dmlp/mpi/placement.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "dmlp/train/threads.hpp"

namespace dmlp::mpi {
namespace {

// Every rank's host name, threads and node cores, on every rank.
std::vector<Host> gather_hosts(const Communicator& world, int threads, int node_cores) {
  constexpr int kNameWidth = MPI_MAX_PROCESSOR_NAME;
  const auto size = std::size_t(world.size()), me = std::size_t(world.rank());
  std::vector<char> names(size * kNameWidth, '\0');
  int length = 0;
  check(MPI_Get_processor_name(names.data() + me * kNameWidth, &length), "MPI_Get_processor_name");
  std::vector<std::int64_t> numbers(size * 2);  // (threads, node cores) per rank
  numbers[me * 2] = threads;
  numbers[me * 2 + 1] = node_cores;
  std::vector<int> counts(size, 1), displs(size);
  std::iota(displs.begin(), displs.end(), 0);
  world.allgather_rows(names.data(), kNameWidth, counts, displs);
  world.allgather_rows(numbers.data(), 2, counts, displs);
  std::vector<Host> hosts;
  for (std::size_t r = 0; r < size; ++r) {
    const std::string name(names.data() + r * kNameWidth, strnlen(names.data() + r * kNameWidth, kNameWidth));
    auto host = std::find_if(hosts.begin(), hosts.end(), [&](const Host& h) { return h.name == name; });
    if (host == hosts.end()) host = hosts.insert(hosts.end(), Host{name, {}, {}, int(numbers[r * 2 + 1])});
    host->ranks.push_back(int(r));
    host->threads.push_back(int(numbers[r * 2]));
  }
  return hosts;
}

}  // namespace

// "0-3,6,8-9"
std::string rank_ranges(const std::vector<int>& ranks) {
  std::string text;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    text += (text.empty() ? "" : ",") + std::to_string(ranks[i]) + (j > i ? "-" + std::to_string(ranks[j]) : "");
    i = j + 1;
  }
  return text;
}

bool Host::oversubscribed() const { return std::accumulate(threads.begin(), threads.end(), 0) > cores; }

std::string Host::describe() const {
  const bool uniform = std::all_of(threads.begin(), threads.end(), [&](int t) { return t == threads.front(); });
  std::string each;
  if (uniform) {
    each = std::to_string(threads.front()) + (threads.front() == 1 ? " thread" : " threads") + " each";
  } else {
    for (int t : threads) each += (each.empty() ? "" : ",") + std::to_string(t);
    each = "threads " + each;
  }
  return name + ": rank" + (ranks.size() == 1 ? " " : "s ") + rank_ranges(ranks) + " (" + each + "; " +
         std::to_string(cores) + (cores == 1 ? " core)" : " cores)");
}

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
  // More threads than the node has cores only slows every rank down.
  if (p.threads > p.node_cores) {
    p.threads_capped_from = p.threads;
    p.threads = p.own_cores;
  }
  p.hosts = gather_hosts(world, p.threads, p.node_cores);
  return p;
}

}  // namespace dmlp::mpi
