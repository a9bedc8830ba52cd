#pragma once
// The --reproducible step: this rank's rows in micro-shards of m rows that lie
// at multiples of m in the global batch whatever the rank count. Every float
// a micro-shard contributes is computed by one thread with one BLAS thread in
// GEMMs whose shapes depend on the model alone, so it is the same float on
// any rank; the contributions are summed exactly (ExactSum), over the
// micro-shards and then over the ranks, so the total is the same bits at
// every rank and thread count (docs/reproducibility.md).
//
// In two phases per group of micro-shards, so that the exact sums stay in cache:
//  A. per micro-shard, on the threads: forward, the loss, and back-propagation
//     of the deltas dZ_k through every layer (dX = dZ·W), keeping every dZ_k;
//     the bias gradients and the loss go straight into the exact sums.
//  B. per tile of some dW_k (rows × columns, a fixed cut of the layer), on the
//     threads: for each micro-shard, tile(r,c) = dZ_kᵀ(r,m)·X_{k-1}(m,c), added
//     at once into the tile's fixed-point words while both are in cache.
// Float runs sum the weight tiles in one int64 word a value
// (core/fixed_point_sum.hpp), at a scale every rank derives, between the
// phases, from the largest |X_{k-1}(b,·)|·|dZ_k(b,·)| of any row b of the
// global batch (a maximum over the ranks, which depends on no split of the rows); a rank that
// holds its rows in several groups runs phase A over them all once first, for
// those maxima. Double runs, and every bias and loss sum, use ExactSum.
#include <atomic>
#include <type_traits>
#include <memory>
#include <vector>

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/fixed_point_sum.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/shard_plan.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/gradient_step.hpp"
#include "dmlp/train/node_share.hpp"

namespace dmlp {

// Exact sums over processes: every process's accumulator ends up holding the
// total. `windows` is scratch, reserved by the caller to stay allocation-free.
void reduce_exactly(ExactSum& sum, std::vector<std::int64_t>& windows, Collective& comm);

// A block of dW_k: rows [row0, row1) and columns [col0, col1), summed as one
// segment of the exact sums, from element `first` on, row by row.
struct WeightTile {
  int layer, row0, row1, col0, col1;
  std::size_t first;
  std::size_t size() const { return std::size_t(row1 - row0) * std::size_t(col1 - col0); }
};

// Whether any value of `tile` lies in one of `pieces` (weight pieces only;
// by the tile's span of the flat buffer, so a tile next to a piece may count).
bool tile_meets(const ParameterLayout& layout, const WeightTile& tile, std::span<const Piece> pieces);

// The fixed cut of every dW_k into tiles of at most `elements` values, each
// with its place in the exact sums' order: the tiles of W_1, then b_1, then
// W_2's … and the loss last. It depends on the model's shape alone.
std::vector<WeightTile> weight_tiles(const ParameterLayout& layout, std::size_t elements);
// Values per tile for `element`-byte numbers: 8 micro-shards' tiles and
// the exact-sum words (2 or 3 a value) fit in a core's L2, 384 or 320 KiB.
constexpr std::size_t tile_elements(std::size_t element) {
  return element <= 4 ? 8192 : 4096;
}
inline constexpr int kShardsAtOnce = 8;  // micro-shards' parts of a tile held at once

template <class T>
class ExactStep final : public GradientStep<T> {
 public:
  // Micro-shards of `m` rows; at most `max_rank_rows` rows a step on this rank.
  // `node`: the ranks of this node share the update (train/node_share.hpp);
  // only the tiles that meet this rank's pieces are turned from exact sums
  // into floats, and where the node is the whole job, the sums are read from
  // the peers' shared memory rather than all-reduced. Null: all tiles, by
  // all-reduce.
  ExactStep(Network<T>& net, RowSource& train, Collective& comm, int m, std::int64_t max_rank_rows,
            NodeShare<T>* node = nullptr);
  LossSums compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) override;
  bool sums_over_ranks() const override { return true; }
  int workers() const override { return threads_; }
  std::int64_t rows_held() const override { return std::int64_t(group_shards_) * m_; }
  std::size_t sum_buckets() const override { return buckets_.size(); }
  bool sums_shared() const override { return shared_ != nullptr; }
  // Threads a rank uses: all of them (phase B has a tile for each).
  static int workers_for();
  // Rows held at once: whole groups of micro-shards, as many as fit a
  // budget, the rank's whole share of a step where it fits.
  static std::int64_t group_rows(const ModelSpec& spec, std::int64_t max_rank_rows, int m);

