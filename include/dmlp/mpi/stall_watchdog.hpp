#pragma once
// The stall watchdog: a rank that has waited --stall-timeout seconds in one of
// the training loop's collectives ends the job with exit code 4 and names the
// ranks that never arrived, where Open MPI would spin forever.
//
// Every rank tells rank 0 where it is with a small non-blocking heartbeat
// (step, collectives entered, activity) when a step starts and when it enters
// a watched collective. Every collective runs in the same order on all ranks,
// so a rank that has entered fewer than rank 0 has not reached the one rank 0
// waits in. The waits are MPI_Test loops with a deadline: rank 0 names the
// missing ranks, their hosts and what they last reported; any other rank whose
// wait runs out gives rank 0 a grace period to do so, then reports itself
// (rank 0 may be the stalled one, or unreachable).
//
// Watched: the gradient all-reduce, the step reports, the evaluation sums and
// the per-step checkpoint decision. Not watched: start-up, checkpoint writes
// and HDF5 reads, which are blocking calls inside MPI or HDF5.
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/placement.hpp"

namespace dmlp::mpi {

enum class Activity : std::int64_t { computing = 0, gradient_sum = 1, reduction = 2, evaluating = 3 };

class StallWatchdog {
 public:
  // timeout_seconds 0: off, and every wait is a plain MPI_Waitall.
  StallWatchdog(const Communicator& comm, double timeout_seconds, const std::vector<Host>& hosts);
  ~StallWatchdog() noexcept;
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

  bool enabled() const { return timeout_ > 0 && size_ > 1; }
  double timeout_seconds() const { return timeout_; }

  // `step` as the progress lines count it (the first step is 1).
  void step_started(std::int64_t step);
  void evaluation_started();
  // Completes `requests`; throws StalledError once the deadline has passed.
  void wait(std::span<MPI_Request> requests, Activity what);
  // In-place all-reduce over the watched communicator, as a watched wait.
  void allreduce(void* values, int count, MPI_Datatype type, MPI_Op op, Activity what);
  template <class T>
  void allreduce(std::span<T> values, MPI_Op op, Activity what) {
    for (std::size_t at = 0; at < values.size(); at += kMaxCount)
      allreduce(values.data() + at, int(std::min(kMaxCount, values.size() - at)), datatype<T>(), op, what);
  }

 private:
  using Clock = std::chrono::steady_clock;
  using Beat = std::array<std::int64_t, 3>;  // step, collectives entered, activity
  struct Heard {
    Beat beat{};
    Clock::time_point when{};
    bool ever = false;
  };
  static constexpr int kTag = 4004;
  static constexpr int kVerdictTag = 4005;  // rank 0 to the others: "I have reported the stall"
  static constexpr std::size_t kSendSlots = 8;

  void announce(Activity what);
  void drain_heartbeats();
  [[noreturn]] void stalled(Activity what, double waited);
  std::string missing_report(double waited);  // sets stalled_elsewhere_

  const Communicator& comm_;
  MPI_Comm beats_ = MPI_COMM_NULL;  // a duplicate, so heartbeats match nothing else
  int rank_ = 0, size_ = 1;
  double timeout_ = 0;
  std::vector<std::string> host_of_;  // per rank
  std::int64_t step_ = 0, entered_ = 0;
  Activity activity_ = Activity::computing;
  bool stalled_elsewhere_ = false;  // a rank named in the report runs on another node than rank 0
  // Non-zero ranks: heartbeats in flight.
  std::array<Beat, kSendSlots> sending_{};
  std::array<MPI_Request, kSendSlots> send_requests_{};
  std::size_t next_slot_ = 0;
  // Rank 0: the last heartbeat of each rank, and the one being received.
  std::vector<Heard> heard_;
  Beat receiving_{};
  MPI_Request receive_request_ = MPI_REQUEST_NULL;
  // Rank 0's verdict: sent to the others when it reports and waits for mpirun;
  // a rank that got it does not report rank 0 in turn.
  std::int64_t verdict_ = 0;
  MPI_Request verdict_request_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> verdict_sends_;
  bool verdict_heard_ = false;
};

}  // namespace dmlp::mpi
