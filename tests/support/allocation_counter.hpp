#pragma once
// A count of operator new calls while `counting` is set: the replaced global
// operator new and delete. Include it in one file of a test executable only
// (replacement functions are defined once a program, and never inline).
#include <atomic>
#include <cstdlib>
#include <new>

// The replacements below pair malloc/aligned_alloc with free, as they must;
// GCC's inlining-based check cannot see that they replace each other.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace dmlp::test {
std::atomic<long> allocations{0};
std::atomic<bool> counting{false};
}  // namespace dmlp::test

void* operator new(std::size_t n) {
  if (dmlp::test::counting.load(std::memory_order_relaxed)) dmlp::test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (dmlp::test::counting.load(std::memory_order_relaxed)) dmlp::test::allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t align = std::size_t(a), size = (n + align - 1) / align * align;
  if (void* p = std::aligned_alloc(align, size ? size : align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

