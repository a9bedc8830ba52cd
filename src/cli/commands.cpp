#include "commands.hpp"

#include <map>
#include <string>

namespace dmlp::cli {

template <class Options>
Commands::Subcommand Commands::subcommand(const char* parent, const char* name, const char* description,
                                          int (*run)(const mpi::Communicator&, const Options&)) {
  auto options = std::make_shared<Options>();  // shared by the two closures: filled by parsing, read by run
  return {parent, name, description, [options](CLI::App& app) { options->add_to(app); },
          [options, run](const mpi::Communicator& world) { return run(world, *options); }};
}

Commands::Commands()
    : subcommands_{
          subcommand("", "train", "Train an MLP, on synthetic data (--synthetic) or HDF5 files (--train, --test)",
                     run_train),
          subcommand("", "gradcheck",
                     "Check back-propagation against finite differences (double precision) on a random network",
                     run_gradcheck),
          subcommand("convert", "idx", "IDX images + labels (gzipped or raw) to HDF5 (uint8 features)",
                     run_convert_idx),
          subcommand("convert", "csv", "CSV (features plus a label or target columns) to HDF5", run_convert_csv),
          subcommand("", "synth", "Write a synthetic data set (blobs, regression, xor, spirals) to HDF5", run_synth),
          subcommand("", "eval",
                     "Evaluate a checkpoint on a data set: loss, accuracy, confusion matrix, or MSE and R2", run_eval),
          subcommand("", "predict", "Write a checkpoint's outputs for a data set to HDF5", run_predict),
          subcommand("", "inspect", "Show a checkpoint's metadata, layers and parameter count; verify its checksum",
                     run_inspect),
      } {}

void Commands::add_to(CLI::App& app) {
  // The groups that hold subcommands of their own, made as their first member comes.
  const std::map<std::string, std::string> groups{{"convert", "Convert IDX (MNIST-style) or CSV files to HDF5 data sets"}};
  std::map<std::string, CLI::App*> made;
  for (Subcommand& c : subcommands_) {
    CLI::App* parent = &app;
    if (*c.parent) {
      CLI::App*& group = made[c.parent];
      if (!group) {
        group = app.add_subcommand(c.parent, groups.at(c.parent));
        group->require_subcommand(1);
      }
      parent = group;
    }
    c.app = parent->add_subcommand(c.name, c.description);
    c.add_options(*c.app);
  }
}

int Commands::run(const mpi::Communicator& world) const {
  for (const Subcommand& c : subcommands_)
    if (c.app && c.app->parsed()) return c.run(world);
  return 0;
}

}  // namespace dmlp::cli
