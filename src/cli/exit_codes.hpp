#pragma once
// dmlp's exit codes (README, "Exit codes"): what each kind of failure ends the
// process with. The library knows kinds (core/errors.hpp), the program codes.
#include "dmlp/core/errors.hpp"

namespace dmlp::cli {

inline constexpr int kExitFailure = 1;     // anything else
inline constexpr int kExitInputError = 2;  // bad input or configuration
inline constexpr int kExitDiverged = 3;    // NaN or infinite loss, gradient or parameters
inline constexpr int kExitStalled = 4;     // a rank stopped answering (--stall-timeout)
inline constexpr int kExitStopped = 75;    // EX_TEMPFAIL: stopped on a signal after a complete checkpoint; resume me

constexpr int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::input: return kExitInputError;
    case ErrorKind::diverged: return kExitDiverged;
    case ErrorKind::stalled: return kExitStalled;
    case ErrorKind::failure: break;
  }
  return kExitFailure;
}

}  // namespace dmlp::cli