 private:
  static constexpr bool kFixedTiles = std::is_same_v<T, float>;  // weight tiles in fixed point
  double forward_backward_shard(int shard, int rows, T scale);  // phase A; returns forward's seconds
  void phase_a(int shards, T scale, double& forward_seconds);  // every micro-shard of the group, on the threads
  void agree_scales(std::int64_t batch);  // the fixed-point scales of this step, from every rank's maxima
  // Phase B: `start` clears the sums first (the step's first group), `finish`
  // writes the tile's result (alone, after the last group).
  void sum_tile(const WeightTile& tile, int shards, std::span<const int> shard_rows, bool start, bool finish);
  void sum_biases_and_losses(int shards, bool start);
  void tile_result(const WeightTile& tile, T* buffer);  // the tile's sums into the gradient
  template <class V>
  void sums_into(std::span<V> out, std::size_t first);  // the sums over the ranks, on the shared path or after the all-reduce
  ExactSum exact_sums(std::vector<std::size_t> segment_ends, NodeShare<T>* node);  // sets shared_
  void plan_buckets();
  std::size_t exact_index(std::size_t element) const { return element - exact_base_; }  // an element's place in exact_
  void push_buckets(bool finish);

  // Over several ranks: runs of work items summed over the ranks as soon as they are done.
  struct Bucket {
    std::size_t first = 0, count = 0;        // elements: of the tiles' fixed-point words below exact_base_, else of exact_
    std::size_t segment0 = 0, segment1 = 0;  // their segments
    std::size_t item0 = 0, item1 = 0;        // work items: tiles, then the biases and losses
  };

  Network<T>& net_;
  RowSource& train_;
  Collective& comm_;
  int m_;
  int threads_;
  int group_shards_;
  Workspace<T> ws_;                         // activations x_k (group rows, r_k)
  std::vector<AlignedBuffer<T>> deltas_;    // per layer: dZ_k (group rows, r_k)
  AlignedBuffer<std::int32_t> labels_;      // (group rows)
  AlignedBuffer<T> targets_;                // (group rows, outputs)
  AlignedBuffer<T> bias_grads_;             // per micro-shard: db_1 … db_K, (group shards, Σ r_k)
  std::vector<LossSums> shard_sums_;        // (group shards)
  std::vector<int> shard_rows_;             // (group shards)
  std::vector<double> shard_largest_;       // fixed tiles: per micro-shard, max over rows of |X_{k-1}(b,·)|·|dZ_k(b,·)|, (group shards, K)
  std::vector<std::int64_t> step_largest_;  // the same over this step's micro-shards, then every rank's, as bits (K)
  std::vector<int> shifts_;                 // fixed tiles: per layer, the scale 2^s of its words this step
  std::vector<WeightTile> tiles_;           // the last layer's first: their sums are needed first
  std::vector<char> tile_needed_;           // per tile: it meets a piece this rank updates
  std::vector<AlignedBuffer<T>> tile_buffers_;  // per thread: kShardsAtOnce tiles' floats, kept zero
  std::vector<T*> tile_parts_;              // per thread, kShardsAtOnce pointers into its buffer
  std::vector<std::size_t> bias_first_;     // per layer: where db_k lies in the exact sums
  std::vector<std::size_t> bias_in_shard_;  // per layer: where db_k lies in a micro-shard's bias gradients
  std::size_t bias_values_ = 0;             // Σ r_k
  NodeExactSums* shared_ = nullptr;         // the node's shared memory for the sums: the job is one node
  std::size_t exact_base_ = 0;              // the first element exact_ holds: the biases' (fixed tiles), else 0
  AlignedBuffer<std::int64_t> own_tile_words_;  // the tiles' words, unless in the node's shared memory
  std::span<std::int64_t> tile_words_;          // fixed tiles: (weights), in tile order
  std::vector<const std::int64_t*> tile_sources_;  // whose tile words a result sums: this rank's, or the node's
  ExactSum exact_;                          // (parameters + 1 loss) in tile order; with fixed tiles, (biases + 1 loss)
  std::vector<ExactSum::Peer> peers_;       // shared: every local rank's sums
  std::vector<AlignedBuffer<std::int64_t>> scratch_;  // shared: per thread, a segment's summed words
  std::vector<std::int64_t> windows_;       // the windows' all-reduce
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;      // per work item
  std::unique_ptr<std::atomic<int>[]> items_done_;  // per bucket, this step
  std::unique_ptr<BackgroundIntegers> background_;
  std::size_t started_ = 0, converted_ = 0;  // buckets whose words' sum started, and turned into gradient
  bool windows_pending_ = false;            // bucket started_'s windows are being summed
};

}  // namespace dmlp
