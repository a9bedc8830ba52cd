#include "dmlp/train/exact_step.hpp"

#include <omp.h>

#include <algorithm>

#include "dmlp/train/threads.hpp"

namespace dmlp {
namespace {
// ExactSum's segments for a parameter layout: each W_k and b_k on its own
// window, since biases' gradients often lie far from the weights'; the loss last.
std::vector<std::size_t> segments(const ParameterLayout& layout) {
  std::vector<std::size_t> ends;
  for (const LayerSlots& s : layout.layers()) {
    ends.push_back(s.weight_offset + s.weight_count());
    ends.push_back(s.end());
  }
  ends.push_back(layout.size() + 1);
  return ends;
}
}  // namespace

void reduce_exactly(ExactSum& sum, std::vector<std::int64_t>& windows, Collective& comm) {
  if (comm.size() == 1) return;
  windows.assign(sum.windows().begin(), sum.windows().end());
  comm.max_integers(windows);
  sum.align_to(windows);
  comm.sum_integers(sum.words());
}

template <class T>
int ExactStep<T>::workers_for(std::int64_t max_rank_rows, int m) {
  const std::int64_t shards = (max_rank_rows + m - 1) / m;
  return int(std::clamp<std::int64_t>(shards, 1, omp_get_max_threads()));
}

template <class T>
ExactStep<T>::ExactStep(Network<T>& net, RowSource& train, Collective& comm, int m, std::int64_t max_rank_rows)
    : net_(net),
      train_(train),
      comm_(comm),
      m_(std::size_t(m)),
      workers_(std::size_t(workers_for(max_rank_rows, m))),
      exact_(segments(net.layout()), exact_sum_words<T>()) {
  const ModelSpec& spec = net.spec();
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    Worker& worker = workers_[w];
    worker.ws = std::make_unique<Workspace<T>>(spec, m);
    worker.labels = AlignedBuffer<std::int32_t>(m_);
    worker.targets = AlignedBuffer<T>(m_ * std::size_t(spec.outputs()));
    if (w > 0) worker.grads = AlignedBuffer<T>(net.layout().size());
  }
  windows_.reserve(exact_.windows().size());
}

template <class T>
LossSums ExactStep<T>::compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) {
  const ModelSpec& spec = net_.spec();
  const std::size_t params = net_.layout().size();
  const std::size_t shards = (rows.size() + m_ - 1) / m_;  // whole micro-shards, from a multiple of m
  const T scale = batch_mean_scale<T>(batch);
  exact_.clear();
  double correct = 0;
  for (std::size_t first = 0; first < shards; first += workers_.size()) {
    const int in_round = int(std::min(workers_.size(), shards - first));
    // The data on this thread: a source need not be thread-safe.
    for (int w = 0; w < in_round; ++w) {
      const PhaseScope data(clock, Phase::data, this->trace_);
      Worker& worker = workers_[std::size_t(w)];
      const std::size_t begin = (first + std::size_t(w)) * m_;
      const auto part = rows.subspan(begin, std::min(m_, rows.size() - begin));
      worker.rows = int(part.size());
      train_.gather(part, worker.ws->input(), worker.labels.data(), worker.targets.data());
    }
    {
      // Each micro-shard on one thread with one BLAS thread: the same
      // operations in the same order whichever rank and thread run it.
      const PhaseScope backward_phase(clock, Phase::backward, this->trace_, "micro-batches", in_round);
      const SerialBlas serial;
      double forward_seconds = 0;  // thread 0's, as the phase's measure
#pragma omp parallel num_threads(in_round)
      {
        const int w = omp_get_thread_num();
        Worker& worker = workers_[std::size_t(w)];
        const auto start = StepClock::Clock::now();
        const T* output = forward(net_, *worker.ws, worker.rows);
        worker.sums = loss_forward_backward(spec.loss, worker.rows, spec.outputs(), output,
                                            Targets<T>{worker.labels.data(), worker.targets.data()}, scale,
                                            worker.ws->output_grad());
        if (w == 0) forward_seconds = std::chrono::duration<double>(StepClock::Clock::now() - start).count();
        backward_into(net_, *worker.ws, worker.rows, grads_of(std::size_t(w)), nullptr, GradMode::Overwrite);
      }
      clock.move(Phase::backward, Phase::forward, forward_seconds);
    }
    // converting to fixed point: the exact sums' cost, booked as backward's
    const PhaseScope sums_phase(clock, Phase::backward, this->trace_, "exact sums");
    for (int w = 0; w < in_round; ++w) {
      Worker& worker = workers_[std::size_t(w)];
      exact_.add(std::span<const T>(grads_of(std::size_t(w))));
      exact_.add(std::span<const double>(&worker.sums.loss, 1), params);
      correct += worker.sums.correct;  // a count: exact in a double
    }
  }
  const PhaseScope wait(clock, Phase::allreduce_wait, this->trace_);
  reduce_exactly(exact_, windows_, comm_);
  exact_.result(net_.grads());
  LossSums sums;
  exact_.result(std::span<double>(&sums.loss, 1), params);
  sums.correct = correct;
  return sums;
}

template class ExactStep<float>;
template class ExactStep<double>;

}  // namespace dmlp
