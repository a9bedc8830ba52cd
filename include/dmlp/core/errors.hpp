#pragma once
// The error types, and the kinds of failure they are: a front end gives each
// kind its exit status (the dmlp executable: README, "Exit codes").
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace dmlp {

// Bad input from the user: settings, model sizes, data files, checkpoints.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Ranks stopped making progress together: one never reached a collective the
// others waited in past the stall timeout.
class StalledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training diverged: a gradient, a loss or the parameters became NaN or
// infinite. Every rank finds it at the same step (they hold the same summed
// gradient). Nothing non-finite is ever written.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A number as a person would type it, and as given: 0.05, -1, 1e-06,
// 1000.0001 (the shortest text that reads back as the same double).
inline std::string format_number(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
  char text[32];
  char* end = std::to_chars(text, text + sizeof text, value).ptr;
  std::string shortest(text, end);
  char printf_text[32];  // printf's %g where it says the same (1e-06, not 1e-6)
  std::snprintf(printf_text, sizeof printf_text, "%g", value);
  return std::strtod(printf_text, nullptr) == value ? std::string(printf_text) : shortest;
}

// Throws InputError("<setting> <value> must be positive") unless value > 0 and finite.
inline void require_positive(double value, const std::string& setting) {
  if (!(value > 0) || !std::isfinite(value))
    throw InputError(setting + " " + format_number(value) + " must be positive");
}

// What a failure is, whatever its type.
enum class ErrorKind : int { failure = 0, input = 1, diverged = 2, stalled = 3 };
ErrorKind kind_of(const std::exception& e);  // InputError: input, …; anything else: failure

// The exit status a front end gives each kind, for library code that must
// end the process itself (MPI_Abort). Until one is installed: EXIT_FAILURE.
using ExitStatusOf = int (*)(ErrorKind);
void set_exit_status_of(ExitStatusOf status_of);
int exit_status_of(ErrorKind kind);

}  // namespace dmlp
