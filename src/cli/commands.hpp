#pragma once
// The subcommands: their options and their entry points.
#include <CLI/CLI.hpp>

#include "dmlp/mpi/communicator.hpp"
#include "options.hpp"

namespace dmlp::cli {

int run_train(const mpi::Communicator& world, const TrainOptions& options);
int run_gradcheck(const mpi::Communicator& world, const GradcheckOptions& options);

struct Commands {
  TrainOptions train;
  GradcheckOptions gradcheck;

  CLI::App* train_app = nullptr;
  CLI::App* gradcheck_app = nullptr;

  void add_to(CLI::App& app);
  int run(const mpi::Communicator& world) const;
};

}  // namespace dmlp::cli
