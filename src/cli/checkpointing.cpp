#include "checkpointing.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/checkpoint.hpp"

namespace dmlp::cli {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }
}  // namespace

void prepare_checkpoint_dir(const CheckpointOptions& o, int rank) {
  if (o.every_steps < 0) throw InputError("--checkpoint-every " + std::to_string(o.every_steps) + " must be >= 0");
  if (o.every_seconds < 0) throw InputError("--checkpoint-every-seconds must be >= 0");
  if (o.keep < 1) throw InputError("--keep-checkpoints " + std::to_string(o.keep) + " must be at least 1");
  if ((o.every_steps > 0 || o.every_seconds > 0) && o.dir.empty())
    throw InputError("--checkpoint-every and --checkpoint-every-seconds need --checkpoint-dir");
  if (!o.resume.empty() && !o.init.empty()) throw InputError("give --resume or --init, not both");
  if (o.dir.empty() || rank != 0) return;
  std::error_code error;
  std::filesystem::create_directories(o.dir, error);
  if (error || !std::filesystem::is_directory(o.dir))
    throw InputError("--checkpoint-dir " + o.dir + ": cannot create the directory (" + error.message() + ")");
}

void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}


template <class T>
CheckpointWriter<T>::CheckpointWriter(const mpi::Communicator& world, const CheckpointOptions& options,
                                      Trainer<T>& trainer, const Network<T>& net, nlohmann::json config,
                                      std::uint64_t seed)
    : world_(world), options_(options), trainer_(trainer), net_(net), config_(std::move(config)), seed_(seed) {
  if (world_.rank() != 0) return;
  const auto moved = set_aside_checkpoints_after(options_.dir, trainer_.progress().step);
  if (!moved.empty())
    std::printf("warning: %zu checkpoint%s in %s from past step %lld (an abandoned run) renamed to *.superseded\n",
                moved.size(), moved.size() == 1 ? "" : "s", options_.dir.c_str(),
                static_cast<long long>(trainer_.progress().step));
}

template <class T>
std::string CheckpointWriter<T>::save(const TrainProgress& p) {
  const std::string path = (std::filesystem::path(options_.dir) / checkpoint_file_name(p.step)).string();
  if (saved_step_ == p.step) return path;
  // Every rank holds the same state; rank 0 alone writes it.
  if (world_.rank() == 0) {
    write_checkpoint<T>(path, net_, trainer_.optimizer().velocity(),
                        CheckpointState{config_, world_.size(), seed_, p});
    prune_checkpoints(options_.dir, options_.keep);
    std::printf("checkpoint %s written (step %lld)\n", path.c_str(), static_cast<long long>(p.step));
    std::fflush(stdout);
  }
  saved_step_ = p.step;
  last_save_ = std::chrono::steady_clock::now();
  return path;
}

template <class T>
void CheckpointWriter<T>::after_step(const TrainProgress& p) {
  const bool by_steps = options_.every_steps > 0 && p.step % options_.every_steps == 0;
  // Only rank 0 writes, so its clock alone decides.
  const bool by_time = world_.rank() == 0 && options_.every_seconds > 0 &&
                       std::chrono::steady_clock::now() - last_save_ >= std::chrono::duration<double>(options_.every_seconds);
  if (by_steps || by_time) save(p);
}

template <class T>
bool CheckpointWriter<T>::stop_requested(const TrainProgress&) {
  // A signal reaches the ranks at slightly different moments: they agree each step.
  return world_.allreduce_one<std::int64_t>(g_stop_signal, MPI_MAX) != 0;
}

template class CheckpointWriter<float>;
template class CheckpointWriter<double>;

}  // namespace dmlp::cli
