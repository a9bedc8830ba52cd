#pragma once
// The stall watchdog: a rank that has waited --stall-timeout seconds for the
// others ends the job as stalled (ErrorKind::stalled) and names the ranks that never
// arrived, and what each was last doing, where Open MPI would spin forever.
//
// A Communicator that waits with it (Communicator::wait_with) runs every
// collective as a non-blocking call and waits here: from start-up (the
// agreement on the configuration, reading the data, loading a checkpoint) to
// the last step, the final checkpoint and evaluation. Every rank tells rank 0
// where it is with a small non-blocking heartbeat (step, collectives entered,
// activity, wait) whenever its activity changes and when it enters a collective;
// rank 0 tells rank 1, its deputy, the same. A rank that is reading a file or
// writing a checkpoint says so first, so a rank hung in the file system is
// named with what it was doing.
//
// Every watched collective runs in the same order on all ranks, so a rank
// that has entered fewer than rank 0 has not reached the one rank 0 waits in.
// The waits are MPI_Test loops with a deadline: rank 0 names the missing
// ranks, their hosts and what they last reported; any other rank whose wait
// runs out gives rank 0 a grace period to do so, then reports itself, with
// what rank 0 last said (rank 0 may be the stalled one, or unreachable).
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

#include "dmlp/mpi/call_guard.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/stall_verdict.hpp"
#include "dmlp/mpi/waiter.hpp"

namespace dmlp::mpi {

// What a rank is doing, as its heartbeats say: dmlp::Activity (train/collective.hpp).

class StallWatchdog final : public Waiter {
 public:
  // Collective over `comm` (a duplicate for the heartbeats, the ranks' host
  // names). timeout_seconds 0: off, and every wait is a plain MPI_Waitall.
  StallWatchdog(const Communicator& comm, double timeout_seconds);
  ~StallWatchdog() noexcept override;
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

  bool enabled() const { return timeout_ > 0 && size_ > 1; }
  double timeout_seconds() const { return timeout_; }

  // Where this rank is now; a heartbeat says so.
  void now_doing(Activity activity) override;
  Activity doing() const override { return doing_; }
  // `step` as the progress lines count it (the first step is 1); training.
  void step_started(std::int64_t step) override;
  // Completes `requests`; throws StalledError once the deadline has passed.
  void wait(std::span<MPI_Request> requests, Wait what) override;
  bool wants_nonblocking() const override { return enabled(); }

 private:
  using Clock = std::chrono::steady_clock;
  using Beat = std::array<std::int64_t, 4>;  // step, collectives entered, activity, wait
  struct Heard {
    Beat beat{};
    Clock::time_point when{};
    bool ever = false;
  };
  static constexpr int kTag = 4004;
  static constexpr int kVerdictTag = 4005;  // rank 0 to the others: "I have reported the stall"
  static constexpr std::size_t kSendSlots = 8;

  static LastHeard last_heard(const Heard& h, Clock::time_point now, double waited);
  void announce();    // where this rank is now, to rank 0 (rank 0's, to rank 1)
  void keep_alive();  // announce, and rank 0's to all, if the last beat is a beat's time old
  void send_beat(int to);
  void drain_heartbeats();
  [[noreturn]] void stalled(double waited);
  std::string missing_report(double waited);  // sets stalled_elsewhere_
  std::string what_root_said() const;         // rank 1: rank 0's last heartbeat, in words

  std::optional<Communicator> beats_;  // a duplicate, so heartbeats match nothing else
  int rank_ = 0, size_ = 1;
  double timeout_ = 0;
  std::vector<std::string> host_of_;  // per rank
  std::int64_t step_ = 0, entered_ = 0;
  Clock::time_point last_beat_{};
  Activity doing_ = Activity::starting_up;
  Wait waiting_ = Wait::none;
  bool stalled_elsewhere_ = false;  // a rank named in the report runs on another node than rank 0
  // Heartbeats in flight (to rank 0, and from rank 0 to rank 1).
  std::array<Beat, kSendSlots> sending_{};
  std::array<MPI_Request, kSendSlots> send_requests_{};
  std::size_t next_slot_ = 0;
  // Rank 0: the last heartbeat of each rank; rank 1: rank 0's, in heard_[0].
  std::vector<Heard> heard_;
  Beat receiving_{};
  MPI_Request receive_request_ = MPI_REQUEST_NULL;
  // Rank 0's verdict: sent to the others when it reports and waits for mpirun;
  // a rank that got it does not report rank 0 in turn.
  std::int64_t verdict_ = 0;
  MPI_Request verdict_request_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> verdict_sends_;
  bool verdict_heard_ = false;
  // Ends the job when the wait loop stands still inside one MPI call (call_guard.hpp).
  std::optional<CallGuard> guard_;
};

}  // namespace dmlp::mpi
