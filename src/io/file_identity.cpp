#include "dmlp/io/file_identity.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/checkpoint_dir.hpp"

namespace dmlp {
namespace fs = std::filesystem;

namespace {
fs::path absolute_normal(const std::string& path) {
  std::error_code e;
  fs::path p = fs::absolute(path, e);
  if (e) p = path;
  const fs::path resolved = fs::weakly_canonical(p, e);
  return (e ? p : resolved).lexically_normal();
}
}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  struct stat sa {}, sb {};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0, b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists && b_exists) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return absolute_normal(a) == absolute_normal(b);
}

void check_outputs(const std::vector<FileRole>& inputs, const std::vector<FileRole>& outputs) {
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const FileRole& out = outputs[o];
    if (out.path.empty()) continue;
    struct stat s {};
    if (::stat(out.path.c_str(), &s) == 0) {
      if (S_ISDIR(s.st_mode)) throw InputError(out.option + " " + out.path + " is a directory; expected a file name");
      if (S_ISSOCK(s.st_mode) || S_ISBLK(s.st_mode))
        throw InputError(out.option + " " + out.path + " is a " + (S_ISSOCK(s.st_mode) ? "socket" : "block device") +
                         "; expected a regular file, a character device or a FIFO");
    }
    const auto refuse = [&](const FileRole& other, const char* why) {
      const std::string what = other.description.empty() ? "the " + other.option + " file" : other.description;
      throw InputError(out.option + " " + out.path + " is " + what + (out.path == other.path ? "" : " (" + other.path + ")") +
                       ": " + why);
    };
    for (const FileRole& in : inputs)
      if (same_file(out.path, in.path)) refuse(in, "writing it would destroy that file; give the output a file of its own");
    const bool device = ::stat(out.path.c_str(), &s) == 0 && S_ISCHR(s.st_mode);  // /dev/null twice destroys nothing
    for (std::size_t p = o + 1; p < outputs.size() && !device; ++p)
      if (same_file(out.path, outputs[p].path)) refuse(outputs[p], "give each output a file of its own");
  }
}

void refuse_files_among_checkpoints(const std::vector<FileRole>& files, const FileRole& dir, const std::string& why) {
  if (dir.path.empty()) return;
  const fs::path where = absolute_normal(dir.path);
  for (const FileRole& f : files) {
    if (f.path.empty()) continue;
    const fs::path p = absolute_normal(f.path);
    std::string name = p.filename().string();
    if (const auto at = name.find(".superseded"); at != std::string::npos) name = name.substr(0, at);
    if (p.parent_path() == where && checkpoint_step(name))
      throw InputError(f.option + " " + f.path + " lies in " + dir.option + " " + dir.path +
                       " under a checkpoint's name: " + why);
  }
}

}  // namespace dmlp
