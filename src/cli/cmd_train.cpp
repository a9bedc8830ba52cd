// dmlp train: data-parallel training on every rank of the job.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "exit_codes.hpp"
#include "commands.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/file_identity.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/training_run.hpp"
#include "progress.hpp"

namespace dmlp::cli {

int run_train(const mpi::Communicator& world, const TrainOptions& o) {
  const bool root = world.rank() == 0;
  run::RunConfig config;
  mpi::collectively(world, [&] {
    config = o.config();
    if (!root) return;
    // Every file this run writes against every file it reads, before any work.
    std::error_code not_a_directory;
    const bool resume_file = !std::filesystem::is_directory(config.start.resume, not_a_directory);
    std::vector<FileRole> inputs = {{"--train", config.data.train_file},
                                    {"--test", config.data.test_file},
                                    {"--resume", resume_file ? config.start.resume : ""},
                                    {"--init", config.start.init}};
    // and the files the data sets read from (virtual datasets' sources, external links' targets)
    for (const FileRole& set : std::vector<FileRole>{inputs[0], inputs[1]})
      for (const std::string& source : set.path.empty() ? std::vector<std::string>() : dataset_sources(set.path))
        inputs.push_back({set.option, source, "a source of " + set.option + " " + set.path});
    const std::vector<FileRole> outputs = {{"--trace", config.execution.trace.file}, {"--metrics", o.run.metrics}};
    check_outputs(inputs, outputs);
    refuse_files_among_checkpoints({inputs[0], inputs[1], outputs[0], outputs[1]},
                                   {"--checkpoint-dir", config.execution.checkpoint.dir},
                                   "keeping the newest checkpoints would delete or rename it");
    if (!resume_file)
      refuse_files_among_checkpoints(outputs, {"--resume", config.start.resume},
                                     "writing it would destroy a checkpoint this run resumes from");
  });
  if (config.execution.checkpoint.dir.empty()) {  // nothing to save: a signal ends the process as usual
    startup_stop_signals().reset();  // first: a signal from now on takes its default action
    if (const int early = run::StopSignals::received()) std::raise(early);
  }
  ConsoleLog log(root);
  run::TrainingRun training(world, config, log);
  const run::RunDescription& d = training.description();
  if (root) {
    std::fputs(run::format_summary(d).c_str(), stdout);
    std::fflush(stdout);
  }

  std::optional<ConsoleReporter> console;  // opens --metrics on rank 0, which may fail there alone
  mpi::collectively(world, [&] {
    console.emplace(root, ConsoleReporter::want_bar(o.run.progress), o.run.metrics, d.total_steps, d.steps_per_epoch,
                    d.first_step);
  });
  ConsoleReporter& reporter = *console;
  if (root) reporter.report_start(d);
  FailureInjector injector(world.rank());
  ObserverChain observers;
  observers.add(&reporter);
  observers.add(&injector);
  const run::RunOutcome outcome = training.run(&observers);
  if (outcome.stopped) {  // the checkpoint of this step is written: a scheduler may requeue
    if (root)
      std::printf("stopped at step %lld of %lld on a signal; resume with --resume %s (exit %d)\n",
                  static_cast<long long>(outcome.position.step), static_cast<long long>(d.total_steps),
                  config.execution.checkpoint.dir.c_str(), kExitStopped);
    return kExitStopped;
  }
  if (root) reporter.report_final(outcome);
  return 0;
}

}  // namespace dmlp::cli
