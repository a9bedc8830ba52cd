#include "dmlp/run/training_run.hpp"

#include <sys/resource.h>

#include <array>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdio>

#include "dmlp/core/init.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/gradient_sync.hpp"
#include "dmlp/mpi/node_sync.hpp"
#include "dmlp/mpi/node_team.hpp"
#include "dmlp/mpi/stall_watchdog.hpp"
#include "dmlp/run/checkpoint_load.hpp"
#include "dmlp/run/checkpointer.hpp"
#include "dmlp/run/data_sources.hpp"
#include "dmlp/core/test_hooks.hpp"
#include "dmlp/run/placement_advice.hpp"
#include "dmlp/train/divergence.hpp"
#include "dmlp/train/memory_plan.hpp"
#include "dmlp/run/trace_file.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp::run {

class TrainingRun::Impl {
 public:
  virtual ~Impl() = default;
  virtual RunOutcome run(TrainingObserver* observer) = 0;
  virtual std::vector<double> parameters() const = 0;
  RunDescription description;
};

namespace {

// This process's peak resident set: VmHWM, which starts anew at exec, where
// getrusage's ru_maxrss keeps the peak of the process that exec'ed dmlp.
std::int64_t peak_resident_bytes() {
  if (std::FILE* status = std::fopen("/proc/self/status", "re")) {
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, status))
      if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
    std::fclose(status);
    if (kib >= 0) return std::int64_t(kib) * 1024;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return std::int64_t(usage.ru_maxrss) * 1024;  // KiB on Linux
}

// Tells the run's waiter (a stall watchdog reports it) what this rank does now.
void now_doing(const mpi::Communicator& comm, Activity activity) { comm.waiter().now_doing(activity); }

