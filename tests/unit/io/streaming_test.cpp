// StreamingDataset gathers exactly what an InMemoryDataset holding the same
// arrays gathers (features, labels and targets; float and double): for
// classification, regression and uint8 sets; stored contiguously, in the
// writer's compressed chunks, and in small chunks that leave a partial block
// at the end; for every read-ahead window; for rows announced permuted, sparse
// and dense, and for rows never announced. Bad rows are refused as they arrive.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <ostream>
#include <utility>
#include <span>
#include <string>
#include <vector>

#include "dmlp/data/dataset.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/h5.hpp"
#include "io_fixtures.hpp"

using namespace dmlp;
using Catch::Matchers::Equals;
using test::input_error_message;
using test::TempDir;

namespace {

enum class Kind { Classification, Regression, Bytes };
// Contiguous and Compressed: as write_dataset_file stores them (compression 0
// and 4). SmallChunks: 4-row deflated chunks; RawChunks: 16-row chunks with no
// filter, which the reader may read in part.
enum class Layout { Contiguous, Compressed, SmallChunks, RawChunks };

constexpr int kClasses = 5, kTargets = 2;
constexpr double kScale = 1.0 / 255, kOffset = -0.5;

// The arrays of a set, as written.
struct Arrays {
  DataShape shape;
  std::vector<float> X, targets;
  std::vector<std::uint8_t> bytes;  // Kind::Bytes: the stored features
  std::vector<std::int32_t> labels;
};

Arrays make_arrays(Kind kind, std::int64_t rows, int features) {
  Arrays a;
  a.shape.rows = rows;
  a.shape.features = features;
  a.shape.task = kind == Kind::Regression ? TaskKind::Regression : TaskKind::Classification;
  a.shape.num_classes = kind == Kind::Regression ? 0 : kClasses;
  a.shape.targets = kind == Kind::Regression ? kTargets : 0;
  const std::size_t n = std::size_t(rows) * std::size_t(features);
  for (std::size_t i = 0; i < n; ++i) {
    // Exactly representable, and different from row to row.
    a.X.push_back(float((i * 2654435761u) % 100003) / 64.0f - 700.0f);
    a.bytes.push_back(std::uint8_t((i * 131 + i / std::size_t(features)) % 256));
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    if (kind == Kind::Regression)
      for (int j = 0; j < kTargets; ++j) a.targets.push_back(float(r) * 0.75f - float(j) * 3.5f + 0.125f);
    else
      a.labels.push_back(std::int32_t(r * 7 % kClasses));
  }
  return a;
}

// What the reader must deliver: the stored bytes scaled as the format says.
InMemoryDataset in_memory(Kind kind, const Arrays& a) {
  InMemoryDataset memory(a.shape, "in memory");
  if (kind == Kind::Bytes) {
    for (std::size_t i = 0; i < a.bytes.size(); ++i)
      memory.features()[i] = float(kScale) * float(a.bytes[i]) + float(kOffset);
  } else {
    std::copy(a.X.begin(), a.X.end(), memory.features().begin());
  }
  std::copy(a.labels.begin(), a.labels.end(), memory.labels().begin());
  std::copy(a.targets.begin(), a.targets.end(), memory.targets().begin());
  return memory;
}

// Features stored in chunks of `chunk_rows` (deflated or not), as another tool may write them.
void write_in_chunks(const std::string& path, Kind kind, const Arrays& a, hsize_t chunk_rows, bool deflate) {
  const h5::File file = h5::create(path);
  const hid_t f = file.get();
  const hsize_t dims[2] = {hsize_t(a.shape.rows), hsize_t(a.shape.features)};
  const hsize_t chunk[2] = {chunk_rows, dims[1]};
  const h5::PropertyList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  h5::check(H5Pset_chunk(dcpl.get(), 2, chunk), "H5Pset_chunk");
  if (deflate) h5::check(H5Pset_deflate(dcpl.get(), 1), "H5Pset_deflate");
  const h5::Dataspace space(h5::check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
  const hid_t type = kind == Kind::Bytes ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
  const h5::Dataset features(h5::check(
      H5Dcreate2(f, "features", type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), "H5Dcreate2"));
  if (kind == Kind::Bytes) {
    h5::write_rows(features.get(), 0, dims[0], a.bytes.data(), false);
    h5::write_attribute<double>(features.get(), "scale", kScale);
    h5::write_attribute<double>(features.get(), "offset", kOffset);
  } else {
    h5::write_rows(features.get(), 0, dims[0], a.X.data(), false);
  }
  if (kind == Kind::Regression) {
    h5::write_dataset<float>(f, "targets", std::vector<hsize_t>{dims[0], kTargets}, a.targets.data());
  } else {
    h5::write_dataset<std::int32_t>(f, "labels", std::vector<hsize_t>{dims[0]}, a.labels.data());
    h5::write_attribute<std::int64_t>(h5::open_dataset(f, "labels").get(), "num_classes", kClasses);
  }
  h5::write_attribute<std::int64_t>(f, "format_version", kDatasetFormatVersion);
}

void write_set(const std::string& path, Kind kind, Layout layout, const Arrays& a) {
  if (layout == Layout::SmallChunks || layout == Layout::RawChunks)
    return write_in_chunks(path, kind, a, layout == Layout::SmallChunks ? 4 : 16, layout == Layout::SmallChunks);
  DatasetWriteOptions options;
  options.compression_level = layout == Layout::Compressed ? 4 : 0;
  const auto rows = a.shape.rows;
  const int d = a.shape.features;
  if (kind == Kind::Bytes)
    write_dataset_file_u8(path, rows, d, a.bytes.data(), kScale, kOffset, a.labels.data(), kClasses, options);
  else if (kind == Kind::Regression)
    write_dataset_file(path, rows, d, a.X.data(), nullptr, 0, a.targets.data(), kTargets, options);
  else
    write_dataset_file(path, rows, d, a.X.data(), a.labels.data(), kClasses, nullptr, 0, options);
}

// Rows per storage chunk of /features; 0 when it is stored contiguously.
hsize_t chunk_rows(const std::string& path) {
  const h5::File file = h5::open_read(path);
  const h5::Dataset set = h5::open_dataset(file.get(), "features");
  const h5::PropertyList dcpl(h5::check(H5Dget_create_plist(set.get()), "H5Dget_create_plist"));
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return 0;
  hsize_t chunk[2] = {0, 0};
  h5::check(H5Pget_chunk(dcpl.get(), 2, chunk), "H5Pget_chunk");
  return chunk[0];
}

// The first index at which a and b differ bitwise, or -1 (a short message even for large arrays).
template <class T>
std::int64_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return std::int64_t(i);
  return -1;
}

template <class T>
void require_same_gather(const RowSource& streamed, const InMemoryDataset& memory,
                         std::span<const std::int64_t> rows) {
  const std::size_t n = rows.size(), d = std::size_t(memory.shape().features);
  const std::size_t k = std::size_t(memory.shape().targets);
  std::vector<T> X(n * d, T(-9)), X_ref(n * d, T(-7)), t(n * k, T(-9)), t_ref(n * k, T(-7));
  std::vector<std::int32_t> labels(n, -9), labels_ref(n, -7);
  streamed.gather(rows, X.data(), labels.data(), t.data());
  memory.gather(rows, X_ref.data(), labels_ref.data(), t_ref.data());
  REQUIRE(first_difference(X, X_ref) == -1);
  if (memory.shape().is_classification()) REQUIRE(labels == labels_ref);
  REQUIRE(first_difference(t, t_ref) == -1);
}

// All rows in a scattered order: a multiplicative permutation (step coprime to n).
std::vector<std::int64_t> permuted_rows(std::int64_t n) {
  std::int64_t step = 17;
  while (std::gcd(step, n) != 1) ++step;
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < n; ++i) rows.push_back((i * step + 5) % n);
  return rows;
}
// A few rows, far apart and in short runs, descending.
std::vector<std::int64_t> sparse_rows(std::int64_t n) {
  std::vector<std::int64_t> rows;
  for (std::int64_t r = n - 1; r >= 0; --r)
    if (r % 9 == 0 || r % 13 == 1 || r == n - 1) rows.push_back(r);
  return rows;
}
std::vector<std::int64_t> dense_rows(std::int64_t n) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

