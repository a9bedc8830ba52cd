// Writes the small HDF5 files the data-validation tests feed to dmlp: one good
// set and one file for each way a set can be wrong. Then it reads each back
// and checks that it holds what was meant, so that a fixture that failed to
// carry its defect cannot make a validation test pass for the wrong reason.
//   dmlp_make_test_files DIR      (exit 1 and FAIL lines when a check fails)
//   dmlp_make_test_files DIR CHECKPOINT
//                                 damaged copies of a good checkpoint, ck_*.h5
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/h5.hpp"

using namespace dmlp;

namespace {
constexpr int kRows = 40, kFeatures = 4, kClasses = 3;

std::vector<float> features() {
  std::vector<float> X(std::size_t(kRows) * kFeatures);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = float(std::sin(double(i)));
  return X;
}
std::vector<std::int32_t> labels() {
  std::vector<std::int32_t> y(kRows);
  for (int i = 0; i < kRows; ++i) y[std::size_t(i)] = i % kClasses;
  return y;
}

// A file with /features and /labels as given, plus whatever `extra` adds.
template <class F, class L>
void write(const std::string& path, const std::vector<hsize_t>& fdims, const std::vector<F>& X,
           const std::vector<hsize_t>& ldims, const std::vector<L>& y, long long num_classes = kClasses) {
  const h5::File file = h5::create(path);
  h5::write_dataset<F>(file.get(), "features", fdims, X.data());
  if (!ldims.empty()) {
    h5::write_dataset<L>(file.get(), "labels", ldims, y.data());
    if (num_classes >= 0) {
      const h5::Dataset set = h5::open_dataset(file.get(), "labels");
      h5::write_attribute<std::int64_t>(set.get(), "num_classes", num_classes);
    }
  }
  h5::write_attribute<std::int64_t>(file.get(), "format_version", 1);
}

// Opens `path` for writing and replaces attribute `name` of `object` with `write`'s.
template <class Write>
void replace_attribute(const std::string& path, const char* object, const char* name, Write write) {
  const h5::File file(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen"));
  const hid_t target = H5Oopen(file.get(), object, H5P_DEFAULT);
  h5::check(target, "H5Oopen");
  if (h5::has_attribute(target, name)) h5::check(H5Adelete(target, name), "H5Adelete");
  write(target);
  H5Oclose(target);
}

void write_int_array(hid_t object, const char* name, const std::vector<std::int64_t>& values) {
  const hsize_t n = values.size();
  const h5::Dataspace space(h5::check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  const h5::Attribute attr(
      h5::check(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  h5::check(H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()), "H5Awrite");
}
}  // namespace

// Copies of a good checkpoint with one attribute damaged each.
int damage_checkpoint(const std::string& dir, const std::string& good) {
  const auto damaged = [&](const char* name, auto damage) {
    const std::string path = dir + "/ck_" + name + ".h5";
    std::filesystem::copy_file(good, path, std::filesystem::copy_options::overwrite_existing);
    replace_attribute(path, "/", "step", damage);
  };
  damaged("step_array", [](hid_t o) { write_int_array(o, "step", {50, 50}); });
  damaged("step_string", [](hid_t o) { h5::write_attribute(o, "step", std::string("50")); });
  damaged("step_float", [](hid_t o) { h5::write_attribute<double>(o, "step", 50.5); });
  damaged("step_negative", [](hid_t o) { h5::write_attribute<std::int64_t>(o, "step", -40); });
  damaged("step_changed", [](hid_t o) { h5::write_attribute<std::int64_t>(o, "step", 49); });
  // lowering format_version is refused: it would relax the checks (the file holds later attributes)
  damaged("version_lowered", [](hid_t o) { h5::write_attribute<std::int64_t>(o, "step", 49); });
  replace_attribute(dir + "/ck_version_lowered.h5", "/", "format_version",
                    [](hid_t o) { h5::write_attribute<std::int64_t>(o, "format_version", 2); });
  damaged("width_fraction", [](hid_t o) { h5::write_attribute<std::int64_t>(o, "step", 50); });
  replace_attribute(dir + "/ck_width_fraction.h5", "/", "model", [](hid_t o) {
    h5::write_attribute(o, "model", std::string(R"({"widths":[4,8.5,3],"activations":["relu","identity"],)"
                                                R"("loss":"softmax-ce","leaky_slope":0.01})"));
  });
  std::printf("wrote damaged copies of %s in %s\n", good.c_str(), dir.c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s DIR [CHECKPOINT]\n", argv[0]);
    return 2;
  }
  h5::silence_automatic_error_printing();
  const std::string dir = argv[1];
  if (argc == 3) return damage_checkpoint(dir, argv[2]);
  const auto X = features();
  const auto y = labels();
  const hsize_t n = kRows, d = kFeatures;
  write_dataset_file(dir + "/good.h5", kRows, kFeatures, X.data(), y.data(), kClasses, nullptr, 0);
  write(dir + "/features_3d.h5", {n, 2, 2}, X, {n}, y);
  {
    const h5::File file = h5::create(dir + "/features_int64.h5");
    std::vector<std::int64_t> Xi(X.size(), 1);
    h5::write_dataset<std::int64_t>(file.get(), "features", std::vector<hsize_t>{n, d}, Xi.data());
    h5::write_dataset<std::int32_t>(file.get(), "labels", std::vector<hsize_t>{n}, y.data());
  }
  write(dir + "/short_labels.h5", {n, d}, X, {n - 1}, y);
  write<float, float>(dir + "/float_labels.h5", {n, d}, X, {n}, std::vector<float>(kRows, 1.0f));
  write(dir + "/no_num_classes.h5", {n, d}, X, {n}, y, -1);
  auto big = y;
  big[17] = 7;
  write(dir + "/label_too_big.h5", {n, d}, X, {n}, big);
  auto negative = y;
  negative[5] = -1;
  write(dir + "/label_negative.h5", {n, d}, X, {n}, negative);
  auto nan = X;
  nan[std::size_t(23) * kFeatures + 2] = std::numeric_limits<float>::quiet_NaN();
  write(dir + "/nan_feature.h5", {n, d}, nan, {n}, y);
  auto inf = X;
  inf[std::size_t(31) * kFeatures] = std::numeric_limits<float>::infinity();
  write(dir + "/inf_feature.h5", {n, d}, inf, {n}, y);
  write<float, std::int32_t>(dir + "/empty.h5", {0, d}, {}, {0}, {});
  write<float, std::int32_t>(dir + "/no_answers.h5", {n, d}, X, {}, {});
  write<float, std::int32_t>(dir + "/one_row.h5", {1, d}, std::vector<float>(X.begin(), X.begin() + kFeatures), {1},
                             {0});
  {
    const h5::File file = h5::create(dir + "/no_features.h5");
    h5::write_dataset<std::int32_t>(file.get(), "labels", std::vector<hsize_t>{n}, y.data());
  }

  // Malformed attributes: each must hold one value of its class, in range.
  const auto labelled = [&](const std::string& name, auto write_attribute) {
    const std::string path = dir + "/" + name + ".h5";
    write_dataset_file(path, kRows, kFeatures, X.data(), y.data(), kClasses, nullptr, 0);
    write_attribute(path);
  };
  labelled("num_classes_array", [](const std::string& p) {
    replace_attribute(p, "labels", "num_classes", [](hid_t o) { write_int_array(o, "num_classes", {3, 3}); });
  });
  labelled("num_classes_string", [](const std::string& p) {
    replace_attribute(p, "labels", "num_classes", [](hid_t o) { h5::write_attribute(o, "num_classes", std::string("3")); });
  });
  labelled("num_classes_float", [](const std::string& p) {
    replace_attribute(p, "labels", "num_classes", [](hid_t o) { h5::write_attribute<double>(o, "num_classes", 3.7); });
  });
  labelled("num_classes_huge", [](const std::string& p) {
    replace_attribute(p, "labels", "num_classes",
                      [](hid_t o) { h5::write_attribute<std::int64_t>(o, "num_classes", (1LL << 32) + 3); });
  });
  labelled("num_classes_zero", [](const std::string& p) {
    replace_attribute(p, "labels", "num_classes", [](hid_t o) { h5::write_attribute<std::int64_t>(o, "num_classes", 0); });
  });
  labelled("format_version_array", [](const std::string& p) {
    replace_attribute(p, "/", "format_version", [](hid_t o) { write_int_array(o, "format_version", {1, 1}); });
  });
  {
    const std::vector<std::uint8_t> bytes(X.size(), 7);
    const std::string path = dir + "/scale_nan.h5";
    write_dataset_file_u8(path, kRows, kFeatures, bytes.data(), 1.0 / 255, 0, y.data(), kClasses);
    replace_attribute(path, "features", "scale", [](hid_t o) {
      h5::write_attribute<double>(o, "scale", std::numeric_limits<double>::quiet_NaN());
    });
  }

  {
    const std::vector<std::uint8_t> bytes(X.size(), 200);
    const std::string path = dir + "/u8_unscaled.h5";
    write_dataset_file_u8(path, kRows, kFeatures, bytes.data(), 1.0 / 255, 0, y.data(), kClasses);
    for (const char* name : {"scale", "offset"})
      replace_attribute(path, "features", name, [](hid_t) {});  // removed, not replaced
  }

  {  // a group where /features should be
    const h5::File file = h5::create(dir + "/features_group.h5");
    h5::create_group(file.get(), "features");
    h5::write_dataset<std::int32_t>(file.get(), "labels", std::vector<hsize_t>{n}, y.data());
  }
  {  // a deflated chunk of /features overwritten in its middle
    // large enough for several chunks: the middle one is damaged, the first
    // and last rows (which every rank compares) are not
    const std::string path = dir + "/corrupt_chunk.h5";
    constexpr int kBigRows = 200000;
    std::vector<float> many(std::size_t(kBigRows) * kFeatures);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = float(std::sin(0.001 * double(i)));
    std::vector<std::int32_t> big_labels(kBigRows);
    for (int i = 0; i < kBigRows; ++i) big_labels[std::size_t(i)] = i % kClasses;
    write_dataset_file(path, kBigRows, kFeatures, many.data(), big_labels.data(), kClasses, nullptr, 0);
    haddr_t address = 0;
    hsize_t size = 0;
    {
      const h5::File file = h5::open_read(path);
      const h5::Dataset set = h5::open_dataset(file.get(), "features");
      hsize_t offset[2];
      unsigned mask = 0;
      const h5::Dataspace space(h5::check(H5Dget_space(set.get()), "H5Dget_space"));
      hsize_t chunks = 0;
      h5::check(H5Dget_num_chunks(set.get(), space.get(), &chunks), "H5Dget_num_chunks");
      if (chunks < 3) throw std::runtime_error("corrupt_chunk.h5 has " + std::to_string(chunks) + " chunks; expected 3 or more");
      h5::check(H5Dget_chunk_info(set.get(), space.get(), chunks / 2, offset, &mask, &address, &size), "H5Dget_chunk_info");
    }
    std::FILE* raw = std::fopen(path.c_str(), "r+b");
    std::fseek(raw, long(address + size / 2), SEEK_SET);
    const char garbage[8] = {'\x13', '\x37', '\x00', '\xff', '\x42', '\x24', '\x99', '\x01'};
    std::fwrite(garbage, 1, sizeof garbage, raw);
    std::fclose(raw);
  }

  // Read back: the good set and the row-level cases pass the metadata checks
  // with the intended shape; each metadata case is refused for its own reason.
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) std::printf("FAIL: %s\n", what.c_str());
    failures += ok ? 0 : 1;
  };
  for (const char* name : {"good", "label_too_big", "label_negative", "nan_feature", "inf_feature"}) {
    const auto info = inspect_dataset_file(dir + "/" + name + ".h5", MPI_COMM_NULL);
    check(info.shape.rows == kRows && info.shape.features == kFeatures && info.shape.num_classes == kClasses,
          std::string(name) + ".h5 reads back as " + std::to_string(kRows) + " x " + std::to_string(kFeatures));
  }
  const std::pair<const char*, const char*> refused[] = {
      {"features_3d", "expected 2 dimensions"}, {"features_int64", "has type int64"},
      {"short_labels", "has 39"},               {"float_labels", "expected an integer type"},
      {"no_num_classes", "no num_classes"},     {"empty", "has 0 rows"},
      {"no_answers", "neither /labels"},        {"no_features", "no dataset /features"},
      {"num_classes_array", "holds 2 values"},  {"num_classes_string", "is a string"},
      {"num_classes_float", "is a floating-point number"}, {"num_classes_huge", "is 4294967299"},
      {"num_classes_zero", "is 0"},             {"format_version_array", "holds 2 values"},
      {"scale_nan", "scale of /features is nan"}};
  for (const auto& [name, reason] : refused) {
    std::string message;
    try {
      inspect_dataset_file(dir + "/" + name + ".h5", MPI_COMM_NULL);
    } catch (const InputError& e) {
      message = e.what();
    }
    check(message.find(reason) != std::string::npos,
          std::string(name) + ".h5 is refused with '" + reason + "', got '" + message + "'");
  }
  const auto one = inspect_dataset_file(dir + "/one_row.h5", MPI_COMM_NULL);
  check(one.shape.rows == 1, "one_row.h5 holds one row");
  if (failures) return 1;
  std::printf("wrote and checked the test files in %s\n", dir.c_str());
  return 0;
}
