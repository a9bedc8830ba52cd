// The CSV and IDX readers: good files (CSV in its several dialects; IDX raw and
// gzipped) read back exactly, and every kind of malformed file is refused with
// an InputError naming the file and saying what is wrong.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dmlp/io/csv.hpp"
#include "dmlp/io/idx.hpp"
#include "io_fixtures.hpp"

using namespace dmlp;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test::input_error_message;
using test::TempDir;

namespace {

// ---- CSV ---------------------------------------------------------------------

// (Designated initializers would leave members out, which -Wextra flags.)
CsvLayout with_header() {
  CsvLayout layout;
  layout.header = true;
  return layout;
}
CsvLayout delimited_by(char delimiter) {
  CsvLayout layout;
  layout.delimiter = delimiter;
  return layout;
}
CsvLayout label_in(int column, int num_classes = 0) {
  CsvLayout layout;
  layout.label_column = column;
  layout.num_classes = num_classes;
  return layout;
}
CsvLayout targets_in(std::vector<int> columns) {
  CsvLayout layout;
  layout.target_columns = std::move(columns);
  return layout;
}

struct BadCsv {
  const char* name;
  std::optional<std::string> text;  // none: the file does not exist
  CsvLayout layout;
  std::string message;  // follows the path directly
};

std::vector<BadCsv> bad_csv_files() {
  const CsvLayout plain;
  return {
      {"missing file", std::nullopt, plain, ": no such file"},
      {"empty file", "", plain, ": the file is empty; expected rows of numbers"},
      {"blank lines only", "\n  \n\t\r\n", plain, ": the file is empty; expected rows of numbers"},
      {"empty, header expected", "", with_header(),
       ": the file is empty; expected a header line and rows of numbers"},
      {"header only", "x,y,label\n", with_header(), ": has a header line but no data rows; expected at least one"},
      {"short row", "1,2,0\n3,4\n", plain, " line 2 has 2 columns; expected 3 like line 1"},
      {"long row", "1,2,0\n3,4,5,1\n", plain, " line 2 has 4 columns; expected 3 like line 1"},
      {"a blank line between rows", "1,2,0\n\n3,4,1\n", plain,
       ": line 2 is blank, between rows; expected a row of numbers (blank lines may only end the file)"},
      {"blank lines between a header and the rows", "x,y,label\n \n\n1,2,0\n", with_header(),
       ": line 2 is blank, between rows; expected a row of numbers (blank lines may only end the file)"},
      {"rows wider than the header", "x,y\n1,2,0\n", with_header(), " line 2 has 3 columns; expected 2 like line 1"},
      {"trailing delimiter", "1,2,0,\n", plain, " line 1, column 4: the cell is empty; expected a number"},
      {"empty cell", "1,,0\n", plain, " line 1, column 2: the cell is empty; expected a number"},
      {"word in a feature", "1,2,0\n1,abc,1\n", plain, " line 2, column 2: 'abc' is not a number"},
      {"word, column named by the header", "x,y,label\n1,abc,0\n", with_header(),
       " line 2, column 2 (y): 'abc' is not a number"},
      {"number with trailing letters", "1.5x,2,0\n", plain, " line 1, column 1: '1.5x' is not a number"},
      {"two signs", "+-1,2,0\n", plain, " line 1, column 1: '+-1' is not a number"},
      {"semicolons read as commas", "1;2;0\n", plain,
       ": has 1 column (0-0), only the label; expected at least one feature column besides"},
      {"NaN feature", "nan,2,0\n", plain, " line 1, column 1: 'nan' is not a finite number"},
      {"infinite feature", "1,-inf,0\n", plain, " line 1, column 2: '-inf' is not a finite number"},
      {"beyond double range", "1e400,2,0\n", plain, " line 1, column 1: '1e400' is out of range for a number"},
      {"beyond float32 range", "1,2,0\n1,-1e39,0\n", plain, " line 2, column 2: '-1e39' is too large for float32"},
      {"NaN target", "1,2,nan\n", targets_in({2}), " line 1, column 3: 'nan' is not a finite number"},
      {"negative label", "1,2,-1\n", plain,
       " line 1, column 3: label '-1' is negative; expected a class 0, 1, 2, ..."},
      {"fractional label", "1,2,0.5\n", plain,
       " line 1, column 3: label '0.5' is not an integer; expected a class 0, 1, 2, ..."},
      {"fractional label in column 0", "1,2\n0.5,1\n", label_in(0),
       " line 2, column 1: label '0.5' is not an integer"},
      {"label not a class", "1,2,0\n1,2,3\n", label_in(-1, 3),
       " line 2, column 3: label '3' is not a class in [0, 3) (num_classes 3 was given)"},
      {"label too large for int32", "1,2,3000000000\n", plain, " line 1, column 3: label '3000000000' is too large"},
      {"label not a number", "1,2,x\n", plain, " line 1, column 3: 'x' is not a number"},
      {"label column past the last", "1,2,0\n", label_in(5), ": label column 5 is not among its 3 columns (0-2)"},
      {"target column past the last", "1,2,0\n", targets_in({1, 3}),
       ": target column 3 is not among its 3 columns (0-2)"},
      {"every column a target", "1,2\n", targets_in({0, 1}),
       ": has 2 columns (0-1), all of them targets; expected at least one feature column besides"},
      {"only a label column", "0\n1\n", plain,
       ": has 1 column (0-0), only the label; expected at least one feature column besides"},
  };
}

// ---- IDX ---------------------------------------------------------------------

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)};
}
std::string images_header(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  return be32(kIdxImagesMagic) + be32(count) + be32(rows) + be32(cols);
}
std::string labels_file(const std::vector<std::uint8_t>& labels) {
  return be32(kIdxLabelsMagic) + be32(std::uint32_t(labels.size())) + std::string(labels.begin(), labels.end());
}

