#include "dmlp/mpi/shared_window.hpp"

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

}  // namespace dmlp::mpi
