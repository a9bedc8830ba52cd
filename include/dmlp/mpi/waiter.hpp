#pragma once
// How a communicator completes its requests: a plug-in. PlainWaiter is
// MPI_Waitall; the stall watchdog (stall_watchdog.hpp) waits with a deadline
// and names the ranks that never came. A waiter also hears what the rank is
// doing, which the watchdog's reports give.
#include <cstdint>
#include <span>

#include <mpi.h>

#include "dmlp/train/collective.hpp"

namespace dmlp::mpi {

// What a rank waits in, if anything.
enum class Wait : std::int64_t { none = 0, gradient_sum = 1, collective = 2 };

class Waiter {
 public:
  virtual ~Waiter() = default;
  // Completes `requests`.
  virtual void wait(std::span<MPI_Request> requests, Wait what) = 0;
  // Whether collectives must start non-blocking to be waited here: a
  // blocking MPI_Allreduce cannot be watched. (Both kinds give the same bits
  // only where MPI says so, so a plain waiter keeps the blocking ones.)
  virtual bool wants_nonblocking() const = 0;
  virtual void now_doing(Activity) {}
  virtual Activity doing() const { return Activity::training; }
  virtual void step_started(std::int64_t /*step*/) {}
};

class PlainWaiter final : public Waiter {
 public:
  void wait(std::span<MPI_Request> requests, Wait what) override;
  bool wants_nonblocking() const override { return false; }
  static PlainWaiter& instance();
};

}  // namespace dmlp::mpi
