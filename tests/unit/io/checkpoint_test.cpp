// Checkpoints: what write_checkpoint stores comes back bit for bit (metadata,
// parameters, velocity; float and double); damaged data is caught by its
// checksum; missing, truncated, foreign and incomplete files are refused naming
// the file; format version 1 still loads and unknown versions do not; and the
// directory helpers find, order, prune and set aside checkpoint files by name.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dmlp/core/checksum.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/h5.hpp"
#include "io_fixtures.hpp"

using namespace dmlp;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test::bit_patterns;
using test::input_error_message;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

ModelSpec small_spec() {
  return make_mlp({3, 4, 2}, Activation::LeakyRelu, Activation::Identity, Loss::SoftmaxCrossEntropy, 0.125);
}

// Everything a checkpoint holds, with values no two of which are alike.
template <class T>
struct SavedRun {
  Network<T> net{small_spec()};
  std::vector<T> velocity;
  nlohmann::json config = {{"lr", 0.05}, {"layers", "3,4,2"}, {"data", {{"train", "train.h5"}}}};
  TrainPosition position{.step = 50, .epoch = 3, .step_in_epoch = 7, .samples = 12800};
  std::uint64_t seed = 0xFEEDFACECAFEBEEFull;  // above INT64_MAX: stored unsigned
  int ranks = 3;
  nlohmann::json data = {{"train", {{"rows", 1000}, {"features", 3}, {"classes", 2}, {"stored", "float32"},
                                    {"content_xxh3", "0123456789abcdef"}, {"block_rows", 65536}}},
                         {"test", nullptr}};

  SavedRun() {
    const std::span<T> p = net.params();
    for (std::size_t i = 0; i < p.size(); ++i) {
      p[i] = T(i % 2 ? -1 : 1) / T(i + 3);
      velocity.push_back(T(1e-3) * T(i + 1) - T(0.01));
    }
  }
  void write(const std::string& path, bool with_velocity = true) const {
    const std::span<const T> v = with_velocity ? std::span<const T>(velocity) : std::span<const T>();
    OptimizerSnapshot<T> sgd{OptimizerKind::Sgd, position.step, {}};
    if (!v.empty()) sgd.arrays.emplace_back("velocity", v);
    write_checkpoint<T>(path, net, sgd, CheckpointState{config, ranks, seed, position, data});
  }
};

// The parameters and, when `velocity` is not empty, SGD's velocity.
template <class T>
void read_params_and_velocity(const CheckpointMeta& meta, std::span<T> params, std::span<T> velocity) {
  const std::pair<std::string, std::span<T>> wanted[] = {{"velocity", velocity}};
  read_checkpoint_state<T>(meta, params, velocity.empty() ? std::span<const std::pair<std::string, std::span<T>>>()
                                                           : std::span<const std::pair<std::string, std::span<T>>>(wanted));
}

