#include "dmlp/mpi/stall_watchdog.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "dmlp/core/errors.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::mpi {
namespace {

std::string describe(Activity what, std::int64_t step) {
  const std::string n = std::to_string(step);
  switch (what) {
    case Activity::computing: return "computing step " + n;
    case Activity::gradient_sum: return "in the gradient all-reduce of step " + n;
    case Activity::reduction: return "in an all-reduce of metrics or checkpoint decisions at step " + n;
    case Activity::evaluating: return "evaluating after step " + n;
  }
  return "at step " + n;
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", s);
  return text;
}

// How long a rank other than 0 waits past its own deadline for rank 0, which
// has heard everyone's heartbeats, to name the missing ranks.
double grace_seconds(double timeout) { return std::min(timeout, 10.0); }

// A waiting rank repeats its heartbeat this often, so that rank 0 can tell a
// rank that waits with it from one that stopped (or lost its network) inside
// the collective; two missed beats make a rank silent.
double beat_seconds(double timeout) { return std::clamp(timeout / 4, 0.05, 1.0); }

// An MPI_Abort that mpirun must relay across a dead link leaves it waiting on
// TCP retransmissions for about 15 minutes, while its own TCP keep-alive
// (README: oob_tcp_keepalive_*) notices a lost node within 25 s if it is not
// sending to it. So when a stalled rank is on another node, rank 0 reports,
// then gives mpirun this long to end the job itself before aborting.
constexpr double kRemoteLingerSeconds = 30;

// A poll loop that did not run for this long was suspended (SIGSTOP, Ctrl-Z,
// a scheduler's suspend): its waiting starts over rather than counting the
// time the whole job stood still.
constexpr std::chrono::seconds kSuspendedGap{1};

bool is_wait(Activity a) { return a == Activity::gradient_sum || a == Activity::reduction; }

}  // namespace

StallWatchdog::StallWatchdog(const Communicator& comm, double timeout_seconds, const std::vector<Host>& hosts)
    : comm_(comm), rank_(comm.rank()), size_(comm.size()), timeout_(timeout_seconds) {
  send_requests_.fill(MPI_REQUEST_NULL);
  if (!enabled()) return;
  check(MPI_Comm_dup(comm_.get(), &beats_), "MPI_Comm_dup");
  host_of_.resize(std::size_t(size_));
  for (const Host& h : hosts)
    for (int r : h.ranks)
      if (r >= 0 && r < size_) host_of_[std::size_t(r)] = h.name;
  if (rank_ != 0) {
    check(MPI_Irecv(&verdict_, 1, MPI_INT64_T, 0, kVerdictTag, beats_, &verdict_request_), "MPI_Irecv");
    return;
  }
  heard_.resize(std::size_t(size_));
  check(MPI_Recv_init(receiving_.data(), int(receiving_.size()), MPI_INT64_T, MPI_ANY_SOURCE, kTag, beats_,
                      &receive_request_),
        "MPI_Recv_init");
  check(MPI_Start(&receive_request_), "MPI_Start");
}

StallWatchdog::~StallWatchdog() noexcept {
  if (finalized()) return;
  for (MPI_Request* r : {&receive_request_, &verdict_request_}) {
    if (*r == MPI_REQUEST_NULL) continue;
    MPI_Cancel(r);
    MPI_Wait(r, MPI_STATUS_IGNORE);
    if (*r != MPI_REQUEST_NULL) MPI_Request_free(r);  // the persistent one stays allocated
  }
  for (MPI_Request& r : verdict_sends_)
    if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  // Heartbeats still in flight complete on their own: rank 0 may be gone.
  for (MPI_Request& r : send_requests_)
    if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  if (beats_ != MPI_COMM_NULL) MPI_Comm_free(&beats_);
}

void StallWatchdog::step_started(std::int64_t step) {
  if (!enabled()) return;
  step_ = step;
  announce(Activity::computing);
}

void StallWatchdog::evaluation_started() {
  if (enabled()) announce(Activity::evaluating);
}

void StallWatchdog::announce(Activity what) {
  activity_ = what;
  if (rank_ == 0) {
    drain_heartbeats();
    return;
  }
  MPI_Request& request = send_requests_[next_slot_];
  int done = 1;
  if (request != MPI_REQUEST_NULL) check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  if (!done) return;  // rank 0 is behind on this slot; a later heartbeat says more
  Beat& beat = sending_[next_slot_];
  beat = {step_, entered_, static_cast<std::int64_t>(what)};
  check(MPI_Isend(beat.data(), int(beat.size()), MPI_INT64_T, 0, kTag, beats_, &request), "MPI_Isend");
  next_slot_ = (next_slot_ + 1) % kSendSlots;
}

void StallWatchdog::drain_heartbeats() {
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    check(MPI_Test(&receive_request_, &arrived, &status), "MPI_Test");
    if (!arrived) return;
    // MPI keeps one sender's messages in order: the last to arrive is the newest.
    heard_[std::size_t(status.MPI_SOURCE)] = {receiving_, Clock::now(), true};
    check(MPI_Start(&receive_request_), "MPI_Start");
  }
}