// 3 images of 2x3 pixels, both ends of the byte range included.
const std::vector<std::uint8_t> kPixels = {0,  255, 1,  254, 2,  253, 10, 20, 30,
                                           40, 50,  60, 128, 127, 129, 7, 8,  9};
const std::vector<std::uint8_t> kLabels = {9, 0, 5};
std::string good_images() { return images_header(3, 2, 3) + std::string(kPixels.begin(), kPixels.end()); }

// `bytes` as a gzip file (deflate with a gzip wrapper: windowBits 16 + 15).
std::string gzip(const std::string& bytes) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&s, uLong(bytes.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = uInt(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  const int rc = deflate(&s, Z_FINISH);
  deflateEnd(&s);
  REQUIRE(rc == Z_STREAM_END);
  out.resize(s.total_out);
  return out;
}

enum class IdxKind { Images, Labels };
struct BadIdx {
  const char* name;
  std::string bytes;
  IdxKind read_as;
  std::string message;  // follows the path directly
};

std::vector<BadIdx> bad_idx_files() {
  const std::string gz = gzip(good_images());
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] = char(bad_crc[bad_crc.size() - 8] ^ 0x5a);  // the trailer's CRC-32
  // A valid gzip header, then a deflate block of the reserved type 3.
  const std::string bad_block = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + "\xff\xff\xff\xff";
  const auto I = IdxKind::Images, L = IdxKind::Labels;
  return {
      {"empty file", "", I, ": file ends after 0 bytes; expected a 16-byte header of IDX3 ubyte images"},
      {"magic cut short", std::string(2, '\0'), I, ": file ends after 2 bytes; expected a 16-byte header"},
      {"header cut short", be32(kIdxImagesMagic) + be32(2), I,
       ": file ends after 8 bytes; expected a 16-byte header of IDX3 ubyte images"},
      {"unknown magic", be32(0x12345678) + be32(1) + be32(1) + be32(1) + "x", I,
       ": magic number 0x12345678; expected 0x00000803 (IDX3 ubyte images)"},
      {"little-endian magic", std::string("\x03\x08\x00\x00", 4) + be32(1) + be32(1) + be32(1) + "x", I,
       ": magic number 0x03080000; expected 0x00000803"},
      {"label file read as images", labels_file(kLabels) + std::string(8, '\0'), I,
       ": magic number 0x00000801; expected 0x00000803 (IDX3 ubyte images); this is an IDX1 label file"},
      {"image file read as labels", good_images(), L,
       ": magic number 0x00000803; expected 0x00000801 (IDX1 ubyte labels); this is an IDX3 image file"},
      {"zero images", images_header(0, 2, 3), I, ": header gives count 0; expected at least 1"},
      {"zero rows", images_header(3, 0, 3), I, ": header gives rows 0; expected at least 1"},
      {"zero columns", images_header(3, 2, 0), I, ": header gives columns 0; expected at least 1"},
      {"zero labels", be32(kIdxLabelsMagic) + be32(0), L, ": header gives count 0; expected at least 1"},
      {"label header cut short", be32(kIdxLabelsMagic) + std::string(2, '\0'), L,
       ": file ends after 6 bytes; expected a 8-byte header of IDX1 ubyte labels"},
      {"images too large", images_header(1, 65536, 65536) + "x", I,
       ": images of 65536x65536 pixels are too large; expected at most 16777216 pixels each"},
      {"bytes after the gzip stream", gz + "trailing garbage", I,
       ": has 16 bytes after its gzip stream ends, which are not gzip data; expected the file to end there"},
      {"pixels cut short", images_header(2, 2, 2) + "abcde", I,
       ": expected 8 bytes of pixel data (2 images of 2x2), found 5 (the file is truncated)"},
      // The header's size is not trusted for an allocation: the file is just short.
      {"huge count, tiny file", images_header(0xffffffffu, 28, 28) + "abcd", I,
       ": expected 3367254359280 bytes of pixel data (4294967295 images of 28x28), found 4 (the file is truncated)"},
      {"pixels left over", images_header(2, 2, 2) + "abcdefghi", I,
       ": has more than the 8 bytes of pixel data (2 images of 2x2) its header announces; expected the file to end "
       "there"},
      {"labels cut short", be32(kIdxLabelsMagic) + be32(3) + "\x01\x02", L,
       ": expected 3 bytes of label data (3 labels), found 2 (the file is truncated)"},
      {"gzip stream cut short", gz.substr(0, 30), I, " (the file is truncated)"},
      {"gzip block of a reserved type", bad_block, I, ": corrupt gzip data (invalid block type)"},
      {"gzip checksum wrong", bad_crc, I, ": corrupt gzip data (incorrect data check)"},
  };
}

}  // namespace

