#include "dmlp/train/exact_step.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/test_hooks.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp {
namespace {
constexpr std::size_t kGroupBudget = std::size_t{64} << 20;  // bytes of a group's activations and deltas
constexpr int kTileColumns = 128;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

constexpr std::size_t kBucketElements = std::size_t{1} << 17;  // values a background all-reduce sums: 2 MiB of words

// ExactSum's segments, in the order phase B completes them: every tile (on a
// window of its own) unless the tiles are summed in fixed point, then every
// b_k (biases' gradients often lie far from the weights'), then the loss.
std::vector<std::size_t> segment_ends(const ParameterLayout& layout, const std::vector<WeightTile>& tiles,
                                      bool fixed_tiles) {
  std::vector<std::size_t> ends;
  if (!fixed_tiles)
    for (const WeightTile& t : tiles) ends.push_back(t.first + t.size());
  for (const LayerSlots& s : layout.layers()) ends.push_back((ends.empty() ? 0 : ends.back()) + std::size_t(s.out));
  ends.push_back(ends.back() + 1);
  return ends;
}

std::size_t weight_count(const ParameterLayout& layout) {
  std::size_t n = 0;
  for (const LayerSlots& s : layout.layers()) n += s.weight_count();
  return n;
}

// Where each db_k lies in that order.
std::vector<std::size_t> bias_places(const ParameterLayout& layout) {
  std::size_t at = 0;
  for (const LayerSlots& s : layout.layers()) at += s.weight_count();
  std::vector<std::size_t> places;
  for (const LayerSlots& s : layout.layers()) {
    places.push_back(at);
    at += std::size_t(s.out);
  }
  return places;
}
}  // namespace

std::vector<WeightTile> weight_tiles(const ParameterLayout& layout, std::size_t elements) {
  std::vector<WeightTile> tiles;
  std::size_t first = 0;
  for (int k = int(layout.layers().size()) - 1; k >= 0; --k) {  // as backward reaches them
    const LayerSlots& s = layout.layer(k);
    // about square, kTileColumns wide, wider for a layer with few rows
    const int want_cols = std::min(s.in, std::max(kTileColumns, int(elements / std::size_t(s.out))));
    const int col_parts = ceil_div(s.in, want_cols);
    const int cols = ceil_div(s.in, col_parts);
    const int row_parts = ceil_div(s.out, std::max(1, int(elements / std::size_t(cols))));
    for (int r = 0; r < row_parts; ++r)
      for (int c = 0; c < col_parts; ++c) {
        WeightTile t{k, int(std::int64_t(s.out) * r / row_parts), int(std::int64_t(s.out) * (r + 1) / row_parts),
                     int(std::int64_t(s.in) * c / col_parts), int(std::int64_t(s.in) * (c + 1) / col_parts), first};
        first += t.size();
        tiles.push_back(t);
      }
  }
  return tiles;
}

bool tile_meets(const ParameterLayout& layout, const WeightTile& tile, std::span<const Piece> pieces) {
  const LayerSlots& s = layout.layer(tile.layer);
  const std::size_t begin = s.weight_offset + std::size_t(tile.row0) * std::size_t(s.in) + std::size_t(tile.col0);
  const std::size_t end = s.weight_offset + std::size_t(tile.row1 - 1) * std::size_t(s.in) + std::size_t(tile.col1);
  return std::any_of(pieces.begin(), pieces.end(),
                     [&](const Piece& p) { return !p.bias && p.layer == tile.layer && p.begin < end && begin < p.end; });
}

void reduce_exactly(ExactSum& sum, std::vector<std::int64_t>& windows, Collective& comm) {
  if (comm.size() == 1) return;
  windows.assign(sum.windows().begin(), sum.windows().end());
  comm.max_integers(windows);
  sum.align_to(windows);
  comm.sum_integers(sum.words());
}

template <class T>
int ExactStep<T>::workers_for() {
  return std::max(1, omp_get_max_threads());
}

