#pragma once
// Long local work on one rank (reading a data set or a checkpoint, writing a
// checkpoint) calls still_working() now and then, from the thread that runs
// MPI: the stall watchdog of this process, if one is on, then tells the
// others that this rank is slow, not stalled (mpi/stall_watchdog.hpp). At
// most one heartbeat a beat's time; nothing when no watchdog is on.
namespace dmlp::mpi {

void still_working();

}  // namespace dmlp::mpi
