#pragma once
// The subcommands: their options and their entry points.
#include <CLI/CLI.hpp>

#include "dmlp/mpi/communicator.hpp"
#include "options.hpp"

namespace dmlp::cli {

int run_train(const mpi::Communicator& world, const TrainOptions& options);
int run_gradcheck(const mpi::Communicator& world, const GradcheckOptions& options);
int run_convert_idx(const mpi::Communicator& world, const ConvertIdxOptions& options);
int run_convert_csv(const mpi::Communicator& world, const ConvertCsvOptions& options);
int run_synth(const mpi::Communicator& world, const SynthOptions& options);

struct Commands {
  TrainOptions train;
  GradcheckOptions gradcheck;
  ConvertIdxOptions convert_idx;
  ConvertCsvOptions convert_csv;
  SynthOptions synth;

  CLI::App* train_app = nullptr;
  CLI::App* gradcheck_app = nullptr;
  CLI::App* convert_idx_app = nullptr;
  CLI::App* convert_csv_app = nullptr;
  CLI::App* synth_app = nullptr;

  void add_to(CLI::App& app);
  int run(const mpi::Communicator& world) const;
};

}  // namespace dmlp::cli
