#pragma once
// Counter-based random numbers: every draw is a pure function of
// (seed, stream, substream, index), so any thread or rank can compute element i
// without drawing 0..i-1. That is what makes initialisation, shuffles and
// synthetic data identical for every thread count and every rank count.
#include <array>
#include <cmath>
#include <cstdint>

namespace dmlp {

// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC'11): the generator of Random123, cuRAND and JAX.
struct Philox4x32 {
  using Counter = std::array<std::uint32_t, 4>;
  using Key = std::array<std::uint32_t, 2>;

  static constexpr Counter generate(Counter ctr, Key key) {
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
      }
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * ctr[0];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * ctr[2];
      const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
      const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
      ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    }
    return ctr;
  }
};

// Each purpose draws from its own stream, so changing how many numbers one
// purpose uses never shifts another's.
enum class RngStream : std::uint32_t {
  Init = 1,       // parameter initialisation; substream = layer
  Shuffle = 2,    // epoch permutations; substream = epoch
  Synthetic = 3,  // synthetic data sets; substream = generator part
  Test = 4,       // test fixtures
};

class CounterRng {
 public:
  CounterRng(std::uint64_t seed, RngStream stream, std::uint32_t substream = 0)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        stream_(static_cast<std::uint32_t>(stream)),
        substream_(substream) {}

  std::array<std::uint32_t, 4> block(std::uint64_t index) const {
    return Philox4x32::generate({static_cast<std::uint32_t>(index),
                                 static_cast<std::uint32_t>(index >> 32), stream_, substream_},
                                key_);
  }
  std::uint64_t bits(std::uint64_t index) const {
    const auto b = block(index);
    return (std::uint64_t{b[1]} << 32) | b[0];
  }
  // Uniform on [0, 1) with 53 random bits.
  double uniform(std::uint64_t index) const {
    return static_cast<double>(bits(index) >> 11) * 0x1.0p-53;
  }
  // Uniform integer on [0, n): Lemire's multiply-shift; the bias is below n / 2^64.
  std::uint64_t below(std::uint64_t index, std::uint64_t n) const {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(bits(index)) * n) >> 64);
  }
  // Standard normal by Box-Muller, from the block's two 64-bit halves.
  double normal(std::uint64_t index) const {
    const auto b = block(index);
    const std::uint64_t w0 = (std::uint64_t{b[1]} << 32) | b[0];
    const std::uint64_t w1 = (std::uint64_t{b[3]} << 32) | b[2];
    const double u1 = (static_cast<double>(w0 >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]: log is finite
    const double u2 = static_cast<double>(w1 >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  Philox4x32::Key key_;
  std::uint32_t stream_;
  std::uint32_t substream_;
};

}  // namespace dmlp