h5::File open_for_update(const std::string& path) {
  return h5::File(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen " + path));
}

// Replaces a root attribute, as another writer (or damage) would leave it.
template <class V>
void replace_attribute(const std::string& path, const std::string& name, const V& value) {
  h5::File file = open_for_update(path);
  h5::check(H5Adelete(file.get(), name.c_str()), "H5Adelete");
  h5::write_attribute(file.get(), name, value);
  file.close();
}

void delete_attribute(const std::string& path, const std::string& name) {
  h5::File file = open_for_update(path);
  h5::check(H5Adelete(file.get(), name.c_str()), "H5Adelete");
  file.close();
}

// Replaces a root attribute with an array of values, which it never is.
void replace_with_array(const std::string& path, const std::string& name, std::vector<std::int64_t> values) {
  h5::File file = open_for_update(path);
  h5::check(H5Adelete(file.get(), name.c_str()), "H5Adelete");
  const hsize_t n = values.size();
  const h5::Dataspace space(h5::check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  const h5::Attribute attr(
      h5::check(H5Acreate2(file.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  h5::check(H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()), "H5Awrite");
  file.close();
}

// Flips the lowest bit of element [row][column] of a stored array of Stored.
template <class Stored>
void flip_bit(const std::string& path, const std::string& dataset, hsize_t row, std::size_t column) {
  h5::File file = open_for_update(path);
  {
    const h5::Dataset set = h5::open_dataset(file.get(), dataset);
    const auto dims = h5::shape(set.get());
    std::vector<Stored> values(dims.size() == 2 ? dims[1] : 1);
    h5::read_rows(set.get(), row, 1, values.data());
    unsigned char bytes[sizeof(Stored)];
    std::memcpy(bytes, &values.at(column), sizeof bytes);
    bytes[0] ^= 1;
    std::memcpy(&values[column], bytes, sizeof bytes);
    h5::write_rows(set.get(), row, 1, values.data(), false);
  }
  file.close();
}

}  // namespace

TEMPLATE_TEST_CASE("checkpoint: metadata, parameters and velocity come back bit for bit", "[io][checkpoint]", float,
                   double) {
  using T = TestType;
  const TempDir dir;
  const SavedRun<T> run;
  const std::string path = dir.file(checkpoint_file_name(run.position.step));
  run.write(path);
  // Written under a temporary name and renamed: nothing else is left behind.
  REQUIRE(checkpoints_in(dir.path()) == std::vector<std::string>{path});
  REQUIRE(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);

  const CheckpointMeta meta = read_checkpoint_meta(path);
  CHECK(meta.path == path);
  CHECK(meta.format_version == kCheckpointFormatVersion);
  CHECK(meta.dmlp_version == DMLP_VERSION);
  CHECK(meta.precision == (sizeof(T) == 4 ? "float32" : "float64"));
  CHECK(meta.spec.widths() == std::vector<int>{3, 4, 2});
  CHECK(meta.spec.activations == std::vector<Activation>{Activation::LeakyRelu, Activation::Identity});
  CHECK(meta.spec.loss == Loss::SoftmaxCrossEntropy);
  CHECK(meta.spec.leaky_slope == 0.125);
  CHECK(meta.config == run.config);
  CHECK(meta.ranks == 3);
  CHECK(meta.position.step == 50);
  CHECK(meta.position.epoch == 3);
  CHECK(meta.position.step_in_epoch == 7);
  CHECK(meta.position.samples == 12800);
  CHECK(meta.seed == 0xFEEDFACECAFEBEEFull);
  CHECK(meta.parameters_checksum == checksum<T>(run.net.params()));
  CHECK(meta.has_velocity);
  CHECK(meta.velocity_checksum == checksum<T>(run.velocity));

  const std::size_t n = run.net.params().size();
  std::vector<T> params(n), velocity(n);
  read_params_and_velocity<T>(meta, params, velocity);
  REQUIRE(bit_patterns(params) == bit_patterns(run.net.params()));
  REQUIRE(bit_patterns(velocity) == bit_patterns(run.velocity));

  SECTION("the velocity is optional on both sides") {
    std::vector<T> params_only(n);
    read_params_and_velocity<T>(meta, params_only, {});
    REQUIRE(bit_patterns(params_only) == bit_patterns(run.net.params()));

    const std::string bare = dir.file(checkpoint_file_name(60));
    run.write(bare, false);
    const CheckpointMeta bare_meta = read_checkpoint_meta(bare);
    CHECK_FALSE(bare_meta.has_velocity);
    CHECK(bare_meta.velocity_checksum == 0);
    std::vector<T> untouched(n, T(42));
    read_params_and_velocity<T>(bare_meta, params_only, untouched);
    REQUIRE(bit_patterns(params_only) == bit_patterns(run.net.params()));
    REQUIRE(untouched == std::vector<T>(n, T(42)));
  }
}

TEST_CASE("checkpoint: a float32 checkpoint loads into double parameters, widened exactly", "[io][checkpoint]") {
  const TempDir dir;
  const SavedRun<float> run;
  const std::string path = dir.file("ckpt-000000001.h5");
  run.write(path);
  const CheckpointMeta meta = read_checkpoint_meta(path);
  REQUIRE(meta.precision == "float32");
  const std::size_t n = run.net.params().size();
  std::vector<double> params(n), velocity(n);
  read_params_and_velocity<double>(meta, params, velocity);
  for (std::size_t i = 0; i < n; ++i) {
    INFO("element " << i);
    REQUIRE(params[i] == double(run.net.params()[i]));
    REQUIRE(velocity[i] == double(run.velocity[i]));
  }
  // buffers that do not fit the model are a caller's error, never an overflow
  std::vector<double> short_params(n - 1), no_velocity;
  CHECK_THROWS_AS(read_params_and_velocity<double>(meta, short_params, no_velocity), std::invalid_argument);
  CHECK_THROWS_AS(read_params_and_velocity<double>(meta, params, short_params), std::invalid_argument);
  CHECK_NOTHROW(read_params_and_velocity<double>(meta, params, no_velocity));
}

TEMPLATE_TEST_CASE("checkpoint: a changed bit in the stored arrays fails the checksum", "[io][checkpoint]", float,
                   double) {
  using T = TestType;
  const TempDir dir;
  const SavedRun<T> run;
  const std::string path = dir.file("ckpt-000000050.h5");
  run.write(path);
  const std::size_t n = run.net.params().size();
  std::vector<T> params(n), velocity(n);

  SECTION("a weight") {
    flip_bit<T>(path, "parameters/layer1/W", 2, 1);
    const CheckpointMeta meta = read_checkpoint_meta(path);  // the metadata is intact
    REQUIRE_THAT(input_error_message([&] { read_params_and_velocity<T>(meta, params, velocity); }),
                 StartsWith(path + ": parameter checksum mismatch (stored ") && Contains("): the file is damaged"));
  }
  SECTION("a velocity bias") {
    flip_bit<T>(path, "optimizer/velocity/layer2/b", 1, 0);
    const CheckpointMeta meta = read_checkpoint_meta(path);
    REQUIRE_THAT(input_error_message([&] { read_params_and_velocity<T>(meta, params, velocity); }),
                 StartsWith(path + ": velocity checksum mismatch (stored ") && Contains("): the file is damaged"));
    // The velocity is verified only when it is read.
    read_params_and_velocity<T>(meta, params, {});
    REQUIRE(bit_patterns(params) == bit_patterns(run.net.params()));
  }
  SECTION("the stored checksum itself: the state checksum covers it") {
    replace_attribute<std::uint64_t>(path, "parameters_fnv1a64", checksum<T>(run.net.params()) ^ 1u);
    REQUIRE_THAT(input_error_message([&] { read_checkpoint_meta(path); }),
                 StartsWith(path + ": state checksum mismatch (stored "));
  }
  SECTION("the state checksum covers the whole training state, each value in range") {
    const auto changed = [&](auto change) {
      const std::string copy = dir.file("changed.h5");
      std::filesystem::copy_file(path, copy, std::filesystem::copy_options::overwrite_existing);
      change(copy);
      return input_error_message([&] { read_checkpoint_meta(copy); });
    };
    const std::string mismatch = ": state checksum mismatch (stored ";
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::int64_t>(p, "step", 49); }), Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::int64_t>(p, "epoch", 2); }), Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::int64_t>(p, "step_in_epoch", 8); }),
               Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::int64_t>(p, "samples", 12801); }),
               Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::int64_t>(p, "ranks", 4); }), Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute<std::uint64_t>(p, "seed", 7); }), Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute(p, "rng", std::string("{}")); }), Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute(p, "config", std::string(R"({"lr":0.5})")); }),
               Contains(mismatch));
    CHECK_THAT(changed([](const std::string& p) { replace_attribute(p, "dmlp_version", std::string("9.9")); }),
               Contains(mismatch));
  }
}

