#include "dmlp/run/placement_advice.hpp"

#include <numeric>

namespace dmlp::run {

std::string placement_warning(const mpi::Placement& p) {
  std::string capped;
  if (p.threads_capped_from > 0)
    capped = "--threads " + std::to_string(p.threads_capped_from) + " is more than the " +
             std::to_string(p.node_cores) + " cores of this node: using " + std::to_string(p.threads);
  std::string crowded;
  for (const mpi::Host& h : p.hosts)
    if (h.oversubscribed())
      crowded += (crowded.empty() ? "" : ", ") + h.name + " (" + std::to_string(h.ranks.size()) + " ranks, " +
                 std::to_string(std::accumulate(h.threads.begin(), h.threads.end(), 0)) + " threads, " +
                 std::to_string(h.cores) + " cores)";
  std::string idle;
  for (const mpi::Host& h : p.hosts) {
    const int used = std::accumulate(h.threads.begin(), h.threads.end(), 0);
    if (used < h.cores)
      idle += (idle.empty() ? "" : ", ") + h.name + " (" + std::to_string(h.ranks.size()) + " rank" +
              (h.ranks.size() == 1 ? "" : "s") + " x " + std::to_string(h.threads.front()) + " thread" +
              (h.threads.front() == 1 ? "" : "s") + " on " + std::to_string(h.cores) + " cores)";
  }
  std::string advice;
  if (p.threads > p.own_cores)
    advice = std::to_string(p.threads) + " threads per rank but each rank is bound to " + std::to_string(p.own_cores) +
             " core" + (p.own_cores == 1 ? "" : "s") + "; bind ranks to more cores (mpirun --map-by slot:PE=" +
             std::to_string(p.threads) + ", srun --cpus-per-task=" + std::to_string(p.threads) +
             ") or lower --threads";
  else if (!crowded.empty())
    advice = "ranks x threads exceeds the cores on " + crowded + ": expect contention; lower --threads or the rank count";
  else if (!idle.empty())
    advice = "ranks x threads leave cores idle on " + idle +
             ": raise --threads (or leave it out: the default fills the cores) or start more ranks";
  if (capped.empty() && advice.empty()) return "";
  return "warning: " + capped + (capped.empty() || advice.empty() ? "" : "; ") + advice;
}

}  // namespace dmlp::run
