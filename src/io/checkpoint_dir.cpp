#include "dmlp/io/checkpoint_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/atomic_file.hpp"

namespace dmlp {
namespace fs = std::filesystem;

std::string checkpoint_file_name(std::int64_t step) {
  char name[48];
  std::snprintf(name, sizeof name, "ckpt-%09lld.h5", static_cast<long long>(step));
  return name;
}

namespace {
constexpr std::string_view kPrefix = "ckpt-", kSuffix = ".h5";

// "ckpt-" digits ".h5", whatever the digits' value.
bool named_as_checkpoint(std::string_view name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix))
    return false;
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  return digits.find_first_not_of("0123456789") == std::string_view::npos;
}
}  // namespace

std::optional<std::int64_t> checkpoint_step(std::string_view file_name) {
  if (!named_as_checkpoint(file_name)) return std::nullopt;
  std::string_view digits = file_name.substr(kPrefix.size(), file_name.size() - kPrefix.size() - kSuffix.size());
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  std::int64_t step = 0;
  for (const char c : digits) {
    if (step > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    step = step * 10 + (c - '0');
  }
  return step;
}

CheckpointListing list_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  CheckpointListing listing;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!named_as_checkpoint(name)) continue;
    std::error_code not_followed;  // a link loop or a dangling link is no checkpoint
    const fs::file_status status = entry.status(not_followed);
    const auto step = checkpoint_step(name);
    if (!step)
      listing.skipped.push_back(entry.path().string() + ": its step is beyond " + std::to_string(INT64_MAX));
    else if (!fs::exists(status))
      listing.skipped.push_back(entry.path().string() + (not_followed == std::errc::too_many_symbolic_link_levels
                                                             ? ": a loop of symbolic links"
                                                             : ": a symbolic link to nothing"));
    else if (!fs::is_regular_file(status))
      listing.skipped.push_back(entry.path().string() + (fs::is_directory(status) ? ": a directory" : ": not a regular file"));
    else
      found.emplace_back(*step, entry.path().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [step, p] : found) listing.checkpoints.push_back(std::move(p));
  return listing;
}

std::vector<std::string> checkpoints_in(const std::string& dir) { return list_checkpoints(dir).checkpoints; }

std::vector<std::string> set_aside_checkpoints_after(const std::string& dir, std::int64_t step) {
  std::vector<std::string> moved;
  for (const auto& path : checkpoints_in(dir)) {
    if (*checkpoint_step(fs::path(path).filename().string()) <= step) continue;  // checkpoints_in parsed it
    std::string target = path + ".superseded";
    std::error_code exists;
    for (int n = 2; fs::exists(fs::symlink_status(target, exists)); ++n) target = path + ".superseded-" + std::to_string(n);
    std::error_code error;
    fs::rename(path, target, error);
    if (!error) moved.push_back(path);
  }
  return moved;
}

void prune_checkpoints(const std::string& dir, int keep, const std::string& just_written) {
  const auto all = checkpoints_in(dir);
  for (std::size_t i = std::size_t(std::max(keep, 1)); i < all.size(); ++i) {
    std::error_code ignored;
    if (!just_written.empty() && fs::equivalent(all[i], just_written, ignored)) continue;
    fs::remove(all[i], ignored);
  }
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code error;
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string here = std::string(host[0] ? host : "localhost") + "-";
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".h5.tmp-");
    if (!name.starts_with(".ckpt-") || at == std::string::npos) continue;
    std::string writer = name.substr(at + 8);
    if (writer.starts_with(here)) writer = writer.substr(here.size());         // this host's
    else if (writer.find_first_not_of("0123456789") != std::string::npos) continue;  // another host's
    const long pid = writer.empty() ? 0 : std::strtol(writer.c_str(), nullptr, 10);
    if (pid <= 0 || (::kill(pid_t(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code ignored;
      if (fs::remove(entry.path(), ignored)) removed.push_back(name);
    }
  }
  return removed;
}

void require_writable_directory(const std::string& dir, const std::string& option) {
  const std::string probe = (fs::path(dir) / (".dmlp-write-test-" + temporary_owner())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == ENOSPC || errno == EDQUOT))  // a full disk or inode table: not the path's fault
    throw std::runtime_error(option + " " + dir + ": cannot create a file there (" + std::strerror(errno) + ")");
  if (fd < 0)
    throw InputError(option + " " + dir + ": cannot create files there (" + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

CheckpointDirLock::CheckpointDirLock(const std::string& dir, const std::string& option)
    : dir_(dir), path_((fs::path(dir) / ".dmlp-lock").string()), option_(option) {
  const std::string& path = path_;
  // Never through a link: a planted one would have its target overwritten.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0 && errno == ELOOP)
    throw InputError(option + " " + dir + ": its lock file " + path + " is a symbolic link; remove it");
  if (fd_ < 0 && (errno == ENOSPC || errno == EDQUOT))
    throw std::runtime_error(option + " " + dir + ": cannot create its lock file " + path + " (" + std::strerror(errno) + ")");
  if (fd_ < 0)
    throw InputError(option + " " + dir + ": cannot create its lock file " + path + " (" + std::strerror(errno) + ")");
  struct stat opened {};
  if (::fstat(fd_, &opened) != 0 || !S_ISREG(opened.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw InputError(option + " " + dir + ": its lock file " + path + " is not a regular file; remove it");
  }
  struct stat directory {};
  if (::stat(dir.c_str(), &directory) == 0) dir_id_ = {std::uint64_t(directory.st_dev), std::uint64_t(directory.st_ino)};
  lock_id_ = {std::uint64_t(opened.st_dev), std::uint64_t(opened.st_ino)};
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK) {
      char holder[256] = "";
      const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
      std::string who = n > 0 ? std::string(holder, std::size_t(n)) : std::string();
      while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
      ::close(fd_);
      fd_ = -1;
      throw InputError(option + " " + dir + " is in use by another run (" + (who.empty() ? "holder unknown" : who) +
                       "), which writes and prunes its checkpoints; give this run a directory of its own, or wait "
                       "for the other to end");
    }
    // ENOLCK, EINVAL, ENOSYS: the file system keeps no locks
    warning_ = option + " " + dir + ": the file system keeps no file locks (" + std::strerror(error) +
               "): make sure no other run writes this directory";
    return;
  }
  std::string me = temporary_owner();
  if (const auto dash = me.rfind('-'); dash != std::string::npos) me = me.substr(0, dash) + " pid " + me.substr(dash + 1);
  me = "host " + me + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, me.data(), me.size(), 0);
  }
}

void CheckpointDirLock::verify() const {
  if (fd_ < 0 || !warning_.empty()) return;
  struct stat lock {}, directory {};
  const bool lock_there = ::lstat(path_.c_str(), &lock) == 0 &&
                          std::pair{std::uint64_t(lock.st_dev), std::uint64_t(lock.st_ino)} == lock_id_;
  const bool dir_there = ::stat(dir_.c_str(), &directory) == 0 &&
                         std::pair{std::uint64_t(directory.st_dev), std::uint64_t(directory.st_ino)} == dir_id_;
  if (!lock_there || !dir_there)
    throw std::runtime_error(option_ + " " + dir_ + ": " +
                             (dir_there ? "its lock file " + path_ + " was removed or replaced"
                                        : std::string("the directory was moved or replaced")) +
                             " while this run held it, so another run may be writing there; no checkpoint was "
                             "written. Resume from the newest good checkpoint once only one run uses the directory");
}

CheckpointDirLock::~CheckpointDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace dmlp
