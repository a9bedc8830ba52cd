#pragma once
// MPI's lifetime and its errors. Every MPI call's return code goes through
// check(), which turns a failure into an MpiError carrying MPI_Error_string.
#include <mpi.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dmlp::mpi {

class MpiError : public std::runtime_error {
 public:
  MpiError(const std::string& what, int code);
  int code() const { return code_; }

 private:
  int code_;
};

// Throws MpiError("<call> failed: <MPI_Error_string>") unless rc == MPI_SUCCESS.
void check(int rc, const char* call);

// MPI_Init_thread on construction, MPI_Finalize on destruction.
class Environment {
 public:
  // Back-propagation polls the gradient all-reduce from the main thread only;
  // OpenMP's workers never call MPI. So FUNNELED is all dmlp needs.
  static constexpr int kRequiredThreadLevel = MPI_THREAD_FUNNELED;

  Environment(int& argc, char**& argv);
  ~Environment() noexcept;
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int thread_level() const { return provided_; }
  // This process's place in MPI_COMM_WORLD, known before any communicator is made.
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }
  static std::string library_version();  // e.g. "Open MPI v4.1.4"
  // How the gradient's MPI_Iallreduce sums, for the start-up summary: libnbc's
  // ring where dmlp chose it, or why not.
  static const std::string& allreduce_algorithm();

 private:
  int provided_ = MPI_THREAD_SINGLE;
  int world_rank_ = 0, world_size_ = 1;
};

bool finalized();

// Open MPI's version from MPI_Get_library_version's text ("Open MPI v4.1.4, …").
struct OpenMpiVersion {
  int major = 0, minor = 0, release = 0;
};
std::optional<OpenMpiVersion> open_mpi_version(std::string_view library_version);
// libnbc's ring MPI_Iallreduce with MPI_IN_PLACE sums wrongly in Open MPI
// 4.0.0-4.0.6 and 4.1.0-4.1.1 (open-mpi/ompi#9385, fixed in 4.0.7 and 4.1.2).
bool ring_iallreduce_is_safe(const OpenMpiVersion& v);

// The job size the launcher announced, where it announced one: the first set
// of OMPI_COMM_WORLD_SIZE (mpirun), PMIX_SIZE, PMI_SIZE, SLURM_NTASKS.
struct LauncherSize {
  std::string variable;
  long size = 0;
};
std::optional<LauncherSize> launcher_size();

// Ends every rank of the job with `exit_code`: the way out when one rank
// fails while the others may be inside a collective. Never returns.
[[noreturn]] void abort_job(int exit_code) noexcept;

}  // namespace dmlp::mpi
