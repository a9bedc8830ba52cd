#pragma once
// The error types and what each means for the exit code.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
