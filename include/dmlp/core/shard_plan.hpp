#pragma once
// How the ranks of a node split the update: every range of whole layers (a
// gradient bucket) is cut into one contiguous part per rank, at block
// boundaries of its tensors, so that each rank sums and updates about 1/P of
// every bucket, and the per-block layer norms of LARS and LAMB come out of
// the parts as they would out of the whole layer (kNormBlock, optimizer.hpp).
#include <cstddef>
#include <span>
#include <vector>

#include "dmlp/core/model_spec.hpp"

namespace dmlp {

// A run of one tensor: part of W_k or of b_k, in flat-buffer offsets.
struct Piece {
  std::size_t begin = 0, end = 0;
  int layer = 0;
  bool bias = false;
  std::size_t size() const { return end - begin; }
  // Where this piece starts within its tensor: a multiple of kNormBlock for
  // weights, so that its blocks are the tensor's blocks.
  std::size_t offset_in_tensor(const ParameterLayout& layout) const {
    const LayerSlots& s = layout.layer(layer);
    return begin - (bias ? s.bias_offset : s.weight_offset);
  }
};

// The parts + 1 boundaries of [begin, end), a range of whole layers: part i is
// [cuts[i], cuts[i+1]). Every cut is a tensor's start or a multiple of `block`
// values into a tensor, and the parts are as even as that allows (an empty
// part where the range holds fewer blocks than parts).
std::vector<std::size_t> split_range(const ParameterLayout& layout, std::size_t begin, std::size_t end, int parts,
                                     std::size_t block);

// [begin, end) cut at tensor boundaries, in buffer order.
std::vector<Piece> pieces_of(const ParameterLayout& layout, std::size_t begin, std::size_t end);

}  // namespace dmlp