TEST_CASE("checkpoint: format version 1 still loads, and versions outside 1..current are refused", "[io][checkpoint]") {
  const TempDir dir;
  const SavedRun<double> run;
  const std::string path = dir.file("ckpt-000000050.h5");
  run.write(path);

  SECTION("version 1") {
    // what format 1 had: no state checksum, no generator state, no optimizer attributes
    for (const char* later : {"state_fnv1a64", "rng", "optimizer", "optimizer_steps", "data"}) delete_attribute(path, later);
    replace_attribute<std::int64_t>(path, "format_version", 1);
    const CheckpointMeta meta = read_checkpoint_meta(path);
    CHECK(meta.optimizer == OptimizerKind::Sgd);
    CHECK(meta.format_version == 1);
    CHECK(meta.position.step == 50);
    std::vector<double> params(run.net.params().size()), velocity(params.size());
    read_params_and_velocity<double>(meta, params, velocity);
    REQUIRE(bit_patterns(params) == bit_patterns(run.net.params()));
    REQUIRE(bit_patterns(velocity) == bit_patterns(run.velocity));
  }
  SECTION("a lowered version is refused: it would relax the checks on resume") {
    for (const std::int64_t version : {1, 2, 3, 4}) {
      replace_attribute<std::int64_t>(path, "format_version", version);
      CHECK_THAT(input_error_message([&] { read_checkpoint_meta(path); }),
                 Contains("format_version " + std::to_string(version) + ", but it holds format"));
    }
    replace_attribute<std::int64_t>(path, "format_version", 4);
    CHECK_THAT(input_error_message([&] { read_checkpoint_meta(path); }),
               Contains("format_version 4, but it holds format 5's data attribute"));
    delete_attribute(path, "optimizer");
    replace_attribute<std::int64_t>(path, "format_version", 2);
    CHECK_THAT(input_error_message([&] { read_checkpoint_meta(path); }),
               Contains("format_version 2, but it holds format 3's state_fnv1a64"));
  }
  SECTION("versions 0, current + 1 and 99") {
    const std::int64_t version =
        GENERATE(std::int64_t(0), std::int64_t(kCheckpointFormatVersion + 1), std::int64_t(99));
    replace_attribute<std::int64_t>(path, "format_version", version);
    REQUIRE(input_error_message([&] { read_checkpoint_meta(path); }) ==
            path + ": checkpoint format_version " + std::to_string(version) + "; expected 1 to " +
                std::to_string(kCheckpointFormatVersion));
  }
}

