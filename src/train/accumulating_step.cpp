#include "dmlp/train/accumulating_step.hpp"

#include <algorithm>

namespace dmlp {

template <class T>
AccumulatingStep<T>::AccumulatingStep(Network<T>& net, RowSource& train, GradientSync<T>& sync,
                                      ParameterUpdate& updater, int rows, const BackwardTuning& tuning)
    : net_(net),
      train_(train),
      sync_(sync),
      updater_(updater),
      tuning_(tuning),
      ws_(net.spec(), rows),
      labels_(std::size_t(rows)),
      targets_(std::size_t(rows) * net.spec().outputs()) {}

template <class T>
LossSums AccumulatingStep<T>::compute(std::span<const std::int64_t> rows, std::int64_t batch, StepClock& clock) {
  const ModelSpec& spec = net_.spec();
  const std::size_t chunk = std::size_t(ws_.max_rows());
  const std::size_t chunks = std::max<std::size_t>(1, (rows.size() + chunk - 1) / chunk);
  LossSums sums;
  sync_.begin(net_.grads());
  for (std::size_t c = 0; c < chunks; ++c) {
    const auto part = rows.subspan(c * chunk, std::min(chunk, rows.size() - c * chunk));
    const int n = int(part.size());
    {
      const PhaseScope data(clock, Phase::data, this->trace_);
      train_.gather(part, ws_.input(), labels_.data(), targets_.data());
    }
    {
      // forward and loss: ∂L/∂x_K = (1/B)·∂ℓ/∂x_K for these rows
      const PhaseScope forward_phase(clock, Phase::forward, this->trace_);
      const T* output = forward(net_, ws_, n, this->trace_);
      const TraceSpan loss_span(this->trace_, "loss");
      const LossSums part_sums =
          loss_forward_backward(spec.loss, n, spec.outputs(), output, Targets<T>{labels_.data(), targets_.data()},
                                batch_mean_scale<T>(batch), ws_.output_grad());
      sums.loss += part_sums.loss;
      sums.correct += part_sums.correct;
    }
    // backward; the first chunk's gradients overwrite the previous step's,
    // which spares a pass zeroing them. In the last, each layer's gradient
    // sum over the ranks starts as soon as that layer is done.
    const bool last = c + 1 == chunks;
    const PhaseScope backward_phase(clock, Phase::backward, this->trace_);
    backward(net_, ws_, n, last ? &updater_.backward_observer() : nullptr,
             c == 0 ? GradMode::Overwrite : GradMode::Accumulate, this->trace_, tuning_);
  }
  const PhaseScope wait(clock, Phase::allreduce_wait, this->trace_);
  sync_.finish();
  return sums;
}

template class AccumulatingStep<float>;
template class AccumulatingStep<double>;

}  // namespace dmlp
