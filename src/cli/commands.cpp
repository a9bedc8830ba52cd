#include "commands.hpp"

namespace dmlp::cli {

void Commands::add_to(CLI::App& app) {
  train_app = app.add_subcommand(
      "train", "Train an MLP, on synthetic data (--synthetic) or HDF5 files (--train, --test)");
  train.add_to(*train_app);
  gradcheck_app = app.add_subcommand(
      "gradcheck",
      "Check back-propagation against finite differences (double precision) on a random network");
  gradcheck.add_to(*gradcheck_app);
}

int Commands::run(const mpi::Communicator& world) const {
  if (train_app->parsed()) return run_train(world, train);
  if (gradcheck_app->parsed()) return run_gradcheck(world, gradcheck);
  return 0;
}

}  // namespace dmlp::cli