struct Case {
  Kind kind;
  Layout layout;
  std::int64_t rows;
  int features;
  hsize_t expected_chunk_rows;  // 0: contiguous
};

std::ostream& operator<<(std::ostream& out, const Case& c) {
  static const char* const kKinds[] = {"classification", "regression", "uint8"};
  static const char* const kLayouts[] = {"contiguous", "compressed", "4-row chunks", "raw 16-row chunks"};
  return out << c.rows << "x" << c.features << " " << kKinds[int(c.kind)] << ", " << kLayouts[int(c.layout)];
}

// Narrow rows (5 features): every kind in every layout; the writer's chunk is
// the whole file. Wide rows (40000 features, 160 kB as float): the writer's
// chunks and the reader's blocks are 6 rows, so 14 rows end in a partial block.
std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Kind kind : {Kind::Classification, Kind::Regression, Kind::Bytes})
    for (const auto& [layout, chunk] : {std::pair{Layout::Contiguous, 0}, std::pair{Layout::Compressed, 53},
                                        std::pair{Layout::SmallChunks, 4}, std::pair{Layout::RawChunks, 16}})
      cases.push_back({kind, layout, 53, 5, hsize_t(chunk)});
  cases.push_back({Kind::Classification, Layout::Compressed, 14, 40000, 6});
  cases.push_back({Kind::Bytes, Layout::Contiguous, 14, 40000, 0});
  return cases;
}

