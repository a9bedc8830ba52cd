#pragma once
// The MPI tests' communicator: a duplicate of MPI_COMM_WORLD made on first use
// (after mpi_main.cpp has started MPI).
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::test {
inline const mpi::Communicator& world() {
  static const mpi::Communicator comm = mpi::Communicator::world();
  return comm;
}
}  // namespace dmlp::test
