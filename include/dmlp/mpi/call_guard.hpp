#pragma once
// The stall watchdog's guard against an MPI call that never returns. The
// watchdog's wait loop (stall_watchdog.hpp) can only call a stall between
// two of its MPI calls, and Open MPI can spin inside one of them forever:
// its TCP transport does so now and then after a peer's connection broke
// ("mca_btl_tcp_frag_send: writev failed: Connection reset by peer", seen
// under Slurm when a node is lost). A thread of the guard's own watches the
// loop's turns; once the loop has stood still inside one turn for the
// deadline, it reports the stall from there and ends the job, with the exit
// code of any stall.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "dmlp/mpi/stall_verdict.hpp"

namespace dmlp::mpi {

class CallGuard {
 public:
  // Rank `rank` (for the report) gives up on a turn after `deadline_seconds`.
  CallGuard(int rank, double timeout_seconds, double deadline_seconds);
  ~CallGuard() noexcept;
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  // The thread that runs MPI: its wait loop starts, where it waits (for the
  // report), and ends; every turn of the loop in between. No allocation.
  void arm(Activity doing, Wait waiting, std::int64_t step) noexcept;
  void turned() noexcept;
  void disarm() noexcept;
  // A report is out already (the watchdog's own): the guard only ends the job.
  void reported() noexcept { reported_.store(true, std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;
  void watch();  // the guard's thread
  [[noreturn]] void give_up(double stuck_seconds);

  int rank_;
  double timeout_, deadline_;
  std::atomic<bool> armed_{false}, reported_{false};
  std::atomic<Clock::rep> last_turn_{0};
  std::atomic<std::uint64_t> arms_{0};  // waits armed so far
  std::atomic<std::int64_t> doing_{0}, waiting_{0};
  std::atomic<std::int64_t> step_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // under mutex_
  std::thread thread_;
};

// Ends the wait loop's watch however the loop is left (an exception included).
class ArmedGuard {
 public:
  ArmedGuard(CallGuard* guard, Activity doing, Wait waiting, std::int64_t step) noexcept : guard_(guard) {
    if (guard_) guard_->arm(doing, waiting, step);
  }
  ~ArmedGuard() {
    if (guard_) guard_->disarm();
  }
  ArmedGuard(const ArmedGuard&) = delete;
  ArmedGuard& operator=(const ArmedGuard&) = delete;

 private:
  CallGuard* guard_;
};

}  // namespace dmlp::mpi
