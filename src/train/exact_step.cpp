#include "dmlp/train/exact_step.hpp"

#include <omp.h>

#include <algorithm>

#include "dmlp/core/blas.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp {
namespace {
constexpr std::size_t kGroupBudget = std::size_t{64} << 20;  // bytes of a group's activations and deltas
constexpr int kTileColumns = 128;

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Where db_k lies in the exact sums' order: right after W_k's tiles.
std::vector<std::size_t> bias_places(const ParameterLayout& layout, const std::vector<WeightTile>& tiles) {
  std::vector<std::size_t> places(layout.layers().size(), 0);
  for (const WeightTile& t : tiles) places[std::size_t(t.layer)] = std::max(places[std::size_t(t.layer)], t.first + t.size());
  return places;
}

// ExactSum's segments: every tile and every b_k on its own window (biases'
// gradients often lie far from the weights'), and the loss last.
std::vector<std::size_t> segment_ends(const ParameterLayout& layout, const std::vector<WeightTile>& tiles) {
  const std::vector<std::size_t> biases = bias_places(layout, tiles);
  std::vector<std::size_t> ends;
  for (std::size_t k = 0; k < biases.size(); ++k) {
    for (const WeightTile& t : tiles)
      if (std::size_t(t.layer) == k) ends.push_back(t.first + t.size());
    ends.push_back(biases[k] + std::size_t(layout.layer(int(k)).out));
  }
  ends.push_back(layout.size() + 1);
  return ends;
}
}  // namespace

std::vector<WeightTile> weight_tiles(const ParameterLayout& layout, std::size_t elements) {
  std::vector<WeightTile> tiles;
  std::size_t first = 0;
  for (int k = 0; k < int(layout.layers().size()); ++k) {
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
    first += std::size_t(s.out);  // b_k
  }
  return tiles;
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
  const std::int64_t fit = std::max<std::int64_t>(std::int64_t(kGroupBudget) / shard_bytes, workers_for());
  return std::min(rank_shards, fit) * m;
}

template <class T>
ExactStep<T>::ExactStep(Network<T>& net, RowSource& train, Collective& comm, int m, std::int64_t max_rank_rows)
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
      bias_first_(bias_places(net.layout(), tiles_)),
      exact_(segment_ends(net.layout(), tiles_), exact_sum_words<T>()) {
  for (const LayerSlots& s : net.layout().layers()) {
    deltas_.emplace_back(std::size_t(group_shards_) * std::size_t(m) * std::size_t(s.out));
    bias_in_shard_.push_back(bias_values_);
    bias_values_ += std::size_t(s.out);
  }
  bias_grads_ = AlignedBuffer<T>(std::size_t(group_shards_) * bias_values_);
  std::size_t largest = 0;
  for (const WeightTile& t : tiles_) largest = std::max(largest, t.size());
  for (int i = 0; i < threads_; ++i) tile_buffers_.emplace_back(largest);
  // the last layer's tiles first: theirs are the first sums complete
  std::stable_sort(tiles_.begin(), tiles_.end(), [](const WeightTile& a, const WeightTile& b) { return a.layer > b.layer; });
  windows_.reserve(exact_.windows().size());
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
    // dX(m,in) = dZ(m,out)·W(out,in): the layer below's dA
    if (k > 0) dense_backward_input(net_.layer(k), rows, dZ, deltas_[std::size_t(k - 1)].data() + row0 * s.in);
  }
  return forward_seconds;
}

// Phase B for one tile: each micro-shard's part, added while in cache.
template <class T>
void ExactStep<T>::sum_tile(const WeightTile& t, int shards, std::span<const int> shard_rows, bool start,
                            bool finish) {
  const LayerSlots& s = net_.layout().layer(t.layer);
  const int rows = t.row1 - t.row0, cols = t.col1 - t.col0;
  T* tile = tile_buffers_[std::size_t(omp_get_thread_num())].data();  // (rows, cols)
  if (start) exact_.clear(t.first, t.size());  // in cache from here on
  for (int j = 0; j < shards; ++j) {
    const std::size_t row0 = std::size_t(j) * std::size_t(m_);
    const T* dZ = deltas_[std::size_t(t.layer)].data() + row0 * s.out + t.row0;  // (m, out), columns row0…
    const T* X = ws_.activation(t.layer) + row0 * s.in + t.col0;                // (m, in), columns col0…
    // tile(rows,cols) = dZᵀ(rows,m)·X(m,cols), added to the zeros the last take() left:
    // the same floats as β = 0, without OpenBLAS's pass that clears the tile
    blas::gemm<T>(blas::Op::T, blas::Op::N, rows, cols, shard_rows[std::size_t(j)], T(1), dZ, s.out, X, s.in, T(1),
                  tile, cols);
    exact_.take(std::span<T>(tile, t.size()), t.first);
  }
  if (finish) tile_result(t, tile);
}

