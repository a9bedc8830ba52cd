#include "dmlp/mpi/stall_watchdog.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/test_hooks.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/liveness.hpp"
#include "dmlp/mpi/placement.hpp"
#include "dmlp/mpi/stall_verdict.hpp"

namespace dmlp::mpi {
namespace {

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", s);
  return text;
}

}  // namespace

// A heartbeat as the verdict reads it (stall_verdict.hpp).
LastHeard StallWatchdog::last_heard(const Heard& h, Clock::time_point now, double waited) {
  return {h.ever, h.beat[0], h.beat[1], static_cast<Activity>(h.beat[2]), static_cast<Wait>(h.beat[3]),
          h.ever ? std::chrono::duration<double>(now - h.when).count() : waited};
}

namespace {
// How long a rank other than 0 waits past its own deadline for rank 0, which
// has heard everyone's heartbeats, to name the missing ranks; ranks past 1
// give rank 1, which knows what rank 0 last did, a few seconds more.
double grace_seconds(double timeout) { return std::min(timeout, 10.0); }
constexpr double kDeputyHeadStartSeconds = 5;

// A waiting or working rank repeats its heartbeat this often, so that rank 0
// can tell a rank that waits with it (or reads a file) from one that stopped
// (or lost its network); two missed beats make a rank silent.
double beat_seconds(double timeout) { return std::clamp(timeout / 4, 0.05, 1.0); }

// An MPI_Abort that mpirun must relay across a dead link leaves it waiting on
// TCP retransmissions for about 15 minutes, while its own TCP keep-alive
// (README: oob_tcp_keepalive_*) notices a lost node within 25 s if it is not
// sending to it. So when a stalled rank is on another node, rank 0 reports,
// then gives mpirun this long to end the job itself before aborting. Ranks
// that srun started itself (Slurm's PMIx plugin names their namespace
// slurm.pmix.JOB.STEP; its PMI-2 gives them PMI_FD) wait only long enough to
// push their verdicts out: srun never ends a step for a lost node by itself,
// it ends it on MPI_Abort, and the sooner it does, the sooner an elastic batch
// script goes on without the node.
double remote_linger_seconds() {
  static const double seconds = [] {
    const char* pmix_namespace = std::getenv("PMIX_NAMESPACE");
    const bool launched_by_srun =
        (pmix_namespace != nullptr && std::string_view(pmix_namespace).starts_with("slurm.pmix.")) ||
        (std::getenv("SLURM_STEP_ID") != nullptr && std::getenv("PMI_FD") != nullptr);
    return launched_by_srun ? 1.0 : 30.0;
  }();
  return seconds;
}

// A poll loop that did not run for this long was suspended (SIGSTOP, Ctrl-Z,
// a scheduler's suspend): its waiting starts over rather than counting the
// time the whole job stood still.
constexpr std::chrono::seconds kSuspendedGap{1};

constexpr int kNameWidth = 256;

// The watchdog that still_working() keeps informed: at most one per process.
StallWatchdog* g_active = nullptr;
std::thread::id g_active_thread;
void (*g_keep_alive)(StallWatchdog*) = nullptr;

}  // namespace

void still_working() {
  if (g_active && g_keep_alive && std::this_thread::get_id() == g_active_thread) g_keep_alive(g_active);
}

StallWatchdog::StallWatchdog(const Communicator& comm, double timeout_seconds)
    : rank_(comm.rank()), size_(comm.size()), timeout_(timeout_seconds) {
  send_requests_.fill(MPI_REQUEST_NULL);
  if (!enabled()) return;
  beats_.emplace(comm.duplicate());
  // Every rank's host, for naming the missing ones.
  std::vector<char> names(std::size_t(size_) * kNameWidth, '\0');
  int length = 0;
  check(MPI_Get_processor_name(names.data() + std::size_t(rank_) * kNameWidth, &length), "MPI_Get_processor_name");
  check(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, names.data(), kNameWidth, MPI_CHAR, beats_->get()), "MPI_Allgather");
  for (int r = 0; r < size_; ++r) host_of_.emplace_back(names.data() + std::size_t(r) * kNameWidth);
  heard_.resize(std::size_t(rank_ == 0 ? size_ : 1));
  // Rank 0 hears everyone; the others hear rank 0 (whose beats say it is alive).
  check(MPI_Recv_init(receiving_.data(), int(receiving_.size()), MPI_INT64_T, rank_ == 0 ? MPI_ANY_SOURCE : 0, kTag,
                      beats_->get(), &receive_request_),
        "MPI_Recv_init");
  check(MPI_Start(&receive_request_), "MPI_Start");
  if (rank_ != 0) check(MPI_Irecv(&verdict_, 1, MPI_INT64_T, 0, kVerdictTag, beats_->get(), &verdict_request_), "MPI_Irecv");
  if (!g_active) {
    g_active = this;
    g_active_thread = std::this_thread::get_id();
    g_keep_alive = [](StallWatchdog* w) { w->keep_alive(); };
  }
  announce();
  // A stuck MPI call on rank 0 ends the job when rank 0's wait would have;
  // elsewhere, when the wait would have: after rank 0's chance to report.
  guard_.emplace(rank_, timeout_,
                 rank_ == 0 ? timeout_ : timeout_ + grace_seconds(timeout_) + (rank_ == 1 ? 0.0 : kDeputyHeadStartSeconds));
}