TEST_CASE("CSV: each malformed file gives one InputError naming the file, the place and the problem", "[io][csv]") {
  const BadCsv c = GENERATE(from_range(bad_csv_files()));
  INFO("case: " << c.name);
  const TempDir dir;
  const std::string path = c.text ? dir.write("data.csv", *c.text) : dir.file("absent.csv");
  const std::string message = input_error_message([&] { read_csv_dataset(path, c.layout); });
  REQUIRE_THAT(message, StartsWith(path + c.message));
}

TEST_CASE("CSV: layouts no file could satisfy are refused before the file is read", "[io][csv]") {
  struct BadLayout {
    const char* name;
    CsvLayout layout;
    const char* message;
  };
  const BadLayout c = GENERATE(values<BadLayout>({
      {"delimiter '.'", delimited_by('.'),
       "--delimiter '.' can be part of a number; expected a separator such as , ; or a tab"},
      {"delimiter '-'", delimited_by('-'), "--delimiter '-' can be part of a number"},
      {"delimiter 'e'", delimited_by('e'), "--delimiter 'e' can be part of a number"},
      {"label column -2", label_in(-2),
       "--label-column -2: expected a 0-based column, or -1 for the last column"},
      {"negative class count", label_in(-1, -1),
       "--num-classes -1 must be >= 0 (0: the largest label + 1)"},
  }));
  INFO("case: " << c.name);
  const TempDir dir;
  const std::string path = dir.write("data.csv", "1,2,0\n");
  REQUIRE_THAT(input_error_message([&] { validate(c.layout); }), StartsWith(c.message));
  REQUIRE_THAT(input_error_message([&] { read_csv_dataset(path, c.layout); }), StartsWith(c.message));
}