const char* name_of(const std::vector<std::int64_t>& rows, std::int64_t n) {
  if (std::int64_t(rows.size()) < n) return "sparse";
  return std::is_sorted(rows.begin(), rows.end()) ? "dense" : "permuted";
}

}  // namespace

TEST_CASE("streaming: rows gathered from the file equal the in-memory rows, for every window and layout",
          "[io][streaming]") {
  const Case c = GENERATE(from_range(all_cases()));
  INFO("set: " << c);
  const TempDir dir;
  const std::string path = dir.file("set.h5");
  const Arrays arrays = make_arrays(c.kind, c.rows, c.features);
  write_set(path, c.kind, c.layout, arrays);
  REQUIRE(chunk_rows(path) == c.expected_chunk_rows);
  const InMemoryDataset memory = in_memory(c.kind, arrays);

  const DatasetFileInfo info = inspect_dataset_file(path, MPI_COMM_NULL);
  CHECK(info.shape.rows == c.rows);
  CHECK(info.shape.features == c.features);
  CHECK(info.shape.task == arrays.shape.task);
  CHECK(info.shape.num_classes == arrays.shape.num_classes);
  CHECK(info.shape.targets == arrays.shape.targets);
  CHECK(info.feature_type.describe() == (c.kind == Kind::Bytes ? "uint8" : "float32"));
  CHECK(info.scale == (c.kind == Kind::Bytes ? kScale : 1.0));
  CHECK(info.offset == (c.kind == Kind::Bytes ? kOffset : 0.0));

  const std::int64_t n = c.rows;
  for (const std::int64_t window : {std::int64_t(1), std::int64_t(3), std::int64_t(7), std::int64_t(64), n, n + 5}) {
    StreamingDataset streamed(info, window);
    REQUIRE(streamed.shape().rows == n);
    REQUIRE(streamed.read_ahead_rows() == window);
    REQUIRE(streamed.name() == path);
    // As a trainer does: announce the next window of rows, then gather them in
    // its batch order (here reversed).
    for (const auto& order : {permuted_rows(n), sparse_rows(n), dense_rows(n)}) {
      INFO("window " << window << ", " << name_of(order, n) << " rows");
      for (std::size_t begin = 0; begin < order.size(); begin += std::size_t(window)) {
        const std::span<const std::int64_t> next =
            std::span(order).subspan(begin, std::min(order.size() - begin, std::size_t(window)));
        streamed.read_ahead(next);
        const std::vector<std::int64_t> batch(next.rbegin(), next.rend());
        INFO("rows from " << next.front());
        require_same_gather<float>(streamed, memory, batch);
        require_same_gather<double>(streamed, memory, batch);
      }
    }
  }
}

