#include "dmlp/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/train/forward_rows.hpp"
#include "dmlp/train/threads.hpp"

#include <omp.h>

namespace dmlp {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point& mark) {
  const auto now = Clock::now();
  const double s = std::chrono::duration<double>(now - mark).count();
  mark = now;
  return s;
}
// Phase times as the five numbers an all-reduce carries, and back.
std::array<double, 5> packed(const PhaseTimes& t) { return {t.data, t.forward, t.backward, t.allreduce_wait, t.update}; }
PhaseTimes unpacked(const double* v) { return {v[0], v[1], v[2], v[3], v[4]}; }

// What a report sums over ranks.
struct RankSums {
  static constexpr std::size_t kCount = 7;
  double loss, correct;
  PhaseTimes time;
  std::array<double, kCount> packed() const {
    const auto t = ::dmlp::packed(time);
    return {loss, correct, t[0], t[1], t[2], t[3], t[4]};
  }
  static RankSums unpacked(const std::array<double, kCount>& v) { return {v[0], v[1], ::dmlp::unpacked(&v[2])}; }
};

PhaseTimes divided(const PhaseTimes& t, double d) {
  return {t.data / d, t.forward / d, t.backward / d, t.allreduce_wait / d, t.update / d};
}

// Rows the workspace holds: a micro-shard, or the largest slice of a global batch.
std::int64_t workspace_rows(const TrainConfig& c, std::int64_t rows, int ranks) {
  const std::int64_t batch = std::min(c.global_batch, rows);
  return c.micro_batch > 0 ? std::min(c.micro_batch, batch) : shard(batch, ranks, 0).count;
}

// ExactSum's segments for a parameter layout: each W_k and b_k on its own
// window, since biases' gradients often lie far from the weights'.
std::vector<std::size_t> tensor_ends(const ParameterLayout& layout) {
  std::vector<std::size_t> ends;
  for (const LayerSlots& s : layout.layers()) {
    ends.push_back(s.weight_offset + s.weight_count());
    ends.push_back(s.end());
  }
  return ends;
}

// Exact sums over processes: every process's accumulator ends up holding the total.
void reduce_exactly(ExactSum& sum, std::vector<std::int64_t>& windows, Collective& comm) {
  if (comm.size() == 1) return;
  windows.assign(sum.windows().begin(), sum.windows().end());
  comm.max_integers(windows);
  sum.align_to(windows);
  comm.sum_integers(sum.words());
}
}  // namespace

OptimizerConfig effective_optimizer(const TrainConfig& c) {
  OptimizerConfig o = c.optimizer;
  const double factor = lr_batch_factor(c.lr_scaling, c.global_batch, std::max<std::int64_t>(1, c.lr_reference_batch));
  o.lr_weights *= factor;
  o.lr_bias *= factor;
  return o;
}

