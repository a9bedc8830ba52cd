#include "dmlp/run/checkpointer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <span>
#include <filesystem>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/core/test_hooks.hpp"
#include "dmlp/train/divergence.hpp"
#include <thread>

namespace dmlp::run {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }
}  // namespace

void prepare_checkpoint_dir(const CheckpointPolicy& policy, const mpi::Communicator& world) {
  mpi::collectively(world, [&] {
    if (policy.dir.empty() || world.rank() != 0) return;
    std::error_code error;
    std::filesystem::create_directories(policy.dir, error);
    if (error || !std::filesystem::is_directory(policy.dir))
      throw InputError("--checkpoint-dir " + policy.dir + ": cannot create the directory (" + error.message() + ")");
    require_writable_directory(policy.dir, "--checkpoint-dir");
  });
}

namespace {
int g_stop_signal_depth = 0;  // StopSignals alive
}  // namespace

StopSignals::StopSignals() : outermost_(g_stop_signal_depth++ == 0) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (outermost_) {
    g_stop_signal = 0;
    sigaction(SIGTERM, &action, &previous_term_);
    sigaction(SIGUSR1, &action, &previous_usr1_);
    return;
  }
  // Nested: keep the flag, but take the signals back if a library (MPI's
  // start-up, say) installed handlers of its own since the outermost did.
  for (int signal : {SIGTERM, SIGUSR1}) {
    struct sigaction now {};
    sigaction(signal, nullptr, &now);
    if (now.sa_handler != on_stop_signal) sigaction(signal, &action, nullptr);
  }
}

StopSignals::~StopSignals() {
  --g_stop_signal_depth;
  if (!outermost_) return;
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGUSR1, &previous_usr1_, nullptr);
}

int StopSignals::received() { return g_stop_signal; }

template <class T>
Checkpointer<T>::Checkpointer(Collective& comm, CheckpointPolicy policy, Trainer<T>& trainer,
                              const Network<T>& net, nlohmann::json config, nlohmann::json data, RunLog& log,
                              const CheckpointDirLock* lock)
    : comm_(comm),
      policy_(std::move(policy)),
      trainer_(trainer),
      net_(net),
      config_(std::move(config)),
      data_(std::move(data)),
      log_(log),
      lock_(lock),
      hold_after_step_(test_hold_after_step().value_or(-1)) {
  comm_.agreed([&] {
    if (comm_.rank() != 0) return;
    for (const std::string& name : remove_stale_temporaries(policy_.dir))
      log_.note("removed " + name + " from " + policy_.dir + ", left by a writer that was killed mid-write");
    const auto moved = set_aside_checkpoints_after(policy_.dir, trainer_.position().step);
    if (!moved.empty())
      log_.warning(std::to_string(moved.size()) + " checkpoint" + (moved.size() == 1 ? "" : "s") + " in " +
                   policy_.dir + " from past step " + std::to_string(trainer_.position().step) +
                   " (an abandoned run) renamed to *.superseded (or *.superseded-N, where an earlier one took that name)");
  });
}

template <class T>
std::string Checkpointer<T>::save(const TrainPosition& p) {
  const std::string path = (std::filesystem::path(policy_.dir) / checkpoint_file_name(p.step)).string();
  if (saved_step_ == p.step) return path;
  const TraceSpan span(trainer_.trace(), "checkpoint write");
  // Rank 0 writes, the others wait for it; a stall watchdog names rank 0 if it hangs there.
  const ActivityScope writing(comm_, Activity::writing_checkpoint);
  // Every rank holds the same state; rank 0 alone writes it, and all agree it did.
  comm_.agreed([&] {
    if (comm_.rank() != 0) return;
    // Parameters that overflowed to infinity with a finite gradient: a
    // checkpoint of them would replace (and prune) good ones.
    const auto params = net_.params();
    if (!std::all_of(params.begin(), params.end(), [](T v) { return std::isfinite(v); }))
      throw DivergedError("diverged at step " + std::to_string(p.step) +
                          ": the parameters hold NaN or infinite values, so no checkpoint was written; " + divergence_advice());
    Optimizer<T>& optimizer = trainer_.optimizer();
    OptimizerSnapshot<T> snapshot{optimizer.config().kind, optimizer.steps(), {}};
    const auto names = optimizer_state_names(optimizer.config());
    for (const std::string& name : names) snapshot.arrays.emplace_back(name, optimizer.state(name));
    test_stop_point("checkpoint-write", comm_.rank());
    if (lock_) lock_->verify();
    // what the write costs, to choose --checkpoint-every-seconds by (README: losing a node)
    const auto write_started = std::chrono::steady_clock::now();
    try {
      write_checkpoint<T>(path, net_, snapshot, CheckpointState{config_, comm_.size(), trainer_.config().seed, p, data_});
    } catch (const InputError& e) {  // the directory took files at the start: a failure now, not bad input
      throw std::runtime_error(e.what());
    }
    prune_checkpoints(policy_.dir, policy_.keep, path);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - write_started).count();
    std::error_code size_error;
    const auto bytes = std::filesystem::file_size(path, size_error);
    char cost[64];
    if (size_error)
      std::snprintf(cost, sizeof cost, " in %.3f s", seconds);
    else
      std::snprintf(cost, sizeof cost, " in %.3f s, %.1f MB", seconds, double(bytes) / 1e6);
    log_.note("checkpoint " + path + " written (step " + std::to_string(p.step) + ")" + cost);
  });
  saved_step_ = p.step;
  last_save_ = std::chrono::steady_clock::now();
  return path;
}

template <class T>
void Checkpointer<T>::hold_for_stop_signal(const TrainPosition& p) {
  log_.note("test hold: after step " + std::to_string(p.step) + ", waiting for a stop signal");
  for (;;) {
    std::int64_t go_on[2] = {StopSignals::received(), comm_.rank() == 0 && test_hold_released() ? 1 : 0};
    comm_.max_integers(go_on);
    if (go_on[0] != 0 || go_on[1] != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

template <class T>
void Checkpointer<T>::after_step(const TrainPosition& p) {
  if (hold_after_step_ == p.step) hold_for_stop_signal(p);
  const bool by_time = comm_.rank() == 0 && policy_.every_seconds > 0 &&
                       std::chrono::steady_clock::now() - last_save_ >=
                           std::chrono::duration<double>(policy_.every_seconds);
  // A signal reaches the ranks at slightly different moments: one all-reduce a
  // step agrees on it and on rank 0's clock.
  std::int64_t decide[2] = {by_time ? 1 : 0, StopSignals::received()};
  comm_.max_integers(decide);
  stop_ = decide[1] != 0;
  const bool by_steps = policy_.every_steps > 0 && p.step % policy_.every_steps == 0;
  if (by_steps || decide[0] != 0) save(p);
}

template <class T>
bool Checkpointer<T>::stop_requested(const TrainPosition&) {
  return stop_;
}

template class Checkpointer<float>;
template class Checkpointer<double>;

}  // namespace dmlp::run