TEST_CASE("checkpoint: missing, truncated and foreign files are refused naming the file", "[io][checkpoint]") {
  const TempDir dir;
  const std::string path = dir.file("ckpt-000000050.h5");
  SavedRun<float>().write(path);

  SECTION("missing") {
    const std::string absent = dir.file("ckpt-000000099.h5");
    REQUIRE(input_error_message([&] { read_checkpoint_meta(absent); }) == absent + ": no such checkpoint");
  }
  SECTION("not HDF5") {
    const std::string text = dir.write("ckpt-000000007.h5", "step=7\n");
    REQUIRE(input_error_message([&] { read_checkpoint_meta(text); }) ==
            text + ": not an HDF5 file, so not a dmlp checkpoint");
  }
  SECTION("truncated") {
    const std::string whole = test::read_bytes(path);
    REQUIRE(whole.size() > 2000);
    const int keep = GENERATE(0, 7, 600, 2000, -1);  // -1: all but the last byte
    const std::size_t kept = keep < 0 ? whole.size() - 1 : std::size_t(keep);
    INFO("kept " << kept << " of " << whole.size() << " bytes");
    const std::string cut = dir.write("ckpt-000000051.h5", whole.substr(0, kept));
    REQUIRE_THAT(input_error_message([&] { read_checkpoint_meta(cut); }),
                 StartsWith(cut + ": not an HDF5 file") ||
                     StartsWith(cut + ": cannot be read as HDF5 (damaged or truncated?): "));
  }
  SECTION("a data set, not a checkpoint") {
    const std::string data = dir.file("data.h5");
    const std::vector<float> X{1, 2, 3, 4};
    const std::vector<std::int32_t> labels{0, 1};
    write_dataset_file(data, 2, 2, X.data(), labels.data(), 2, nullptr, 0);
    REQUIRE(input_error_message([&] { read_checkpoint_meta(data); }) ==
            data + ": dmlp_format is 'dataset'; expected 'checkpoint'");
  }
}