template <class T>
std::int64_t ExactStep<T>::group_rows(const ModelSpec& spec, std::int64_t max_rank_rows, int m) {
  std::int64_t row_values = 0;  // activations and deltas, with the labels and targets
  for (int w : spec.widths()) row_values += w;
  for (const auto& layer : spec.layers) row_values += layer.out;
  row_values += spec.outputs() + 1;
  const std::int64_t shard_bytes = row_values * std::int64_t(sizeof(T)) * m;
  const std::int64_t rank_shards = std::max<std::int64_t>(1, (max_rank_rows + m - 1) / m);
  std::int64_t fit = std::max<std::int64_t>(std::int64_t(kGroupBudget) / shard_bytes, workers_for());
  if (const auto cap = test_group_shards()) fit = std::min(fit, *cap);
  return std::min(rank_shards, fit) * m;
}

template <class T>
ExactStep<T>::ExactStep(Network<T>& net, RowSource& train, Collective& comm, int m, std::int64_t max_rank_rows,
                        NodeShare<T>* node)
    : net_(net),
      train_(train),
      comm_(comm),
      m_(m),
      threads_(workers_for()),
      group_shards_(int(group_rows(net.spec(), max_rank_rows, m) / m)),
      ws_(net.spec(), group_shards_ * m),
      labels_(std::size_t(group_shards_) * std::size_t(m)),
      targets_(std::size_t(group_shards_) * std::size_t(m) * std::size_t(net.spec().outputs())),
      shard_sums_(std::size_t(group_shards_)),
      shard_rows_(std::size_t(group_shards_)),
      tiles_(weight_tiles(net.layout(), tile_elements(sizeof(T)))),
      bias_first_(bias_places(net.layout())),
      exact_base_(kFixedTiles ? weight_count(net.layout()) : 0),
      exact_(exact_sums(segment_ends(net.layout(), tiles_, kFixedTiles), node && comm.size() > 1 ? node : nullptr)) {
  for (const WeightTile& t : tiles_)
    tile_needed_.push_back(!node || tile_meets(net.layout(), t, node->pieces()));
  for (const LayerSlots& s : net.layout().layers()) {
    deltas_.emplace_back(std::size_t(group_shards_) * std::size_t(m) * std::size_t(s.out));
    bias_in_shard_.push_back(bias_values_);
    bias_values_ += std::size_t(s.out);
  }
  bias_grads_ = AlignedBuffer<T>(std::size_t(group_shards_) * bias_values_);
  std::size_t largest = 0, largest_bias = 1;
  for (const WeightTile& t : tiles_) largest = std::max(largest, t.size());
  for (const LayerSlots& s : net.layout().layers()) largest_bias = std::max(largest_bias, std::size_t(s.out));
  for (int i = 0; i < threads_; ++i) {
    tile_buffers_.emplace_back(largest * kShardsAtOnce);
    for (int j = 0; j < kShardsAtOnce; ++j) tile_parts_.push_back(tile_buffers_.back().data() + largest * std::size_t(j));
    if (shared_)
      scratch_.emplace_back(std::max(largest, largest_bias) * std::size_t(exact_.words_per_element()));
  }
  if (shared_)
    for (int r = 0; r < shared_->local_size(); ++r) {
      peers_.push_back({shared_->windows_of(r), shared_->words_of(r).subspan(tile_words_.size())});
      tile_sources_.push_back(shared_->words_of(r).data());
    }
  else
    tile_sources_.push_back(tile_words_.data());
  if constexpr (kFixedTiles) {
    shard_largest_.resize(std::size_t(group_shards_) * std::size_t(net.num_layers()));
    step_largest_.resize(std::size_t(net.num_layers()));
    shifts_.resize(std::size_t(net.num_layers()));
  }
  windows_.reserve(exact_.windows().size());
  if (comm.size() > 1) plan_buckets();
}

