// The one Catch2 main shared by the single-process test binaries. Messages
// name settings as the command line does (src/cli/setting_flags.cpp), so that
// the tests check what dmlp's users read; settings_test checks the library's
// own names.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "setting_flags.hpp"

int main(int argc, char** argv) {
  dmlp::cli::name_settings_by_flags();
  return Catch::Session().run(argc, argv);
}
