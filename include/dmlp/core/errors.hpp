#pragma once
// The error types and what each means for the exit code.
#include <cmath>
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

// Ranks stopped making progress together: one never reached a collective the
// others waited in past --stall-timeout. Exit status 4.
class StalledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training diverged: a gradient, a loss or the parameters became NaN or
// infinite. Every rank finds it at the same step (they hold the same summed
// gradient). Exit status 3; nothing non-finite is ever written.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A number as a person would type it: 0.05, -1, 1e-06.
inline std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// Throws InputError("<option> <value> must be positive") unless value > 0 and finite.
inline void require_positive(double value, const char* option) {
  if (!(value > 0) || !std::isfinite(value))
    throw InputError(std::string(option) + " " + format_number(value) + " must be positive");
}

// dmlp's exit codes (README, "Exit codes"):
inline constexpr int kExitFailure = 1;     // anything else
inline constexpr int kExitInputError = 2;  // bad input or configuration
inline constexpr int kExitDiverged = 3;    // NaN or infinite loss, gradient or parameters
inline constexpr int kExitStalled = 4;     // a rank stopped answering (--stall-timeout)
inline constexpr int kExitStopped = 75;    // EX_TEMPFAIL: stopped on a signal after a complete checkpoint; resume me

}  // namespace dmlp
