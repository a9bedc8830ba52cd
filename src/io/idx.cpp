// IDX reader: see include/dmlp/io/idx.hpp
#include "dmlp/io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/io/file_error.hpp"

namespace dmlp {
namespace {

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return std::uint32_t(bytes[0]) << 24 | std::uint32_t(bytes[1]) << 16 | std::uint32_t(bytes[2]) << 8 |
         std::uint32_t(bytes[3]);
}

// A gzip file, or a raw one: zlib passes data through unchanged when it finds
// no gzip header, so MNIST files read the same compressed or not.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    require_readable_file(path);
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) file_error(path, std::string("cannot be opened: ") + std::strerror(errno));
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() { gzclose(file_); }

  const std::string& path() const { return path_; }

  // Reads up to `size` bytes; fewer only where the data ends. A gzip stream
  // that is cut short also just ends (zlib reports it as a soft error), so
  // truncation shows up as a short read that the caller explains.
  std::size_t read(std::uint8_t* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      // gzread counts in unsigned and answers in int: read at most 1 GiB a call.
      const unsigned want = unsigned(std::min<std::size_t>(size - done, std::size_t(1) << 30));
      const int got = gzread(file_, out + done, want);
      if (got < 0) file_error(path_, "corrupt gzip data (" + zlib_error() + ")");
      if (got == 0) break;
      done += std::size_t(got);
    }
    return done;
  }

  bool at_end() {
    std::uint8_t byte;
    return read(&byte, 1) == 0;
  }

  // After at_end(): bytes of the file that follow a gzip stream (zlib ends
  // the data there silently); 0 for a raw file.
  std::uintmax_t bytes_after_stream() {
    if (gzdirect(file_)) return 0;
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path_, error);
    const z_off_t consumed = gzoffset(file_);
    return !error && consumed >= 0 && std::uintmax_t(consumed) < size ? size - std::uintmax_t(consumed) : 0;
  }

 private:
  // zlib's message, without the path it puts in front.
  std::string zlib_error() {
    int code = 0;
    std::string message = gzerror(file_, &code);
    const std::string prefix = path_ + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    return message;
  }

  std::string path_;
  gzFile file_ = nullptr;
};

// What an IDX header must hold: its magic number and how many dimensions follow.
struct IdxKind {
  std::uint32_t magic;
  int dims;
  const char* name;  // for messages: "IDX3 ubyte images"
  // The other kind's magic number, and what to call a file that has it: images
  // and labels passed the wrong way round are an easy mistake.
  std::uint32_t other_magic;
  const char* other_name;
};
constexpr IdxKind kImages{kIdxImagesMagic, 3, "IDX3 ubyte images", kIdxLabelsMagic, "an IDX1 label file"};
constexpr IdxKind kLabels{kIdxLabelsMagic, 1, "IDX1 ubyte labels", kIdxImagesMagic, "an IDX3 image file"};

// The sizes a header gives, all at least 1; a label file gives only the count.
struct IdxSizes {
  std::uint32_t count = 1, rows = 1, cols = 1;
};

// Reads and checks the magic number and the sizes.
IdxSizes read_header(GzReader& in, const IdxKind& kind) {
  const std::size_t header_bytes = 4 * std::size_t(1 + kind.dims);
  std::uint8_t header[16];
  const std::size_t got = in.read(header, header_bytes);
  const std::string ends_early = "file ends after " + std::to_string(got) + " bytes; expected a " +
                                 std::to_string(header_bytes) + "-byte header of " + kind.name;
  if (got < 4) file_error(in.path(), ends_early);
  const std::uint32_t magic = big_endian_u32(header);
  if (magic != kind.magic)
    file_error(in.path(), "magic number " + hex32(magic) + "; expected " + hex32(kind.magic) + " (" + kind.name +
                              ")" + (magic == kind.other_magic ? std::string("; this is ") + kind.other_name : ""));
  if (got < header_bytes) file_error(in.path(), ends_early);
  // The header lists the sizes in this order, as many as the kind has.
  constexpr const char* kNames[] = {"count", "rows", "columns"};
  std::uint32_t sizes[] = {1, 1, 1};
  for (int k = 0; k < kind.dims; ++k) {
    sizes[k] = big_endian_u32(header + 4 * (k + 1));
    if (sizes[k] == 0) file_error(in.path(), std::string("header gives ") + kNames[k] + " 0; expected at least 1");
  }
  return {sizes[0], sizes[1], sizes[2]};
}

// Reads exactly `expected` bytes of `what`, and checks nothing follows them.
// The buffer grows as data arrives rather than trusting the header's size up
// front, so a corrupt header cannot ask for terabytes.
std::vector<std::uint8_t> read_body(GzReader& in, std::uint64_t expected, const std::string& what) {
  constexpr std::size_t kChunk = std::size_t(64) << 20;
  std::vector<std::uint8_t> data;
  data.reserve(std::size_t(std::min<std::uint64_t>(expected, kChunk)));
  while (data.size() < expected) {
    const std::size_t have = data.size();
    const std::size_t want = std::size_t(std::min<std::uint64_t>(expected - have, kChunk));
    data.resize(have + want);
    const std::size_t got = in.read(data.data() + have, want);
    data.resize(have + got);
    if (got < want) break;
  }
  if (data.size() < expected)
    file_error(in.path(), "expected " + std::to_string(expected) + " bytes of " + what + ", found " +
                              std::to_string(data.size()) + " (the file is truncated)");
  if (!in.at_end())
    file_error(in.path(), "has more than the " + std::to_string(expected) + " bytes of " + what +
                              " its header announces; expected the file to end there");
  if (const std::uintmax_t trailing = in.bytes_after_stream(); trailing > 0)
    file_error(in.path(), "has " + std::to_string(trailing) +
                              " bytes after its gzip stream ends, which are not gzip data; expected the file to end "
                              "there (a damaged or concatenated download?)");
  return data;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  GzReader in(path);
  const IdxSizes sizes = read_header(in, kImages);
  const std::string image_size = std::to_string(sizes.rows) + "x" + std::to_string(sizes.cols);
  // Each image becomes one row of `int` features.
  const std::uint64_t per_image = std::uint64_t(sizes.rows) * sizes.cols;
  if (per_image > std::uint64_t(kMaxWidth))
    file_error(path, "images of " + image_size + " pixels are too large; expected at most " +
                         std::to_string(kMaxWidth) + " pixels each (a data set's widest row)");
  IdxImages images;
  images.count = std::int64_t(sizes.count);
  images.rows = int(sizes.rows);
  images.cols = int(sizes.cols);
  images.pixels = read_body(in, sizes.count * per_image,
                            "pixel data (" + std::to_string(sizes.count) + " images of " + image_size + ")");
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  GzReader in(path);
  const IdxSizes sizes = read_header(in, kLabels);
  return read_body(in, sizes.count, "label data (" + std::to_string(sizes.count) + " labels)");
}

IdxDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  IdxDataset set{read_idx_images(images_path), read_idx_labels(labels_path)};
  if (std::int64_t(set.labels.size()) != set.images.count)
    throw InputError(images_path + " holds " + std::to_string(set.images.count) + " images but " + labels_path +
                     " holds " + std::to_string(set.labels.size()) + " labels; expected one label per image");
  return set;
}

}  // namespace dmlp
