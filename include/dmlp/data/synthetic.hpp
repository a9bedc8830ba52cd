#pragma once
// Synthetic data sets, generated row by row from (seed, row index) with the
// counter-based generator, so every rank, at every rank count, sees the same
// rows and no file is needed. Row i is the same whether 10 or 10⁶ rows are made,
// so rows [n, n + m) make a test set disjoint from the training rows [0, n).
//
//   blobs       k classes; x = μ_c + σ·N(0, I), centres μ_c ~ U(−1, 1)^d, σ = noise (0.5)
//   regression  x ~ U(−1, 1)^d; y = A x + c + noise·N(0, I), A ~ N(0, 1/d), c ~ U(−1, 1)
//   xor         x ~ U(−1, 1)^d; class = [x_0 > 0] xor [x_1 > 0]  (d ≥ 2)
//   spirals     k interleaved spiral arms in (x_0, x_1); other features noise
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dmlp/data/dataset.hpp"

namespace dmlp {

enum class SyntheticKind { Blobs, Regression, Xor, Spirals };

SyntheticKind parse_synthetic_kind(std::string_view name);  // throws InputError
std::string_view to_string(SyntheticKind kind);

struct SyntheticSpec {
  SyntheticKind kind = SyntheticKind::Blobs;
  int features = 2;      // d
  int outputs = 2;       // classes (blobs, xor, spirals) or targets (regression)
  std::uint64_t seed = 1;
  double noise = -1;     // < 0: the generator's default
};

// The largest noise level: the structures above have unit scale.
inline constexpr double kMaxSyntheticNoise = 1000;

// Throws InputError when the spec cannot be generated (e.g. xor with d < 2),
// or would make a set no reader takes (widths, classes) or no model can learn
// (noise above kMaxSyntheticNoise).
void validate(const SyntheticSpec& spec);

// Rows [first_row, first_row + rows) of the data set the spec defines.
std::unique_ptr<InMemoryDataset> make_synthetic(const SyntheticSpec& spec, std::int64_t first_row,
                                                std::int64_t rows);

}  // namespace dmlp