TEST_CASE("checkpoint: incomplete or inconsistent files are refused naming the file and the problem",
          "[io][checkpoint]") {
  // Damage done to a good checkpoint at `path`, after which reading its
  // metadata, or else its arrays, fails with `message` (following the path).
  struct Damage {
    const char* name;
    std::function<void(const std::string& path)> apply;
    std::string message;
  };
  const auto attribute_gone = [](const char* name) {
    return [name](const std::string& path) {
      h5::File file = open_for_update(path);
      h5::check(H5Adelete(file.get(), name), "H5Adelete");
      file.close();
    };
  };
  const auto model = [](const char* json) {
    return [json](const std::string& path) { replace_attribute(path, "model", std::string(json)); };
  };
  const Damage damage = GENERATE_COPY(values<Damage>({
      {"no seed", attribute_gone("seed"), ": attribute seed is missing; not a dmlp checkpoint"},
      {"no format", attribute_gone("dmlp_format"), ": attribute dmlp_format is missing; not a dmlp checkpoint"},
      {"no format version", attribute_gone("format_version"),
       ": attribute format_version is missing; not a dmlp checkpoint"},
      {"unknown precision", [](const std::string& path) { replace_attribute(path, "precision", std::string("fp16")); },
       ": precision 'fp16'; expected float32 or float64"},
      {"model not JSON", model(R"({"widths": [3,)"), ": the model or config attribute is not valid JSON: "},
      // each scalar attribute: one value, of its class, in its range
      {"step an array", [](const std::string& p) { replace_with_array(p, "step", {50, 50, 50}); },
       ": attribute step holds 3 values; expected one integer"},
      {"format_version an array", [](const std::string& p) { replace_with_array(p, "format_version", {2, 2}); },
       ": attribute format_version holds 2 values; expected one integer"},
      {"step a string", [](const std::string& p) { replace_attribute(p, "step", std::string("50")); },
       ": attribute step is a string; expected an integer"},
      {"step 3.7", [](const std::string& p) { replace_attribute<double>(p, "step", 3.7); },
       ": attribute step is a floating-point number; expected an integer"},
      {"step -40", [](const std::string& p) { replace_attribute<std::int64_t>(p, "step", -40); },
       ": attribute step is -40; expected 0 to 281474976710656"},
      {"step 2^64-1", [](const std::string& p) { replace_attribute<std::uint64_t>(p, "step", ~std::uint64_t{0}); },
       ": attribute step is 18446744073709551615; expected at most 9223372036854775807"},
      {"epoch -2", [](const std::string& p) { replace_attribute<std::int64_t>(p, "epoch", -2); },
       ": attribute epoch is -2; expected 0 to 50"},
      {"step_in_epoch -3", [](const std::string& p) { replace_attribute<std::int64_t>(p, "step_in_epoch", -3); },
       ": attribute step_in_epoch is -3; expected 0 to 50"},
      {"ranks 0", [](const std::string& p) { replace_attribute<std::int64_t>(p, "ranks", 0); },
       ": attribute ranks is 0; expected 1 to 2147483647"},
      {"ranks 2^32+3", [](const std::string& p) { replace_attribute<std::int64_t>(p, "ranks", (1LL << 32) + 3); },
       ": attribute ranks is 4294967299; expected 1 to 2147483647"},
      {"samples below the step", [](const std::string& p) { replace_attribute<std::int64_t>(p, "samples", 49); },
       ": samples 49 is fewer than the step 50"},
      {"seed negative", [](const std::string& p) { replace_attribute<std::int64_t>(p, "seed", -1); },
       ": attribute seed is -1; expected >= 0"},
      {"model incomplete", model(R"({"widths": [3, 4, 2]})"), ": the model description is incomplete: "},
      {"model wider than the arrays",
       model(R"({"widths":[3,5,2],"activations":["relu","identity"],"loss":"softmax-ce","leaky_slope":0.01})"),
       ": state checksum mismatch (stored "},
      {"dataset missing",
       [](const std::string& path) {
         h5::File file = open_for_update(path);
         h5::check(H5Ldelete(file.get(), "parameters/layer2/b", H5P_DEFAULT), "H5Ldelete");
         file.close();
       },
       ": no dataset /parameters/layer2/b; the checkpoint is incomplete"},
  }));
  INFO("damage: " << damage.name);
  const TempDir dir;
  const SavedRun<float> run;
  const std::string path = dir.file("ckpt-000000050.h5");
  run.write(path);
  damage.apply(path);
  const std::string message = input_error_message([&] {
    const CheckpointMeta meta = read_checkpoint_meta(path);
    // sized as a loader sizes them: from the model the file describes
    std::vector<float> params(ParameterLayout(meta.spec).size()), velocity(params.size());
    read_params_and_velocity<float>(meta, params, velocity);
  });
  REQUIRE_THAT(message, StartsWith(path + damage.message));
}

