// dmlp train: data-parallel training on every rank of the job.
#include <cstdio>
#include <memory>

#include "app.hpp"
#include "commands.hpp"
#include "dmlp/core/init.hpp"
#include "dmlp/mpi/gradient_sync.hpp"
#include "dmlp/mpi/placement.hpp"
#include "dmlp/train/threads.hpp"
#include "data_sources.hpp"
#include "checkpoint_io.hpp"
#include "checkpointing.hpp"
#include "progress.hpp"

namespace dmlp::cli {
namespace {

// Every key of the flattened JSON whose value differs between a and b.
std::vector<std::string> differing_keys(const nlohmann::json& a, const nlohmann::json& b) {
  const nlohmann::json fa = a.flatten(), fb = b.flatten();
  std::vector<std::string> keys;
  for (const auto& [key, value] : fa.items())
    if (!fb.contains(key) || fb[key] != value) keys.push_back(key);
  for (const auto& [key, value] : fb.items())
    if (!fa.contains(key)) keys.push_back(key);
  return keys;
}

// Settings that may change between a run and its resumption without changing the result.
bool free_to_change(const std::string& key) {
  for (const char* prefix : {"/run/threads", "/run/metrics", "/run/log_every", "/run/progress", "/checkpoint/", "/run/bucket_mb",
                             "/run/overlap", "/data/load", "/data/read_ahead_mb"})
    if (key.rfind(prefix, 0) == 0) return true;
  return false;
}

// Puts the starting parameters (and, resuming, the optimizer state and
// progress) on every rank: fresh from the seed on rank 0, from --init, or from
// --resume. Returns warnings for rank 0 to print.
template <class T>
std::vector<std::string> start_state(const mpi::Communicator& world, const TrainOptions& o, Network<T>& net,
                                     Trainer<T>& trainer, const TrainConfig& config) {
  std::vector<std::string> warnings;
  const std::string source = !o.checkpoint.resume.empty() ? o.checkpoint.resume : o.checkpoint.init;
  if (source.empty()) {
    // Rank 0 draws the parameters; everyone gets its bytes.
    if (world.rank() == 0) initialize_parameters(net, config.seed);
    world.broadcast(net.params(), 0);
    return warnings;
  }
  std::vector<T> params, velocity;
  const bool resume = !o.checkpoint.resume.empty();
  const CheckpointMeta meta = resume ? load_resume_checkpoint<T>(world, source, params, velocity)
                                     : load_checkpoint<T>(world, source, params);
  collectively(world, [&] {
    if (model_to_json(meta.spec) != model_to_json(net.spec()))
      throw InputError(meta.path + " holds the model " + meta.spec.describe() + ", but the options describe " +
                       net.spec().describe() + "; give the same --layers, --activation and --loss");
  });
  std::copy(params.begin(), params.end(), net.params().begin());
  if (!resume) {
    warnings.push_back("starting at step 0 from the parameters of " + meta.path);
    return warnings;
  }
  const auto v = trainer.optimizer().velocity();
  if (!v.empty() && velocity.size() == v.size())
    std::copy(velocity.begin(), velocity.end(), v.begin());
  else if (!v.empty())
    warnings.push_back(meta.path + " holds no momentum state: the velocity starts at zero");
  trainer.progress() = meta.progress;
  warnings.push_back("resuming from " + meta.path + " at step " + std::to_string(meta.progress.step));
  if (meta.ranks != world.size())
    warnings.push_back(meta.path + " was written by " + std::to_string(meta.ranks) + " ranks and this run has " +
                       std::to_string(world.size()) + ": results match to rounding, not bit for bit");
  std::string changed;
  for (const auto& key : differing_keys(meta.config, o.to_json()))
    if (!free_to_change(key)) changed += (changed.empty() ? "" : ", ") + key;
  if (!changed.empty()) warnings.push_back("settings differ from the checkpoint's: " + changed);
  return warnings;
}

template <class T>
int train_as(const mpi::Communicator& world, const TrainOptions& o) {
  const bool root = world.rank() == 0;
  ModelSpec spec;
  TrainConfig config;
  std::string config_text;
  collectively(world, [&] {
    spec = o.model.spec();
    config = o.config();
    config_text = o.to_json().dump();
    if (o.run.bucket_mb < 0) throw InputError("--bucket-mb must be >= 0");
    if (o.run.threads < 0) throw InputError("--threads must be positive");
    prepare_checkpoint_dir(o.checkpoint, world.rank());
  });
  try {  // before anything else collective: ranks that disagree would call different collectives
    mpi::require_same_on_all_ranks(world, config_text, "configuration");
  } catch (const InputError& e) {
    throw JobFailure{{0, e.what(), kExitInputError}};
  }
  DataSets data = open_training_data(o.data, spec, config.seed, world);

  const mpi::Placement placement = mpi::discover_placement(world, o.run.threads);
  set_threads(placement.threads);

  Network<T> net(spec);
  mpi::MpiCollective collective(world);
  mpi::MpiGradientSync<T> sync(world, net.layout(), o.run.bucket_mb, !o.run.no_overlap);
  std::unique_ptr<Trainer<T>> trainer;
  collectively(world, [&] {
    trainer = std::make_unique<Trainer<T>>(net, *data.train, data.test.get(), config, collective, sync);
  });

  const std::vector<std::string> warnings = start_state(world, o, net, *trainer, config);
  mpi::require_identical<T>(world, net.params(), "initial parameters");

  if (root) {
    const Slice first = shard(config.global_batch, world.size(), 0);
    const Slice last = shard(config.global_batch, world.size(), world.size() - 1);
    std::printf("dmlp %s\n", DMLP_VERSION);
    std::printf("  mpi        %s; %d rank%s on %d node%s\n", mpi::Environment::library_version().c_str(),
                placement.ranks, placement.ranks == 1 ? "" : "s", placement.nodes, placement.nodes == 1 ? "" : "s");
    std::printf("  threads    %d per rank%s\n", placement.threads,
                placement.threads_defaulted
                    ? (" (" + std::to_string(placement.node_cores) + " cores / " +
                       std::to_string(placement.ranks_on_node) + " ranks on the node)").c_str()
                    : " (--threads)");
    std::printf("  blas       %s\n", threading_summary().c_str());
    std::printf("  model      %s; %zu parameters, %s\n", spec.describe().c_str(), net.layout().size(),
                sizeof(T) == 4 ? "float32" : "float64");
    std::printf("  data       train: %s (%s)\n", describe_data(*data.train).c_str(), data.train_mode.c_str());
    if (data.test)
      std::printf("             test:  %s (%s)\n", describe_data(*data.test).c_str(), data.test_mode.c_str());
    std::printf("  batch      global %lld, per rank %lld", static_cast<long long>(config.global_batch),
                static_cast<long long>(first.count));
    if (last.count != first.count) std::printf("-%lld", static_cast<long long>(last.count));
    std::printf("; %lld steps per epoch, %lld steps\n", static_cast<long long>(trainer->steps_per_epoch()),
                static_cast<long long>(trainer->total_steps()));
    std::printf("  allreduce  %zu bucket%s (--bucket-mb %g), %s\n", sync.buckets().size(),
                sync.buckets().size() == 1 ? "" : "s", o.run.bucket_mb,
                sync.overlap() ? "overlapped with backward" : "one blocking call after backward");
    std::printf("  optimizer  SGD lr %g (bias %g), momentum %g%s, %s schedule",
                config.sgd.lr_weights, config.sgd.lr_bias, config.sgd.momentum,
                config.sgd.nesterov ? " nesterov" : "", std::string(to_string(config.schedule)).c_str());
    if (config.reg.active())
      std::printf(", %s lambda %g%s", std::string(to_string(config.reg.kind)).c_str(), config.reg.lambda,
                  config.reg.include_bias ? " (biases too)" : "");
    std::printf("\n");
    if (!o.checkpoint.dir.empty())
      std::printf("  checkpoint %s%s%s, keep %d; SIGTERM or SIGUSR1 saves and stops\n", o.checkpoint.dir.c_str(),
                  o.checkpoint.every_steps > 0 ? (", every " + std::to_string(o.checkpoint.every_steps) + " steps").c_str() : "",
                  o.checkpoint.every_seconds > 0 ? (", every " + format_number(o.checkpoint.every_seconds) + " s").c_str() : "",
                  o.checkpoint.keep);
    for (const auto& w : warnings) std::printf("warning: %s\n", w.c_str());
    if (!placement.warning.empty()) std::printf("%s\n", placement.warning.c_str());
    if (const std::string w = blas_threading_warning(); !w.empty()) std::printf("%s\n", w.c_str());
    std::fflush(stdout);
  }

  std::optional<ConsoleReporter> console;  // opens --metrics on rank 0, which may fail there alone
  collectively(world, [&] {
    console.emplace(root, ConsoleReporter::want_bar(o.run.progress), o.run.metrics, trainer->total_steps(),
                    trainer->steps_per_epoch(), trainer->progress().step);
  });
  ConsoleReporter& reporter = *console;
  FailureInjector injector(world.rank());
  ObserverChain observers;
  observers.add(&reporter);
  observers.add(&injector);
  std::optional<CheckpointWriter<T>> checkpoints;
  if (!o.checkpoint.dir.empty()) {
    checkpoints.emplace(world, o.checkpoint, *trainer, net, o.to_json(), config.seed);
    observers.add(&*checkpoints);
    catch_stop_signals();
  }
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t first_samples = trainer->progress().samples;
  const bool stopped = trainer->run(&observers);  // the ranks agreed on stopping
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (checkpoints) checkpoints->save(trainer->progress());
  if (stopped) {
    if (root)
      std::printf("stopped at step %lld of %lld on a signal; resume with --resume %s\n",
                  static_cast<long long>(trainer->progress().step), static_cast<long long>(trainer->total_steps()),
                  o.checkpoint.dir.c_str());
    return 0;
  }

  EvalResult test;
  if (data.test) test = trainer->evaluate(*data.test);
  if (root) {
    reporter.end_bar();
    const double samples = double(trainer->progress().samples - first_samples);
    std::printf("finished: %lld steps in %.2f s, %.0f samples/s", static_cast<long long>(trainer->progress().step),
                seconds, seconds > 0 ? samples / seconds : 0.0);
    if (data.test) std::printf("; test %s", format_eval(test).c_str());
    std::printf("\n");
    std::fflush(stdout);
    nlohmann::json j = {{"event", "final"}, {"steps", trainer->progress().step}, {"seconds", seconds}};
    if (data.test) j["test"] = {{"loss", test.loss}, {"accuracy", test.accuracy}, {"mse", test.mse}, {"r2", test.r2}};
    reporter.write_json(j.dump());
  }
  return 0;
}

}  // namespace

int run_train(const mpi::Communicator& world, const TrainOptions& options) {
  if (options.run.precision == "double") return train_as<double>(world, options);
  if (options.run.precision != "float")
    collectively(world, [&] {
      throw InputError("--precision '" + options.run.precision + "' (expected float|double)");
    });
  return train_as<float>(world, options);
}

}  // namespace dmlp::cli