void StallWatchdog::wait(std::span<MPI_Request> requests, Activity what) {
  if (requests.empty()) return;
  if (!enabled()) {
    check(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    return;
  }
  ++entered_;
  announce(what);
  Clock::time_point start = Clock::now(), last_beat = start, last_poll = start;
  const auto beat_every = std::chrono::duration<double>(beat_seconds(timeout_));
  for (unsigned spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Testall(int(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) return;
    if (spins % 64 != 0) continue;
    const Clock::time_point now = Clock::now();
    if (now - last_poll > kSuspendedGap) {
      start = now;
      if (rank_ == 0)
        for (Heard& h : heard_) h.when = std::max(h.when, now);  // everyone stood still with us
    }
    last_poll = now;
    if (now - last_beat > beat_every) {
      announce(what);  // still here, and alive
      last_beat = now;
    } else if (rank_ == 0) {
      drain_heartbeats();
    }
    if (rank_ != 0 && !verdict_heard_) {
      int arrived = 0;
      check(MPI_Test(&verdict_request_, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
      verdict_heard_ = arrived != 0;
    }
    const double waited = std::chrono::duration<double>(now - start).count();
    // Rank 0 knows who is missing; the others give it a grace period first,
    // and once it has reported, the time it gives mpirun too.
    const double limit = rank_ == 0      ? timeout_
                         : verdict_heard_ ? timeout_ + kRemoteLingerSeconds + grace_seconds(timeout_)
                                          : timeout_ + grace_seconds(timeout_);
    if (waited > limit) stalled(what, waited);
  }
}

void StallWatchdog::allreduce(void* values, int count, MPI_Datatype type, MPI_Op op, Activity what) {
  if (size_ == 1) return;
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, values, count, type, op, comm_.get(), &request), "MPI_Iallreduce");
  wait(std::span<MPI_Request>(&request, 1), what);
}

std::string StallWatchdog::missing_report(double waited) {
  // Three kinds of rank: waiting with rank 0 and beating; never there (fewer
  // collectives entered); there, but silent for two beats: stopped or cut off.
  std::vector<int> waiting{0};
  std::string lines;
  int named = 0;
  stalled_elsewhere_ = false;
  const Clock::time_point now = Clock::now();
  const double silent_after = 2 * beat_seconds(timeout_);
  for (int r = 1; r < size_; ++r) {
    const Heard& h = heard_[std::size_t(r)];
    const double quiet = h.ever ? std::chrono::duration<double>(now - h.when).count() : waited;
    const bool arrived = h.ever && h.beat[1] >= entered_;
    // Alive, and waiting either here or in an earlier collective that a
    // stalled rank holds up: not the culprit.
    const bool alive_waiting = h.ever && quiet <= silent_after && (arrived || is_wait(static_cast<Activity>(h.beat[2])));
    if (alive_waiting) {
      waiting.push_back(r);
      continue;
    }
    if (host_of_[std::size_t(r)] != host_of_[0]) stalled_elsewhere_ = true;
    if (++named > 16) continue;
    lines += "\n  rank " + std::to_string(r) + " on " + host_of_[std::size_t(r)] + ": ";
    if (!h.ever)
      lines += "never heard from since training started";
    else if (arrived)
      lines += "reached it, then went silent " + seconds(quiet) + " ago (stopped, or its network is down)";
    else
      lines += "never reached it; last heard " + seconds(quiet) + " ago, " +
               describe(static_cast<Activity>(h.beat[2]), h.beat[0]);
  }
  if (named > 16) lines += "\n  … and " + std::to_string(named - 16) + " more";
  std::string text = "stalled: rank 0 waited " + seconds(waited) + " (--stall-timeout " + format_number(timeout_) +
                     ") " + describe(activity_, step_);
  if (named == 0)
    text += "; every rank reached it and is alive, so the network or MPI itself is stuck";
  else
    text += "; the stalled rank" + std::string(named == 1 ? "" : "s") + ":" + lines;
  text += "\n  waiting: rank" + std::string(waiting.size() == 1 ? " " : "s ") + rank_ranges(waiting);
  return text;
}

void StallWatchdog::stalled(Activity what, double waited) {
  if (rank_ == 0) {
    const std::string report = missing_report(waited);
    if (!stalled_elsewhere_) throw StalledError(report);
    report_failure({rank_, report, kExitStalled});
    // Tell the others not to report rank 0 while mpirun gets its chance.
    verdict_sends_.assign(std::size_t(size_), MPI_REQUEST_NULL);
    for (int r = 1; r < size_; ++r)
      MPI_Isend(&verdict_, 1, MPI_INT64_T, r, kVerdictTag, beats_, &verdict_sends_[std::size_t(r)]);
    const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(kRemoteLingerSeconds));
    while (Clock::now() < until) {
      int sent = 0;  // pushes the verdicts out where the links still work
      MPI_Testall(int(verdict_sends_.size()), verdict_sends_.data(), &sent, MPI_STATUSES_IGNORE);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    abort_job(kExitStalled);
  }
  throw StalledError("stalled: rank " + std::to_string(rank_) + " waited " + seconds(waited) + " (--stall-timeout " +
                     format_number(timeout_) + ") " + describe(what, step_) +
                     ", and rank 0, which names the ranks that never arrived, did not report them: rank 0 on " +
                     host_of_[0] + " may itself be stalled or unreachable");
}

}  // namespace dmlp::mpi