TEST_CASE("checkpoint: NaN or infinite parameters behind a valid checksum are refused", "[io][checkpoint]") {
  const TempDir dir;
  SavedRun<float> run;
  run.net.params()[1] = std::numeric_limits<float>::quiet_NaN();
  run.net.params()[4] = -std::numeric_limits<float>::infinity();
  const std::string path = dir.file("ckpt-000000050.h5");
  run.write(path);
  const std::string message = input_error_message([&] {
    const CheckpointMeta meta = read_checkpoint_meta(path);
    std::vector<float> params(ParameterLayout(meta.spec).size()), velocity(params.size());
    read_params_and_velocity<float>(meta, params, velocity);
  });
  REQUIRE_THAT(message, StartsWith(path + ": 2 of its 26 parameter values are NaN or infinite"));
}

TEST_CASE("checkpoint: file names, listing newest first, pruning and setting aside", "[io][checkpoint]") {
  CHECK(checkpoint_file_name(0) == "ckpt-000000000.h5");
  CHECK(checkpoint_file_name(50) == "ckpt-000000050.h5");
  CHECK(checkpoint_file_name(123456789012) == "ckpt-123456789012.h5");
  CHECK(checkpoint_step("ckpt-000000050.h5") == 50);
  CHECK(checkpoint_step("ckpt-7.h5") == 7);
  CHECK(checkpoint_step("ckpt-999999999999999999.h5") == 999999999999999999);
  // more than 18 digits: leading zeros, or a step up to INT64_MAX
  CHECK(checkpoint_step("ckpt-0000000000000000000000050.h5") == 50);
  CHECK(checkpoint_step("ckpt-1234567890123456789.h5") == 1234567890123456789);
  CHECK(checkpoint_step("ckpt-9223372036854775807.h5") == INT64_MAX);
  for (const char* name : {"ckpt-.h5", "ckpt-x.h5", "ckpt-+5.h5", "ckpt--5.h5", "ckpt-5.h5.superseded", ".ckpt-5.h5",
                           "ckpt-5.h5.tmp-99", "ckpt-5", "ckpt-9223372036854775808.h5", "CKPT-5.h5"}) {
    INFO(name);
    CHECK_FALSE(checkpoint_step(name).has_value());
  }

  const TempDir dir;
  const auto at = [&](const std::string& name) { return dir.file(name); };
  for (const std::int64_t step : std::initializer_list<std::int64_t>{5, 50, 12, 123456789012})
    dir.write(checkpoint_file_name(step), "not read by the listing");
  dir.write("ckpt-7.h5", "unpadded");
  dir.write("ckpt-00000000000000000000006.h5", "more than 18 digits");
  // None of these is a checkpoint.
  const std::vector<std::string> others{"ckpt-12.h5.superseded", ".ckpt-1.h5.tmp-99", "notes.txt", "ckpt-.h5",
                                        "ckpt-x.h5", "ckpt-000000003.h5.tmp", "xckpt-000000004.h5",
                                        "ckpt-99999999999999999999.h5"};
  for (const auto& name : others) dir.write(name, "");
  fs::create_directory(at("ckpt-000000099.h5"));
  fs::create_symlink(at("nothing-there.h5"), at("ckpt-000000098.h5"));

  const CheckpointListing listing = list_checkpoints(dir.path());
  REQUIRE(listing.checkpoints == std::vector<std::string>{at("ckpt-123456789012.h5"), at("ckpt-000000050.h5"),
                                                          at("ckpt-000000012.h5"), at("ckpt-7.h5"),
                                                          at("ckpt-00000000000000000000006.h5"),
                                                          at("ckpt-000000005.h5")});
  REQUIRE(checkpoints_in(dir.path()) == listing.checkpoints);
  // named like checkpoints, and not: each said, with why
  std::vector<std::string> skipped = listing.skipped;
  std::sort(skipped.begin(), skipped.end());
  REQUIRE(skipped == std::vector<std::string>{at("ckpt-000000098.h5") + ": a symbolic link to nothing",
                                              at("ckpt-000000099.h5") + ": a directory",
                                              at("ckpt-99999999999999999999.h5") + ": its step is beyond 9223372036854775807"});
  REQUIRE(checkpoints_in(at("absent")).empty());

  SECTION("set aside those past a step") {
    REQUIRE(set_aside_checkpoints_after(dir.path(), 12) ==
            std::vector<std::string>{at("ckpt-123456789012.h5"), at("ckpt-000000050.h5")});
    REQUIRE(fs::exists(at("ckpt-000000050.h5.superseded")));
    REQUIRE(fs::exists(at("ckpt-123456789012.h5.superseded")));
    REQUIRE(checkpoints_in(dir.path()) == std::vector<std::string>{at("ckpt-000000012.h5"), at("ckpt-7.h5"),
                                                                   at("ckpt-00000000000000000000006.h5"),
                                                                   at("ckpt-000000005.h5")});
    REQUIRE(set_aside_checkpoints_after(dir.path(), 12).empty());
  }
  SECTION("a second set-aside never overwrites the first") {
    REQUIRE(set_aside_checkpoints_after(dir.path(), 12).size() == 2);
    dir.write(checkpoint_file_name(50), "a second abandoned run's");
    REQUIRE(set_aside_checkpoints_after(dir.path(), 12) == std::vector<std::string>{at("ckpt-000000050.h5")});
    REQUIRE(fs::file_size(at("ckpt-000000050.h5.superseded")) == std::string("not read by the listing").size());
    REQUIRE(fs::file_size(at("ckpt-000000050.h5.superseded-2")) == std::string("a second abandoned run's").size());
  }
  SECTION("prune to the newest two") {
    prune_checkpoints(dir.path(), 2);
    REQUIRE(checkpoints_in(dir.path()) ==
            std::vector<std::string>{at("ckpt-123456789012.h5"), at("ckpt-000000050.h5")});
  }
  SECTION("pruning keeps at least the newest") {
    prune_checkpoints(dir.path(), 0);
    REQUIRE(checkpoints_in(dir.path()) == std::vector<std::string>{at("ckpt-123456789012.h5")});
  }
  for (const auto& name : others) {
    INFO(name);
    REQUIRE(fs::exists(at(name)));
  }
  REQUIRE(fs::is_directory(at("ckpt-000000099.h5")));
}

