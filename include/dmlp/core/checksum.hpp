#pragma once
// FNV-1a (64-bit) over raw bytes: the checksum of checkpoints' arrays and of
// the configuration and parameters that ranks compare.
#include <cstdint>
#include <span>
#include <string_view>

namespace dmlp {

std::uint64_t fnv1a(std::span<const unsigned char> bytes, std::uint64_t hash = 14695981039346656037ull);

template <class T>
std::uint64_t checksum(std::span<const T> values) {
  return fnv1a({reinterpret_cast<const unsigned char*>(values.data()), values.size_bytes()});
}

inline std::uint64_t checksum(std::string_view text) {
  return fnv1a({reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

}  // namespace dmlp
