#pragma once
// The error types and what each means for the exit code.
#include <cstdio>
#include <stdexcept>
#include <string>

namespace dmlp {

// Bad input from the user: options, model sizes, data files, checkpoints.
// dmlp reports it in one line and exits with status 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A number as a person would type it: 0.05, -1, 1e-06.
inline std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

inline constexpr int kExitInputError = 2;
inline constexpr int kExitFailure = 1;

}  // namespace dmlp
