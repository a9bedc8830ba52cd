#include "dmlp/core/settings.hpp"

#include <atomic>

namespace dmlp {
namespace {
std::atomic<SettingNamer> installed{nullptr};
}  // namespace

std::string setting(std::string_view name) {
  if (const SettingNamer namer = installed.load(std::memory_order_acquire)) {
    std::string shown = namer(name);
    if (!shown.empty()) return shown;
  }
  return std::string(name);
}

void set_setting_namer(SettingNamer namer) { installed.store(namer, std::memory_order_release); }

}  // namespace dmlp