TEST_CASE("checkpoint directory: one run at a time holds its lock, and a second is told who", "[io][checkpoint]") {
  const TempDir dir;
  std::optional<CheckpointDirLock> first;
  first.emplace(dir.path(), "--checkpoint-dir");
  CHECK(first->warning().empty());
  const std::string message = input_error_message([&] { CheckpointDirLock second(dir.path(), "--checkpoint-dir"); });
  CHECK_THAT(message, StartsWith("--checkpoint-dir " + dir.path() + " is in use by another run (host "));
  CHECK_THAT(message, Contains(" pid " + std::to_string(::getpid()) + ")"));
  first.reset();  // the run ended: the next may write the directory
  CHECK_NOTHROW(CheckpointDirLock(dir.path(), "--checkpoint-dir"));
  CHECK(checkpoints_in(dir.path()).empty());  // the lock file is no checkpoint
}

TEST_CASE("checkpoint: an optimizer's whole state round-trips; arrays its kind does not keep are refused",
          "[io][checkpoint]") {
  const TempDir dir;
  const SavedRun<double> run;
  std::vector<double> m(run.velocity), v(run.velocity);
  for (double& x : v) x = x * x;
  const auto write = [&](const std::string& name, OptimizerSnapshot<double> snapshot) {
    const std::string path = dir.file(name);
    write_checkpoint<double>(path, run.net, snapshot, CheckpointState{run.config, run.ranks, run.seed, run.position, run.data});
    return path;
  };
  const std::string adamw = write("adamw.h5", {OptimizerKind::AdamW, 50, {{"exp_avg", m}, {"exp_avg_sq", v}}});
  const CheckpointMeta meta = read_checkpoint_meta(adamw);
  CHECK(meta.optimizer == OptimizerKind::AdamW);
  CHECK(meta.optimizer_steps == 50);
  REQUIRE(meta.optimizer_arrays.size() == 2);
  std::vector<double> params(m.size()), m_read(m.size()), v_read(m.size());
  const std::pair<std::string, std::span<double>> wanted[] = {{"exp_avg_sq", v_read}, {"exp_avg", m_read}};
  read_checkpoint_state<double>(meta, params, wanted);
  CHECK(bit_patterns(m_read) == bit_patterns(m));
  CHECK(bit_patterns(v_read) == bit_patterns(v));
  CHECK(bit_patterns(params) == bit_patterns(run.net.params()));
  // files whose checksums agree but whose contents no dmlp run writes
  CHECK_THAT(input_error_message([&] { read_checkpoint_meta(write("half.h5", {OptimizerKind::AdamW, 50, {{"exp_avg", m}}})); }),
             Contains("lacks /optimizer/exp_avg_sq, which --optimizer adamw needs"));
  CHECK_THAT(input_error_message([&] { read_checkpoint_meta(write("sgd.h5", {OptimizerKind::Sgd, 50, {{"exp_avg", m}}})); }),
             Contains("holds /optimizer/exp_avg, which --optimizer sgd does not keep"));
  CHECK_THAT(input_error_message([&] {
               read_checkpoint_meta(write("lamb.h5", {OptimizerKind::Lamb, 50, {{"exp_avg", m}, {"exp_avg_sq", v}, {"velocity", m}}}));
             }),
             Contains("holds /optimizer/velocity, which --optimizer lamb does not keep"));
  CHECK_THAT(input_error_message([&] { read_checkpoint_meta(write("t.h5", {OptimizerKind::Lars, 49, {{"velocity", m}}})); }),
             Contains("optimizer_steps 49 differs from step 50"));
  CHECK_NOTHROW(read_checkpoint_meta(write("lars.h5", {OptimizerKind::Lars, 50, {}})));  // LARS without momentum keeps nothing
}
