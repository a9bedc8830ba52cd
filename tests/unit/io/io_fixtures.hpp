#pragma once
// Shared by the io tests: a scratch directory that removes itself, whole-file
// reads and writes, and bit patterns to compare values exactly (so -0.0, NaN
// payloads and denormals count, and Catch prints the differing words).
#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/h5.hpp"

namespace dmlp::test {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/dmlp-io-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    // The library silences HDF5 on its first file access; a test may call
    // HDF5 directly before that, and its expected failures must not print.
    h5::silence_automatic_error_printing();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Writes `bytes` to `name` here and returns the file's path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string where = file(name);
    std::ofstream out(where, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + where);
    return where;
  }

 private:
  std::string path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Each value's bytes as an unsigned word: equal vectors mean bitwise-equal data.
template <class T>
std::vector<std::uint64_t> bit_patterns(std::span<const T> values) {
  static_assert(sizeof(T) <= sizeof(std::uint64_t));
  std::vector<std::uint64_t> words(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&words[i], &values[i], sizeof(T));
  return words;
}
template <class T>
std::vector<std::uint64_t> bit_patterns(const std::vector<T>& values) {
  return bit_patterns(std::span<const T>(values));
}

// The message of the E that `action` throws; anything else (another exception,
// or none) fails the test.
template <class E, class F>
std::string thrown_message(F&& action) {
  try {
    action();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception; nothing was thrown");
  return {};
}
template <class F>
std::string input_error_message(F&& action) {
  return thrown_message<InputError>(std::forward<F>(action));
}

}  // namespace dmlp::test