TEST_CASE("CSV: --target-columns lists are parsed or refused naming the option", "[io][csv]") {
  REQUIRE(parse_column_list("3", "--target-columns") == std::vector<int>{3});
  REQUIRE(parse_column_list(" 4, 0 ,7", "--target-columns") == std::vector<int>{4, 0, 7});

  const auto [text, message] = GENERATE(table<const char*, const char*>({
      {"3,x", "--target-columns: 'x' in '3,x' is not a column number (expected 0-based columns, e.g. 3 or 3,4)"},
      {"", "--target-columns: '' in '' is not a column number"},
      {"3,", "--target-columns: '' in '3,' is not a column number"},
      {"1.5", "--target-columns: '1.5' in '1.5' is not a column number"},
      {"99999999999", "--target-columns: '99999999999' in '99999999999' is not a column number"},
      {"-1", "--target-columns: column -1 in '-1' must be >= 0 (columns count from 0)"},
      {"2,3,2", "--target-columns: column 2 appears twice in '2,3,2'"},
  }));
  INFO("list: '" << text << "'");
  REQUIRE_THAT(input_error_message([&] { parse_column_list(text, "--target-columns"); }), StartsWith(message));
}

TEST_CASE("CSV: good files read back exactly, in every dialect", "[io][csv]") {
  const TempDir dir;

  SECTION("header, byte-order mark, CRLF, blank lines at the start and end, signs and padding") {
    const std::string path =
        dir.write("a.csv", "\xEF\xBB\xBF\r\nx, y ,label\r\n1.5,-2,0\r\n+3e2 , 0.25, 2\r\n-0,1e-3,1\r\n\r\n \n");
    const CsvDataset set = read_csv_dataset(path, with_header());
    CHECK(set.shape.rows == 3);
    CHECK(set.shape.features == 2);
    CHECK(set.shape.is_classification());
    CHECK(set.shape.num_classes == 3);  // the largest label + 1
    REQUIRE(test::bit_patterns(set.features) ==
            test::bit_patterns(std::vector<float>{1.5f, -2.0f, 300.0f, 0.25f, -0.0f, 1e-3f}));
    REQUIRE(set.labels == std::vector<std::int32_t>{0, 2, 1});
    REQUIRE(set.targets.empty());
  }

  SECTION("blank-separated columns, targets in the order given") {
    const std::string path = dir.write("b.txt", "  1   2\t3  4\n5 6 7 8   \n");
    CsvLayout layout = targets_in({3, 0});
    layout.delimiter = ' ';
    const CsvDataset set = read_csv_dataset(path, layout);
    CHECK(set.shape.task == TaskKind::Regression);
    CHECK(set.shape.rows == 2);
    CHECK(set.shape.features == 2);
    CHECK(set.shape.targets == 2);
    REQUIRE(set.features == std::vector<float>{2, 3, 6, 7});
    REQUIRE(set.targets == std::vector<float>{4, 1, 8, 5});
    REQUIRE(set.labels.empty());
  }

  SECTION("label in the first column, class count given") {
    const std::string path = dir.write("c.csv", "2;0.5;1\n0;1.5;-7.25\n");
    CsvLayout layout = label_in(0, 5);
    layout.delimiter = ';';
    const CsvDataset set = read_csv_dataset(path, layout);
    CHECK(set.shape.num_classes == 5);
    REQUIRE(set.features == std::vector<float>{0.5f, 1.0f, 1.5f, -7.25f});
    REQUIRE(set.labels == std::vector<std::int32_t>{2, 0});
  }

  SECTION("the nearest float32 to each decimal") {
    const std::string path = dir.write("d.csv", "0.1,3.4028234e38,1e-45,0\n");
    const CsvDataset set = read_csv_dataset(path, CsvLayout{});
    REQUIRE(test::bit_patterns(set.features) ==
            test::bit_patterns(std::vector<float>{0.1f, std::numeric_limits<float>::max(),
                                            std::numeric_limits<float>::denorm_min()}));
  }
}