// The exact sums in the node's shared memory where `node` gives room
// (setting shared_), else in this rank's own.
// With fixed tiles, each rank's words there are its tiles' (one a weight),
// then its ExactSum's (K an element).
template <class T>
ExactSum ExactStep<T>::exact_sums(std::vector<std::size_t> ends, NodeShare<T>* node) {
  const int K = exact_sum_words<T>();
  const std::size_t tile_words = kFixedTiles ? exact_base_ : 0;
  // a bucket holds a work item or more: at most one per tile, and the biases' and losses'
  shared_ = node ? node->share_exact_sums(tile_words + ends.back() * std::size_t(K), ends.size(), tiles_.size() + 1)
                 : nullptr;
  if (!shared_) {
    own_tile_words_ = AlignedBuffer<std::int64_t>(tile_words);
    tile_words_ = own_tile_words_.span();
    return ExactSum(std::move(ends), K);
  }
  const int me = shared_->local_rank();
  tile_words_ = shared_->words_of(me).first(tile_words);
  return ExactSum(std::move(ends), K, shared_->words_of(me).subspan(tile_words), shared_->windows_of(me));
}

// Runs of work items (tiles, in order, then the biases and losses) whose
// sums go over the ranks together, about kBucketElements values each.
template <class T>
void ExactStep<T>::plan_buckets() {
  const std::size_t items = tiles_.size() + 1;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < items; ++i) {
    const bool last = i + 1 == items;
    const bool last_tile = kFixedTiles && i + 2 == items;  // fixed-point tiles and exact sums go in buckets apart
    const std::size_t end = last ? exact_base_ + exact_.size() : tiles_[i].first + tiles_[i].size();
    if (!last && !last_tile && end - tiles_[begin].first < kBucketElements) continue;
    Bucket b;
    b.first = begin < tiles_.size() ? tiles_[begin].first : bias_first_[0];
    b.count = end - b.first;
    if (b.first >= exact_base_) std::tie(b.segment0, b.segment1) = exact_.segments(exact_index(b.first), b.count);
    b.item0 = begin;
    b.item1 = i + 1;
    buckets_.push_back(b);
    begin = i + 1;
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b)
    for (std::size_t i = buckets_[b].item0; i < buckets_[b].item1; ++i) bucket_of_.push_back(b);
  items_done_ = std::make_unique<std::atomic<int>[]>(buckets_.size());
  if (shared_) return;  // the node's barriers, one per bucket
  background_ = comm_.background_integers(int(buckets_.size()) + 1);  // the windows' slot, then one per bucket
  windows_.resize(exact_.windows().size());
}

// Moves the buckets' sums along, from thread 0 between work items: the
// windows' MAX of the next complete bucket, then its words' SUM, one bucket
// after the other, in the same order on every rank; a summed bucket's tiles
// become gradient. `finish`: waits for every bucket's sum to start.
template <class T>
void ExactStep<T>::push_buckets(bool finish) {
  const auto complete = [&](std::size_t b) {
    return items_done_[b].load(std::memory_order_acquire) == int(buckets_[b].item1 - buckets_[b].item0);
  };
  const auto convert = [&](std::size_t b) {
    for (std::size_t i = buckets_[b].item0; i < std::min(buckets_[b].item1, tiles_.size()); ++i)
      if (tile_needed_[i]) tile_result(tiles_[i], tile_parts_[0]);
  };
  if (shared_) {  // one node: a barrier per bucket, then each reads its peers' words of it
    for (; started_ < buckets_.size() && complete(started_); ++started_) shared_->start(started_);
    if (finish) return;
    for (; converted_ < started_ && shared_->done(converted_); ++converted_) convert(converted_);
    return;
  }
  const std::size_t K = std::size_t(exact_.words_per_element());
  while (true) {
    if (windows_pending_) {
      const Bucket& b = buckets_[started_];
      if (finish) background_->wait(0);
      else if (!background_->done(0)) break;
      exact_.align_to(std::span<const std::int64_t>(windows_).subspan(b.segment0, b.segment1 - b.segment0), b.segment0);
      background_->start(int(started_) + 1, exact_.words().subspan(exact_index(b.first) * K, b.count * K), false);
      windows_pending_ = false;
      ++started_;
      continue;
    }
    if (started_ == buckets_.size() || !complete(started_)) break;
    const Bucket& b = buckets_[started_];
    if (b.first < exact_base_) {  // fixed-point tiles: their scale is agreed already, so only the words' SUM
      background_->start(int(started_) + 1, tile_words_.subspan(b.first, b.count), false);
      ++started_;
      continue;
    }
    std::copy(exact_.windows().begin() + std::ptrdiff_t(b.segment0), exact_.windows().begin() + std::ptrdiff_t(b.segment1),
              windows_.begin() + std::ptrdiff_t(b.segment0));
    background_->start(0, std::span<std::int64_t>(windows_).subspan(b.segment0, b.segment1 - b.segment0), true);
    windows_pending_ = true;
  }
  if (finish) return;  // compute() turns the rest into gradient, on every thread
  for (; converted_ < started_ && background_->done(int(converted_) + 1); ++converted_) convert(converted_);
}


