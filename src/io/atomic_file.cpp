#include "dmlp/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dmlp/core/errors.hpp"

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

void write_file_atomically(const std::string& path, std::span<const char> bytes, const std::string& what,
                           const std::string& after_failure) {
  const fs::path final_path(path);
  const std::string dir = final_path.has_parent_path() ? final_path.parent_path().string() : ".";
  const std::string tmp = temporary_path(path);
  const std::string tail = after_failure.empty() ? "" : "; " + after_failure;
  if (std::error_code e; fs::is_directory(path, e))
    throw InputError("cannot write " + what + " " + path + ": it is a directory");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    throw InputError("cannot write " + what + " " + path + ": cannot create files in " + dir + " (" +
                     std::strerror(errno) + ")");
  auto fail = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + what + " " + path + ": " + std::strerror(error) + tail);
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : EIO);
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + what + " " + path + ": " + std::strerror(errno) + tail);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(error) + tail);
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);  // the rename's durability; a file system that cannot is no reason to fail
    ::close(dfd);
  }
}

}  // namespace dmlp
