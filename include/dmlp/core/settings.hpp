#pragma once
// How messages name a setting. The library names each by the field a C++
// caller sets (`global_batch`, `lr_weights`); a front end installs the names
// its users type instead (the command line's table maps global_batch to
// --batch-size), so that every message speaks the user's language.
#include <string>
#include <string_view>

namespace dmlp {

// The setting's name in messages: the front end's name for it, or its own.
std::string setting(std::string_view name);

// Installs the front end's names (null: the library's own). `namer` returns
// the name to show, or an empty string to keep the library's.
using SettingNamer = std::string (*)(std::string_view name);
void set_setting_namer(SettingNamer namer);

}  // namespace dmlp