// Phase A for micro-shard `shard` of the group, `rows` rows: the operations
// and shapes of one micro-shard alone, on one BLAS thread.
template <class T>
double ExactStep<T>::forward_backward_shard(int shard, int rows, T scale) {
  const auto start = StepClock::Clock::now();
  const ModelSpec& spec = net_.spec();
  const T slope = T(spec.leaky_slope);
  const std::size_t row0 = std::size_t(shard) * std::size_t(m_);
  const int K = net_.num_layers();
  for (int k = 0; k < K; ++k) {
    const LayerSlots& s = net_.layout().layer(k);
    // A(m,out) = σ(X(m,in)·Wᵀ + b)
    if constexpr (std::is_same_v<T, float>)
      dense_forward_row_stable(net_.layer(k), spec.activations[std::size_t(k)], slope, rows,
                               ws_.activation(k) + row0 * s.in, ws_.activation(k + 1) + row0 * s.out);
    else
      dense_forward(net_.layer(k), spec.activations[std::size_t(k)], slope, rows, ws_.activation(k) + row0 * s.in,
                    ws_.activation(k + 1) + row0 * s.out);
  }
  const double forward_seconds = std::chrono::duration<double>(StepClock::Clock::now() - start).count();
  const int outputs = spec.outputs();
  shard_sums_[std::size_t(shard)] = loss_forward_backward(
      spec.loss, rows, outputs, ws_.activation(K) + row0 * outputs,
      Targets<T>{labels_.data() + row0, targets_.data() + row0 * outputs}, scale, deltas_.back().data() + row0 * outputs);
  T* db = bias_grads_.data() + std::size_t(shard) * bias_values_;
  for (int k = K - 1; k >= 0; --k) {
    const LayerSlots& s = net_.layout().layer(k);
    T* dZ = deltas_[std::size_t(k)].data() + row0 * s.out;
    // dZ(m,out) = dA ⊙ σ'(z) and db(out) = Σ_rows dZ, in row order
    activation_backward_and_bias_grad(spec.activations[std::size_t(k)], slope, rows, s.out,
                                      ws_.activation(k + 1) + row0 * s.out, dZ, db + bias_in_shard_[std::size_t(k)], true);
    if constexpr (kFixedTiles) {  // the largest |X_{k-1}(b,·)|·|dZ_k(b,·)| of a row b, for the scale of dW_k's words
      double largest = 0;
      for (int b = 0; b < rows; ++b) {
        const double x = largest_magnitude(std::span<const T>(ws_.activation(k) + (row0 + b) * s.in, s.in));
        const double dz = largest_magnitude(std::span<const T>(dZ + std::size_t(b) * s.out, s.out));
        // exact: two floats' product in a double; infinity (a NaN or ∞ met) wins even against a zero
        const double product = std::isinf(x) || std::isinf(dz) ? HUGE_VAL : x * dz;
        largest = std::max(largest, product);
      }
      shard_largest_[std::size_t(shard) * std::size_t(K) + std::size_t(k)] = largest;
    }
    // dX(m,in) = dZ(m,out)·W(out,in): the layer below's dA
    if (k == 0) continue;
    if constexpr (std::is_same_v<T, float>)
      dense_backward_input_row_stable(net_.layer(k), rows, dZ, deltas_[std::size_t(k - 1)].data() + row0 * s.in);
    else
      dense_backward_input(net_.layer(k), rows, dZ, deltas_[std::size_t(k - 1)].data() + row0 * s.in);
  }
  return forward_seconds;
}

