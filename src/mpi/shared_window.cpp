#include "dmlp/mpi/shared_window.hpp"

#include "dmlp/mpi/environment.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace dmlp::mpi {

namespace {
constexpr const char* kRoomAdvice =
    "; free room there, or run with --reduction allreduce (and --load stream for a large data set)";

std::string backing_directory() {
  const char* set = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  return set && *set ? set : "/dev/shm";
}

// Takes the pages of [begin, begin + bytes) now, where a full tmpfs says so
// with an error rather than with SIGBUS at the first store in a later step.
// False only when the pages could not be had; a kernel without
// MADV_POPULATE_WRITE (before Linux 5.14) skips it.
bool claim_pages(void* begin, std::size_t bytes) {
  if (bytes == 0) return true;
  const auto page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
  const auto first = std::uintptr_t(begin) & ~(page - 1);
  const auto end = (std::uintptr_t(begin) + bytes + page - 1) & ~(page - 1);
  if (::madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE) == 0) return true;
  return errno == EINVAL;
}
}  // namespace

SharedBytes::SharedBytes(const Communicator& node, std::size_t bytes, std::size_t element_bytes, bool contiguous) {
  // A watched barrier first: a rank stopped before the blocking allocation is
  // named by the stall watchdog, not waited for in it.
  node.barrier();
  MPI_Info info = MPI_INFO_NULL;
  check(MPI_Info_create(&info), "MPI_Info_create");
  // a segment of its own on each rank's pages: first touch places it near the rank
  if (!contiguous) MPI_Info_set(info, "alloc_shared_noncontig", "true");
  void* base = nullptr;
  const int rc = MPI_Win_allocate_shared(MPI_Aint(bytes), int(element_bytes), info, node.get(), &base, &window_);
  MPI_Info_free(&info);
  try {
    check(rc, "MPI_Win_allocate_shared");
  } catch (const MpiError& e) {  // MPI's text, and what it means here
    const std::string directory = backing_directory();
    struct statvfs fs {};
    const bool room = ::statvfs(directory.c_str(), &fs) == 0 &&
                      double(fs.f_bavail) * double(fs.f_frsize) >= 2.0 * double(bytes) + double(16 << 20);
    // with room to spare, the cause is MPI's: its one-sided osc/sm component off, say
    const std::string cause =
        room ? " (it has room: is MPI's shared-memory window component off, e.g. --mca osc ^sm or "
               "OMPI_MCA_osc set without sm?); run with --reduction allreduce, which needs no shared window"
             : " (full, or filled by another job since dmlp looked?)" + std::string(kRoomAdvice);
    throw MpiError(std::string(e.what()) + ": cannot place " + std::to_string((bytes + (1 << 20) - 1) >> 20) +
                       " MiB of the node's shared memory in " + directory + cause,
                   rc);
  }
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
  bases_.resize(std::size_t(node.size()));
  sizes_.resize(std::size_t(node.size()));
  for (int r = 0; r < node.size(); ++r) {
    MPI_Aint size = 0;
    int unit = 0;
    check(MPI_Win_shared_query(window_, r, &size, &unit, &bases_[std::size_t(r)]), "MPI_Win_shared_query");
    sizes_[std::size_t(r)] = std::size_t(size);
  }
  const bool claimed = claim_pages(bases_[std::size_t(node.rank())], sizes_[std::size_t(node.rank())]);
  if (node.allreduce_one<int>(claimed ? 1 : 0, MPI_MIN) == 0) {
    // every rank of the node throws alike; the window is freed on the way (no rank waits in it)
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);
    throw std::runtime_error("the node's shared memory in " + backing_directory() +
                             " ran out while its ranks took their pages (another job filling it?)" + kRoomAdvice);
  }
}

SharedBytes::~SharedBytes() noexcept {
  if (window_ == MPI_WIN_NULL || std::uncaught_exceptions() > 0) return;
  MPI_Win_unlock_all(window_);
  MPI_Win_free(&window_);
}

void SharedBytes::sync() const { check(MPI_Win_sync(window_), "MPI_Win_sync"); }

std::string shared_memory_shortage(const Communicator& world, const Communicator& node, std::size_t node_bytes,
                                   const std::string& what) {
  const std::string directory = backing_directory();
  // Local rank 0 looks, for the node: the free space is the node's, not the
  // rank's. A directory that is missing, not one, or not writable is said so.
  std::int64_t problem = 0;  // 0, or an errno
  double free_bytes = 0;
  if (node.rank() == 0) {
    struct stat st {};
    struct statvfs fs {};
    if (::stat(directory.c_str(), &st) != 0) problem = errno;
    else if (!S_ISDIR(st.st_mode)) problem = ENOTDIR;
    else if (::access(directory.c_str(), W_OK) != 0) problem = errno;
    else if (::statvfs(directory.c_str(), &fs) != 0) problem = errno;
    else free_bytes = double(fs.f_bavail) * double(fs.f_frsize);
  }
  problem = node.allreduce_one<std::int64_t>(problem, MPI_MAX);
  free_bytes = node.allreduce_one<double>(free_bytes, MPI_MAX);
  // kept free: the pages MPI rounds segments up to, and its own buffers there
  constexpr double kept = 16 << 20;
  const bool fits = node_bytes == 0 || (problem == 0 && free_bytes >= double(node_bytes) + kept);
  const bool all_fit = world.allreduce_one<int>(fits ? 1 : 0, MPI_MIN) == 1;
  if (all_fit) return {};
  char text[512];
  constexpr double MiB = 1 << 20;
  if (fits)
    std::snprintf(text, sizeof text, "another node's shared memory has no room for %s", what.c_str());
  else if (problem != 0)
    std::snprintf(text, sizeof text, "%s, where MPI keeps shared memory (OMPI_MCA_osc_sm_backing_directory), %s",
                  directory.c_str(),
                  problem == ENOENT    ? "does not exist"
                  : problem == ENOTDIR ? "is not a directory"
                                       : ("cannot be used: " + std::string(std::strerror(int(problem)))).c_str());
  else
    std::snprintf(text, sizeof text,
                  "%s has %.1f MiB free and %s needs %.1f MiB there, with %.0f MiB kept free for MPI (a "
                  "container's /dev/shm is often 64 MiB: docker run --shm-size, or a larger tmpfs)",
                  directory.c_str(), free_bytes / MiB, what.c_str(), double(node_bytes) / MiB, kept / MiB);
  return text;
}

}  // namespace dmlp::mpi
