#pragma once
// IDX files, the format of MNIST and Fashion-MNIST, gzipped or raw:
//   images  magic 0x00000803 (ubyte, 3 dims), then n, rows, cols as big-endian
//           uint32, then n·rows·cols pixels, row-major
//   labels  magic 0x00000801 (ubyte, 1 dim), then n, then n one-byte labels
//
// Reading throws InputError naming the file, what was expected and what was
// found: a wrong magic number, a file that ends early, a gzip stream that is
// corrupt, images and labels that do not pair up.
#include <cstdint>
#include <string>
#include <vector>

namespace dmlp {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;

struct IdxImages {
  std::int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // [count, rows · cols]
  int pixels_per_image() const { return rows * cols; }
};

IdxImages read_idx_images(const std::string& path);
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

// Images and their labels, checked to be as many.
struct IdxDataset {
  IdxImages images;
  std::vector<std::uint8_t> labels;
};
IdxDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path);

}  // namespace dmlp
