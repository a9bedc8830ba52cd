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
#include <tuple>
#include <vector>

#include "dmlp/core/checksum.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/io/checkpoint.hpp"
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

  // Forged copies: attributes changed and every checksum recomputed, as a
  // careful forger (or a buggy tool) would leave them. Each must still be refused.
  const auto forged = [&](const char* name, auto forge) {
    const std::string path = dir + "/ck_forged_" + name + ".h5";
    std::filesystem::copy_file(good, path, std::filesystem::copy_options::overwrite_existing);
    forge(path);
    const std::uint64_t state = computed_state_checksum(path);
    replace_attribute(path, "/", "state_fnv1a64", [&](hid_t o) { h5::write_attribute<std::uint64_t>(o, "state_fnv1a64", state); });
  };
  const auto set_int = [](const std::string& path, const char* name, std::int64_t value) {
    replace_attribute(path, "/", name, [&](hid_t o) { h5::write_attribute<std::int64_t>(o, name, value); });
  };
  // the generator state, the position and the seed it repeats
  const auto rewrite_rng = [&](const std::string& path) {
    const CheckpointMeta m = [&] {
      const h5::File f = h5::open_read(path);
      CheckpointMeta meta;
      meta.seed = h5::read_attribute<std::uint64_t>(f.get(), "seed");
      meta.position.epoch = h5::read_attribute<std::int64_t>(f.get(), "epoch");
      meta.position.step_in_epoch = h5::read_attribute<std::int64_t>(f.get(), "step_in_epoch");
      return meta;
    }();
    const std::string rng = nlohmann::json{{"generator", "philox4x32-10"}, {"seed", m.seed}, {"epoch", m.position.epoch},
                                           {"step_in_epoch", m.position.step_in_epoch}}.dump();
    replace_attribute(path, "/", "rng", [&](hid_t o) { h5::write_attribute(o, "rng", rng); });
  };
  forged("rng", [&](const std::string& p) {
    replace_attribute(p, "/", "rng", [](hid_t o) { h5::write_attribute(o, "rng", std::string("garbage")); });
  });
  forged("seed", [&](const std::string& p) {
    replace_attribute(p, "/", "seed", [](hid_t o) { h5::write_attribute<std::uint64_t>(o, "seed", 12345); });
    rewrite_rng(p);
  });
  forged("step_in_epoch", [&](const std::string& p) {  // past the end of its epoch
    const std::int64_t now = h5::read_attribute<std::int64_t>(h5::open_read(p).get(), "step_in_epoch");
    set_int(p, "step_in_epoch", now + 1);
    rewrite_rng(p);
  });
  forged("far_step", [&](const std::string& p) {  // every counter consistent, at step 2^40
    const std::int64_t step = std::int64_t(1) << 40, per_step = 40;  // good.h5's 40 rows, one batch an epoch
    set_int(p, "step", step);
    set_int(p, "optimizer_steps", step);
    set_int(p, "epoch", step - 1);
    set_int(p, "step_in_epoch", 1);
    set_int(p, "samples", step * per_step);
    rewrite_rng(p);
  });
  {  // an array that is an external link to another file ("fifo" beside it, made by the test)
    const std::string path = dir + "/ck_external_link.h5";
    std::filesystem::copy_file(good, path, std::filesystem::copy_options::overwrite_existing);
    const h5::File f(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen"));
    h5::check(H5Ldelete(f.get(), "parameters/layer1/W", H5P_DEFAULT), "H5Ldelete");
    h5::check(H5Lcreate_external("fifo", "parameters/layer1/W", f.get(), "parameters/layer1/W", H5P_DEFAULT, H5P_DEFAULT),
              "H5Lcreate_external");
  }
  {  // format 1 by its version (which keeps no state checksum), a later config inside
    const std::string path = dir + "/ck_forged_format1.h5";
    std::filesystem::copy_file(good, path, std::filesystem::copy_options::overwrite_existing);
    const h5::File f(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen"));
    for (const char* later : {"rng", "optimizer", "optimizer_steps", "data", "state_fnv1a64"}) H5Adelete(f.get(), later);
    h5::check(H5Adelete(f.get(), "format_version"), "H5Adelete");
    h5::write_attribute<std::int64_t>(f.get(), "format_version", 1);
  }
  std::printf("wrote damaged copies of %s in %s\n", good.c_str(), dir.c_str());
  return 0;
}

// An AdamW checkpoint with one negative second moment, its checksums recomputed.
int forge_negative_second_moment(const std::string& dir, const std::string& good) {
  const std::string path = dir + "/ck_forged_exp_avg_sq.h5";
  std::filesystem::copy_file(good, path, std::filesystem::copy_options::overwrite_existing);
  const CheckpointMeta meta = read_checkpoint_meta(path);
  const ParameterLayout layout(meta.spec);
  std::vector<float> flat;
  {
    const h5::File f(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen"));
    for (int k = 0; k < int(layout.layers().size()); ++k)
      for (const char* what : {"W", "b"}) {
        const std::string name = "optimizer/exp_avg_sq/layer" + std::to_string(k + 1) + "/" + what;
        const h5::Dataset set = h5::open_dataset(f.get(), name);
        const auto dims = h5::shape(set.get());
        const std::size_t count = std::size_t(dims[0]) * std::size_t(dims.size() == 2 ? dims[1] : 1);
        std::vector<float> values(count);
        h5::read_rows(set.get(), 0, dims[0], values.data());
        if (k == 0 && what[0] == 'W') {
          values[0] = -1.0f;
          h5::check(H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "H5Dwrite");
        }
        flat.insert(flat.end(), values.begin(), values.end());
      }
  }
  const std::uint64_t sum = checksum<float>(flat);
  replace_attribute(path, "/", "exp_avg_sq_fnv1a64", [&](hid_t o) { h5::write_attribute<std::uint64_t>(o, "exp_avg_sq_fnv1a64", sum); });
  const std::uint64_t state = computed_state_checksum(path);
  replace_attribute(path, "/", "state_fnv1a64", [&](hid_t o) { h5::write_attribute<std::uint64_t>(o, "state_fnv1a64", state); });
  std::printf("wrote %s\n", path.c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s DIR [CHECKPOINT | --adamw CHECKPOINT]\n", argv[0]);
    return 2;
  }
  h5::silence_automatic_error_printing();
  const std::string dir = argv[1];
  if (argc == 4 && std::string(argv[2]) == "--adamw") return forge_negative_second_moment(dir, argv[3]);
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

  {  // A virtual dataset (HDF5's VDS) whose rows come from two source files, and
     // one whose second source is missing (HDF5 would read its rows as zeros).
    const hsize_t half = n / 2;
    for (int part = 0; part < 2; ++part) {
      const std::vector<float> Xp(X.begin() + std::ptrdiff_t(part * half * d), X.begin() + std::ptrdiff_t((part + 1) * half * d));
      const std::vector<std::int32_t> yp(y.begin() + std::ptrdiff_t(part * half), y.begin() + std::ptrdiff_t((part + 1) * half));
      write(dir + "/vds_part" + std::to_string(part) + ".h5", {half, d}, Xp, {half}, yp);
    }
    for (const char* name : {"vds", "vds_missing"}) {
      const h5::File file = h5::create(dir + "/" + name + ".h5");
      for (const auto& [set, width, type] : {std::tuple{"features", d, H5T_NATIVE_FLOAT}, std::tuple{"labels", hsize_t(0), H5T_NATIVE_INT32}}) {
        const hsize_t dims[2] = {n, width}, part_dims[2] = {half, width};
        const int rank = width ? 2 : 1;
        const h5::Dataspace whole(h5::check(H5Screate_simple(rank, dims, nullptr), "H5Screate_simple"));
        const h5::PropertyList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
        for (int part = 0; part < 2; ++part) {
          const h5::Dataspace source(h5::check(H5Screate_simple(rank, part_dims, nullptr), "H5Screate_simple"));
          const h5::Dataspace target(h5::check(H5Screate_simple(rank, dims, nullptr), "H5Screate_simple"));
          const hsize_t start[2] = {hsize_t(part) * half, 0};
          h5::check(H5Sselect_hyperslab(target.get(), H5S_SELECT_SET, start, nullptr, part_dims, nullptr), "H5Sselect_hyperslab");
          const std::string source_file = std::string(name) == "vds_missing" && part == 1
                                              ? "vds_gone.h5"
                                              : "vds_part" + std::to_string(part) + ".h5";
          h5::check(H5Pset_virtual(dcpl.get(), target.get(), source_file.c_str(), set, source.get()), "H5Pset_virtual");
        }
        const h5::Dataset vds(h5::check(H5Dcreate2(file.get(), set, type, whole.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                        "H5Dcreate2"));
        if (std::string(set) == "labels") h5::write_attribute<std::int64_t>(vds.get(), "num_classes", kClasses);
      }
    }
  }
  {  // Files read through HDF5's indirections, each to a source that would hang
     // or read as zeros: the test makes a FIFO named "fifo" beside them.
    const auto vds_from = [&](const std::string& name, const std::string& second) {
      const h5::File file = h5::create(dir + "/" + name);
      const hsize_t half = n / 2, dims[2] = {n, d}, part_dims[2] = {half, d};
      const h5::Dataspace whole(h5::check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
      const h5::PropertyList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
      for (int part = 0; part < 2; ++part) {
        const h5::Dataspace source(h5::check(H5Screate_simple(2, part_dims, nullptr), "H5Screate_simple"));
        const h5::Dataspace target(h5::check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
        const hsize_t start[2] = {hsize_t(part) * half, 0};
        h5::check(H5Sselect_hyperslab(target.get(), H5S_SELECT_SET, start, nullptr, part_dims, nullptr), "H5Sselect_hyperslab");
        const std::string from = part == 0 ? "vds_part0.h5" : second;
        h5::check(H5Pset_virtual(dcpl.get(), target.get(), from.c_str(), "features", source.get()), "H5Pset_virtual");
      }
      const h5::Dataset vds(h5::check(H5Dcreate2(file.get(), "features", H5T_NATIVE_FLOAT, whole.get(), H5P_DEFAULT,
                                                 dcpl.get(), H5P_DEFAULT), "H5Dcreate2"));
      h5::write_dataset<std::int32_t>(file.get(), "labels", std::vector<hsize_t>{n}, y.data());
      const h5::Dataset labels = h5::open_dataset(file.get(), "labels");
      h5::write_attribute<std::int64_t>(labels.get(), "num_classes", kClasses);
    };
    vds_from("vds_fifo.h5", "fifo");
    std::filesystem::copy_file(dir + "/vds_part1.h5", dir + "/vds_truncated_part.h5",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(dir + "/vds_truncated_part.h5", 1000);  // a source still being copied
    vds_from("vds_truncated.h5", "vds_truncated_part.h5");
    {  // /features kept in an external raw file
      const h5::File file = h5::create(dir + "/external_fifo.h5");
      const hsize_t dims[2] = {n, d};
      const h5::Dataspace space(h5::check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
      const h5::PropertyList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
      h5::check(H5Pset_external(dcpl.get(), "fifo", 0, n * d * sizeof(float)), "H5Pset_external");
      const h5::Dataset set(h5::check(H5Dcreate2(file.get(), "features", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT,
                                                 dcpl.get(), H5P_DEFAULT), "H5Dcreate2"));
      h5::write_dataset<std::int32_t>(file.get(), "labels", std::vector<hsize_t>{n}, y.data());
      const h5::Dataset labels = h5::open_dataset(file.get(), "labels");
      h5::write_attribute<std::int64_t>(labels.get(), "num_classes", kClasses);
    }
    for (const auto& [name, target] : {std::pair{"link_fifo.h5", "fifo"}, std::pair{"link_good.h5", "good.h5"}}) {
      const h5::File file = h5::create(dir + "/" + name);  // /features and /labels: external links
      for (const char* set : {"features", "labels"})
        h5::check(H5Lcreate_external(target, set, file.get(), set, H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_external");
    }
  }
  {  // 10^12 rows of one feature, chunked and never written: a few KiB on disk
    const h5::File file = h5::create(dir + "/huge_sparse.h5");
    for (const auto& [set, type] : {std::pair{"features", H5T_NATIVE_FLOAT}, std::pair{"labels", H5T_NATIVE_INT32}}) {
      const bool features = std::string(set) == "features";
      const hsize_t dims[2] = {1000000000000ull, 1}, chunk[2] = {1 << 16, 1};
      const h5::Dataspace space(h5::check(H5Screate_simple(features ? 2 : 1, dims, nullptr), "H5Screate_simple"));
      const h5::PropertyList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
      h5::check(H5Pset_chunk(dcpl.get(), features ? 2 : 1, chunk), "H5Pset_chunk");
      const h5::Dataset created(h5::check(H5Dcreate2(file.get(), set, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                          "H5Dcreate2"));
      if (!features) h5::write_attribute<std::int64_t>(created.get(), "num_classes", 2);
    }
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