template <class T>
void ExactStep<T>::tile_result(const WeightTile& t, T* tile) {
  exact_.result(std::span<T>(tile, t.size()), t.first);
  const LayerSlots& s = net_.layout().layer(t.layer);
  const int cols = t.col1 - t.col0;
  T* dW = net_.grads().data() + s.weight_offset;  // (out, in)
  for (int r = t.row0; r < t.row1; ++r)
    std::copy_n(tile + std::size_t(r - t.row0) * cols, cols, dW + std::size_t(r) * s.in + t.col0);
  std::fill_n(tile, t.size(), T(0));  // as sum_tile expects it
}

template <class T>
void ExactStep<T>::sum_biases_and_losses(int shards, bool start) {
  const std::size_t params = net_.layout().size();
  if (start) {
    for (int k = 0; k < net_.num_layers(); ++k)
      exact_.clear(bias_first_[std::size_t(k)], std::size_t(net_.layout().layer(k).out));
    exact_.clear(params, 1);
  }
  for (int j = 0; j < shards; ++j) {
    const T* db = bias_grads_.data() + std::size_t(j) * bias_values_;
    for (int k = 0; k < net_.num_layers(); ++k)
      exact_.add(std::span<const T>(db + bias_in_shard_[std::size_t(k)], std::size_t(net_.layout().layer(k).out)),
                 bias_first_[std::size_t(k)]);
    exact_.add(std::span<const double>(&shard_sums_[std::size_t(j)].loss, 1), params);
  }
}

template <class T>
LossSums ExactStep<T>::compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) {
  const std::size_t m = std::size_t(m_);
  const std::size_t shards = (rows.size() + m - 1) / m;  // whole micro-shards, from a multiple of m
  const T scale = batch_mean_scale<T>(batch);
  const bool alone = comm_.size() == 1;
  double correct = 0;
  for (std::size_t first = 0; first < shards; first += std::size_t(group_shards_)) {
    const int in_group = int(std::min(std::size_t(group_shards_), shards - first));
    const bool last_group = first + std::size_t(in_group) == shards;
    const auto group = rows.subspan(first * m, std::min(std::size_t(in_group) * m, rows.size() - first * m));
    {  // the data on this thread: a source need not be thread-safe
      const PhaseScope data(clock, Phase::data, this->trace_);
      train_.gather(group, ws_.input(), labels_.data(), targets_.data());
    }
    for (int j = 0; j < in_group; ++j)
      shard_rows_[std::size_t(j)] = int(std::min(m, group.size() - std::size_t(j) * m));
    const PhaseScope backward_phase(clock, Phase::backward, this->trace_, "micro-batches", in_group);
    const SerialBlas serial;  // one BLAS thread per GEMM: the same floats on any rank
    double forward_seconds = 0;  // thread 0's, as the phase's measure
    const int tiles = int(tiles_.size());
#pragma omp parallel num_threads(threads_)
    {
      double mine = 0;
#pragma omp for schedule(static)
      for (int j = 0; j < in_group; ++j) mine += forward_backward_shard(j, shard_rows_[std::size_t(j)], scale);
      if (omp_get_thread_num() == 0) forward_seconds = mine;
      // the bias sums and losses as one more work item
#pragma omp for schedule(dynamic, 1)
      for (int i = 0; i <= tiles; ++i) {
        if (i == tiles) sum_biases_and_losses(in_group, first == 0);
        else sum_tile(tiles_[std::size_t(i)], in_group, shard_rows_, first == 0, alone && last_group);
      }
    }
    clock.move(Phase::backward, Phase::forward, forward_seconds);
    for (int j = 0; j < in_group; ++j) correct += shard_sums_[std::size_t(j)].correct;  // a count: exact in a double
  }
  if (shards == 0) exact_.clear();  // nothing on this rank
  if (!alone || shards == 0) {
    const PhaseScope wait(clock, Phase::allreduce_wait, this->trace_);
    reduce_exactly(exact_, windows_, comm_);
    const PhaseScope results(clock, Phase::backward, this->trace_, "exact sums");
    const int tiles = int(tiles_.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
    for (int i = 0; i < tiles; ++i) tile_result(tiles_[std::size_t(i)], tile_buffers_[std::size_t(omp_get_thread_num())].data());
  }
  for (int k = 0; k < net_.num_layers(); ++k)
    exact_.result(std::span<T>(net_.bias_grad(k), std::size_t(net_.layout().layer(k).out)), bias_first_[std::size_t(k)]);
  LossSums sums;
  exact_.result(std::span<double>(&sums.loss, 1), net_.layout().size());
  sums.correct = correct;
  return sums;
}

template class ExactStep<float>;
template class ExactStep<double>;

}  // namespace dmlp