// Phase B for one tile: each micro-shard's part, kShardsAtOnce at a time
// into the thread's buffers, then added at once while in cache.
template <class T>
void ExactStep<T>::sum_tile(const WeightTile& t, int shards, std::span<const int> shard_rows, bool start,
                            bool finish) {
  const LayerSlots& s = net_.layout().layer(t.layer);
  const int rows = t.row1 - t.row0, cols = t.col1 - t.col0;
  const std::size_t thread = std::size_t(omp_get_thread_num());
  T* const* parts = tile_parts_.data() + thread * kShardsAtOnce;  // each (rows, cols), zero
  if (start && !kFixedTiles) exact_.clear(t.first, t.size());
  for (int j0 = 0; j0 < shards; j0 += kShardsAtOnce) {
    const int now = std::min(kShardsAtOnce, shards - j0);
    for (int j = j0; j < j0 + now; ++j) {
      const std::size_t row0 = std::size_t(j) * std::size_t(m_);
      const T* dZ = deltas_[std::size_t(t.layer)].data() + row0 * s.out + t.row0;  // (m, out), columns row0…
      const T* X = ws_.activation(t.layer) + row0 * s.in + t.col0;                // (m, in), columns col0…
      // part(rows,cols) = dZᵀ(rows,m)·X(m,cols), added to the zeros take() left:
      // the same floats as β = 0, without OpenBLAS's pass that clears the part
      blas::gemm<T>(blas::Op::T, blas::Op::N, rows, cols, shard_rows[std::size_t(j)], T(1), dZ, s.out, X, s.in, T(1),
                    parts[j - j0], cols);
    }
    if constexpr (kFixedTiles)  // the step's first parts overwrite last step's words
      fixed_point_add(std::span<T* const>(parts, std::size_t(now)), t.size(), shifts_[std::size_t(t.layer)],
                      tile_words_.data() + t.first, start && j0 == 0);
    else
      exact_.take(std::span<T* const>(parts, std::size_t(now)), t.first, t.size());
  }
  if (finish) tile_result(t, parts[0]);
}

template <class T>
template <class V>
void ExactStep<T>::sums_into(std::span<V> out, std::size_t first) {
  if (shared_) exact_.result_of_sum(peers_, out, exact_index(first), scratch_[std::size_t(omp_get_thread_num())].span());
  else exact_.result(out, exact_index(first));
}

template <class T>
void ExactStep<T>::tile_result(const WeightTile& t, T* tile) {
  const LayerSlots& s = net_.layout().layer(t.layer);
  const int cols = t.col1 - t.col0;
  T* dW = net_.grads().data() + s.weight_offset;  // (out, in)
  if constexpr (kFixedTiles) {  // straight into dW's rows: the tile's words over the node's ranks, or the summed ones
    for (int r = t.row0; r < t.row1; ++r)
      fixed_point_result(tile_sources_, t.first + std::size_t(r - t.row0) * std::size_t(cols),
                         shifts_[std::size_t(t.layer)], std::span<T>(dW + std::size_t(r) * s.in + t.col0, std::size_t(cols)));
    return;
  }
  sums_into(std::span<T>(tile, t.size()), t.first);
  for (int r = t.row0; r < t.row1; ++r)
    std::copy_n(tile + std::size_t(r - t.row0) * cols, cols, dW + std::size_t(r) * s.in + t.col0);
  std::fill_n(tile, t.size(), T(0));  // as sum_tile expects it
}

