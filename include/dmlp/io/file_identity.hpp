#pragma once
// Which files a command reads and which it writes, each named by its option.
// An output that is also an input (the same file under another spelling, a
// hard link, a symbolic link to it) or another output would be destroyed or
// mixed up: such a command is refused before it does any work.
#include <string>
#include <vector>

namespace dmlp {

struct FileRole {
  std::string option;  // the setting that names the file, as messages show it
  std::string path;    // empty: not given
  std::string description = "";  // in messages instead of "the OPTION file", such as "a source of the training set t.h5"
};

// True when `a` and `b` name the same file: for existing files, by device
// and inode (links included); otherwise by their absolute, normalised paths.
bool same_file(const std::string& a, const std::string& b);

// Before any work: throws InputError, naming the options, when an output is
// the same file as an input or as another output, or is a directory, a
// socket or a block device (nothing dmlp writes can go there).
void check_outputs(const std::vector<FileRole>& inputs, const std::vector<FileRole>& outputs);

// Throws InputError when a file of `files` lies in `dir` (named by `dir_option`)
// under a checkpoint's name: in --checkpoint-dir, pruning and setting aside
// would delete or rename it; in a --resume directory, it is a checkpoint to
// resume from. `why` ends the message.
void refuse_files_among_checkpoints(const std::vector<FileRole>& files, const FileRole& dir, const std::string& why);

}  // namespace dmlp
