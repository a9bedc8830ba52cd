#include "dmlp/core/shard_plan.hpp"

#include <algorithm>

namespace dmlp {

std::vector<std::size_t> split_range(const ParameterLayout& layout, std::size_t begin, std::size_t end, int parts,
                                     std::size_t block) {
  // every place a cut may go, in order
  std::vector<std::size_t> allowed;
  for (const Piece& p : pieces_of(layout, begin, end))
    for (std::size_t at = p.begin; at < p.end; at += block) allowed.push_back(at);
  allowed.push_back(end);
  std::vector<std::size_t> cuts{begin};
  const double total = double(end - begin);
  for (int i = 1; i < parts; ++i) {
    // the allowed place nearest the even cut, never before the previous cut
    const double even = double(begin) + total * i / parts;
    auto above = std::lower_bound(allowed.begin(), allowed.end(), std::size_t(even));
    std::size_t cut = above == allowed.end() ? end : *above;
    if (above != allowed.begin() && even - double(*(above - 1)) < double(cut) - even) cut = *(above - 1);
    cuts.push_back(std::max(cut, cuts.back()));
  }
  cuts.push_back(end);
  return cuts;
}

std::vector<Piece> pieces_of(const ParameterLayout& layout, std::size_t begin, std::size_t end) {
  std::vector<Piece> pieces;
  for (int k = 0; k < int(layout.layers().size()); ++k) {
    const LayerSlots& s = layout.layer(k);
    const std::size_t weights_end = s.bias_offset;
    auto add = [&](std::size_t from, std::size_t to, bool bias) {
      const std::size_t a = std::max(from, begin), b = std::min(to, end);
      if (a < b) pieces.push_back({a, b, k, bias});
    };
    add(s.weight_offset, weights_end, false);
    add(s.bias_offset, s.end(), true);
  }
  return pieces;
}

}  // namespace dmlp