StallWatchdog::~StallWatchdog() noexcept {
  if (g_active == this) g_active = nullptr;
  if (finalized() || !beats_) return;
  for (MPI_Request* r : {&receive_request_, &verdict_request_}) {
    if (*r == MPI_REQUEST_NULL) continue;
    MPI_Cancel(r);
    MPI_Wait(r, MPI_STATUS_IGNORE);
    if (*r != MPI_REQUEST_NULL) MPI_Request_free(r);  // the persistent one stays allocated
  }
  for (MPI_Request& r : verdict_sends_)
    if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  // Heartbeats still in flight complete on their own: their receiver may be gone.
  for (MPI_Request& r : send_requests_)
    if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
}

void StallWatchdog::step_started(std::int64_t step) {
  if (!enabled()) return;
  step_ = step;
  doing_ = Activity::training;
  announce();
}

void StallWatchdog::now_doing(Activity activity) {
  if (!enabled()) return;
  doing_ = activity;
  announce();
}

void StallWatchdog::send_beat(int to) {
  MPI_Request& request = send_requests_[next_slot_];
  int done = 1;
  if (request != MPI_REQUEST_NULL) check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  if (!done) return;  // the receiver is behind on this slot; a later heartbeat says more
  Beat& beat = sending_[next_slot_];
  beat = {step_, entered_, static_cast<std::int64_t>(doing_), static_cast<std::int64_t>(waiting_)};
  check(MPI_Isend(beat.data(), int(beat.size()), MPI_INT64_T, to, kTag, beats_->get(), &request), "MPI_Isend");
  next_slot_ = (next_slot_ + 1) % kSendSlots;
}

void StallWatchdog::announce() {
  if (!enabled()) return;
  drain_heartbeats();
  last_beat_ = Clock::now();
  if (rank_ != 0) return send_beat(0);
  send_beat(1);  // rank 1 keeps what rank 0 last said, to name it if rank 0 stalls
}

void StallWatchdog::keep_alive() {
  if (!enabled() || Clock::now() - last_beat_ < std::chrono::duration<double>(beat_seconds(timeout_))) return;
  announce();
  // Rank 0's, to everyone: while rank 0 lives, it decides who stalled.
  if (rank_ == 0)
    for (int r = 2; r < size_; ++r) send_beat(r);
}

void StallWatchdog::drain_heartbeats() {
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    check(MPI_Test(&receive_request_, &arrived, &status), "MPI_Test");
    if (!arrived) return;
    // MPI keeps one sender's messages in order: the last to arrive is the newest.
    heard_[rank_ == 0 ? std::size_t(status.MPI_SOURCE) : 0] = {receiving_, Clock::now(), true};
    check(MPI_Start(&receive_request_), "MPI_Start");
  }
}

