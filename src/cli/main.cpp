// dmlp: data-parallel MLP training over MPI. See README.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string_view>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "setting_flags.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/environment.hpp"

namespace dmlp::cli {

std::optional<run::StopSignals>& startup_stop_signals() {
  static std::optional<run::StopSignals> signals;
  return signals;
}

namespace {

void print_failure(const mpi::RankFailure& failure) {
  std::fprintf(stderr, "%s\n", mpi::format_failure(failure).c_str());
  std::fflush(stderr);
}

int dispatch(const mpi::Communicator& world, int argc, char** argv) {
  CLI::App app{"dmlp " DMLP_VERSION ": data-parallel training of multi-layer perceptrons with MPI", "dmlp"};
  // An option given twice takes its last value, so that options appended to a
  // launch script's defaults (sbatch train.sbatch --epochs 5) override them.
  app.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.require_subcommand(1);
  app.set_version_flag("--version", DMLP_VERSION);
  Commands commands;
  commands.add_to(app);
  require_plain_values(app);

  int help_exit = -1;
  mpi::collectively(world, [&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
      if (world.rank() == 0) app.exit(e);
      help_exit = 0;
    } catch (const CLI::ParseError& e) {
      // CLI11 takes an unknown first word for a positional argument and only
      // says "A subcommand is required".
      if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
        std::string known;
        for (const CLI::App* command : app.get_subcommands({}))
          known += (known.empty() ? "" : ", ") + command->get_name();
        throw InputError("unknown command '" + std::string(argv[1]) + "'; the commands are " + known +
                         " (dmlp --help)");
      }
      // "Could not convert: --threads = 2147483648": a whole number beyond an int
      if (dynamic_cast<const CLI::ConversionError*>(&e)) {
        std::string text = e.what();
        if (const auto colon = text.find(": "), equals = text.find(" = "); colon != std::string::npos && equals != std::string::npos)
          throw InputError(text.substr(colon + 2, equals - colon - 2) + ": " + text.substr(equals + 3) +
                           " is out of range for it (or not a number of its kind)");
      }
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
  mpi::set_failure_reporter(cli::print_failure);
  cli::name_settings_by_flags();
  set_exit_status_of([](ErrorKind kind) { return cli::exit_code(kind); });
  if (argc > 1 && std::string_view(argv[1]) == "train") cli::startup_stop_signals().emplace();
  std::optional<mpi::Environment> environment;
  try {
    environment.emplace(argc, argv);
  } catch (const std::exception& e) {
    mpi::report_failure(mpi::failure_of(e, 0));
    return cli::kExitFailure;
  }
  h5::silence_automatic_error_printing();  // HDF5's errors reach us as exceptions
  const int rank = environment->world_rank();
  // Declared outside the try, so that a failing rank aborts before freeing it.
  std::optional<mpi::Communicator> world;
  try {
    world.emplace(mpi::Communicator::world());
    return cli::dispatch(*world, argc, argv);
  } catch (const mpi::JobFailure& f) {
    // Every rank got here together: the failing rank reports, all leave cleanly.
    if (rank == f.rank()) mpi::report_failure(f.failure());
    return cli::exit_code(f.kind());
  } catch (const std::exception& e) {
    // This rank alone failed; the others may be waiting in a collective.
    const mpi::RankFailure failure = mpi::failure_of(e, rank);
    mpi::report_failure(failure);
    if (environment->world_size() > 1) mpi::abort_job(cli::exit_code(failure.kind));
    return cli::exit_code(failure.kind);
  }
}
