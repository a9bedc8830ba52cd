#include "dmlp/mpi/call_guard.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/settings.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/environment.hpp"

namespace dmlp::mpi {

CallGuard::CallGuard(int rank, double timeout_seconds, double deadline_seconds)
    : rank_(rank), timeout_(timeout_seconds), deadline_(deadline_seconds), thread_([this] { watch(); }) {}

CallGuard::~CallGuard() noexcept {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void CallGuard::arm(Activity doing, Wait waiting, std::int64_t step) noexcept {
  doing_.store(std::int64_t(doing), std::memory_order_relaxed);
  waiting_.store(std::int64_t(waiting), std::memory_order_relaxed);
  step_.store(step, std::memory_order_relaxed);
  turned();
  arms_.fetch_add(1, std::memory_order_release);
  armed_.store(true, std::memory_order_release);
}

void CallGuard::turned() noexcept { last_turn_.store(Clock::now().time_since_epoch().count(), std::memory_order_release); }

void CallGuard::disarm() noexcept { armed_.store(false, std::memory_order_release); }

void CallGuard::watch() {
  // A tenth of the deadline between looks: the report comes at most 10% late.
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::clamp(deadline_ / 10, 0.01, 1.0)));
  // This thread waking up far too late means the process stood still (SIGSTOP,
  // a scheduler's suspend), the MPI thread with it: the count starts over,
  // as the watchdog's own wait does after such a gap.
  constexpr std::chrono::seconds kSuspendedGap{1};
  Clock::time_point counted_from = Clock::now(), looked = counted_from;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    const Clock::time_point now = Clock::now();
    if (now - looked > period + kSuspendedGap) counted_from = now;
    looked = now;
    const std::uint64_t arms = arms_.load(std::memory_order_acquire);
    if (!armed_.load(std::memory_order_acquire)) continue;
    const Clock::time_point last =
        std::max(counted_from, Clock::time_point{Clock::duration(last_turn_.load(std::memory_order_acquire))});
    const double stuck = std::chrono::duration<double>(now - last).count();
    // still the same wait, still armed: not a turn read across two waits
    if (stuck > deadline_ && armed_.load(std::memory_order_acquire) && arms_.load(std::memory_order_acquire) == arms)
      give_up(stuck);
  }
}

void CallGuard::give_up(double stuck_seconds) {
  if (!reported_.load(std::memory_order_relaxed)) {
    char took[32];
    std::snprintf(took, sizeof took, "%.1f s", stuck_seconds);
    const auto doing = static_cast<Activity>(doing_.load(std::memory_order_relaxed));
    const auto waiting = static_cast<Wait>(waiting_.load(std::memory_order_relaxed));
    report_failure({rank_,
                    "stalled: rank " + std::to_string(rank_) + " has been inside one MPI call for " + took + " (" +
                        setting("stall_timeout") + " " + format_number(timeout_) + "), waiting " +
                        describe(doing, waiting, step_.load(std::memory_order_relaxed)) +
                        ": MPI itself does not return (Open MPI can spin there after a peer's connection broke; "
                        "its own messages above may say which)",
                    ErrorKind::stalled});
  }
  // MPI_Abort from this thread while the other spins inside MPI: should it
  // hang too, SIGALRM's default action ends the process a minute later.
  ::alarm(60);
  abort_job(exit_status_of(ErrorKind::stalled));
}

}  // namespace dmlp::mpi
