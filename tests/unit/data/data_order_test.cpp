// The random numbers, the epoch order and the rank slices.
#include <catch2/catch.hpp>
#include <algorithm>
#include <numeric>
#include <set>

#include "dmlp/core/init.hpp"
#include "dmlp/core/rng.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/synthetic.hpp"

using namespace dmlp;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  // Random123's kat_vectors: philox4x32_10, counter 0 and key 0; then all-ones.
  CHECK(Philox4x32::generate({0, 0, 0, 0}, {0, 0}) ==
        Philox4x32::Counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(Philox4x32::generate({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        Philox4x32::Counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(Philox4x32::generate({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
        Philox4x32::Counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("uniform draws are in range and look uniform", "[rng]") {
  const CounterRng rng(42, RngStream::Test);
  double sum = 0;
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const double u = rng.uniform(i);
    REQUIRE((u >= 0 && u < 1));
    sum += u;
    REQUIRE(rng.below(i, 7) < 7);
  }
  CHECK(sum / 100000 == Approx(0.5).margin(0.005));
}

TEST_CASE("an epoch order is a permutation fixed by (seed, epoch)", "[data-order]") {
  std::vector<std::int64_t> a(1000), b(1000), c(1000);
  epoch_permutation(7, 3, a);
  epoch_permutation(7, 3, b);
  epoch_permutation(7, 4, c);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[std::size_t(i)] == i);
}

TEST_CASE("shards differ by at most one and tile the batch", "[data-order]") {
  for (int ranks = 1; ranks <= 7; ++ranks)
    for (std::int64_t total = 0; total <= 20; ++total) {
      std::int64_t next = 0, smallest = total, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const Slice s = shard(total, ranks, r);
        REQUIRE(s.begin == next);
        next += s.count;
        smallest = std::min(smallest, s.count);
        largest = std::max(largest, s.count);
      }
      REQUIRE(next == total);
      REQUIRE(largest - smallest <= 1);
    }
}

TEST_CASE("each step trains on the same rows for every rank count", "[data-order]") {
  // 53 rows, batch 10: five full batches and a last one of 3, where 4 ranks leave one empty.
  BatchPlan plan(53, 10, false, 9);
  REQUIRE(plan.steps_per_epoch() == 6);
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    plan.shuffle(epoch);
    for (std::int64_t step = 0; step < plan.steps_per_epoch(); ++step) {
      const auto one = plan.rank_rows(step, 1, 0);
      const std::multiset<std::int64_t> expected(one.begin(), one.end());
      for (int ranks = 2; ranks <= 5; ++ranks) {
        std::multiset<std::int64_t> together;
        for (int r = 0; r < ranks; ++r) {
          const auto mine = plan.rank_rows(step, ranks, r);
          together.insert(mine.begin(), mine.end());
        }
        REQUIRE(together == expected);
      }
    }
  }
  CHECK(plan.batch_rows(5) == 3);
  CHECK(plan.rank_rows(5, 4, 3).empty());
  CHECK(BatchPlan(53, 10, true, 9).steps_per_epoch() == 5);
}

TEST_CASE("micro-shards: fixed by (B, m), whole ones per rank, in order", "[data-order]") {
  // 53 rows, batch 20, micro-batch 6: batches of 20, 20 and 13 rows; micro-shards of
  // 6, 6, 6, 2 (and 6, 6, 1 in the last batch).
  BatchPlan plan(53, 20, false, 9, 6);
  plan.shuffle(0);
  CHECK(plan.micro_shards(0) == 4);
  CHECK(plan.micro_shards(2) == 3);
  for (std::int64_t step = 0; step < plan.steps_per_epoch(); ++step) {
    const auto whole = plan.rank_rows(step, 1, 0);
    REQUIRE(std::int64_t(whole.size()) == plan.batch_rows(step));
    for (int ranks = 2; ranks <= 5; ++ranks) {
      std::size_t next = 0;  // the ranks' rows, in rank order, are the batch in order
      std::int64_t largest = 0, smallest = 1 << 30;
      for (int r = 0; r < ranks; ++r) {
        const auto mine = plan.rank_rows(step, ranks, r);
        if (!mine.empty()) {
          REQUIRE(mine.data() == whole.data() + next);
          CHECK(next % 6 == 0);  // each rank starts on a micro-shard boundary
        }
        next += mine.size();
        const std::int64_t shards = (std::int64_t(mine.size()) + 5) / 6;
        largest = std::max(largest, shards);
        smallest = std::min(smallest, shards);
      }
      CHECK(next == whole.size());
      CHECK(largest - smallest <= 1);
    }
  }
  CHECK(plan.rank_rows(2, 5, 3).empty());  // 3 micro-shards over 5 ranks
  CHECK(plan.max_rank_rows(3) == 12);
  CHECK(plan.full_batch_rank_rows(3, 2) == 2);  // the batch's short last micro-shard
}

TEST_CASE("synthetic rows depend on the row index only", "[data-order]") {
  const SyntheticSpec spec{SyntheticKind::Blobs, 6, 4, 5, -1};
  const auto all = make_synthetic(spec, 0, 100);
  const auto tail = make_synthetic(spec, 60, 40);
  for (int r = 0; r < 40; ++r) {
    REQUIRE(tail->labels()[std::size_t(r)] == all->labels()[std::size_t(60 + r)]);
    for (int j = 0; j < 6; ++j) REQUIRE(tail->features()[std::size_t(r) * 6 + j] == all->features()[std::size_t(60 + r) * 6 + j]);
  }
}

TEST_CASE("initialisation is fixed by the seed and bounded as Glorot and He prescribe", "[init]") {
  Network<float> relu(make_mlp({100, 50, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy));
  Network<float> again(relu.spec());
  initialize_parameters(relu, 3);
  initialize_parameters(again, 3);
  CHECK(std::equal(relu.params().begin(), relu.params().end(), again.params().begin()));
  const float he = float(std::sqrt(6.0 / 100)), glorot = float(std::sqrt(6.0 / 60));
  float max_w1 = 0, max_w2 = 0;
  for (int i = 0; i < 100 * 50; ++i) max_w1 = std::max(max_w1, std::abs(relu.weights(0)[i]));
  for (int i = 0; i < 50 * 10; ++i) max_w2 = std::max(max_w2, std::abs(relu.weights(1)[i]));
  CHECK(max_w1 <= he);
  CHECK(max_w1 > 0.95f * he);
  CHECK(max_w2 <= glorot);
  CHECK(max_w2 > 0.9f * glorot);
  for (int j = 0; j < 50; ++j) CHECK(relu.bias(0)[j] == 0.0f);
}
