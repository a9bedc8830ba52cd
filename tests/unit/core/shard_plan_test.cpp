// The node's split of the update: every part a run of whole blocks, the parts
// covering each bucket once, as even as blocks allow; and the piece API of the
// optimizer giving the whole update's bits.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "dmlp/core/init.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/shard_plan.hpp"

using namespace dmlp;

TEST_CASE("split_range cuts at tensor starts and block boundaries, evenly", "[shard]") {
  // W_1 is 100 × 300 = 30000 values (8 blocks of 4096), b_1 100, W_2 10 × 100, b_2 10
  const ParameterLayout layout(make_mlp({300, 100, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy));
  const std::size_t n = layout.size();
  for (int parts : {1, 2, 3, 4, 16}) {
    INFO(parts << " parts");
    const auto cuts = split_range(layout, 0, n, parts, kNormBlock);
    REQUIRE(cuts.size() == std::size_t(parts) + 1);
    CHECK(cuts.front() == 0);
    CHECK(cuts.back() == n);
    for (std::size_t i = 1; i < cuts.size(); ++i) CHECK(cuts[i] >= cuts[i - 1]);
    for (std::size_t i = 1; i + 1 < cuts.size(); ++i) {
      // a tensor start, or a whole number of blocks into W_1 or W_2
      const std::size_t c = cuts[i];
      const bool allowed = (c < layout.layer(0).bias_offset && c % kNormBlock == 0) ||
                           c == layout.layer(0).bias_offset || c == layout.layer(1).weight_offset ||
                           (c > layout.layer(1).weight_offset && c < layout.layer(1).bias_offset &&
                            (c - layout.layer(1).weight_offset) % kNormBlock == 0) ||
                           c == layout.layer(1).bias_offset || c == n;
      CHECK(allowed);
    }
    // no part longer than an even share plus a block
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
      CHECK(cuts[i + 1] - cuts[i] <= n / std::size_t(parts) + kNormBlock);
  }
  const auto pieces = pieces_of(layout, 4096, n);
  REQUIRE(pieces.size() == 4);
  CHECK(pieces[0].layer == 0);
  CHECK(!pieces[0].bias);
  CHECK(pieces[0].offset_in_tensor(layout) == 4096);
  CHECK(pieces[1].bias);
  CHECK(pieces[3].end == n);
}

TEST_CASE("the optimizer's pieces give the bits of its whole update", "[shard]") {
  const ModelSpec spec = make_mlp({300, 100, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  for (const OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW, OptimizerKind::Lars, OptimizerKind::Lamb}) {
    INFO(to_string(kind));
    OptimizerConfig c{.lr_weights = 0.01, .lr_bias = 0.02, .weight_decay = 0.01, .kind = kind};
    if (kind == OptimizerKind::Sgd || kind == OptimizerKind::Lars) c.momentum = 0.9;
    Network<float> whole(spec), pieces(spec);
    initialize_parameters(whole, 3);
    initialize_parameters(pieces, 3);
    std::vector<float> g(whole.layout().size());
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = float(std::sin(double(i))) * 0.1f;
    Optimizer<float> a(c, whole.layout()), b(c, pieces.layout());
    const auto cuts = split_range(pieces.layout(), 0, g.size(), 3, kNormBlock);
    for (int step = 0; step < 3; ++step) {
      a.begin_step();
      REQUIRE(a.step(whole.params(), g));
      b.begin_step();
      // three "ranks": their norm blocks first, then their updates
      std::vector<Piece> all;
      for (int part = 0; part < 3; ++part)
        for (const Piece& p : pieces_of(pieces.layout(), cuts[std::size_t(part)], cuts[std::size_t(part) + 1]))
          all.push_back(p);
      std::vector<std::vector<double>> layer_blocks(2, std::vector<double>(2 * 8, 0.0));
      for (const Piece& p : all)
        if (b.layer_adaptive(p))
          b.piece_norm_blocks(p, pieces.params(), g,
                              std::span<double>(layer_blocks[std::size_t(p.layer)]).subspan(2 * (p.offset_in_tensor(pieces.layout()) / kNormBlock)));
      for (const Piece& p : all) {
        if (!b.layer_adaptive(p)) {
          REQUIRE(b.step_piece(p, pieces.params(), g, 1.0));
          continue;
        }
        const std::size_t blocks = (pieces.layout().layer(p.layer).weight_count() + kNormBlock - 1) / kNormBlock;
        REQUIRE(b.apply_piece(p, pieces.params(), g, 1.0,
                              std::span<const double>(layer_blocks[std::size_t(p.layer)]).first(2 * blocks)));
      }
    }
    CHECK(std::memcmp(whole.params().data(), pieces.params().data(), g.size() * sizeof(float)) == 0);
  }
}
