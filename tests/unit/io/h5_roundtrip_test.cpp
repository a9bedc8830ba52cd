// dmlp::h5 keeps data bit for bit: every element type that h5::memory_type<T>
// supports (float, double, int32, int64, uint64, uint8; there is no int8)
// round-trips whole and by row ranges, 1-D and 2-D, contiguous and compressed,
// at the type's extremes; scalar and string attributes come back as written;
// and HDF5 converts on read where the data set readers rely on it.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dmlp/io/h5.hpp"
#include "io_fixtures.hpp"

using namespace dmlp;
using Catch::Matchers::StartsWith;
using test::bit_patterns;
using test::TempDir;

namespace {

template <class F>
std::string h5_error(F&& action) {
  return test::thrown_message<h5::H5Error>(std::forward<F>(action));
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, double>) return "float64";
  if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  if constexpr (std::is_same_v<T, std::uint64_t>) return "uint64";
  if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
}

// A NaN with its sign bit set and a payload: only a bitwise copy keeps it.
template <class T>
T signed_nan_with_payload() {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  Bits bits = 0;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::memcpy(&bits, &nan, sizeof bits);
  bits |= Bits(1) << (8 * sizeof(T) - 1) | Bits(0x2a);
  T value;
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

// The type's extremes, and for floats the values that only compare equal
// bitwise: -0.0, NaNs, denormals.
template <class T>
std::vector<T> special_values() {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>)
    return {L::lowest(),     L::min(),        L::max(),          T(0),           T(1),
            L::denorm_min(), T(-L::denorm_min()), T(-0.0),       L::epsilon(),   T(-L::min()),
            T(L::min() - L::denorm_min()),    L::infinity(),     -L::infinity(), L::quiet_NaN(),
            signed_nan_with_payload<T>(),     T(0.1),            T(-1) / T(3)};
  else
    return {L::lowest(), L::min(), L::max(), T(0), T(1), T(L::max() - 1), T(L::lowest() + 1), T(L::max() / 2)};
}

// special_values() padded with ordinary values to `n`.
template <class T>
std::vector<T> extreme_values(std::size_t n) {
  std::vector<T> v = special_values<T>();
  REQUIRE(v.size() <= n);
  for (std::size_t i = v.size(); i < n; ++i) v.push_back(T(7 * i + 3));
  return v;
}

// The rows [first, first + count) of a row-major (rows, cols) array.
template <class T>
std::vector<T> rows_of(const std::vector<T>& all, std::size_t cols, std::size_t first, std::size_t count) {
  return {all.begin() + std::ptrdiff_t(first * cols), all.begin() + std::ptrdiff_t((first + count) * cols)};
}

