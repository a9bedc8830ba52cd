#pragma once
// The subcommands: their options and their entry points.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/run/checkpointer.hpp"
#include "options.hpp"

namespace dmlp::cli {

// dmlp train catches SIGTERM and SIGUSR1 from its very start (main, before
// MPI starts), so that a scheduler's signal during start-up stops the run at
// its first step, with a checkpoint. Without --checkpoint-dir, run_train gives
// the signals back their default action, re-raising one that came meanwhile.
std::optional<run::StopSignals>& startup_stop_signals();

int run_train(const mpi::Communicator& world, const TrainOptions& options);
int run_gradcheck(const mpi::Communicator& world, const GradcheckOptions& options);
int run_convert_idx(const mpi::Communicator& world, const ConvertIdxOptions& options);
int run_convert_csv(const mpi::Communicator& world, const ConvertCsvOptions& options);
int run_synth(const mpi::Communicator& world, const SynthOptions& options);
int run_eval(const mpi::Communicator& world, const EvalOptions& options);
int run_predict(const mpi::Communicator& world, const PredictOptions& options);
int run_inspect(const mpi::Communicator& world, const InspectOptions& options);

// Every subcommand, each named once (commands.cpp): where it hangs ("convert"
// or top level), what it does, its options and its entry point.
class Commands {
 public:
  Commands();
  void add_to(CLI::App& app);
  int run(const mpi::Communicator& world) const;  // the one parsed

 private:
  struct Subcommand {
    const char* parent;  // "" (top level) or a group such as "convert"
    const char* name;
    const char* description;
    std::function<void(CLI::App&)> add_options;
    std::function<int(const mpi::Communicator&)> run;
    CLI::App* app = nullptr;
  };
  template <class Options>
  static Subcommand subcommand(const char* parent, const char* name, const char* description,
                               int (*run)(const mpi::Communicator&, const Options&));
  std::vector<Subcommand> subcommands_;
};

}  // namespace dmlp::cli