void validate(const TrainConfig& c, const DataShape& train, const ModelSpec& model, int ranks,
              const std::string& data_name) {
  if (c.global_batch <= 0)
    throw InputError("--batch-size " + std::to_string(c.global_batch) + " must be positive");
  require_at_most(c.global_batch, kMaxRows, "--batch-size");
  if (c.epochs <= 0) throw InputError("--epochs " + std::to_string(c.epochs) + " must be positive");
  require_at_most(c.epochs, kMaxSteps, "--epochs");
  if (c.max_steps < 0)
    throw InputError("--max-steps " + std::to_string(c.max_steps) + " must be >= 0");
  require_at_most(c.max_steps, kMaxSteps, "--max-steps");
  if (c.log_every <= 0)
    throw InputError("--log-every " + std::to_string(c.log_every) + " must be positive");
  if (c.warmup_steps < 0)
    throw InputError("--warmup-steps " + std::to_string(c.warmup_steps) + " must be >= 0");
  require_at_most(c.warmup_steps, kMaxSteps, "--warmup-steps");
  validate(c.optimizer);
  if (c.lr_reference_batch < 1)
    throw InputError("--lr-reference-batch " + std::to_string(c.lr_reference_batch) + " must be positive");
  require_at_most(c.lr_reference_batch, kMaxRows, "--lr-reference-batch");
  try {
    validate(effective_optimizer(c));  // the scaled rates too: a huge B/B0 can break AdamW's decay bound
  } catch (const InputError& e) {
    char scale[160];
    std::snprintf(scale, sizeof scale, "--lr-scaling %s multiplies --lr and --lr-bias by %g (batch %lld against %lld), and then ",
                  std::string(to_string(c.lr_scaling)).c_str(),
                  lr_batch_factor(c.lr_scaling, c.global_batch, c.lr_reference_batch),
                  static_cast<long long>(c.global_batch), static_cast<long long>(c.lr_reference_batch));
    throw InputError(scale + std::string(e.what()));
  }
  if (c.micro_batch < 0)
    throw InputError("--micro-batch " + std::to_string(c.micro_batch) + " must be positive (0: none)");
  require_at_most(c.micro_batch, kMaxRows, "--micro-batch");
  if (c.reproducible && c.micro_batch == 0)
    throw InputError("--reproducible needs micro-batches: --micro-batch at least 1 (default " +
                     std::to_string(kDefaultReproducibleMicroBatch) + ")");
  if (c.reg.lambda < 0) throw InputError("--lambda must be >= 0");
  if (train.rows <= 0) throw InputError(data_name + " is empty");
  // Each epoch's order is a permutation of every row: 8 bytes a row on each rank.
  require_memory(double(train.rows) * sizeof(std::int64_t),
                 "the epoch order of " + data_name + "'s " + std::to_string(train.rows) + " rows");
  if (train.rows < ranks)
    throw InputError(data_name + " has " + std::to_string(train.rows) + " samples, fewer than the " +
                     std::to_string(ranks) + " ranks; expected at least one sample per rank");
  if (c.drop_last && train.rows < c.global_batch)
    throw InputError("--drop-last with --batch-size " + std::to_string(c.global_batch) + " leaves no batch: " +
                     data_name + " has " + std::to_string(train.rows) + " samples");
  check_data_fits_model(train, model, data_name);
  const std::int64_t rows = workspace_rows(c, train.rows, ranks);
  require_memory(workspace_bytes(model, rows, sizeof(double)),
                 "the workspace of " + std::to_string(rows) +
                     (c.micro_batch > 0 ? " rows (--micro-batch " + std::to_string(c.micro_batch) + ")"
                                        : " rows per rank (--batch-size " + std::to_string(c.global_batch) + ")"));
}

void check_data_fits_model(const DataShape& data, const ModelSpec& model, const std::string& data_name) {
  if (data.features != model.inputs())
    throw InputError("the model takes " + std::to_string(model.inputs()) + " inputs (first --layers width) but " +
                     data_name + " has " + std::to_string(data.features) + " features");
  if (data.is_classification() != is_classification(model.loss))
    throw InputError("loss " + std::string(to_string(model.loss)) + " does not fit " +
                     (data.is_classification() ? "classification" : "regression") + " data (" + data_name + ")");
  if (data.is_classification()) {
    const int classes = num_classes_for_output(model.loss, model.outputs());
    require_memory(double(classes) * double(classes) * sizeof(double),
                   "an evaluation's confusion matrix of " + std::to_string(classes) + " classes");
    if (data.num_classes > classes)
      throw InputError(data_name + " has " + std::to_string(data.num_classes) + " classes but the model's output (" +
                       std::to_string(model.outputs()) + " with " + std::string(to_string(model.loss)) + ") fits " +
                       std::to_string(classes));
  } else if (data.targets != model.outputs()) {
    throw InputError(data_name + " has " + std::to_string(data.targets) + " targets per row but the model has " +
                     std::to_string(model.outputs()) + " outputs (last --layers width)");
  }
}

namespace {
// The rates as they train must be numbers in T: a scaling rule can take a
// finite --lr beyond float's range, where every update would be infinite.
template <class T>
void require_rates_fit(const TrainConfig& c) {
  const OptimizerConfig o = effective_optimizer(c);
  for (const auto& [rate, given, option] :
       {std::tuple{o.lr_weights, c.optimizer.lr_weights, "--lr"}, std::tuple{o.lr_bias, c.optimizer.lr_bias, "--lr-bias"}}) {
    if (std::isfinite(T(rate))) continue;
    const std::string scaled = rate == given ? "" : " (--lr-scaling " + std::string(to_string(c.lr_scaling)) +
                                                        " made it " + format_number(rate) + ")";
    throw InputError(std::string(option) + " " + format_number(given) + scaled + " is beyond the range of " +
                     (sizeof(T) == 4 ? "float32" : "float64") + ": every update would be infinite");
  }
}
}  // namespace

