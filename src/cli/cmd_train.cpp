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
#include "progress.hpp"

namespace dmlp::cli {
namespace {

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

  // Rank 0 draws the parameters; everyone gets its bytes and proves it.
  if (root) initialize_parameters(net, config.seed);
  world.broadcast(net.params(), 0);
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
    if (!placement.warning.empty()) std::printf("%s\n", placement.warning.c_str());
    if (const std::string w = blas_threading_warning(); !w.empty()) std::printf("%s\n", w.c_str());
    std::fflush(stdout);
  }

  ConsoleReporter reporter(root, o.run.metrics, trainer->total_steps(), trainer->steps_per_epoch(),
                           trainer->progress().step);
  FailureInjector injector(world.rank());
  ObserverChain observers;
  observers.add(&reporter);
  observers.add(&injector);
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t first_samples = trainer->progress().samples;
  trainer->run(&observers);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

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