TEST_CASE("IDX: each malformed file gives one InputError naming the file and the problem", "[io][idx]") {
  const BadIdx c = GENERATE(from_range(bad_idx_files()));
  INFO("case: " << c.name);
  const TempDir dir;
  const std::string path = dir.write("file.idx", c.bytes);
  const std::string message = input_error_message([&] {
    if (c.read_as == IdxKind::Images)
      read_idx_images(path);
    else
      read_idx_labels(path);
  });
  REQUIRE_THAT(message, StartsWith(path + ": ") && Contains(c.message));
}

TEST_CASE("IDX: missing files and images that do not pair with their labels", "[io][idx]") {
  const TempDir dir;
  const std::string images = dir.write("images.idx", good_images());
  const std::string labels = dir.write("labels.idx", labels_file(kLabels));
  const std::string absent = dir.file("absent.idx.gz");

  REQUIRE(input_error_message([&] { read_idx_images(absent); }) == absent + ": no such file");
  REQUIRE(input_error_message([&] { read_idx_labels(absent); }) == absent + ": no such file");
  REQUIRE(input_error_message([&] { read_idx_dataset(images, absent); }) == absent + ": no such file");

  const std::string four_labels = dir.write("four.idx", labels_file({1, 2, 3, 4}));
  REQUIRE(input_error_message([&] { read_idx_dataset(images, four_labels); }) ==
          images + " holds 3 images but " + four_labels + " holds 4 labels; expected one label per image");
}

TEST_CASE("IDX: images and labels read back exactly, raw or gzipped", "[io][idx]") {
  const TempDir dir;
  const bool gzipped = GENERATE(false, true);
  INFO((gzipped ? "gzipped" : "raw"));
  auto maybe_gzip = [&](const std::string& bytes) { return gzipped ? gzip(bytes) : bytes; };
  const std::string images = dir.write("images", maybe_gzip(good_images()));
  const std::string labels = dir.write("labels", maybe_gzip(labels_file(kLabels)));
  if (gzipped) REQUIRE(test::read_bytes(images).substr(0, 2) == "\x1f\x8b");

  const IdxImages read = read_idx_images(images);
  CHECK(read.count == 3);
  CHECK(read.rows == 2);
  CHECK(read.cols == 3);
  CHECK(read.pixels_per_image() == 6);
  REQUIRE(read.pixels == kPixels);
  REQUIRE(read_idx_labels(labels) == kLabels);

  const IdxDataset set = read_idx_dataset(images, labels);
  REQUIRE(set.images.pixels == kPixels);
  REQUIRE(set.labels == kLabels);
}

TEST_CASE("IDX: a gzip file of several members (concatenated downloads) reads as one", "[io][idx]") {
  const TempDir dir;
  const std::string bytes = good_images();
  const std::string images = dir.write("images.gz", gzip(bytes.substr(0, 7)) + gzip(bytes.substr(7, 9)) + gzip(bytes.substr(16)));
  const IdxImages read = read_idx_images(images);
  REQUIRE(read.pixels == kPixels);
}
