// The start-up summary and the placement advice, from descriptions made up
// for each case: the lines a user reads before the first step.
#include <catch2/catch.hpp>

#include "dmlp/run/placement_advice.hpp"
#include "dmlp/run/training_run.hpp"

using namespace dmlp;
using Catch::Matchers::Contains;

namespace {
run::RunDescription two_ranks() {
  run::RunDescription d;
  d.mpi_library = "Open MPI v4.1.4";
  d.allreduce_algorithm = "libnbc's ring";
  d.placement.ranks = 2;
  d.placement.ranks_on_node = 2;
  d.placement.node_cores = 2;
  d.placement.own_cores = 1;
  d.placement.hosts = {mpi::Host{"h1", {0, 1}, {1, 1}, 2}};
  d.threading = "OpenBLAS (openmp)";
  d.config.model = make_mlp({784, 32, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  d.config.training.global_batch = 128;
  d.parameters = 784 * 32 + 32 + 32 * 10 + 10;
  d.train = {"fashion train.h5, 60000 rows", "in memory", "content xxh3 0123456789abcdef"};
  d.per_rank_batch_min = d.per_rank_batch_max = 64;
  d.steps_per_epoch = 469;
  d.total_steps = 9380;
  d.buckets = 2;
  d.overlappable = 0.97;
  return d;
}
}  // namespace

TEST_CASE("the summary names the ranks, hosts, model, data, batch and reduction", "[summary]") {
  const std::string s = run::format_summary(two_ranks());
  CHECK_THAT(s, Contains("Open MPI v4.1.4; 2 ranks on 1 node"));
  CHECK_THAT(s, Contains("1 per rank (2 cores / 2 ranks on the node)"));
  CHECK_THAT(s, Contains("784-32-10"));
  CHECK_THAT(s, Contains("25450 parameters, float32"));
  CHECK_THAT(s, Contains("train: fashion train.h5, 60000 rows (in memory; content xxh3 0123456789abcdef)"));
  CHECK_THAT(s, Contains("global 128, per rank 64; 469 steps per epoch, 9380 steps"));
  CHECK_THAT(s, Contains("2 buckets (--bucket-mb 1), overlapped: the sums of 97% of the gradient start while backward runs"));
  CHECK_THAT(s, Contains("summed by libnbc's ring"));
  CHECK_THAT(s, Contains("a rank waiting 300 s in a collective ends the job (--stall-timeout)"));
}

TEST_CASE("the summary of an uneven split and of the exact sums", "[summary]") {
  run::RunDescription d = two_ranks();
  d.per_rank_batch_min = 63;
  d.config.training.reproducible = true;
  d.config.training.micro_batch = 32;
  const std::string s = run::format_summary(d);
  CHECK_THAT(s, Contains("per rank 64-63"));
  CHECK_THAT(s, Contains("32 rows per micro-batch (--micro-batch), up to 2 per rank per step"));
  CHECK_THAT(s, Contains("exact: 64-bit integer sums, 1 per weight at a scale agreed each step and 2 per bias, added "
                         "tile by tile in cache\n"));
  d.config.precision = run::Precision::Double;
  CHECK_THAT(run::format_summary(d), Contains("exact: 64-bit integer sums, 3 per parameter, added tile by tile in cache\n"));
  d.config.precision = run::Precision::Float;
  d.micro_shards_held = 1;
  d.exact_buckets = 14;
  const std::string held = run::format_summary(d);
  CHECK_THAT(held, Contains("up to 2 per rank per step, held 1 at a time, one gradient sum per step"));
  CHECK_THAT(held, Contains("over the ranks in 14 buckets, each as soon as its tiles are summed, by all-reduce\n"));
  d.exact_shared = true;
  CHECK_THAT(run::format_summary(d),
             Contains("each as soon as its tiles are summed, each rank reading its peers' words for its own tiles from "
                      "the node's shared memory\n"));
  CHECK_THAT(held, Contains("slower than plain at 1 rank x 2 threads"));
}

TEST_CASE("the placement advice: nothing when it fits, the launchers' flags when it does not", "[summary]") {
  mpi::Placement p;
  p.node_cores = 4;
  p.own_cores = 2;
  p.threads = 2;
  p.hosts = {mpi::Host{"h1", {0, 1}, {2, 2}, 4}};
  CHECK(run::placement_warning(p).empty());
  p.threads = 3;  // more than this rank is bound to
  CHECK(run::placement_warning(p) ==
        "warning: 3 threads per rank but each rank is bound to 2 cores; bind ranks to more cores (mpirun --map-by "
        "slot:PE=3, srun --cpus-per-task=3) or lower --threads");
  p.threads = 2;
  p.hosts = {mpi::Host{"h1", {0, 1, 2}, {2, 2, 2}, 4}};
  CHECK(run::placement_warning(p) ==
        "warning: ranks x threads exceeds the cores on h1 (3 ranks, 6 threads, 4 cores): expect contention; lower "
        "--threads or the rank count");
  p.hosts = {mpi::Host{"h1", {0, 1}, {2, 2}, 4}, mpi::Host{"h2", {2, 3}, {1, 1}, 4}};
  CHECK(run::placement_warning(p) ==
        "warning: ranks x threads leave cores idle on h2 (2 ranks x 1 thread on 4 cores): raise --threads (or leave "
        "it out: the default fills the cores) or start more ranks");
  p.threads_capped_from = 64;
  p.hosts = {mpi::Host{"h1", {0, 1}, {2, 2}, 4}};
  CHECK(run::placement_warning(p) == "warning: --threads 64 is more than the 4 cores of this node: using 2");
}