std::string without_warning_prefix(const std::string& text) {
  constexpr std::string_view prefix = "warning: ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

template <class T>
class Run final : public TrainingRun::Impl {
 public:
  Run(const mpi::Communicator& world, const RunConfig& config, RunLog& log, TrainingData data,
      const mpi::Placement& placement, const CheckpointDirLock* lock)
      : world_(world),
        lock_(lock),
        config_(config),
        log_(log),
        data_(std::move(data)),
        team_(config.execution.reduction == Reduction::node && world.size() > 1
                  ? make_team(world, config, team_declined_)
                  : std::nullopt),
        net_(team_ ? Network<T>(config.model, team_->params(), team_->grads()) : Network<T>(config.model)),
        collective_(world) {
    if (team_)
      node_sync_.emplace(*team_, config.execution.overlap);
    else
      plain_sync_.emplace(world, net_.layout(), config.execution.bucket_mb, config.execution.overlap);
    mpi::collectively(world_, [&] {
      trainer_ = std::make_unique<Trainer<T>>(net_, *data_.train.rows, data_.test.rows.get(), config_.training,
                                              collective_, sync(), team_ ? &*team_ : nullptr);
    });
    std::vector<std::string> warnings = start();
    mpi::require_identical<T>(world_, net_.params(), "initial parameters");
    describe(placement, std::move(warnings));
    for (const mpi::Host& h : placement.hosts)
      if (std::find(h.ranks.begin(), h.ranks.end(), world_.rank()) != h.ranks.end()) host_ = h.name;
    if (const TraceConfig& t = config_.execution.trace; !t.file.empty()) {
      std::vector<std::pair<std::string, std::string>> others = {
          {"--train", config_.data.train_file}, {"--test", config_.data.test_file},
          {"--resume", config_.start.resume}, {"--init", config_.start.init}};
      if (const std::string& dir = config_.execution.checkpoint.dir; !dir.empty()) {
        const std::string name = std::filesystem::path(t.file).filename().string();
        if (name.starts_with("ckpt-")) others.push_back({"checkpoint", (std::filesystem::path(dir) / name).string()});
      }
      check_trace_path(world_, t.file, others);
      trace_.emplace(t.first_step, t.last_step);
      trainer_->set_trace(&*trace_);
      if (plain_sync_) plain_sync_->set_trace(&*trace_);
      if (node_sync_) node_sync_->set_trace(&*trace_);
    }
  }

  RunOutcome run(TrainingObserver* observer) override {
    ObserverChain observers;
    observers.add(observer);
    std::optional<Checkpointer<T>> checkpoints;
    if (!config_.execution.checkpoint.dir.empty()) {
      checkpoints.emplace(collective_, config_.execution.checkpoint, *trainer_, net_, to_json(config_), data_json(), log_,
                          lock_);
      observers.add(&*checkpoints);
    }
    RunOutcome outcome;
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t first_samples = trainer_->position().samples;
    first_step_ = trainer_->position().step;
    if (trace_) {
      world_.barrier();  // the ranks' timelines start together
      trace_->start_clock();
    }
    diverging_is_agreed([&] {
      outcome.stopped = trainer_->run(&observers);  // the ranks agreed on stopping
      outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      now_doing(world_, Activity::finishing);
      // The last update may overflow with a finite gradient: nothing reports it
      // but this (every rank holds the same parameters).
      const auto p = net_.params();
      if (!std::all_of(p.begin(), p.end(), [](T v) { return std::isfinite(v); }))
        throw DivergedError("diverged at step " + std::to_string(trainer_->position().step) +
                            ": the parameters hold NaN or infinite values after the last update; " + divergence_advice());
    });
    outcome.samples = trainer_->position().samples - first_samples;
    outcome.position = trainer_->position();
    if (checkpoints) checkpoints->save(trainer_->position());
    if (!outcome.stopped && data_.test.rows)
      diverging_is_agreed([&] { outcome.test = trainer_->evaluate(*data_.test.rows); });
    measure_memory(outcome);
    if (trace_) write_trace_and_say();
    return outcome;
  }

  std::vector<double> parameters() const override { return {net_.params().begin(), net_.params().end()}; }

  // Runs fn; a divergence it finds (every rank at the same step, in the same
  // summed numbers) becomes the job's agreed failure, exit 3, after writing
  // the timeline up to it, which is what a user wants to see now.
  template <class Fn>
  void diverging_is_agreed(Fn&& fn) {
    try {
      fn();
    } catch (const DivergedError& e) {
      if (trace_) {
        trace_->step_ends();
        write_trace_and_say();
      }
      throw mpi::JobFailure({0, e.what(), ErrorKind::diverged});
    }
  }

  // What a checkpoint keeps of the data: each set's fingerprint.
  nlohmann::json data_json() const {
    return {{"train", data_.train.fingerprint.to_json()},
            {"test", data_.test.rows ? data_.test.fingerprint.to_json() : nlohmann::json(nullptr)}};
  }

  void write_trace_and_say() {
    const TraceConfig& t = config_.execution.trace;
    write_trace(world_, *trace_, t.file, host_);
    if (trace_->dropped() > 0)
      log_.warning("--trace " + t.file + ": the buffer filled; " + std::to_string(trace_->dropped()) +
                   " events were dropped (shorten --trace-steps)");
    if (trace_->steps_recorded() == 0)
      log_.warning("--trace " + t.file + ": no step of this run fell in --trace-steps " + std::to_string(t.first_step) +
                   ":" + std::to_string(t.last_step) + " (it ran steps " + std::to_string(first_step_ + 1) + "-" +
                   std::to_string(trainer_->position().step) + "); the file holds no spans");
    else
      log_.note("trace of steps " + std::to_string(t.first_step) + "-" + std::to_string(t.last_step) + " written to " +
                t.file);
  }

  // The peak resident set over ranks, next to what this rank's buffers should take.
  void measure_memory(RunOutcome& outcome) const {
    std::array<double, 1> peak{double(peak_resident_bytes())};
    std::array<int, 1> rank{};
    world_.allreduce_max_with_rank(peak, rank);
    outcome.peak_rss_bytes = std::int64_t(peak[0]);
    outcome.peak_rss_rank = rank[0];
    const TrainConfig& t = config_.training;
    double bytes = training_memory(config_.model, t.optimizer, sizeof(T), trainer_->memory_rows(),
                                   trainer_->workers(), t.reproducible)
                       .total();
    if (team_) {
      // the node holds the parameters and the optimizer state once: this rank's share of them
      const double once = double(net_.layout().size()) * sizeof(T) * (1 + state_arrays(effective_optimizer(t)));
      bytes -= once * (1.0 - 1.0 / team_->local_size());
    }
    for (const RowSource* data : {data_.train.rows.get(), data_.test.rows.get()}) {
      if (!data) continue;
      const DataShape& s = data->shape();
      const double row = 4.0 * (double(s.features) + (s.is_classification() ? 1.0 : double(s.targets)));
      bytes += row * double(data->read_ahead_rows() > 0 ? std::min(data->read_ahead_rows(), s.rows) : s.rows) /
               data->sharers();
    }
    outcome.accounted_bytes = bytes;
  }

 private:
  // Puts the starting parameters (and, resuming, the optimizer state and
  // progress) on every rank: fresh from the seed on rank 0, from --init, or
  // from --resume. Returns warnings.
  std::vector<std::string> start() {
    const StartFrom& from = config_.start;
    if (from.resume.empty() && from.init.empty()) {
      // Rank 0 draws the parameters; everyone gets its bytes.
      if (world_.rank() == 0) initialize_parameters(net_, config_.training.seed);
      share_parameters();
      return {};
    }
    std::vector<T> params;
    OptimizerArrays<T> stored;
    const bool resume = !from.resume.empty();
    now_doing(world_, Activity::reading_checkpoint);
    const CheckpointMeta meta = resume ? load_resume_checkpoint<T>(world_, from.resume, params, stored, log_)
                                       : load_checkpoint<T>(world_, from.init, params);
    now_doing(world_, Activity::starting_up);
    std::vector<std::string> warnings;
    mpi::collectively(world_, [&] {
      if (resume) {
        warnings = check_resume(meta, config_, world_.size());
        // the data first: a position that fits no batch of this data is most likely other data
        for (std::string& w : check_data(meta, config_, data_.train.fingerprint,
                                         data_.test.rows ? &data_.test.fingerprint : nullptr))
          warnings.push_back(std::move(w));
        check_position(meta, trainer_->plan());
        if (meta.position.step > trainer_->total_steps())
          throw InputError("cannot resume from " + meta.path + ": it is at step " + std::to_string(meta.position.step) +
                           ", past this run's last step " + std::to_string(trainer_->total_steps()) +
                           " (--epochs, --max-steps): there is nothing to train; give more steps");
      } else
        check_init(meta, config_.model);
    });
    if (writes_shared()) std::copy(params.begin(), params.end(), net_.params().begin());
    if (team_) team_->shared_written();
    if (!resume) return {"starting at step 0 from the parameters of " + meta.path};
    Optimizer<T>& optimizer = trainer_->optimizer();
    // every rank holds the same arrays: a problem with them is found by all alike
    mpi::all_fail_alike([&] {
    for (const std::string& name : optimizer_state_names(optimizer.config())) {
      const auto from_file = std::find_if(stored.begin(), stored.end(), [&](const auto& a) { return a.first == name; });
      const std::span<T> into = optimizer.state(name);
      if (from_file != stored.end() && from_file->second.size() != into.size())
        throw InputError(meta.path + ": /optimizer/" + name + " holds " + std::to_string(from_file->second.size()) +
                         " values for a model of " + std::to_string(into.size()));
      if (from_file != stored.end()) {
        if (writes_shared()) std::copy(from_file->second.begin(), from_file->second.end(), into.begin());
      } else if (name == "velocity")  // plain SGD's checkpoint, resumed with momentum
        warnings.insert(warnings.begin(), meta.path + " holds no momentum state: the velocity starts at zero");
      else
        throw InputError(meta.path + " holds no /optimizer/" + name + ", which --optimizer " +
                         std::string(to_string(optimizer.config().kind)) + " needs: the checkpoint is incomplete");
    }
    });
    if (team_) team_->shared_written();
    optimizer.set_steps(meta.optimizer_steps);
    trainer_->position() = meta.position;
    warnings.insert(warnings.begin(), "resuming from " + meta.path + " at step " + std::to_string(meta.position.step));
    return warnings;
  }

  std::string describe_reduction() const {
    if (world_.size() == 1) return "none: one rank";
    if (!team_) {
      const std::string why =
          config_.execution.reduction == Reduction::allreduce ? "--reduction allreduce" : team_declined_;
      return "allreduce (" + why + "): every rank sums the whole gradient and updates the whole model";
    }
    const int local = team_->local_size(), nodes = world_.size() / local;
    std::size_t mine = 0;
    for (const Piece& p : team_->pieces()) mine += p.size();
    const double share = double(mine) / double(net_.layout().size());
    char text[480];
    std::snprintf(text, sizeof text,
                  "node: %d ranks per node share one model in shared memory; each sums its slice of every bucket "
                  "from its peers and updates it (this rank %.1f%% of the parameters, with that share of the "
                  "optimizer state%s)%s",
                  local, 100.0 * share,
                  std::abs(share * local - 1) > 0.1
                      ? ("; slices are whole blocks of " + std::to_string(kNormBlock) + " values, so a small model's "
                         "are uneven").c_str()
                      : "",
                  nodes > 1 ? (", then all-reduces it with its " + std::to_string(nodes - 1) +
                               " peer" + (nodes > 2 ? "s" : "") + " on the other nodes").c_str()
                            : "");
    return text;
  }

  GradientSync<T>& sync() {
    if (node_sync_) return *node_sync_;
    return *plain_sync_;
  }

  static std::optional<mpi::NodeTeam<T>> make_team(const mpi::Communicator& world, const RunConfig& config,
                                                    std::string& declined) {
    return mpi::make_node_team<T>(world, ParameterLayout(config.model),
                                  state_arrays(effective_optimizer(config.training)), config.execution.bucket_mb,
                                  &declined);
  }

  // Whether this rank writes buffers that it may share: its own, or its node's as local rank 0.
  bool writes_shared() const { return !team_ || team_->writes_shared(); }

  // Rank 0's parameters to every rank: with a node team, to one rank per
  // node, which writes them into the node's shared buffer.
  void share_parameters() {
    if (!team_) return world_.broadcast(net_.params(), 0);
    if (team_->local_rank() == 0) team_->cross().broadcast(net_.params(), 0);
    team_->shared_written();
  }

  void describe(const mpi::Placement& placement, std::vector<std::string> warnings) {
    RunDescription& d = description;
    d.mpi_library = mpi::Environment::library_version();
    d.allreduce_algorithm = mpi::Environment::allreduce_algorithm();
    d.placement = placement;
    d.threading = threading_summary();
    d.config = config_;
    d.parameters = net_.layout().size();
    const auto fingerprint = [](const OpenedData& set) {
      char text[96];
      std::snprintf(text, sizeof text, "content xxh3 %016llx, hashed in %.2f s",
                    static_cast<unsigned long long>(set.fingerprint.content), set.fingerprint_seconds);
      return std::string(text);
    };
    d.train = {describe_data(*data_.train.rows), data_.train.mode, fingerprint(data_.train)};
    if (data_.test.rows)
      d.test = DataDescription{describe_data(*data_.test.rows), data_.test.mode, fingerprint(data_.test)};
    d.per_rank_batch_max = d.per_rank_batch_min = trainer_->plan().full_batch_rank_rows(world_.size(), 0);
    for (int r = 1; r < world_.size(); ++r)
      d.per_rank_batch_min = std::min(d.per_rank_batch_min, trainer_->plan().full_batch_rank_rows(world_.size(), r));
    d.steps_per_epoch = trainer_->steps_per_epoch();
    d.total_steps = trainer_->total_steps();
    d.first_step = trainer_->position().step;
    const auto& b = team_ ? team_->buckets() : plain_sync_->buckets();
    d.buckets = b.size();
    if (config_.training.reproducible) {
      d.micro_shards_held = trainer_->memory_rows() / std::max<std::int64_t>(1, config_.training.micro_batch);
      d.exact_buckets = trainer_->sum_buckets();
      d.exact_shared = trainer_->sums_shared();
    }
    // The last bucket holds layer 1, whose gradient is the last thing backward computes.
    const double total = double(net_.layout().size());
    d.overlappable = b.size() > 1 && total > 0 ? 1.0 - double(b.back().end - b.back().begin) / total : 0.0;
    d.reduction = describe_reduction();
    if (!team_ && config_.execution.reduction == Reduction::node && world_.size() > 1 &&
        team_declined_ != "one rank per node")
      warnings.push_back("--reduction node: " + team_declined_ + "; the plain all-reduce runs instead");
    if (team_ && !team_->exact_sums_declined().empty())
      warnings.push_back(team_->exact_sums_declined() + "; the exact sums go by all-reduce instead");
    d.warnings = std::move(warnings);
    for (const std::string& w : {data_.train.warning, data_.test.warning, placement_warning(placement), blas_threading_warning(),
                                 blas_kernel_warning(), optimizer_warning(effective_optimizer(config_.training))})
      if (!w.empty()) d.warnings.push_back(without_warning_prefix(w));
  }

  const mpi::Communicator& world_;
  const CheckpointDirLock* lock_;  // rank 0's, with a checkpoint directory
  RunConfig config_;
  RunLog& log_;
  TrainingData data_;
  // --reduction node with two ranks on some node: the node's shared model
  std::string team_declined_;  // (initialized before team_) why there is none
  std::optional<mpi::NodeTeam<T>> team_;
  Network<T> net_;
  mpi::MpiCollective collective_;
  std::optional<mpi::MpiGradientSync<T>> plain_sync_;  // one of the two
  std::optional<mpi::NodeGradientSync<T>> node_sync_;
  std::unique_ptr<Trainer<T>> trainer_;
  std::optional<Trace> trace_;
  std::string host_;
  std::int64_t first_step_ = 0;  // the progress this run started from
};

// N processes that each believe they are alone would train the same model N
// times and overwrite each other's checkpoints.
void check_launch(int ranks) {
  const auto announced = mpi::launcher_size();
  if (!announced || announced->size <= 1 || ranks != 1) return;
  throw InputError(announced->variable + "=" + std::to_string(announced->size) +
                   " says this job has " + std::to_string(announced->size) +
                   " tasks, but MPI started this process alone (1 rank): each task would train on its own and "
                   "overwrite the others' checkpoints. The launcher and MPI do not speak the same process-management "
                   "interface: under Slurm launch with `srun --mpi=pmix` (see `srun --mpi=list`), elsewhere with "
                   "`mpirun -np " + std::to_string(announced->size) + "`; for one rank on purpose, `srun -n 1`");
}

}  // namespace