void StallWatchdog::wait(std::span<MPI_Request> requests, Wait what) {
  if (requests.empty()) return;
  if (!enabled()) {
    check(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    return;
  }
  ++entered_;
  waiting_ = what;
  const ArmedGuard armed(guard_ ? &*guard_ : nullptr, doing_, what, step_);
  announce();
  if (what == Wait::gradient_sum) test_stuck_point("gradient-wait", rank_);
  Clock::time_point start = Clock::now(), last_poll = start;
  const double silent_after = 2 * beat_seconds(timeout_);
  for (unsigned spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Testall(int(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) break;
    if (spins % 64 != 0) continue;
    const Clock::time_point now = Clock::now();
    guard_->turned();
    if (now - last_poll > kSuspendedGap) {
      start = now;
      for (Heard& h : heard_) h.when = std::max(h.when, now);  // everyone stood still with us
    }
    last_poll = now;
    keep_alive();  // still here, and alive
    drain_heartbeats();
    if (rank_ != 0 && !verdict_heard_) {
      int arrived = 0;
      check(MPI_Test(&verdict_request_, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
      verdict_heard_ = arrived != 0;
    }
    double waited = std::chrono::duration<double>(now - start).count();
    if (rank_ == 0) {
      if (waited <= timeout_) continue;
      // A rank that has not arrived but keeps saying it is working (reading a
      // large file, say) is slow, not stalled: wait on while it says so.
      // The timeout then runs from its last heartbeat.
      const bool someone_working = std::any_of(heard_.begin() + 1, heard_.end(), [&](const Heard& h) {
        return still_working(last_heard(h, now, waited), entered_, silent_after);
      });
      if (!someone_working) stalled(waited);
      start = now;
      continue;
    }
    // The others defer to rank 0 while it lives: the clock runs from its last heartbeat.
    const Heard& root = heard_[0];
    if (root.ever && root.when > start) waited = std::chrono::duration<double>(now - root.when).count();
    const double limit = timeout_ + grace_seconds(timeout_) + (rank_ == 1 ? 0.0 : kDeputyHeadStartSeconds) +
                         (verdict_heard_ ? remote_linger_seconds() : 0.0);
    if (waited > limit) stalled(waited);
  }
  waiting_ = Wait::none;
}

std::string StallWatchdog::missing_report(double waited) {
  // Three kinds of rank: waiting with rank 0 and beating; never there (fewer
  // collectives entered); there, but silent for two beats: stopped or cut off.
  std::vector<int> waiting_ranks{0};
  std::string lines;
  int named = 0;
  stalled_elsewhere_ = false;
  const Clock::time_point now = Clock::now();
  const double silent_after = 2 * beat_seconds(timeout_);
  for (int r = 1; r < size_; ++r) {
    const LastHeard h = last_heard(heard_[std::size_t(r)], now, waited);
    const RankVerdict v = verdict(h, entered_, silent_after);
    if (v == RankVerdict::waiting) {
      waiting_ranks.push_back(r);
      continue;
    }
    if (host_of_[std::size_t(r)] != host_of_[0]) stalled_elsewhere_ = true;
    if (++named > 16) continue;
    lines += "\n  rank " + std::to_string(r) + " on " + host_of_[std::size_t(r)] + ": " + verdict_text(v, h);
  }
  if (named > 16) lines += "\n  … and " + std::to_string(named - 16) + " more";
  std::string text = "stalled: rank 0 waited " + seconds(waited) + " (" + setting("stall_timeout") + " " + format_number(timeout_) +
                     ") " + describe(doing_, waiting_, step_);
  if (named == 0)
    text += "; every rank reached it and is alive, so the network or MPI itself is stuck";
  else
    text += "; the stalled rank" + std::string(named == 1 ? "" : "s") + ":" + lines;
  text += "\n  waiting: rank" + std::string(waiting_ranks.size() == 1 ? " " : "s ") + rank_ranges(waiting_ranks);
  return text;
}

std::string StallWatchdog::what_root_said() const {
  const Heard& root = heard_[0];
  if (!root.ever) return "it has not been heard from since start-up";
  const double quiet = std::chrono::duration<double>(Clock::now() - root.when).count();
  if (rank_ != 1) return "it was last heard " + seconds(quiet) + " ago";
  // a collective that rank 0 was in and this rank has left since is over for rank 0 too
  const Wait wait = root.beat[1] < entered_ ? Wait::none : static_cast<Wait>(root.beat[3]);
  return "it last said, " + seconds(quiet) + " ago, that it was " +
         describe(static_cast<Activity>(root.beat[2]), wait, root.beat[0]);
}

void StallWatchdog::stalled(double waited) {
  if (rank_ == 0) {
    const std::string report = missing_report(waited);
    if (!stalled_elsewhere_) throw StalledError(report);
    report_failure({rank_, report, ErrorKind::stalled});
    guard_->reported();  // should MPI get stuck below, the guard only ends the job
    // Tell the others not to report rank 0 while mpirun gets its chance.
    verdict_sends_.assign(std::size_t(size_), MPI_REQUEST_NULL);
    for (int r = 1; r < size_; ++r)
      MPI_Isend(&verdict_, 1, MPI_INT64_T, r, kVerdictTag, beats_->get(), &verdict_sends_[std::size_t(r)]);
    const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(remote_linger_seconds()));
    while (Clock::now() < until) {
      int sent = 0;  // pushes the verdicts out where the links still work
      MPI_Testall(int(verdict_sends_.size()), verdict_sends_.data(), &sent, MPI_STATUSES_IGNORE);
      guard_->turned();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    abort_job(exit_status_of(ErrorKind::stalled));
  }
  throw StalledError("stalled: rank " + std::to_string(rank_) + " waited " + seconds(waited) + " (" + setting("stall_timeout") + " " +
                     format_number(timeout_) + ") " + describe(doing_, waiting_, step_) +
                     ", and rank 0, which names the ranks that never arrived, did not report them: rank 0 on " +
                     host_of_[0] + " may itself be stalled or unreachable; " + what_root_said());
}

}  // namespace dmlp::mpi
