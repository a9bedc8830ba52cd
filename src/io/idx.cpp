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

// A gzip file (one or more members, as concatenated downloads are), or a raw
// one: the first two bytes tell. Inflated here with zlib's inflate rather than
// gzread, which ends silently at bytes after the last member that are not
// another one: such a file is refused.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    require_readable_file(path);
    file_ = std::fopen(path.c_str(), "rbe");
    if (!file_) file_error(path, std::string("cannot be opened: ") + std::strerror(errno));
    refill();
    gzip_ = stream_.avail_in >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (gzip_ && inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) file_error(path, "zlib cannot start inflating");
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() {
    if (gzip_) inflateEnd(&stream_);
    std::fclose(file_);
  }

  const std::string& path() const { return path_; }

  // Reads up to `size` bytes; fewer only where the data ends. A gzip stream
  // that is cut short also just ends, so truncation shows up as a short read
  // that the caller explains.
  std::size_t read(std::uint8_t* out, std::size_t size) {
    if (!gzip_) {  // raw: what is buffered, then the file
      std::size_t done = std::min<std::size_t>(size, stream_.avail_in);
      std::memcpy(out, stream_.next_in, done);
      stream_.next_in += done;
      stream_.avail_in -= unsigned(done);
      while (done < size) {
        const std::size_t got = std::fread(out + done, 1, size - done, file_);
        if (got == 0) break;
        done += got;
      }
      return done;
    }
    std::size_t done = 0;
    while (done < size && !ended_) {
      if (stream_.avail_in == 0 && !refill()) break;  // cut short
      stream_.next_out = out + done;
      stream_.avail_out = unsigned(std::min<std::size_t>(size - done, std::size_t(1) << 30));
      const unsigned before = stream_.avail_out;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      done += before - stream_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        file_error(path_, std::string("corrupt gzip data (") + (stream_.msg ? stream_.msg : "inflate failed") + ")");
      }
    }
    return done;
  }

  bool at_end() {
    std::uint8_t byte;
    return read(&byte, 1) == 0;
  }

 private:
  // Reads more of the file into the input buffer; false at its end.
  bool refill() {
    const std::size_t got = std::fread(in_, 1, sizeof in_, file_);
    if (got == 0 && std::ferror(file_)) file_error(path_, std::string("read error: ") + std::strerror(errno));
    consumed_ += got;
    stream_.next_in = in_;
    stream_.avail_in = unsigned(got);
    return got > 0;
  }

  // At least `n` bytes buffered (fewer only at the file's end): the rest moves
  // to the buffer's start and more are read after it.
  void buffer_at_least(unsigned n) {
    if (stream_.avail_in >= n) return;
    std::memmove(in_, stream_.next_in, stream_.avail_in);
    const std::size_t got = std::fread(in_ + stream_.avail_in, 1, sizeof in_ - stream_.avail_in, file_);
    consumed_ += got;
    stream_.next_in = in_;
    stream_.avail_in += unsigned(got);
  }

  // After a member's end: the file ends, another member starts, or bytes
  // that are no gzip data follow (refused).
  void next_member() {
    buffer_at_least(2);
    if (stream_.avail_in == 0) {
      ended_ = true;
      return;
    }
    if (stream_.avail_in >= 2 && stream_.next_in[0] == 0x1f && stream_.next_in[1] == 0x8b) {
      inflateReset(&stream_);
      return;
    }
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path_, error);
    const std::uintmax_t trailing = error ? stream_.avail_in : size - (consumed_ - stream_.avail_in);
    file_error(path_, "has " + std::to_string(trailing) +
                          " bytes after its gzip stream ends, which are not gzip data; expected the file to end "
                          "there (a damaged or concatenated download?)");
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  z_stream stream_{};
  std::uint8_t in_[1 << 16];
  std::uintmax_t consumed_ = 0;  // bytes read from the file so far
  bool gzip_ = false, ended_ = false;
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
  // both before either is read: a bad label file is said at once
  require_readable_file(images_path);
  require_readable_file(labels_path);
  IdxDataset set{read_idx_images(images_path), read_idx_labels(labels_path)};
  if (std::int64_t(set.labels.size()) != set.images.count)
    throw InputError(images_path + " holds " + std::to_string(set.images.count) + " images but " + labels_path +
                     " holds " + std::to_string(set.labels.size()) + " labels; expected one label per image");
  return set;
}

}  // namespace dmlp
