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

  CLI::App* convert = app.add_subcommand("convert", "Convert IDX (MNIST-style) or CSV files to HDF5 data sets");
  convert->require_subcommand(1);
  convert_idx_app = convert->add_subcommand("idx", "IDX images + labels (gzipped or raw) to HDF5 (uint8 features)");
  convert_idx.add_to(*convert_idx_app);
  convert_csv_app = convert->add_subcommand("csv", "CSV (features plus a label or target columns) to HDF5");
  convert_csv.add_to(*convert_csv_app);
  synth_app = app.add_subcommand("synth", "Write a synthetic data set (blobs, regression, xor, spirals) to HDF5");
  synth.add_to(*synth_app);
  eval_app = app.add_subcommand("eval", "Evaluate a checkpoint on a data set: loss, accuracy, confusion matrix, or MSE and R2");
  eval.add_to(*eval_app);
  predict_app = app.add_subcommand("predict", "Write a checkpoint's outputs for a data set to HDF5");
  predict.add_to(*predict_app);
  inspect_app = app.add_subcommand("inspect", "Show a checkpoint's metadata, layers and parameter count; verify its checksum");
  inspect.add_to(*inspect_app);
}

int Commands::run(const mpi::Communicator& world) const {
  if (train_app->parsed()) return run_train(world, train);
  if (gradcheck_app->parsed()) return run_gradcheck(world, gradcheck);
  if (convert_idx_app->parsed()) return run_convert_idx(world, convert_idx);
  if (convert_csv_app->parsed()) return run_convert_csv(world, convert_csv);
  if (synth_app->parsed()) return run_synth(world, synth);
  if (eval_app->parsed()) return run_eval(world, eval);
  if (predict_app->parsed()) return run_predict(world, predict);
  if (inspect_app->parsed()) return run_inspect(world, inspect);
  return 0;
}

}  // namespace dmlp::cli