TEST_CASE("streaming: rows not announced by read_ahead are read when gathered", "[io][streaming]") {
  const Kind kind = GENERATE(Kind::Classification, Kind::Bytes);
  const Layout layout = GENERATE(Layout::Contiguous, Layout::SmallChunks);
  const TempDir dir;
  const std::string path = dir.file("set.h5");
  const Arrays arrays = make_arrays(kind, 40, 3);
  write_set(path, kind, layout, arrays);
  const InMemoryDataset memory = in_memory(kind, arrays);
  StreamingDataset streamed(inspect_dataset_file(path, MPI_COMM_NULL), 4);
  using Rows = std::vector<std::int64_t>;

  // Never announced, repeated rows included.
  require_same_gather<float>(streamed, memory, Rows{7, 3, 3, 39, 0});
  // Partly announced, then those announced earlier again.
  streamed.read_ahead(Rows{1, 2, 3});
  require_same_gather<double>(streamed, memory, Rows{38, 2});
  require_same_gather<float>(streamed, memory, Rows{3, 1, 2});
  // Announced with repeats; an empty announcement.
  streamed.read_ahead(Rows{5, 5, 4, 4});
  require_same_gather<float>(streamed, memory, Rows{4, 5, 5});
  streamed.read_ahead(Rows{});
  require_same_gather<double>(streamed, memory, Rows{0, 20});
  require_same_gather<float>(streamed, memory, Rows{});
}

TEST_CASE("streaming: a bad row is refused when it arrives, naming the file and the row", "[io][streaming]") {
  const TempDir dir;
  using Rows = std::vector<std::int64_t>;

  SECTION("label out of range, NaN feature") {
    Arrays a = make_arrays(Kind::Classification, 20, 3);
    a.labels[5] = 7;
    a.X[9 * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
    const std::string path = dir.file("bad.h5");
    write_set(path, Kind::Classification, Layout::Contiguous, a);
    StreamingDataset streamed(inspect_dataset_file(path, MPI_COMM_NULL), 4);
    const InMemoryDataset memory = in_memory(Kind::Classification, make_arrays(Kind::Classification, 20, 3));
    streamed.read_ahead(Rows{0, 1, 2, 3});
    require_same_gather<float>(streamed, memory, Rows{3, 0});
    REQUIRE_THAT(input_error_message([&] { streamed.read_ahead(Rows{4, 5}); }),
                 Equals(path + ": dataset /labels row 5 holds 7; expected a class in [0, 5) (num_classes = 5)"));
    std::vector<float> X(3);
    std::int32_t label = 0;
    REQUIRE_THAT(input_error_message([&] { streamed.gather(Rows{9}, X.data(), &label, nullptr); }),
                 Equals(path + ": dataset /features row 9 column 2 is NaN; expected finite values"));
  }
  SECTION("infinite target") {
    Arrays a = make_arrays(Kind::Regression, 20, 3);
    a.targets[3 * kTargets + 1] = -std::numeric_limits<float>::infinity();
    const std::string path = dir.file("bad.h5");
    write_set(path, Kind::Regression, Layout::SmallChunks, a);
    StreamingDataset streamed(inspect_dataset_file(path, MPI_COMM_NULL), 8);
    REQUIRE_THAT(input_error_message([&] { streamed.read_ahead(Rows{10, 3, 0}); }),
                 Equals(path + ": dataset /targets row 3 column 1 is not finite; expected finite values"));
  }
}
