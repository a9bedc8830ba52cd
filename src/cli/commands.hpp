#pragma once
// The subcommands: their options and their entry points.
#include <CLI/CLI.hpp>
#include <optional>

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

struct Commands {
  TrainOptions train;
  GradcheckOptions gradcheck;
  ConvertIdxOptions convert_idx;
  ConvertCsvOptions convert_csv;
  SynthOptions synth;
  EvalOptions eval;
  PredictOptions predict;
  InspectOptions inspect;

  CLI::App* train_app = nullptr;
  CLI::App* gradcheck_app = nullptr;
  CLI::App* convert_idx_app = nullptr;
  CLI::App* convert_csv_app = nullptr;
  CLI::App* synth_app = nullptr;
  CLI::App* eval_app = nullptr;
  CLI::App* predict_app = nullptr;
  CLI::App* inspect_app = nullptr;

  void add_to(CLI::App& app);
  int run(const mpi::Communicator& world) const;
};

}  // namespace dmlp::cli
