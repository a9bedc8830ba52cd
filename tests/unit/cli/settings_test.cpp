// Messages name settings in the library's terms unless a front end installs
// its own names; the command line's table gives every setting its flag.
#include <catch2/catch.hpp>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/settings.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/train_config.hpp"
#include "setting_flags.hpp"

using namespace dmlp;
using Catch::Matchers::Contains;

namespace {
// The library's own names for the length of a scope; the flags again after.
struct LibraryNames {
  LibraryNames() { set_setting_namer(nullptr); }
  ~LibraryNames() { cli::name_settings_by_flags(); }
};

std::string refusal(TrainConfig c) {
  const auto data = make_synthetic({SyntheticKind::Blobs, 4, 3, 1, -1}, 0, 50);
  const ModelSpec spec = make_mlp({4, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  try {
    validate(c, data->shape(), spec, 1);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST_CASE("without a front end's names, messages name the fields a C++ caller sets", "[settings]") {
  TrainConfig zero_batch;
  zero_batch.global_batch = 0;
  TrainConfig bad_rate;
  bad_rate.optimizer.lr_weights = -0.5;
  {
    const LibraryNames library;
    CHECK(setting("global_batch") == "global_batch");
    CHECK(refusal(zero_batch) == "global_batch 0 must be positive");
    CHECK(refusal(bad_rate) == "lr_weights -0.5 must be positive");
  }
  // the command line's names (this binary's main installs them)
  CHECK(refusal(zero_batch) == "--batch-size 0 must be positive");
  CHECK(refusal(bad_rate) == "--lr -0.5 must be positive");
}

TEST_CASE("the command line names each setting by its flag, and nothing else", "[settings]") {
  CHECK(cli::flag_for("global_batch") == "--batch-size");
  CHECK(cli::flag_for("widths") == "--layers");
  CHECK(cli::flag_for("lr_weights") == "--lr");
  CHECK(cli::flag_for("schedule") == "--lr-schedule");
  CHECK(cli::flag_for("activation").empty());  // a kind of value, not a setting: its name stays
  CHECK(setting("activation") == "activation");
  CHECK(setting("no_such_setting") == "no_such_setting");
}
