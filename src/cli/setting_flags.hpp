#pragma once
// The command line's names for the library's settings: messages from the
// library name `global_batch`, and dmlp's users read --batch-size.
#include <string>
#include <string_view>

namespace dmlp::cli {

// The flag that sets `setting`, or "" where none does (the message keeps the name).
std::string flag_for(std::string_view setting);
// Makes every message of this process name settings by their flags.
void name_settings_by_flags();

}  // namespace dmlp::cli
