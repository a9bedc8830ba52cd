#pragma once
// Every reader reports a bad file the same way: "PATH: what is wrong".
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "dmlp/core/errors.hpp"

namespace dmlp {

[[noreturn]] inline void file_error(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

// Before a library opens `path`: a missing file, a dangling link, a link
// loop, a directory, a permission problem, or anything but a regular file (a
// FIFO, whose open(2) would block until a writer came, a device such as
// /dev/zero, which never ends), each in plain words (HDF5 would call most of
// them "not an HDF5 file").
inline void require_readable_file(const std::string& path, const std::string& missing = "no such file") {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) {
    std::error_code ignored;
    if (fs::is_symlink(fs::symlink_status(path, ignored)))
      file_error(path, error && error != std::errc::no_such_file_or_directory
                           ? "cannot be followed: " + error.message()
                           : "is a symbolic link to " + fs::read_symlink(path, ignored).string() + ", which does not exist");
    if (error && error != std::errc::no_such_file_or_directory) file_error(path, error.message());
    file_error(path, missing);
  }
  if (fs::is_directory(status)) file_error(path, "is a directory; expected a file");
  if (!fs::is_regular_file(status)) {
    const char* kind = fs::is_fifo(status)        ? "a FIFO (named pipe)"
                       : fs::is_character_file(status) ? "a character device"
                       : fs::is_block_file(status)     ? "a block device"
                       : fs::is_socket(status)         ? "a socket"
                                                       : "not a regular file";
    file_error(path, std::string("is ") + kind + "; expected a regular file");
  }
  if (::access(path.c_str(), R_OK) != 0) file_error(path, std::string("cannot be read: ") + std::strerror(errno));
}

}  // namespace dmlp
