#include "dmlp/core/test_hooks.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

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

void test_stop_point(std::string_view phase, int rank) {
  const char* text = std::getenv("DMLP_TEST_STOP_AT");
  if (!text) return;
  const std::string spec(text);
  const auto at = spec.find('@');
  const std::string wanted = spec.substr(0, at);
  const int wanted_rank = at == std::string::npos ? 0 : std::atoi(spec.c_str() + at + 1);
  if (wanted == phase && wanted_rank == rank) std::raise(SIGSTOP);
}

}  // namespace dmlp
