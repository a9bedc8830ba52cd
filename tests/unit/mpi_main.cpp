// Catch2 under MPI: every rank runs the same tests; the job fails if any rank fails.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <mpi.h>

#include "dmlp/mpi/environment.hpp"
#include "setting_flags.hpp"

int main(int argc, char** argv) {
  dmlp::mpi::Environment environment(argc, argv);  // as dmlp itself starts MPI
  dmlp::cli::name_settings_by_flags();  // messages as dmlp's users read them
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  Catch::Session session;
  int failed = session.applyCommandLine(argc, argv);
  if (failed == 0) failed = session.run();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed ? 1 : 0;
}
