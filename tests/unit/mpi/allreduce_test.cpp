// The gradient sum over ranks, against closed forms.
#include <catch2/catch.hpp>

#include "dmlp/mpi/gradient_sync.hpp"
#include "world.hpp"

using namespace dmlp;

using test::world;

TEST_CASE("buckets cover the buffer from its tail, in whole layers", "[allreduce]") {
  const ParameterLayout layout(make_mlp({784, 1024, 1024, 10}, Activation::Relu, Activation::Identity,
                                        Loss::SoftmaxCrossEntropy));
  const auto buckets = mpi::make_buckets(layout, 4, 1 << 20);
  REQUIRE(buckets.size() == 2);  // {layer 3 + layer 2} at >= 1 MiB, then layer 1
  CHECK(buckets[0].end == layout.size());
  CHECK(buckets[0].begin == layout.layer(1).begin());
  CHECK(buckets[0].lowest_layer == 1);
  CHECK(buckets[1].begin == 0);
  CHECK(buckets[1].end == buckets[0].begin);
  CHECK(mpi::make_buckets(layout, 4, 0).size() == 3);           // one per layer
  CHECK(mpi::make_buckets(layout, 4, std::size_t(1) << 30).size() == 1);  // one for all
}

TEST_CASE("rank-dependent gradients sum to the closed form", "[allreduce]") {
  const ModelSpec spec = make_mlp({30, 40, 20, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  const int P = world().size(), r = world().rank();
  for (bool overlap : {true, false})
    for (double bucket_mb : {0.0, 0.002, 10.0}) {
      Network<double> net(spec);
      mpi::MpiGradientSync<double> sync(world(), net.layout(), bucket_mb, overlap);
      // g_i on rank r = (r + 1)·(i + 1): the sum is (i + 1)·P(P + 1)/2.
      for (std::size_t i = 0; i < net.grads().size(); ++i) net.grads()[i] = double(r + 1) * double(i + 1);
      sync.begin(net.grads());
      for (int k = spec.num_layers() - 1; k >= 0; --k) sync.layer_ready(k);
      sync.finish();
      INFO((overlap ? "overlapped" : "blocking") << ", bucket " << bucket_mb << " MiB, P = " << P);
      for (std::size_t i = 0; i < net.grads().size(); ++i)
        REQUIRE(net.grads()[i] == double(i + 1) * P * (P + 1) / 2);
    }
}

TEST_CASE("metric sums and maxima over ranks", "[allreduce]") {
  mpi::MpiCollective collective(world());
  const int P = world().size(), r = world().rank();
  double values[2] = {double(r), 1.0};
  collective.sum(values);
  CHECK(values[0] == P * (P - 1) / 2.0);
  CHECK(values[1] == P);
  double largest[1] = {double(r) * 2};
  collective.max(largest);
  CHECK(largest[0] == 2.0 * (P - 1));
}

TEST_CASE("maxima over ranks name the rank that holds them, the lowest on a tie", "[allreduce]") {
  mpi::MpiCollective collective(world());
  const int P = world().size(), r = world().rank();
  // the last rank is largest; rank 0 is largest; all tie; rank 1 (when there is one) is largest
  double values[4] = {double(r), -double(r), 7.0, r == std::min(1, P - 1) ? 3.0 : 1.0};
  int ranks[4] = {-1, -1, -1, -1};
  collective.max_with_rank(values, ranks);
  CHECK(values[0] == P - 1);
  CHECK(ranks[0] == P - 1);
  CHECK(values[1] == 0);
  CHECK(ranks[1] == 0);
  CHECK(values[2] == 7.0);
  CHECK(ranks[2] == 0);
  CHECK(values[3] == 3.0);
  CHECK(ranks[3] == std::min(1, P - 1));
}

TEST_CASE("maxima with ranks for more values than fit on the stack", "[allreduce]") {
  const int P = world().size(), r = world().rank();
  std::vector<double> values(40);
  std::vector<int> ranks(40, -1);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i % std::size_t(P) == std::size_t(r));
  world().allreduce_max_with_rank(values, ranks);
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK(values[i] == 1.0);
    CHECK(ranks[i] == int(i % std::size_t(P)));  // the one rank holding the 1
  }
  CHECK_THROWS_AS(world().allreduce_max_with_rank(values, std::span<int>(ranks).first(3)), std::invalid_argument);
}

TEST_CASE("the ring all-reduce is forced only on Open MPI releases without bug #9385", "[allreduce]") {
  using mpi::open_mpi_version;
  using mpi::ring_iallreduce_is_safe;
  CHECK_FALSE(open_mpi_version("MPICH Version: 4.0.2"));
  CHECK_FALSE(open_mpi_version("Open MPI vX"));
  const auto v = open_mpi_version("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4");
  REQUIRE(v);
  CHECK((v->major == 4 && v->minor == 1 && v->release == 4));
  for (const char* broken : {"Open MPI v4.0.0", "Open MPI v4.0.6", "Open MPI v4.1.0", "Open MPI v4.1.1"}) {
    INFO(broken);
    CHECK_FALSE(ring_iallreduce_is_safe(*open_mpi_version(broken)));
  }
  for (const char* fixed : {"Open MPI v4.0.7", "Open MPI v4.1.2", "Open MPI v4.1.6", "Open MPI v5.0.3"}) {
    INFO(fixed);
    CHECK(ring_iallreduce_is_safe(*open_mpi_version(fixed)));
  }
  // this build's own choice is named in the summary
  CHECK_FALSE(mpi::Environment::allreduce_algorithm().empty());
}
