#include "dmlp/core/test_hooks.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

namespace dmlp {

std::optional<std::int64_t> test_hold_after_step() {
  const char* text = std::getenv("DMLP_TEST_HOLD_AFTER_STEP");
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  const long long step = std::strtoll(text, &end, 10);
  if (*end != '\0' || step < 1) return std::nullopt;
  return std::int64_t(step);
}

std::optional<std::int64_t> test_group_shards() {
  const char* text = std::getenv("DMLP_TEST_GROUP_SHARDS");
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  const long long shards = std::strtoll(text, &end, 10);
  if (*end != '\0' || shards < 1) return std::nullopt;
  return std::int64_t(shards);
}

bool test_hold_released() {
  const char* path = std::getenv("DMLP_TEST_HOLD_RELEASE");
  return path && *path && ::access(path, F_OK) == 0;
}

namespace {
// Whether the PHASE[@RANK] in `variable` names `phase` and `rank` (RANK: 0 unless given).
bool names_point(const char* variable, std::string_view phase, int rank) {
  const char* text = std::getenv(variable);
  if (!text) return false;
  const std::string spec(text);
  const auto at = spec.find('@');
  const std::string wanted = spec.substr(0, at);
  const int wanted_rank = at == std::string::npos ? 0 : std::atoi(spec.c_str() + at + 1);
  return wanted == phase && wanted_rank == rank;
}
}  // namespace

void test_stop_point(std::string_view phase, int rank) {
  if (names_point("DMLP_TEST_STOP_AT", phase, rank)) std::raise(SIGSTOP);
}

void test_stuck_point(std::string_view phase, int rank) {
  if (!names_point("DMLP_TEST_STUCK_AT", phase, rank)) return;
  for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace dmlp
