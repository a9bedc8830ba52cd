#pragma once
// Files dmlp writes. A regular file appears whole or not at all: bytes go to
// DIR/.NAME.tmp-HOST-PID with write(2), are fsync'ed, renamed over NAME, and
// DIR is fsync'ed. A path that is a symbolic link has its target replaced,
// not the link. A character device (/dev/null) or a FIFO with a reader is
// written in place, never replaced by a regular file; a FIFO with no reader,
// a socket or a block device is refused. A path that takes no file is bad
// input (InputError); a failed write (a full disk, no free inodes) is a
// std::runtime_error in one line, and leaves no temporary file behind.
#include <cstdio>
#include <span>
#include <string>

namespace dmlp {

// "HOST-PID": whose temporary file it is.
std::string temporary_owner();
// "DIR/.NAME.tmp-HOST-PID" for path "DIR/NAME".
std::string temporary_path(const std::string& path);

// `what` names the file in messages ("checkpoint", "data set");
// `after_failure` follows a failed write's message ("the earlier checkpoints are intact").
void write_file_atomically(const std::string& path, std::span<const char> bytes, const std::string& what,
                           const std::string& after_failure = "");

// Opens `path` to append lines to (`--metrics`), by the same rules: a regular
// file (created if missing), a character device or a FIFO with a reader.
// Throws InputError naming `option` when it cannot be.
std::FILE* open_for_appending(const std::string& path, const std::string& option);

}  // namespace dmlp
