#include "dmlp/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "dmlp/core/errors.hpp"
#include "dmlp/mpi/liveness.hpp"

namespace dmlp {
namespace fs = std::filesystem;

std::string temporary_owner() {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "localhost") + "-" + std::to_string(::getpid());
}

std::string temporary_path(const std::string& path) {
  const fs::path final_path(path);
  const fs::path dir = final_path.has_parent_path() ? final_path.parent_path() : fs::path(".");
  return (dir / ("." + final_path.filename().string() + ".tmp-" + temporary_owner())).string();
}

namespace {

// What a path to write to is, once symbolic links are followed.
enum class OutputKind { Missing, Regular, Directory, CharacterDevice, Fifo, Other };

struct Output {
  std::string path;  // the link's target, for a symbolic link
  OutputKind kind = OutputKind::Missing;
};

Output classify(const std::string& path) {
  Output out{path, OutputKind::Missing};
  std::error_code e;
  if (fs::is_symlink(fs::symlink_status(path, e))) {
    const fs::path target = fs::read_symlink(path, e);
    if (!e) out.path = (target.is_absolute() ? target : fs::path(path).parent_path() / target).lexically_normal().string();
  }
  struct stat s {};
  if (::stat(out.path.c_str(), &s) != 0) return out;
  out.kind = S_ISREG(s.st_mode)   ? OutputKind::Regular
             : S_ISDIR(s.st_mode) ? OutputKind::Directory
             : S_ISCHR(s.st_mode) ? OutputKind::CharacterDevice
             : S_ISFIFO(s.st_mode) ? OutputKind::Fifo
                                   : OutputKind::Other;
  return out;
}

// The message for an output that cannot be written; empty when it can.
std::string refusal(const Output& out) {
  switch (out.kind) {
    case OutputKind::Directory: return "it is a directory";
    case OutputKind::Other: return "it is a socket or a block device; expected a regular file, a character device or a FIFO";
    default: return "";
  }
}

// Opens a character device or a FIFO for writing in place; a FIFO must have a
// reader already (a writer with none would block in open(2) forever).
int open_in_place(const Output& out, const std::string& what, const std::string& path) {
  const bool fifo = out.kind == OutputKind::Fifo;
  const int fd = ::open(out.path.c_str(), O_WRONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
  if (fd < 0 && fifo && errno == ENXIO)
    throw InputError("cannot write " + what + " " + path + ": it is a FIFO with no reader");
  if (fd < 0) throw InputError("cannot write " + what + " " + path + ": " + std::strerror(errno));
  if (fifo) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // a reader is there: block as usual
  return fd;
}

// A full disk (or no free inodes) is a failed write; anything else about
// creating a file (no permission, no such directory, read-only) is the path.
bool out_of_space(int error) { return error == ENOSPC || error == EDQUOT; }

// In writes of at most 64 MiB, saying between them that this rank is writing, not stalled.
void write_all(int fd, std::span<const char> bytes, const std::function<void(int)>& fail) {
  constexpr std::size_t kPiece = std::size_t(64) << 20;
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, std::min(kPiece, bytes.size() - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : EIO);
    done += std::size_t(n);
    mpi::still_working();
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::span<const char> bytes, const std::string& what,
                           const std::string& after_failure) {
  const std::string tail = after_failure.empty() ? "" : "; " + after_failure;
  const Output out = classify(path);
  if (const std::string why = refusal(out); !why.empty()) throw InputError("cannot write " + what + " " + path + ": " + why);
  if (out.kind == OutputKind::CharacterDevice || out.kind == OutputKind::Fifo) {
    const int fd = open_in_place(out, what, path);
    write_all(fd, bytes, [&](int error) {
      ::close(fd);
      throw std::runtime_error("cannot write " + what + " " + path + ": " + std::strerror(error) + tail);
    });
    ::close(fd);
    return;
  }
  const fs::path final_path(out.path);
  const std::string dir = final_path.has_parent_path() ? final_path.parent_path().string() : ".";
  const std::string tmp = temporary_path(out.path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && out_of_space(errno))
    throw std::runtime_error("cannot write " + what + " " + path + ": cannot create a file in " + dir + " (" +
                             std::strerror(errno) + ")" + tail);
  if (fd < 0)
    throw InputError("cannot write " + what + " " + path + ": cannot create files in " + dir + " (" +
                     std::strerror(errno) + ")");
  auto fail = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + what + " " + path + ": " + std::strerror(error) + tail);
  };
  write_all(fd, bytes, fail);
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + what + " " + path + ": " + std::strerror(errno) + tail);
  }
  if (std::rename(tmp.c_str(), out.path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + out.path + ": " + std::strerror(error) + tail);
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);  // the rename's durability; a file system that cannot is no reason to fail
    ::close(dfd);
  }
}

std::FILE* open_for_appending(const std::string& path, const std::string& option) {
  const Output out = classify(path);
  if (const std::string why = refusal(out); !why.empty()) throw InputError(option + " " + path + ": " + why);
  if (out.kind == OutputKind::Fifo) {
    const int fd = open_in_place(out, option, path);
    if (std::FILE* f = ::fdopen(fd, "a")) return f;
    ::close(fd);
  }
  std::FILE* f = std::fopen(out.path.c_str(), "ae");
  if (!f) throw InputError(option + " " + path + ": cannot open it for writing (" + std::strerror(errno) + ")");
  return f;
}

}  // namespace dmlp
