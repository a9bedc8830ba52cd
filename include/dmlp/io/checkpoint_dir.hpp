#pragma once
// A checkpoint directory as runs use it: the files' names, listing them newest
// first, keeping the newest K, setting aside an abandoned run's later ones,
// removing temporary files of killed writers, and the lock that keeps two
// runs from writing one directory. The file format is io/checkpoint.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmlp {

// "ckpt-000000050.h5" for step 50.
std::string checkpoint_file_name(std::int64_t step);
// The step of a checkpoint's file name ("ckpt-" digits ".h5", leading zeros
// allowed, the step at most INT64_MAX); nullopt for any other name.
std::optional<std::int64_t> checkpoint_step(std::string_view file_name);

struct CheckpointListing {
  std::vector<std::string> checkpoints;  // regular files named as checkpoints, newest (highest step) first
  std::vector<std::string> skipped;      // "PATH: why", for entries named like one that are not one
};
// The checkpoints in `dir` (none when it cannot be read).
CheckpointListing list_checkpoints(const std::string& dir);
std::vector<std::string> checkpoints_in(const std::string& dir);  // list_checkpoints(dir).checkpoints

// Deletes all but the newest `keep` checkpoints in `dir`, never `just_written`.
void prune_checkpoints(const std::string& dir, int keep, const std::string& just_written = "");

// Renames the checkpoints in `dir` past `step` to NAME.superseded (or, when
// that exists, NAME.superseded-2, -3, …: an earlier set-aside is never
// overwritten), so that a run restarted from an earlier point neither prunes
// its own new checkpoints nor later resumes from the abandoned ones. Returns
// the paths set aside.
std::vector<std::string> set_aside_checkpoints_after(const std::string& dir, std::int64_t step);

// Removes the temporary files (.ckpt-*.h5.tmp-HOST-PID) that writers killed
// mid-write left in `dir`: those of this host whose process is gone. Returns
// their names.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Throws InputError unless a file can be created in `dir` (what an output
// directory needs, checked before the work rather than at its first write); a
// full disk or inode table is a std::runtime_error.
void require_writable_directory(const std::string& dir, const std::string& option);

// An advisory lock (flock(2)) on DIR/.dmlp-lock, held while it lives, which
// says which run writes the directory ("HOST pid PID"). A second run on the
// same directory gets InputError naming the holder; a lock file that is a
// symbolic link or not a regular file is refused, never followed. On a file
// system without locks (Lustre mounted without -o flock), it holds nothing
// and says so in warning().
class CheckpointDirLock {
 public:
  CheckpointDirLock(const std::string& dir, const std::string& option);
  ~CheckpointDirLock();
  CheckpointDirLock(const CheckpointDirLock&) = delete;
  CheckpointDirLock& operator=(const CheckpointDirLock&) = delete;
  const std::string& warning() const { return warning_; }
  // Before each write: throws std::runtime_error when the lock file or the
  // directory is no longer the one locked (removed, replaced, moved), since
  // another run may then hold a lock of its own there.
  void verify() const;

 private:
  std::string dir_, path_, option_;
  int fd_ = -1;
  std::pair<std::uint64_t, std::uint64_t> lock_id_{}, dir_id_{};  // device, inode
  std::string warning_;
};

}  // namespace dmlp
