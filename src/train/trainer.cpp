#include "dmlp/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/train/forward_rows.hpp"

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
}  // namespace

void validate(const TrainConfig& c, const DataShape& train, const ModelSpec& model, int ranks,
              const std::string& data_name) {
  if (c.global_batch <= 0)
    throw InputError("--batch-size " + std::to_string(c.global_batch) + " must be positive");
  require_at_most(c.global_batch, kMaxRows, "--batch-size");
  if (c.epochs <= 0) throw InputError("--epochs " + std::to_string(c.epochs) + " must be positive");
  if (c.max_steps < 0)
    throw InputError("--max-steps " + std::to_string(c.max_steps) + " must be >= 0");
  if (c.log_every <= 0)
    throw InputError("--log-every " + std::to_string(c.log_every) + " must be positive");
  if (c.warmup_steps < 0)
    throw InputError("--warmup-steps " + std::to_string(c.warmup_steps) + " must be >= 0");
  validate(c.sgd);
  if (c.reg.lambda < 0) throw InputError("--lambda must be >= 0");
  if (train.rows <= 0) throw InputError(data_name + " is empty");
  if (train.rows < ranks)
    throw InputError(data_name + " has " + std::to_string(train.rows) + " samples, fewer than the " +
                     std::to_string(ranks) + " ranks; expected at least one sample per rank");
  if (c.drop_last && train.rows < c.global_batch)
    throw InputError("--drop-last with --batch-size " + std::to_string(c.global_batch) + " leaves no batch: " +
                     data_name + " has " + std::to_string(train.rows) + " samples");
  check_data_fits_model(train, model, data_name);
  const std::int64_t rows_per_rank = shard(std::min(c.global_batch, train.rows), ranks, 0).count;
  require_memory(workspace_bytes(model, rows_per_rank, sizeof(double)),
                 "the workspace of " + std::to_string(rows_per_rank) + " rows per rank (--batch-size " +
                     std::to_string(c.global_batch) + ")");
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

template <class T>
Trainer<T>::Trainer(Network<T>& net, RowSource& train, RowSource* test, TrainConfig config,
                    Collective& comm, GradientSync<T>& sync)
    : net_(net),
      train_(train),
      test_(test),
      config_((validate(config, train.shape(), net.spec(), comm.size(), train.name()), config)),
      comm_(comm),
      sync_(sync),
      optimizer_(config_.sgd, net.layout()),
      plan_(train.shape().rows, config_.global_batch, config_.drop_last, config_.seed),
      ws_(net.spec(), int(shard(std::min(config_.global_batch, train.shape().rows), comm.size(), 0).count)),
      labels_(std::size_t(ws_.max_rows())),
      targets_(std::size_t(ws_.max_rows()) * net.spec().outputs()) {
  if (config_.max_steps == 0 && config_.epochs > std::numeric_limits<std::int64_t>::max() / plan_.steps_per_epoch())
    throw InputError("--epochs " + std::to_string(config_.epochs) + " is too large: " +
                     std::to_string(config_.epochs) + " x " + std::to_string(plan_.steps_per_epoch()) +
                     " steps per epoch overflows a step count");
  total_steps_ = config_.max_steps > 0 ? config_.max_steps
                                       : config_.epochs * plan_.steps_per_epoch();
  if (test_) check_data_fits_model(test_->shape(), net.spec(), test_->name());
  if (train_.read_ahead_rows() > 0)
    upcoming_.reserve(std::size_t(std::max<std::int64_t>(train_.read_ahead_rows(), ws_.max_rows())));
}

template <class T>
void Trainer<T>::read_ahead() {
  // Tell a streaming source the rows of the next steps, as many as its read-ahead holds.
  if (read_ahead_epoch_ == progress_.epoch && progress_.step_in_epoch < read_ahead_until_) return;
  const std::int64_t steps = std::max<std::int64_t>(1, train_.read_ahead_rows() / ws_.max_rows());
  const std::int64_t until = std::min(progress_.step_in_epoch + steps, plan_.steps_per_epoch());
  upcoming_.clear();
  for (std::int64_t s = progress_.step_in_epoch; s < until; ++s) {
    const auto rows = plan_.rank_rows(s, comm_.size(), comm_.rank());
    upcoming_.insert(upcoming_.end(), rows.begin(), rows.end());
  }
  train_.read_ahead(upcoming_);
  read_ahead_epoch_ = progress_.epoch;
  read_ahead_until_ = until;
}

template <class T>
double Trainer<T>::lr_at(std::int64_t step) const {
  return config_.sgd.lr_weights *
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
  // data: this rank's slice of the global batch
  plan_.shuffle(progress_.epoch);
  if (train_.read_ahead_rows() > 0) read_ahead();
  const std::int64_t batch = plan_.batch_rows(progress_.step_in_epoch);
  const auto rows = plan_.rank_rows(progress_.step_in_epoch, comm_.size(), comm_.rank());
  const int n = int(rows.size());
  train_.gather(rows, ws_.input(), labels_.data(), targets_.data());
  t.data = seconds_since(mark);

  // forward and loss: ∂L/∂x_K = (1/B)·∂ℓ/∂x_K for this rank's rows
  const ModelSpec& spec = net_.spec();
  const T* output = forward(net_, ws_, n);
  const LossSums sums =
      loss_forward_backward(spec.loss, n, spec.outputs(), output, Targets<T>{labels_.data(), targets_.data()},
                            batch_mean_scale<T>(batch), ws_.output_grad());
  t.forward = seconds_since(mark);

  // backward, each layer's gradient sum started as soon as it is ready; the
  // gradients overwrite the previous step's, which spares a pass zeroing them
  sync_.begin(net_.grads());
  backward(net_, ws_, n, &sync_, GradMode::Overwrite);
  t.backward = seconds_since(mark);
  sync_.finish();
  t.allreduce_wait = seconds_since(mark);

  // update: the same on every rank
  add_regularization_gradient(config_.reg, net_.layout(), net_.params().data(), net_.grads().data());
  if (!optimizer_.step(net_.params(), net_.grads(), lr_at(progress_.step) / config_.sgd.lr_weights))
    throw DivergedError(divergence_message(progress_.step + 1, "the gradient summed over the ranks holds NaN or infinite values"));
  t.update = seconds_since(mark);

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
  // One sum and one max over ranks carry everything the report needs.
  RankSums sums{tally.loss, tally.correct, tally.time};
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
      const StepReport report = reduce_report(interval_);
      if (observer) observer->on_step(report);
    }
    if (epoch_end) {
      const StepReport summary = reduce_report(epoch_);
      EvalResult test;
      if (test_) test = evaluate(*test_);
      if (observer) observer->on_epoch_end(summary, test_ ? &test : nullptr);
    }
    if (observer) {
      observer->after_step(progress_);
      if (observer->stop_requested(progress_)) return !done();
    }
  }
  return false;
}

template <class T>
EvalResult Trainer<T>::evaluate(RowSource& data) {
  return dmlp::evaluate(net_, data, comm_, ws_.max_rows());
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

 private:
  std::size_t outputs_;
  std::vector<double> values_;
};
}  // namespace

template <class T>
EvalResult evaluate(const Network<T>& net, RowSource& data, Collective& comm, int chunk_rows) {
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
  const Slice mine = shard(shape.rows, comm.size(), comm.rank());
  ForwardRows<T> rows(net, int(std::clamp<std::int64_t>(mine.count, 1, chunk_rows)));
  rows.run(data, mine,
           [&](std::int64_t, int n, const T* y, const std::int32_t* labels, const T* targets) {
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
           });
  comm.sum(sums.all());

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

template EvalResult evaluate<float>(const Network<float>&, RowSource&, Collective&, int);
template EvalResult evaluate<double>(const Network<double>&, RowSource&, Collective&, int);
template class Trainer<float>;
template class Trainer<double>;

}  // namespace dmlp
