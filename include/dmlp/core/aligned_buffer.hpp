#pragma once
// A fixed-size, 64-byte aligned array: cache-line aligned for BLAS and SIMD,
// allocated once and never resized inside the training loop.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <span>

namespace dmlp {

template <class T>
class AlignedBuffer {
 public:
  static constexpr std::size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) : size_(n), data_(allocate(n)) {
    std::fill_n(data_.get(), n, T{});
  }
  AlignedBuffer(const AlignedBuffer& other) : AlignedBuffer(other.size_) {
    std::copy_n(other.data(), size_, data());
  }
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) {
      if (size_ != other.size_) *this = AlignedBuffer(other.size_);
      std::copy_n(other.data(), size_, data());
    }
    return *this;
  }
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::span<T> span() { return {data(), size_}; }
  std::span<const T> span() const { return {data(), size_}; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };
  static T* allocate(std::size_t n) {
    if (n == 0) return nullptr;
    return static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{kAlignment}));
  }
  std::size_t size_ = 0;
  std::unique_ptr<T[], Free> data_;
};

}  // namespace dmlp
