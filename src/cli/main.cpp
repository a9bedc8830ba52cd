// dmlp: data-parallel MLP training over MPI. See README.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "app.hpp"
#include "commands.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/environment.hpp"

namespace dmlp::cli {

void report_error(int rank, const std::string& message) {
  std::fprintf(stderr, "[rank %d] error: %s\n", rank, message.c_str());
  std::fflush(stderr);
}

namespace {

int dispatch(const mpi::Communicator& world, int argc, char** argv) {
  CLI::App app{"dmlp " DMLP_VERSION ": data-parallel training of multi-layer perceptrons with MPI",
               "dmlp"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.set_version_flag("--version", DMLP_VERSION);
  Commands commands;
  commands.add_to(app);

  int help_exit = -1;
  collectively(world, [&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
      if (world.rank() == 0) app.exit(e);
      help_exit = 0;
    } catch (const CLI::ParseError& e) {
      throw InputError(e.what());
    }
  });
  if (help_exit >= 0) return help_exit;
  return commands.run(world);
}

}  // namespace
}  // namespace dmlp::cli

int main(int argc, char** argv) {
  using namespace dmlp;
  std::optional<mpi::Environment> environment;
  try {
    environment.emplace(argc, argv);
  } catch (const std::exception& e) {
    cli::report_error(0, e.what());
    return kExitFailure;
  }
  h5::silence_automatic_error_printing();  // HDF5's errors reach us as exceptions
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  // Declared outside the try, so that a failing rank aborts before freeing it.
  std::optional<mpi::Communicator> world;
  try {
    world.emplace(mpi::Communicator::world());
    return cli::dispatch(*world, argc, argv);
  } catch (const cli::JobFailure& f) {
    // Every rank got here together: print once, leave cleanly.
    if (rank == f.failure.rank) cli::report_error(rank, f.failure.message);
    return f.failure.exit_code;
  } catch (const std::exception& e) {
    // This rank alone failed; the others may be waiting in a collective.
    const int code = dynamic_cast<const InputError*>(&e) ? kExitInputError : kExitFailure;
    cli::report_error(rank, e.what());
    if (ranks > 1) mpi::abort_job(code);
    return code;
  }
}
