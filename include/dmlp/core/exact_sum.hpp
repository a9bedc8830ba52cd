#pragma once
// Sums whose result does not depend on the order or grouping of the values
// added: what --reproducible uses for the gradient, the loss and the
// evaluation sums, so that any rank count gives the same bits.
//
// Binned fixed point (the idea of ReproBLAS's binned sums, in integers). Bin j
// holds the bits of weight 2^(jW) … 2^((j+1)W − 1), W = 31. A finite value x
// splits exactly into pieces
//     p_j(x) = trunc(x / 2^(jW)) − 2^W · trunc(x / 2^((j+1)W)),   |p_j| < 2^W,
// that depend on x alone. Each element keeps K bins as int64 words: the K
// highest bins its segment's largest |x| reaches (the window). Adding x adds
// its pieces to the window's words and drops the pieces below it. When a
// larger value arrives the window moves up and drops its lowest words, which
// are exactly the pieces it would have dropped had it started there. So after
// any sequence of adds, and after an integer all-reduce of the words of
// several accumulators aligned to one window, each word holds Σ p_j over all
// values: integer addition is associative, so the order never matters.
//
// Overflow: |p_j| < 2^31 and at most kMaxValues values per element, so a word
// stays below 2^62 in magnitude and never wraps (add() checks the count).
//
// Precision: a segment whose largest |x| is M ≥ 2^(top·W) loses less than
// 2^((top−K+1)·W) ≤ 2^(−(K−1)·W)·M per value, so n values lose less than
// n·2^(−(K−1)W)·M in all, before the final rounding to the element type.
// K = 2 for float (n·2^-31·M), 3 for double (n·2^-62·M): below the
// worst-case error (n−1)·u·Σ|x| of summing the same values in that type
// (u = 2^-24, 2^-53). docs/reproducibility.md has the derivation.
//
// A segment that meets a NaN or infinity is marked non-finite; its result is NaN.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "dmlp/core/aligned_buffer.hpp"
#include "dmlp/core/cpu_kernels.hpp"

namespace dmlp {

class ExactSum {
 public:
  static constexpr int kBinBits = 31;                                     // W
  static constexpr std::int64_t kMaxValues = (std::int64_t{1} << 31) - 1;  // per element
  static constexpr std::int64_t kEmpty = std::numeric_limits<std::int64_t>::min();     // window of a segment with no nonzero value
  static constexpr std::int64_t kNonFinite = std::numeric_limits<std::int64_t>::max();  // window of a segment that met NaN or ±inf

  // Elements [0, segment_ends.back()), cut into segments [end_{s-1}, end_s),
  // each with its own window; `words` is K.
  ExactSum(std::vector<std::size_t> segment_ends, int words);
  // The same, with the words (elements × K) and the windows (one per segment)
  // kept in the caller's memory, e.g. a node's shared memory, where the
  // node's other processes read them (result_of_sum).
  ExactSum(std::vector<std::size_t> segment_ends, int words, std::span<std::int64_t> word_storage,
           std::span<std::int64_t> window_storage);
  ExactSum(ExactSum&&) = default;  // the storage moves along, or stays where the caller keeps it
  ExactSum(const ExactSum&) = delete;
  ExactSum& operator=(const ExactSum&) = delete;

  std::size_t size() const { return segment_ends_.empty() ? 0 : segment_ends_.back(); }
  int words_per_element() const { return K_; }
  void clear();
  // Clears elements [first, first + count): whole segments. Threads may
  // clear and add to different segments at once. Their words are cleared
  // lazily, by the next add or align_to: until then words() holds stale
  // values there, which the windows mark empty.
  void clear(std::size_t first, std::size_t count);

  // Adds x[i] to element first + i. [first, first + x.size()) must be whole segments.
  void add(std::span<const float> x, std::size_t first = 0);
  void add(std::span<const double> x, std::size_t first = 0);
  // Adds each of `parts`, `count` values each, to elements [first, first +
  // count) in one pass over the words, leaving the parts zero: buffers ready
  // for the next GEMM to add into.
  void take(std::span<float* const> parts, std::size_t first, std::size_t count);
  void take(std::span<double* const> parts, std::size_t first, std::size_t count);

  // Across processes: max-reduce windows(), then align_to() the result, then
  // sum-reduce words(); every process then holds the words of the total.
  std::span<std::int64_t> windows() { return windows_; }          // (segments)
  void align_to(std::span<const std::int64_t> windows);
  // The same for segments [first_segment, first_segment + windows.size()) alone.
  void align_to(std::span<const std::int64_t> windows, std::size_t first_segment);
  // The segments [s0, s1) that elements [first, first + count) cover: whole ones.
  std::pair<std::size_t, std::size_t> segments(std::size_t first, std::size_t count) const {
    return segments_of(first, count);
  }
  std::span<std::int64_t> words() { return words_; }  // (elements, K)

  // The sums, rounded once: elements [first, first + out.size()), whole segments.
  void result(std::span<float> out, std::size_t first = 0) const;
  void result(std::span<double> out, std::size_t first = 0) const;

  // Another process's accumulator with these segments, in memory this one
  // reads (a node's shared memory): its windows() and words(), final.
  struct Peer {
    std::span<const std::int64_t> windows, words;
  };
  // The sums over `peers`, rounded once: the bits that result() gives after
  // the windows' max, align_to() and an integer sum of the words over the
  // same accumulators, without changing any of them. A segment's window is
  // the peers' largest; each peer's words move down to it as align_to moves
  // them, and are added in 64-bit integers, whose sum has no order. Elements
  // [first, first + out.size()), whole segments; `scratch`: K words each.
  void result_of_sum(std::span<const Peer> peers, std::span<float> out, std::size_t first,
                     std::span<std::int64_t> scratch) const;
  void result_of_sum(std::span<const Peer> peers, std::span<double> out, std::size_t first,
                     std::span<std::int64_t> scratch) const;

 private:
  template <class T>
  void add_parts(std::span<T* const> parts, std::size_t first, std::size_t count, bool zero);
  template <class T>
  void result_values(std::span<T> out, std::size_t first) const;
  template <class T>
  void peer_sum_values(std::span<const Peer> peers, std::span<T> out, std::size_t first,
                       std::span<std::int64_t> scratch) const;
  std::pair<std::size_t, std::size_t> segments_of(std::size_t first, std::size_t count) const;
  void check_layout() const;
  void raise_window(std::size_t segment, std::int64_t window);
  void zero_if_stale(std::size_t segment);  // a cleared segment's old words, as zeros

  std::vector<std::size_t> segment_ends_;
  int K_;
  std::vector<std::int64_t> own_windows_;   // the windows' storage, unless the caller keeps it
  AlignedBuffer<std::int64_t> own_words_;    // the words' storage, likewise
  std::span<std::int64_t> windows_;          // per segment: the top bin's index j, kEmpty or kNonFinite
  std::span<std::int64_t> words_;            // (elements, K)
  std::vector<std::int64_t> values_;         // per segment: values added, for the overflow check
  std::vector<char> stale_;                  // per segment: its words await clearing (clear(first, count))
};

// The CPU versions of the float kernels (two words a value): each gives the
// same bits, which the tests check by running every version this CPU has.
bool exact_sum_kernels_run_here(CpuKernels k);
CpuKernels exact_sum_kernels();  // in use: the fastest here, unless forced
void force_exact_sum_kernels(CpuKernels k);  // for tests; throws if this CPU cannot run k

// K for gradients of type T: 2 words for float, 3 for double.
template <class T>
constexpr int exact_sum_words() {
  return sizeof(T) <= 4 ? 2 : 3;
}

}  // namespace dmlp