template <class T>
void ExactStep<T>::sum_biases_and_losses(int shards, bool start) {
  const std::size_t params = net_.layout().size();
  if (start) {
    for (int k = 0; k < net_.num_layers(); ++k)
      exact_.clear(exact_index(bias_first_[std::size_t(k)]), std::size_t(net_.layout().layer(k).out));
    exact_.clear(exact_index(params), 1);
  }
  for (int j = 0; j < shards; ++j) {
    const T* db = bias_grads_.data() + std::size_t(j) * bias_values_;
    for (int k = 0; k < net_.num_layers(); ++k)
      exact_.add(std::span<const T>(db + bias_in_shard_[std::size_t(k)], std::size_t(net_.layout().layer(k).out)),
                 exact_index(bias_first_[std::size_t(k)]));
    exact_.add(std::span<const double>(&shard_sums_[std::size_t(j)].loss, 1), exact_index(params));
  }
}

// Phase A over the group's micro-shards, on the threads.
template <class T>
void ExactStep<T>::phase_a(int shards, T scale, double& forward_seconds) {
#pragma omp parallel num_threads(threads_)
  {
    double mine = 0;
#pragma omp for schedule(static)
    for (int j = 0; j < shards; ++j) mine += forward_backward_shard(j, shard_rows_[std::size_t(j)], scale);
    if (omp_get_thread_num() == 0) forward_seconds += mine;
  }
  if constexpr (kFixedTiles) {  // the maxima as bits: a non-negative double's order as an integer's
    for (int j = 0; j < shards; ++j)
      for (std::size_t i = 0; i < step_largest_.size(); ++i)
        step_largest_[i] = std::max(step_largest_[i],
                                    std::bit_cast<std::int64_t>(shard_largest_[std::size_t(j) * step_largest_.size() + i]));
  }
}

// Every rank's maxima, then per layer the bound on Σ|dW_k's parts| over the
// whole global batch: with R the largest |X_{k-1}(b,·)|·|dZ_k(b,·)| of any row
// b, every term dZ(b,i)·X(b,j) is at most R, so B·R with float_dot_bound's
// margins; and its scale. A row whose dZ is zero (an outlier classified
// right) adds nothing to R. The maximum does not depend on how the rows are
// split over ranks, threads or groups, so neither do the scales. A part of m
// rows that could reach 2^127, where its float might overflow, or a NaN or
// infinity met, makes the layer non-finite: its dW is NaN, as a plain run's.
template <class T>
void ExactStep<T>::agree_scales(std::int64_t batch) {
  if (comm_.size() > 1) comm_.max_integers(step_largest_);
  for (std::size_t k = 0; k < shifts_.size(); ++k) {
    const double row_bound = std::bit_cast<double>(step_largest_[k]);
    const bool finite_parts = float_dot_bound(double(m_) * row_bound, double(m_)) < 0x1p127;
    shifts_[k] = finite_parts ? fixed_point_shift(float_dot_bound(double(batch) * row_bound, double(batch)))
                              : kFixedPointNonFinite;
  }
}

