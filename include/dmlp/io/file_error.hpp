#pragma once
// Every reader reports a bad file the same way: "PATH: what is wrong".
#include <string>

#include "dmlp/core/errors.hpp"

namespace dmlp {

[[noreturn]] inline void file_error(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

}  // namespace dmlp
