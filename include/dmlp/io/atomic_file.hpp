#pragma once
// Files appear whole or not at all: bytes go to DIR/.NAME.tmp-HOST-PID with
// write(2), are fsync'ed, renamed over NAME, and DIR is fsync'ed. A path that
// takes no file is bad input (InputError); a failed write (a full disk) is a
// std::runtime_error in one line, and leaves no temporary file behind.
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

}  // namespace dmlp