template <class T>
Trainer<T>::Trainer(Network<T>& net, RowSource& train, RowSource* test, TrainConfig config,
                    Collective& comm, GradientSync<T>& sync)
    : net_(net),
      train_(train),
      test_(test),
      config_((validate(config, train.shape(), net.spec(), comm.size(), train.name()), require_rates_fit<T>(config),
               config)),
      comm_(comm),
      sync_(sync),
      optimizer_(effective_optimizer(config_), net.layout()),
      plan_(train.shape().rows, config_.global_batch, config_.drop_last, config_.seed, config_.micro_batch),
      ws_(net.spec(), int(workspace_rows(config_, train.shape().rows, comm.size()))),
      labels_(std::size_t(ws_.max_rows())),
      targets_(std::size_t(ws_.max_rows()) * net.spec().outputs()) {
  if (config_.max_steps == 0 && config_.epochs > kMaxSteps / plan_.steps_per_epoch())
    throw InputError("--epochs " + std::to_string(config_.epochs) + " is too large: " +
                     std::to_string(config_.epochs) + " x " + std::to_string(plan_.steps_per_epoch()) +
                     " steps per epoch is more than " + std::to_string(kMaxSteps) + " steps");
  total_steps_ = config_.max_steps > 0 ? config_.max_steps
                                       : config_.epochs * plan_.steps_per_epoch();
  if (total_steps_ > kMaxSamples / config_.global_batch)
    throw InputError(std::to_string(total_steps_) + " steps of --batch-size " + std::to_string(config_.global_batch) +
                     " are more than " + std::to_string(kMaxSamples) + " samples; lower --epochs or --max-steps");
  if (test_) check_data_fits_model(test_->shape(), net.spec(), test_->name());
  if (train_.read_ahead_rows() > 0)
    upcoming_.reserve(std::size_t(std::max<std::int64_t>(train_.read_ahead_rows(), max_rows_per_rank())));
  // Early updates: one rank, or a sync that reports its buckets as they complete.
  early_.trainer = this;
  early_.sync = &sync_;
  if (config_.tuning.early_update && !config_.reproducible) {
    early_.summed_when_ready = comm.size() == 1;
    early_update_ = comm.size() == 1 || sync_.report_buckets(&early_);
  }
  early_.start(net.num_layers());
  if (config_.reproducible) {
    // One lane per thread, but no more than the micro-shards a rank can hold.
    const std::int64_t shards = (max_rows_per_rank() + ws_.max_rows() - 1) / ws_.max_rows();
    const int lanes = int(std::clamp<std::int64_t>(shards, 1, omp_get_max_threads()));
    const ModelSpec& spec = net.spec();
    const std::size_t params = net.layout().size();
    // everything at once: the model's state, the workspace, the other lanes' and the exact sums' words
    require_memory(parameter_bytes(spec, sizeof(T), parameter_copies(config_.optimizer)) +
                       double(lanes) * (workspace_bytes(spec, ws_.max_rows(), sizeof(T))) +
                       double(lanes - 1) * double(params) * sizeof(T) + double(params + 1) * exact_sum_words<T>() * 8.0,
                   "the model's parameters, gradients and optimizer state with --reproducible's exact sums and " +
                       std::to_string(lanes) + " threads' micro-batch buffers");
    lanes_.resize(std::size_t(lanes));
    for (std::size_t l = 1; l < lanes_.size(); ++l) {
      lanes_[l].ws = std::make_unique<Workspace<T>>(spec, ws_.max_rows());
      lanes_[l].labels = AlignedBuffer<std::int32_t>(std::size_t(ws_.max_rows()));
      lanes_[l].targets = AlignedBuffer<T>(std::size_t(ws_.max_rows()) * spec.outputs());
      lanes_[l].grads = AlignedBuffer<T>(params);
    }
    std::vector<std::size_t> ends = tensor_ends(net.layout());
    ends.push_back(params + 1);  // the loss
    exact_ = std::make_unique<ExactSum>(std::move(ends), exact_sum_words<T>());
    exact_windows_.reserve(exact_->windows().size());
  }
}

