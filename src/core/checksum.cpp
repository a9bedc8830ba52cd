#include "dmlp/core/checksum.hpp"

namespace dmlp {

std::uint64_t fnv1a(std::span<const unsigned char> bytes, std::uint64_t hash) {
  for (unsigned char b : bytes) {
    hash ^= b;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace dmlp
