// --reproducible's cut of every dW_k into tiles: each weight in exactly one
// tile, the tiles in the exact sums' order, no tile over its size, and the
// cut a function of the model's shape alone.
#include <catch2/catch.hpp>
#include <vector>

#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/shard_plan.hpp"
#include "dmlp/train/exact_step.hpp"

using namespace dmlp;

TEST_CASE("weight tiles cover every weight once, in the exact sums' order", "[exact_step]") {
  for (const std::vector<int>& widths : {std::vector<int>{784, 1024, 1024, 10}, {2, 64, 64, 3}, {1, 2}, {3000, 7, 5000}}) {
    const ModelSpec spec = make_mlp(widths, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
    const ParameterLayout layout(spec);
    for (std::size_t elements : {tile_elements(4), tile_elements(8), std::size_t{100}}) {
      const std::vector<WeightTile> tiles = weight_tiles(layout, elements);
      std::vector<int> covered(layout.size(), 0);
      std::size_t next = 0;
      int layer = spec.num_layers();
      for (const WeightTile& t : tiles) {
        CHECK(t.first == next);  // contiguous, from 0
        next += t.size();
        CHECK(t.layer <= layer);  // the last layer first, as backward reaches them
        layer = t.layer;
        CHECK(t.size() > 0);
        CHECK(t.size() <= std::max(elements, std::size_t(layout.layer(t.layer).in)));
        const LayerSlots& s = layout.layer(t.layer);
        for (int r = t.row0; r < t.row1; ++r)
          for (int c = t.col0; c < t.col1; ++c) ++covered[s.weight_offset + std::size_t(r) * s.in + std::size_t(c)];
      }
      std::size_t wrong = 0;  // weights in no tile or in several
      for (const LayerSlots& s : layout.layers())
        for (std::size_t i = s.weight_offset; i < s.weight_offset + s.weight_count(); ++i) wrong += covered[i] != 1;
      CHECK(wrong == 0);
      CHECK(weight_tiles(layout, elements).size() == tiles.size());  // the same cut again
    }
  }
}

// On a node, a rank turns into floats only the tiles that meet the pieces it
// updates: every one of its weights must lie in such a tile, and the others'
// tiles are left out (the saving: about 1/P of them converted).
TEST_CASE("a rank's pieces lie in the tiles that meet them, and about 1/P of the tiles do", "[exact_step]") {
  for (const std::vector<int>& widths : {std::vector<int>{784, 1024, 1024, 10}, {3000, 7, 5000}, {2, 64, 64, 3}}) {
    const ModelSpec spec = make_mlp(widths, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
    const ParameterLayout layout(spec);
    const std::vector<WeightTile> tiles = weight_tiles(layout, tile_elements(4));
    for (int parts : {2, 3, 4}) {
      const auto cuts = split_range(layout, 0, layout.size(), parts, kNormBlock);
      std::size_t met_by_all = 0;
      for (int r = 0; r < parts; ++r) {
        const std::vector<Piece> mine = pieces_of(layout, cuts[std::size_t(r)], cuts[std::size_t(r) + 1]);
        std::vector<char> in_met_tile(layout.size(), 0);
        for (const WeightTile& t : tiles) {
          if (!tile_meets(layout, t, mine)) continue;
          ++met_by_all;
          const LayerSlots& s = layout.layer(t.layer);
          for (int row = t.row0; row < t.row1; ++row)
            for (int c = t.col0; c < t.col1; ++c) in_met_tile[s.weight_offset + std::size_t(row) * s.in + std::size_t(c)] = 1;
        }
        std::size_t missed = 0;  // this rank's weights whose tile it would not convert
        for (const Piece& p : mine)
          if (!p.bias)
            for (std::size_t i = p.begin; i < p.end; ++i) missed += !in_met_tile[i];
        CHECK(missed == 0);
        CHECK_FALSE(tile_meets(layout, tiles.front(), {}));  // no pieces: meets nothing
      }
      if (layout.size() > 100000) {
        INFO(widths.size() << " layers, " << parts << " parts: " << met_by_all << " of " << tiles.size() << " tiles");
        CHECK(met_by_all <= tiles.size() + tiles.size() / 8);  // all ranks together: about one pass (243-258 of 235)
      }
    }
  }
}