template <class T>
std::vector<T> read_all(hid_t set) {
  hsize_t elements = 1;
  for (hsize_t d : h5::shape(set)) elements *= d;
  std::vector<T> out(elements);
  h5::read_rows(set, 0, h5::shape(set)[0], out.data());
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("h5: datasets of every element type round-trip bit for bit", "[io][h5]", float, double,
                   std::int32_t, std::int64_t, std::uint64_t, std::uint8_t) {
  using T = TestType;
  const int level = GENERATE(0, 4);
  INFO(type_name<T>() << ", compression " << level);
  const TempDir dir;
  const std::string path = dir.file("data.h5");
  constexpr std::size_t kRows = 7, kCols = 3;
  const std::vector<T> values = extreme_values<T>(kRows * kCols);
  {
    const h5::File file = h5::create(path);
    h5::write_dataset<T>(file.get(), "one", std::vector<hsize_t>{kRows * kCols}, values.data(), level);
    h5::write_dataset<T>(file.get(), "two", std::vector<hsize_t>{kRows, kCols}, values.data(), level);
    h5::write_dataset<T>(file.get(), "none", std::vector<hsize_t>{0, kCols}, values.data(), level);
  }
  const h5::File file = h5::open_read(path);
  const h5::Dataset one = h5::open_dataset(file.get(), "one"), two = h5::open_dataset(file.get(), "two");

  SECTION("shape and element type") {
    REQUIRE(h5::shape(one.get()) == std::vector<hsize_t>{kRows * kCols});
    REQUIRE(h5::shape(two.get()) == std::vector<hsize_t>{kRows, kCols});
    REQUIRE(h5::shape(h5::open_dataset(file.get(), "none").get()) == std::vector<hsize_t>{0, kCols});
    const h5::ElementType t = h5::element_type(two.get());
    CHECK(t.kind == (std::is_floating_point_v<T> ? h5::ElementKind::Float : h5::ElementKind::Integer));
    CHECK(t.bytes == sizeof(T));
    CHECK(t.is_signed == (std::is_integral_v<T> && std::is_signed_v<T>));
    REQUIRE(t.describe() == type_name<T>());
  }

  SECTION("whole datasets") {
    REQUIRE(bit_patterns(read_all<T>(one.get())) == bit_patterns(values));
    REQUIRE(bit_patterns(read_all<T>(two.get())) == bit_patterns(values));
  }

  SECTION("row ranges, and no rows") {
    const std::size_t first = GENERATE(0u, 2u, 6u);
    const std::size_t count = std::min<std::size_t>(3, kRows - first);
    std::vector<T> got(count * kCols);
    h5::read_rows(two.get(), first, count, got.data());
    REQUIRE(bit_patterns(got) == bit_patterns(rows_of(values, kCols, first, count)));
    std::vector<T> got1(count);
    h5::read_rows(one.get(), first, count, got1.data());
    REQUIRE(bit_patterns(got1) == bit_patterns(rows_of(values, 1, first, count)));

    const std::vector<T> sentinel(kCols, T(9));
    std::vector<T> untouched = sentinel;
    h5::read_rows(two.get(), first, 0, untouched.data());
    REQUIRE(untouched == sentinel);
  }
}

TEMPLATE_TEST_CASE("h5: write_rows fills a created dataset piece by piece", "[io][h5]", float, double, std::int32_t,
                   std::int64_t, std::uint64_t, std::uint8_t) {
  using T = TestType;
  const TempDir dir;
  const std::string path = dir.file("rows.h5");
  constexpr std::size_t kRows = 6, kCols = 4;
  const std::vector<T> values = extreme_values<T>(kRows * kCols);
  {
    const h5::File file = h5::create(path);
    const h5::Dataset two = h5::create_dataset(file.get(), "two", h5::memory_type<T>(),
                                               std::vector<hsize_t>{kRows, kCols});
    // Out of order; then an empty write, which must change nothing.
    h5::write_rows(two.get(), 4, 2, values.data() + 4 * kCols, false);
    h5::write_rows(two.get(), 0, 4, values.data(), false);
    h5::write_rows(two.get(), 1, 0, values.data() + 3 * kCols, false);
    const h5::Dataset one = h5::create_dataset(file.get(), "one", h5::memory_type<T>(), std::vector<hsize_t>{kRows});
    h5::write_rows(one.get(), 1, kRows - 1, values.data() + 1, false);
    h5::write_rows(one.get(), 0, 1, values.data(), false);
  }
  const h5::File file = h5::open_read(path);
  REQUIRE(bit_patterns(read_all<T>(h5::open_dataset(file.get(), "two").get())) == bit_patterns(values));
  REQUIRE(bit_patterns(read_all<T>(h5::open_dataset(file.get(), "one").get())) ==
          bit_patterns(rows_of(values, 1, 0, kRows)));
}

TEMPLATE_TEST_CASE("h5: scalar attributes of every element type round-trip bit for bit", "[io][h5]", float, double,
                   std::int32_t, std::int64_t, std::uint64_t, std::uint8_t) {
  using T = TestType;
  const TempDir dir;
  const std::string path = dir.file("attributes.h5");
  const std::vector<T> values = special_values<T>();
  {
    const h5::File file = h5::create(path);
    h5::write_dataset<T>(file.get(), "set", std::vector<hsize_t>{1}, values.data());
    const h5::Dataset set = h5::open_dataset(file.get(), "set");
    for (std::size_t i = 0; i < values.size(); ++i) {
      h5::write_attribute<T>(file.get(), "a" + std::to_string(i), values[i]);
      h5::write_attribute<T>(set.get(), "a" + std::to_string(i), values[i]);
    }
  }
  const h5::File file = h5::open_read(path);
  const h5::Dataset set = h5::open_dataset(file.get(), "set");
  for (const hid_t object : {file.get(), set.get()}) {
    std::vector<T> got;
    for (std::size_t i = 0; i < values.size(); ++i)
      got.push_back(h5::read_attribute<T>(object, "a" + std::to_string(i)));
    REQUIRE(bit_patterns(got) == bit_patterns(values));
  }
}

TEST_CASE("h5: string attributes, and attribute errors", "[io][h5]") {
  const TempDir dir;
  const std::string path = dir.file("strings.h5");
  const std::string json = R"({"layers":[784,512,256,10],"lr":0.05,"name":"naïve — ✓"})";
  {
    const h5::File file = h5::create(path);
    h5::write_attribute(file.get(), "format", std::string("checkpoint"));
    h5::write_attribute(file.get(), "empty", std::string());
    h5::write_attribute(file.get(), "json", json);
    h5::write_attribute(file.get(), "one", std::string("x"));
    h5::write_attribute<std::int64_t>(file.get(), "number", 2);
    // Variable-length, as h5py writes strings.
    const h5::Datatype vlen(h5::check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
    h5::check(H5Tset_size(vlen.get(), H5T_VARIABLE), "H5Tset_size");
    const h5::Dataspace scalar(h5::check(H5Screate(H5S_SCALAR), "H5Screate"));
    const h5::Attribute attr(
        h5::check(H5Acreate2(file.get(), "vlen", vlen.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
    const char* text = "written by another tool";
    h5::check(H5Awrite(attr.get(), vlen.get(), &text), "H5Awrite");

    REQUIRE_THAT(h5_error([&] { h5::write_attribute(file.get(), "format", std::string("again")); }),
                 StartsWith("cannot create attribute format: "));
  }
  const h5::File file = h5::open_read(path);
  const hid_t f = file.get();
  REQUIRE(h5::read_string_attribute(f, "format") == "checkpoint");
  REQUIRE(h5::read_string_attribute(f, "empty").empty());
  REQUIRE(h5::read_string_attribute(f, "json") == json);
  REQUIRE(h5::read_string_attribute(f, "one") == "x");
  REQUIRE(h5::read_string_attribute(f, "vlen") == "written by another tool");
  REQUIRE(h5::has_attribute(f, "format"));
  REQUIRE_FALSE(h5::has_attribute(f, "absent"));

  REQUIRE(h5_error([&] { h5::read_string_attribute(f, "number"); }) == "attribute number is not a string; expected a string");
  REQUIRE_THAT(h5_error([&] { h5::read_attribute<std::int64_t>(f, "absent"); }),
               StartsWith("cannot open attribute absent: "));
  // A failed call leaves nothing on HDF5's error stack for the next one to report.
  REQUIRE(h5::read_attribute<std::int64_t>(f, "number") == 2);
}

TEST_CASE("h5: reads convert stored types as the data set readers rely on", "[io][h5]") {
  const TempDir dir;
  const std::string path = dir.file("convert.h5");
  std::vector<std::uint8_t> bytes(256);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::uint8_t(255 - i);
  const std::vector<double> doubles{0.1, -2.5, 1e-30, 3.0e38, -0.0};
  const std::vector<float> floats{0.1f, std::numeric_limits<float>::denorm_min(), -0.0f, 16777217.0f};
  const std::vector<std::int64_t> wide_labels{0, 9, 2147483647, -5};
  {
    const h5::File file = h5::create(path);
    h5::write_dataset<std::uint8_t>(file.get(), "u8", std::vector<hsize_t>{64, 4}, bytes.data(), 4);
    h5::write_dataset<double>(file.get(), "f64", std::vector<hsize_t>{doubles.size()}, doubles.data());
    h5::write_dataset<float>(file.get(), "f32", std::vector<hsize_t>{floats.size()}, floats.data());
    h5::write_dataset<std::int64_t>(file.get(), "i64", std::vector<hsize_t>{wide_labels.size()}, wide_labels.data());
    h5::write_dataset<std::uint8_t>(file.get(), "u8labels", std::vector<hsize_t>{3}, bytes.data());
  }
  const h5::File file = h5::open_read(path);
  const hid_t f = file.get();

  SECTION("uint8 features read as float and as double: every byte value exactly") {
    const h5::Dataset set = h5::open_dataset(f, "u8");
    std::vector<float> as_float(bytes.size());
    h5::read_rows(set.get(), 0, 64, as_float.data());
    std::vector<double> as_double(bytes.size() - 8);
    h5::read_rows(set.get(), 2, 62, as_double.data());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      INFO("byte " << i);
      REQUIRE(as_float[i] == float(bytes[i]));
      if (i >= 8) REQUIRE(as_double[i - 8] == double(bytes[i]));
    }
  }

  SECTION("float64 read as float32 rounds to nearest; float32 read as float64 is exact") {
    std::vector<float> narrowed(doubles.size());
    h5::read_rows(h5::open_dataset(f, "f64").get(), 0, doubles.size(), narrowed.data());
    std::vector<float> expected;
    for (double v : doubles) expected.push_back(float(v));
    REQUIRE(bit_patterns(narrowed) == bit_patterns(expected));

    std::vector<double> widened(floats.size());
    h5::read_rows(h5::open_dataset(f, "f32").get(), 0, floats.size(), widened.data());
    std::vector<double> exact;
    for (float v : floats) exact.push_back(double(v));
    REQUIRE(bit_patterns(widened) == bit_patterns(exact));
  }

  SECTION("int64 and uint8 labels read as int32") {
    std::vector<std::int32_t> labels(wide_labels.size());
    h5::read_rows(h5::open_dataset(f, "i64").get(), 0, wide_labels.size(), labels.data());
    REQUIRE(labels == std::vector<std::int32_t>{0, 9, 2147483647, -5});
    std::vector<std::int32_t> small(3);
    h5::read_rows(h5::open_dataset(f, "u8labels").get(), 0, 3, small.data());
    REQUIRE(small == std::vector<std::int32_t>{255, 254, 253});
  }
}

TEST_CASE("h5: files, links and non-numeric datasets", "[io][h5]") {
  const TempDir dir;
  const std::string path = dir.file("links.h5");
  {
    const h5::File file = h5::create(path);
    h5::create_group(file.get(), "a");
    h5::create_group(file.get(), "a/b");
    const std::int32_t one = 1;
    h5::write_dataset<std::int32_t>(file.get(), "a/b/c", std::vector<hsize_t>{1}, &one);
    const h5::Datatype text(h5::check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
    h5::check(H5Tset_size(text.get(), 8), "H5Tset_size");
    h5::create_dataset(file.get(), "names", text.get(), std::vector<hsize_t>{2});
  }
  REQUIRE(h5::is_hdf5(path));
  REQUIRE_FALSE(h5::is_hdf5(dir.write("text.h5", "not HDF5 at all")));
  REQUIRE_FALSE(h5::is_hdf5(dir.file("absent.h5")));
  REQUIRE_THAT(h5_error([&] { h5::open_read(dir.file("absent.h5")); }),
               StartsWith("cannot open " + dir.file("absent.h5") + ": "));

  const h5::File file = h5::open_read(path);
  for (const char* name : {"a", "a/b", "/a/b", "a/b/c", "/a/b/c"}) {
    INFO(name);
    REQUIRE(h5::exists(file.get(), name));
  }
  for (const char* name : {"b", "a/c", "a/b/c/d", "x/y/z", "a/x/c"}) {
    INFO(name);
    REQUIRE_FALSE(h5::exists(file.get(), name));
  }
  const h5::ElementType t = h5::element_type(h5::open_dataset(file.get(), "names").get());
  CHECK(t.kind == h5::ElementKind::Other);
  REQUIRE(t.describe() == "a non-numeric type");
  REQUIRE_THAT(h5_error([&] { h5::open_dataset(file.get(), "a/missing"); }),
               StartsWith("cannot open dataset /a/missing: "));
  REQUIRE(h5_error([&] { h5::open_dataset(file.get(), "a"); }) == "/a is a group; expected a dataset");
}