template <class T>
void Trainer<T>::read_ahead() {
  // Tell a streaming source the rows of the next steps, as many as its read-ahead holds.
  if (read_ahead_epoch_ == progress_.epoch && progress_.step_in_epoch < read_ahead_until_) return;
  const std::int64_t steps = std::max<std::int64_t>(1, train_.read_ahead_rows() / max_rows_per_rank());
  const std::int64_t until = std::min(progress_.step_in_epoch + steps, plan_.steps_per_epoch());
  upcoming_.clear();
  for (std::int64_t s = progress_.step_in_epoch; s < until; ++s) {
    const auto rows = plan_.rank_rows(s, comm_.size(), comm_.rank());
    upcoming_.insert(upcoming_.end(), rows.begin(), rows.end());
  }
  // Every rank reads ahead at the same steps: a bad row or a changed file
  // found by any of them ends the job as one failure, said once.
  comm_.agreed([&] { train_.read_ahead(upcoming_); });
  read_ahead_epoch_ = progress_.epoch;
  read_ahead_until_ = until;
}

template <class T>
double Trainer<T>::lr_at(std::int64_t step) const {
  return optimizer_.config().lr_weights *
         lr_factor(config_.schedule, step, total_steps_, config_.warmup_steps);
}

template <class T>
void Trainer<T>::step() {
  Clock::time_point mark = Clock::now();
  PhaseTimes t;

  if (progress_.step_in_epoch >= plan_.steps_per_epoch()) {  // the previous step ended an epoch
    ++progress_.epoch;
    progress_.step_in_epoch = 0;
  }
  comm_.step_started(progress_.step + 1);
  if (trace_) trace_->step_begins(progress_.step + 1);
  const TraceSpan step_span(trace_, "step");
  // data: this rank's slice of the global batch
  plan_.shuffle(progress_.epoch);
  if (train_.read_ahead_rows() > 0) read_ahead();
  const std::int64_t batch = plan_.batch_rows(progress_.step_in_epoch);
  const auto rows = plan_.rank_rows(progress_.step_in_epoch, comm_.size(), comm_.rank());
  t.data = seconds_since(mark);
  optimizer_.begin_step();  // before backward, whose early updates belong to this step
  const LossSums sums = exact_ ? exact_step(rows, batch, t) : accumulate_step(rows, batch, t);
  mark = Clock::now();

  // update: the same on every rank (or done already, layer by layer, during backward)
  const TraceSpan update_span(trace_, "update");
  bool finite = true;
  if (early_update_) {
    early_.summed.assign(early_.summed.size(), 1);  // after finish(): every sum is complete
    for (int k = 0; k < net_.num_layers(); ++k) early_.try_update(k);  // any layer not updated yet
    finite = early_.finite;
  } else {
    add_regularization_gradient(config_.reg, net_.layout(), net_.params().data(), net_.grads().data());
    finite = optimizer_.step(net_.params(), net_.grads(), lr_at(progress_.step) / optimizer_.config().lr_weights);
  }
  if (!finite)
    throw DivergedError(divergence_message(progress_.step + 1, "the gradient summed over the ranks holds NaN or infinite values"));
  t.update += seconds_since(mark);

  last_step_ = t;
  for (Tally* tally : {&interval_, &epoch_}) {
    tally->loss += sums.loss;
    tally->correct += sums.correct;
    tally->rows += double(batch);
    tally->steps += 1;
    tally->time.data += t.data;
    tally->time.forward += t.forward;
    tally->time.backward += t.backward;
    tally->time.allreduce_wait += t.allreduce_wait;
    tally->time.update += t.update;
  }
  ++progress_.step;
  ++progress_.step_in_epoch;
  progress_.samples += batch;
}

