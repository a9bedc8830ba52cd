#include "dmlp/mpi/shared_window.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace dmlp::mpi {

SharedBytes::SharedBytes(const Communicator& node, std::size_t bytes, std::size_t element_bytes, bool contiguous) {
  MPI_Info info = MPI_INFO_NULL;
  check(MPI_Info_create(&info), "MPI_Info_create");
  // a segment of its own on each rank's pages: first touch places it near the rank
  if (!contiguous) MPI_Info_set(info, "alloc_shared_noncontig", "true");
  void* base = nullptr;
  const int rc = MPI_Win_allocate_shared(MPI_Aint(bytes), int(element_bytes), info, node.get(), &base, &window_);
  MPI_Info_free(&info);
  check(rc, "MPI_Win_allocate_shared");
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
  bases_.resize(std::size_t(node.size()));
  sizes_.resize(std::size_t(node.size()));
  for (int r = 0; r < node.size(); ++r) {
    MPI_Aint size = 0;
    int unit = 0;
    check(MPI_Win_shared_query(window_, r, &size, &unit, &bases_[std::size_t(r)]), "MPI_Win_shared_query");
    sizes_[std::size_t(r)] = std::size_t(size);
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
  const char* set = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  const std::string directory = set && *set ? set : "/dev/shm";
  // local rank 0 looks, for the node: the free space is the node's, not the rank's
  double free_bytes = 0;
  if (node.rank() == 0) {
    struct statvfs fs {};
    free_bytes = ::statvfs(directory.c_str(), &fs) == 0 ? double(fs.f_bavail) * double(fs.f_frsize) : -1;
  }
  free_bytes = node.allreduce_one<double>(free_bytes, MPI_MAX);
  // a margin for the pages MPI rounds segments up to, and for its own buffers there
  const bool fits = node_bytes == 0 || free_bytes >= double(node_bytes) + double(16 << 20);
  const bool all_fit = world.allreduce_one<int>(fits ? 1 : 0, MPI_MIN) == 1;
  if (all_fit) return {};
  char text[512];
  constexpr double MiB = 1 << 20;
  if (fits)
    std::snprintf(text, sizeof text, "another node's shared memory has no room for %s", what.c_str());
  else if (free_bytes < 0)
    std::snprintf(text, sizeof text, "%s cannot be read for its free space, so %s does not go there", directory.c_str(),
                  what.c_str());
  else
    std::snprintf(text, sizeof text,
                  "%s has %.1f MiB free and %s needs %.1f MiB there (a container's /dev/shm is often 64 MiB: "
                  "docker run --shm-size, or a larger tmpfs)",
                  directory.c_str(), free_bytes / MiB, what.c_str(), double(node_bytes) / MiB);
  return text;
}

}  // namespace dmlp::mpi
