// --reproducible's cut of every dW_k into tiles: each weight in exactly one
// tile, the tiles in the exact sums' order, no tile over its size, and the
// cut a function of the model's shape alone.
#include <catch2/catch.hpp>
#include <vector>

#include "dmlp/core/model_spec.hpp"
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