template <class T>
LossSums Trainer<T>::accumulate_step(std::span<const std::int64_t> rows, std::int64_t batch, PhaseTimes& t) {
  Clock::time_point mark = Clock::now();
  const ModelSpec& spec = net_.spec();
  // This rank's rows in chunks the workspace holds: one chunk, or its micro-shards.
  const std::size_t chunk = std::size_t(ws_.max_rows());
  const std::size_t chunks = std::max<std::size_t>(1, (rows.size() + chunk - 1) / chunk);
  LossSums sums;
  sync_.begin(net_.grads());
  early_.start(net_.num_layers());
  early_.lr_scale = lr_at(progress_.step) / optimizer_.config().lr_weights;
  GradientObserver* last_observer = early_update_ ? static_cast<GradientObserver*>(&early_) : &sync_;
  for (std::size_t c = 0; c < chunks; ++c) {
    const auto part = rows.subspan(c * chunk, std::min(chunk, rows.size() - c * chunk));
    const int n = int(part.size());
    {
      const TraceSpan span(trace_, "data");
      train_.gather(part, ws_.input(), labels_.data(), targets_.data());
    }
    t.data += seconds_since(mark);

    // forward and loss: ∂L/∂x_K = (1/B)·∂ℓ/∂x_K for these rows
    {
      const TraceSpan span(trace_, "forward");
      const T* output = forward(net_, ws_, n, trace_);
      const TraceSpan loss_span(trace_, "loss");
      const LossSums part_sums =
          loss_forward_backward(spec.loss, n, spec.outputs(), output, Targets<T>{labels_.data(), targets_.data()},
                                batch_mean_scale<T>(batch), ws_.output_grad());
      sums.loss += part_sums.loss;
      sums.correct += part_sums.correct;
    }
    t.forward += seconds_since(mark);

    // backward; the first chunk's gradients overwrite the previous step's,
    // which spares a pass zeroing them. In the last, each layer's gradient
    // sum over the ranks starts as soon as that layer is done.
    const bool last = c + 1 == chunks;
    {
      const TraceSpan span(trace_, "backward");
      backward(net_, ws_, n, last ? last_observer : nullptr, c == 0 ? GradMode::Overwrite : GradMode::Accumulate, trace_,
               config_.tuning);
    }
    t.backward += seconds_since(mark);
  }
  const double updating_in_backward = early_.seconds;
  {
    const TraceSpan span(trace_, "allreduce wait");
    sync_.finish();
  }
  t.allreduce_wait += seconds_since(mark);
  // Early updates ran inside backward and the wait: book them as the update.
  t.backward -= updating_in_backward;
  t.allreduce_wait -= early_.seconds - updating_in_backward;
  t.update += early_.seconds;
  return sums;
}

template <class T>
void Trainer<T>::EarlyUpdate::start(int layers) {
  finite = true;
  seconds = 0;
  summed.assign(std::size_t(layers), 0);  // no allocation: the same size every step
  done.assign(std::size_t(layers), 0);
  updated.assign(std::size_t(layers), 0);
}