TrainingRun::TrainingRun(const mpi::Communicator& world, const RunConfig& config, RunLog& log) {
  std::string config_text;  // the configuration and the start point: every rank must run the same
  mpi::collectively(world, [&] {
    check_launch(world.size());
    validate(config);
    config_text = nlohmann::json{{"config", to_json(config)},
                                 {"resume", config.start.resume},
                                 {"init", config.start.init}}.dump();
  });
  // Before anything else collective: ranks that disagree would call different collectives.
  mpi::all_fail_alike([&] { mpi::require_same_on_all_ranks(world, config_text, "configuration"); });
  // From here on, every collective of the run is watched: a rank that stops
  // answering in start-up, in a read, or in a checkpoint write is named.
  comm_ = std::make_unique<mpi::Communicator>(world.duplicate());
  watchdog_ = std::make_unique<mpi::StallWatchdog>(*comm_, config.execution.stall_timeout);
  comm_->wait_with(*watchdog_);
  const mpi::Communicator& run = *comm_;
  prepare_checkpoint_dir(config.execution.checkpoint, run);
  mpi::collectively(run, [&] {
    if (run.rank() == 0 && !config.execution.checkpoint.dir.empty())
      directory_lock_ = std::make_unique<CheckpointDirLock>(config.execution.checkpoint.dir, "--checkpoint-dir");
  });
  test_stop_point("startup", run.rank());
  now_doing(run, Activity::reading_data);
  TrainingData data = open_training_data(config.data, config.execution.loading, config.model, config.training.seed, run);
  now_doing(run, Activity::starting_up);
  const mpi::Placement placement = place_threads(run, config.execution.threads);
  if (config.precision == Precision::Double)
    impl_ = std::make_unique<Run<double>>(run, config, log, std::move(data), placement, directory_lock_.get());
  else
    impl_ = std::make_unique<Run<float>>(run, config, log, std::move(data), placement, directory_lock_.get());
  if (directory_lock_ && !directory_lock_->warning().empty())
    impl_->description.warnings.push_back(directory_lock_->warning());
}

TrainingRun::~TrainingRun() = default;

mpi::Placement place_threads(const mpi::Communicator& world, int requested) {
  const mpi::Placement placement = mpi::discover_placement(world, requested);
  set_threads(placement.threads);
  return placement;
}

const RunDescription& TrainingRun::description() const { return impl_->description; }

RunOutcome TrainingRun::run(TrainingObserver* observer) { return impl_->run(observer); }

std::vector<double> TrainingRun::parameters() const { return impl_->parameters(); }

}  // namespace dmlp::run