template <class T>
LossSums ExactStep<T>::compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) {
  const std::size_t m = std::size_t(m_);
  const std::size_t shards = (rows.size() + m - 1) / m;  // whole micro-shards, from a multiple of m
  const T scale = batch_mean_scale<T>(batch);
  const bool alone = comm_.size() == 1;
  if (!alone) {  // the buckets' sums start as their tiles complete
    for (std::size_t b = 0; b < buckets_.size(); ++b) items_done_[b].store(0, std::memory_order_relaxed);
    started_ = converted_ = 0;
    windows_pending_ = false;
  }
  const auto group_of = [&](std::size_t first) {  // the group's rows, and the rows of each of its micro-shards
    const int in_group = int(std::min(std::size_t(group_shards_), shards - first));
    const auto group = rows.subspan(first * m, std::min(std::size_t(in_group) * m, rows.size() - first * m));
    {  // the data on this thread: a source need not be thread-safe
      const PhaseScope data(clock, Phase::data, this->trace_);
      train_.gather(group, ws_.input(), labels_.data(), targets_.data());
    }
    for (int j = 0; j < in_group; ++j)
      shard_rows_[std::size_t(j)] = int(std::min(m, group.size() - std::size_t(j) * m));
    return in_group;
  };
  if constexpr (kFixedTiles) {
    std::fill(step_largest_.begin(), step_largest_.end(), 0);
    if (shards > std::size_t(group_shards_))  // several groups: their maxima first, before any group's words
      for (std::size_t first = 0; first < shards; first += std::size_t(group_shards_)) {
        const int in_group = group_of(first);
        const PhaseScope backward_phase(clock, Phase::backward, this->trace_, "micro-batches, for the scales", in_group);
        const SerialBlas serial;
        double forward_seconds = 0;
        phase_a(in_group, scale, forward_seconds);
        clock.move(Phase::backward, Phase::forward, forward_seconds);
      }
  }
  double correct = 0;
  for (std::size_t first = 0; first < shards; first += std::size_t(group_shards_)) {
    const int in_group = group_of(first);
    const bool last_group = first + std::size_t(in_group) == shards;
    const PhaseScope backward_phase(clock, Phase::backward, this->trace_, "micro-batches", in_group);
    const SerialBlas serial;  // one BLAS thread per GEMM: the same floats on any rank
    double forward_seconds = 0;  // thread 0's, as the phase's measure
    phase_a(in_group, scale, forward_seconds);
    if constexpr (kFixedTiles)
      if (first == 0) agree_scales(batch);
    const int tiles = int(tiles_.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
    for (int i = 0; i <= tiles; ++i) {  // the bias sums and losses as one more work item
      if (i == tiles) sum_biases_and_losses(in_group, first == 0);
      else sum_tile(tiles_[std::size_t(i)], in_group, shard_rows_, first == 0, alone && last_group);
      if (!alone && last_group) {
        items_done_[bucket_of_[std::size_t(i)]].fetch_add(1, std::memory_order_release);
        if (omp_get_thread_num() == 0) push_buckets(false);
      }
    }
    clock.move(Phase::backward, Phase::forward, forward_seconds);
    for (int j = 0; j < in_group; ++j) correct += shard_sums_[std::size_t(j)].correct;  // a count: exact in a double
  }
  if constexpr (kFixedTiles)
    if (shards == 0) agree_scales(batch);  // every rank joins the maxima's all-reduce, once a step
  if (!alone) {
    std::size_t from = 0;  // the first tile not yet gradient
    {
      const PhaseScope wait(clock, Phase::allreduce_wait, this->trace_);
      if (shards == 0) {  // nothing on this rank: zeros, in the others' sequence of sums
        exact_.clear();
        std::fill(tile_words_.begin(), tile_words_.end(), 0);
        for (std::size_t b = 0; b < buckets_.size(); ++b)
          items_done_[b].store(int(buckets_[b].item1 - buckets_[b].item0), std::memory_order_relaxed);
      }
      push_buckets(true);
      for (std::size_t b = converted_; b < buckets_.size(); ++b)
        if (shared_) shared_->wait(b);
        else background_->wait(int(b) + 1);
      from = converted_ < buckets_.size() ? buckets_[converted_].item0 : tiles_.size();
    }
    const PhaseScope results(clock, Phase::backward, this->trace_, "exact sums");
    const int tiles = int(tiles_.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
    for (int i = int(from); i < tiles; ++i)
      if (tile_needed_[std::size_t(i)])
        tile_result(tiles_[std::size_t(i)], tile_parts_[std::size_t(omp_get_thread_num()) * kShardsAtOnce]);
  }
  for (int k = 0; k < net_.num_layers(); ++k)
    sums_into(std::span<T>(net_.bias_grad(k), std::size_t(net_.layout().layer(k).out)), bias_first_[std::size_t(k)]);
  LossSums sums;
  sums_into(std::span<double>(&sums.loss, 1), net_.layout().size());
  sums.correct = correct;
  return sums;
}

template class ExactStep<float>;
template class ExactStep<double>;

}  // namespace dmlp