template <class T>
void Trainer<T>::EarlyUpdate::try_update(int k) {
  const auto i = std::size_t(k);
  if (!summed[i] || !done[i] || updated[i]) return;
  updated[i] = 1;
  const auto start = Clock::now();
  Trainer& t = *trainer;
  add_regularization_gradient_layer(t.config_.reg, t.net_.layout(), k, t.net_.params().data(), t.net_.grads().data());
  finite = t.optimizer_.step_layer(k, t.net_.params(), t.net_.grads(), lr_scale) && finite;
  seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

template <class T>
LossSums Trainer<T>::exact_step(std::span<const std::int64_t> rows, std::int64_t batch, PhaseTimes& t) {
  Clock::time_point mark = Clock::now();
  const ModelSpec& spec = net_.spec();
  const std::size_t m = std::size_t(ws_.max_rows()), params = net_.layout().size();
  const std::size_t shards = (rows.size() + m - 1) / m;  // whole micro-shards, from a multiple of m
  const T scale = batch_mean_scale<T>(batch);
  exact_->clear();
  double correct = 0;
  for (std::size_t first = 0; first < shards; first += lanes_.size()) {
    const int in_round = int(std::min(lanes_.size(), shards - first));
    // The data on this thread: a source need not be thread-safe.
    for (int l = 0; l < in_round; ++l) {
      const TraceSpan span(trace_, "data");
      Lane& lane = lanes_[std::size_t(l)];
      const std::size_t begin = (first + std::size_t(l)) * m;
      const auto part = rows.subspan(begin, std::min(m, rows.size() - begin));
      lane.rows = int(part.size());
      if (l == 0)
        train_.gather(part, ws_.input(), labels_.data(), targets_.data());
      else
        train_.gather(part, lane.ws->input(), lane.labels.data(), lane.targets.data());
    }
    t.data += seconds_since(mark);
    {
      const TraceSpan span(trace_, "micro-batches", in_round);
      // Each micro-shard on one thread with one BLAS thread: the same
      // operations in the same order whichever rank and thread run it.
      const SerialBlas serial;
      double forward_seconds = 0;  // thread 0's, as the phase's measure
#pragma omp parallel num_threads(in_round)
      {
        const int l = omp_get_thread_num();
        Lane& lane = lanes_[std::size_t(l)];
        Workspace<T>& ws = l == 0 ? ws_ : *lane.ws;
        const std::int32_t* labels = l == 0 ? labels_.data() : lane.labels.data();
        const T* targets = l == 0 ? targets_.data() : lane.targets.data();
        const auto start = Clock::now();
        const T* output = forward(net_, ws, lane.rows);
        lane.sums = loss_forward_backward(spec.loss, lane.rows, spec.outputs(), output, Targets<T>{labels, targets},
                                          scale, ws.output_grad());
        if (l == 0) forward_seconds = std::chrono::duration<double>(Clock::now() - start).count();
        backward_into(net_, ws, lane.rows, l == 0 ? net_.grads() : lane.grads.span(), nullptr, GradMode::Overwrite);
      }
      t.forward += forward_seconds;
      t.backward -= forward_seconds;
    }
    t.backward += seconds_since(mark);
    const TraceSpan span(trace_, "exact sums");
    for (int l = 0; l < in_round; ++l) {
      Lane& lane = lanes_[std::size_t(l)];
      exact_->add(l == 0 ? std::span<const T>(net_.grads()) : std::span<const T>(lane.grads.span()));
      exact_->add(std::span<const double>(&lane.sums.loss, 1), params);
      correct += lane.sums.correct;  // a count: exact in a double
    }
    t.backward += seconds_since(mark);  // converting to fixed point: the exact sums' cost
  }
  const TraceSpan span(trace_, "allreduce wait");
  reduce_exactly(*exact_, exact_windows_, comm_);
  exact_->result(net_.grads());
  LossSums sums;
  exact_->result(std::span<double>(&sums.loss, 1), params);
  sums.correct = correct;
  t.allreduce_wait += seconds_since(mark);
  return sums;
}

template <class T>
std::string Trainer<T>::divergence_message(std::int64_t step, const std::string& what) const {
  std::string text = "diverged at step " + std::to_string(step) + ": " + what;
  text += last_finite_loss_step_ >= 0 ? "; the last loss reported, at step " + std::to_string(last_finite_loss_step_) +
                                            ", was " + format_number(last_finite_loss_)
                                      : "; no loss was reported yet in this run";
  return text + ". Nothing non-finite was written; lower --lr (or add --warmup-steps) and resume from the newest "
                "checkpoint";
}

template <class T>
StepReport Trainer<T>::reduce_report(Tally& tally) {
  const double seconds = seconds_since(tally.start);
  // One sum and one max over ranks carry everything the report needs. An
  // exact step's loss is already the total over the ranks, the same bits on each.
  RankSums sums{exact_ ? 0.0 : tally.loss, tally.correct, tally.time};
  std::array<double, RankSums::kCount> summed = sums.packed();
  // The five phase maxima, and last the negated all-reduce wait: the rank that
  // waited least is the one the others waited for.
  std::array<double, 6> maxes{};
  const auto times = packed(tally.time);
  std::copy(times.begin(), times.end(), maxes.begin());
  maxes[5] = -tally.time.allreduce_wait;
  std::array<int, 6> slowest{};
  comm_.sum(summed);
  comm_.max_with_rank(maxes, slowest);
  sums = RankSums::unpacked(summed);
  if (exact_) sums.loss = tally.loss;
  const double steps = std::max(tally.steps, 1.0), ranks = comm_.size();
  StepReport r;
  r.step = progress_.step;
  r.epoch = progress_.epoch;
  r.step_in_epoch = progress_.step_in_epoch;
  r.steps_per_epoch = plan_.steps_per_epoch();
  r.total_steps = total_steps_;
  r.interval_steps = std::int64_t(tally.steps);
  r.loss = sums.loss / steps;
  if (!std::isfinite(r.loss))
    throw DivergedError(divergence_message(progress_.step, "the mean loss of the steps up to it is " + format_number(r.loss)));
  last_finite_loss_ = r.loss;
  last_finite_loss_step_ = progress_.step;
  r.accuracy = train_.shape().is_classification() && tally.rows > 0 ? sums.correct / tally.rows : -1;
  r.lr = lr_at(std::max<std::int64_t>(progress_.step - 1, 0));
  r.samples_per_second = seconds > 0 ? tally.rows / seconds : 0;
  r.elapsed_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  r.phase_max = divided(unpacked(maxes.data()), steps);
  r.phase_max_rank = {slowest[0], slowest[1], slowest[2], slowest[5], slowest[4]};
  r.phase_mean = divided(divided(sums.time, steps), ranks);
  r.slowest_rank_wait = -maxes[5] / steps;
  tally = Tally{};
  return r;
}

template <class T>
bool Trainer<T>::run(TrainingObserver* observer) {
  started_ = Clock::now();
  interval_ = Tally{};
  epoch_ = Tally{};
  while (!done()) {
    step();
    const bool epoch_end = progress_.step_in_epoch == plan_.steps_per_epoch();
    if (progress_.step % config_.log_every == 0 || done() || epoch_end) {
      const TraceSpan span(trace_, "report");
      const StepReport report = reduce_report(interval_);
      if (observer) observer->on_step(report);
    }
    if (epoch_end) {
      const StepReport summary = reduce_report(epoch_);
      EvalResult test;
      if (test_) {
        const TraceSpan span(trace_, "evaluation");
        test = evaluate(*test_);
      }
      if (observer) observer->on_epoch_end(summary, test_ ? &test : nullptr);
    }
    bool stop = false;
    if (observer) {
      observer->after_step(progress_);
      stop = observer->stop_requested(progress_);
    }
    if (trace_) trace_->step_ends();
    if (stop) return !done();
  }
  return false;
}

template <class T>
EvalResult Trainer<T>::evaluate(RowSource& data) {
  const EvalResult result = dmlp::evaluate(net_, data, comm_, ws_.max_rows(), config_.reproducible);
  // Finite parameters can still be too large to evaluate (outputs overflow):
  // the same sums on every rank, so every rank finds it alike.
  if (!std::isfinite(result.loss))
    throw DivergedError(divergence_message(progress_.step, "the test loss on " + data.name() + " is " +
                                                               format_number(result.loss) +
                                                               ": the parameters are too large for the outputs to be finite"));
  return result;
}

namespace {
// One rank's evaluation sums, in one buffer so that one all-reduce adds them all.
class EvalSums {
 public:
  EvalSums(int outputs, int classes)
      : outputs_(std::size_t(outputs)), values_(3 + 2 * outputs_ + std::size_t(classes) * std::size_t(classes)) {}
  double& loss() { return values_[0]; }
  double& correct() { return values_[1]; }
  double& squared_error() { return values_[2]; }                       // Σ (y − y')²
  double* target_sum() { return &values_[3]; }                         // Σ y, per output
  double* target_square_sum() { return &values_[3 + outputs_]; }       // Σ y², per output
  double* confusion() { return values_.data() + 3 + 2 * outputs_; }    // (classes, classes)
  std::span<double> all() { return values_; }
  std::span<double> confusion_cells() { return all().subspan(3 + 2 * outputs_); }
  std::span<double> real_sums() { return all().first(3 + 2 * outputs_); }  // all but the counts of the confusion matrix
  void clear_real_sums() { std::fill_n(values_.begin(), 3 + 2 * outputs_, 0.0); }

 private:
  std::size_t outputs_;
  std::vector<double> values_;
};
}  // namespace

template <class T>
EvalResult evaluate(const Network<T>& net, RowSource& data, Collective& comm, int chunk_rows, bool exact) {
  const DataShape& shape = data.shape();
  const ModelSpec& spec = net.spec();
  const int k = spec.outputs();
  EvalResult result;
  result.classification = shape.is_classification();
  result.rows = shape.rows;
  result.num_classes = result.classification ? num_classes_for_output(spec.loss, k) : 0;
  const int classes = result.num_classes;

  comm.evaluation_started();
  EvalSums sums(k, classes);
  const T scale = batch_mean_scale<T>(shape.rows);
  Slice mine = shard(shape.rows, comm.size(), comm.rank());
  std::optional<ExactSum> exact_sums;  // each real sum on its own window
  std::optional<SerialBlas> serial;
  if (exact) {
    // whole chunks, which lie at multiples of chunk_rows for every rank count
    const Slice chunks = shard((shape.rows + chunk_rows - 1) / chunk_rows, comm.size(), comm.rank());
    const std::int64_t begin = std::min(shape.rows, chunks.begin * chunk_rows);
    mine = {begin, std::min(shape.rows, (chunks.begin + chunks.count) * chunk_rows) - begin};
    std::vector<std::size_t> ends(sums.real_sums().size());
    std::iota(ends.begin(), ends.end(), std::size_t{1});
    exact_sums.emplace(std::move(ends), 3);
    serial.emplace();
  }
  ForwardRows<T> rows(net, int(std::clamp<std::int64_t>(mine.count, 1, chunk_rows)));
  // Each rank over its rows, then the ranks agree: a bad row or a changed
  // file met by any rank (a streamed set) is one failure, said once.
  comm.agreed([&] {
  rows.run(data, mine,
           [&](std::int64_t, int n, const T* y, const std::int32_t* labels, const T* targets) {
             if (exact_sums) sums.clear_real_sums();  // this chunk's sums alone
             const LossSums s = loss_forward_backward(spec.loss, n, k, y, Targets<T>{labels, targets}, scale,
                                                      static_cast<T*>(nullptr));
             sums.loss() += s.loss;
             sums.correct() += s.correct;
             for (int r = 0; r < n; ++r) {
               const T* yr = y + std::size_t(r) * k;
               if (result.classification) {
                 sums.confusion()[std::size_t(labels[r]) * classes + predicted_class(spec.loss, k, yr)] += 1;
                 continue;
               }
               for (int j = 0; j < k; ++j) {
                 const double target = targets[std::size_t(r) * k + j], diff = double(yr[j]) - target;
                 sums.squared_error() += diff * diff;
                 sums.target_sum()[j] += target;
                 sums.target_square_sum()[j] += target * target;
               }
             }
             if (exact_sums) exact_sums->add(std::span<const double>(sums.real_sums()));
           });
  });
  if (exact_sums) {
    sums.clear_real_sums();  // summed exactly instead; the counts are exact as they are
    comm.sum(sums.all());
    std::vector<std::int64_t> windows;
    reduce_exactly(*exact_sums, windows, comm);
    exact_sums->result(sums.real_sums());
  } else {
    comm.sum(sums.all());
  }

  const double n = double(shape.rows);
  result.loss = sums.loss();
  if (result.classification) {
    result.accuracy = sums.correct() / n;
    const auto cells = sums.confusion_cells();
    result.confusion.assign(cells.begin(), cells.end());
  } else {
    double sst = 0;
    for (int j = 0; j < k; ++j) sst += sums.target_square_sum()[j] - sums.target_sum()[j] * sums.target_sum()[j] / n;
    result.mse = sums.squared_error() / (n * k);
    result.r2 = sst > 0 ? 1.0 - sums.squared_error() / sst : 0.0;
  }
  return result;
}

template EvalResult evaluate<float>(const Network<float>&, RowSource&, Collective&, int, bool);
template EvalResult evaluate<double>(const Network<double>&, RowSource&, Collective&, int, bool);
template class Trainer<float>;
template class Trainer<double>;

}  // namespace dmlp
