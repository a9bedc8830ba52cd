#include "dmlp/core/errors.hpp"

#include <atomic>

namespace dmlp {
namespace {
std::atomic<ExitStatusOf> installed{nullptr};
}  // namespace

ErrorKind kind_of(const std::exception& e) {
  if (dynamic_cast<const InputError*>(&e)) return ErrorKind::input;
  if (dynamic_cast<const StalledError*>(&e)) return ErrorKind::stalled;
  if (dynamic_cast<const DivergedError*>(&e)) return ErrorKind::diverged;
  return ErrorKind::failure;
}

void set_exit_status_of(ExitStatusOf status_of) { installed.store(status_of, std::memory_order_release); }

int exit_status_of(ErrorKind kind) {
  const ExitStatusOf status_of = installed.load(std::memory_order_acquire);
  return status_of ? status_of(kind) : EXIT_FAILURE;
}

}  // namespace dmlp
