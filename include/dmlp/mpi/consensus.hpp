#pragma once
// Agreement between ranks: before any rank starts a collective that the
// others might not reach, they agree that nobody failed; and they prove they
// hold the same configuration and the same parameter bytes.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>

#include "dmlp/mpi/communicator.hpp"

namespace dmlp::mpi {

// FNV-1a, 64-bit, over raw bytes.
std::uint64_t fnv1a(std::span<const unsigned char> bytes, std::uint64_t hash = 14695981039346656037ull);
template <class T>
std::uint64_t checksum(std::span<const T> values) {
  return fnv1a({reinterpret_cast<const unsigned char*>(values.data()), values.size_bytes()});
}

struct RankFailure {
  int rank;
  std::string message;
  int exit_code;
};

// Collective. Each rank passes its own failure, if any; every rank returns the
// failure of the lowest failing rank (its message travels to all), or nothing.
std::optional<RankFailure> first_failure(const Communicator& comm,
                                         const std::optional<RankFailure>& mine);

// Collective. Throws InputError on every rank unless all ranks passed the same text.
void require_same_on_all_ranks(const Communicator& comm, std::string_view text,
                               std::string_view what);

}  // namespace dmlp::mpi

namespace dmlp::mpi {

// Collective. Throws (on every rank) unless every rank holds the same bytes.
template <class T>
void require_identical(const Communicator& comm, std::span<const T> values, std::string_view what) {
  const auto hash = std::int64_t(checksum(values) >> 1);
  if (comm.allreduce_one(hash, MPI_MIN) != comm.allreduce_one(hash, MPI_MAX))
    throw std::runtime_error("ranks hold different " + std::string(what) + " (checksums differ)");
}

}  // namespace dmlp::mpi
