#pragma once
// What the user should change when ranks and threads do not fit the cores:
// advice in the launchers' terms (mpirun, srun), which the MPI layer that
// measured the placement does not speak.
#include <string>

#include "dmlp/mpi/placement.hpp"

namespace dmlp::run {

// "warning: …", or "" when the placement fits.
std::string placement_warning(const mpi::Placement& p);

}  // namespace dmlp::run
