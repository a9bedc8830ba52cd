#include "dmlp/train/trainer.hpp"
#include "dmlp/core/settings.hpp"

#include <cmath>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/train/accumulating_step.hpp"
#include "dmlp/train/exact_step.hpp"
#include "dmlp/train/memory_plan.hpp"
#include "dmlp/train/sharded_updater.hpp"

namespace dmlp {
namespace {
template <class T>
const TrainConfig& checked(const TrainConfig& c, const RowSource& train, const RowSource* test, const ModelSpec& spec,
                           int ranks) {
  validate_for<T>(c, train.shape(), spec, ranks, train.name());
  if (test) check_data_fits_model(test->shape(), spec, test->name());
  return c;
}

// The plain step, or --reproducible's, after checking that its buffers fit.
template <class T>
std::unique_ptr<GradientStep<T>> make_gradient_step(const TrainConfig& c, Network<T>& net, RowSource& train,
                                                    Collective& comm, GradientSync<T>& sync,
                                                    ParameterUpdate& updater, int rows, std::int64_t rank_rows,
                                                    NodeShare<T>* node) {
  if (!c.reproducible) return std::make_unique<AccumulatingStep<T>>(net, train, sync, updater, rows, c.tuning);
  const int workers = ExactStep<T>::workers_for();
  const std::int64_t held = ExactStep<T>::group_rows(net.spec(), rank_rows, rows);
  require_memory(training_memory(net.spec(), c.optimizer, sizeof(T), held, workers, true).total(),
                 "the model's parameters, gradients and optimizer state with " + setting("reproducible") + "'s exact sums and " +
                     std::to_string(held) + " rows' activations and deltas");
  // on a node, a rank's update reads its own pieces of the gradient alone
  return std::make_unique<ExactStep<T>>(net, train, comm, rows, rank_rows, node);
}

// The node's one shared copy of the state, or this rank's own.
template <class T>
Optimizer<T> make_optimizer(const TrainConfig& c, const ParameterLayout& layout, NodeShare<T>* node) {
  return node ? Optimizer<T>(effective_optimizer(c), layout, node->optimizer_storage())
              : Optimizer<T>(effective_optimizer(c), layout);
}

template <class T>
std::unique_ptr<ParameterUpdate> make_updater(const TrainConfig& c, Optimizer<T>& optimizer, Network<T>& net,
                                              GradientSync<T>& sync, int ranks, NodeShare<T>* node) {
  const bool early = c.early_update && !c.reproducible;
  if (node) return std::make_unique<ShardedUpdater<T>>(optimizer, net, c.reg, sync, *node, early);
  return std::make_unique<LayerUpdater<T>>(optimizer, net, c.reg, sync, ranks, early);
}
}  // namespace

template <class T>
Trainer<T>::Trainer(Network<T>& net, RowSource& train, RowSource* test, TrainConfig config, Collective& comm,
                    GradientSync<T>& sync, NodeShare<T>* node)
    : net_(net),
      test_(test),
      config_(checked<T>(config, train, test, net.spec(), comm.size())),
      comm_(comm),
      optimizer_(make_optimizer(config_, net.layout(), node)),
      plan_(train.shape().rows, config_.global_batch, config_.drop_last, config_.seed, config_.micro_batch),
      total_steps_(dmlp::total_steps(config_, plan_.steps_per_epoch())),
      workspace_rows_(int(dmlp::workspace_rows(config_, train.shape().rows, comm.size()))),
      updater_(make_updater(config_, optimizer_, net, sync, comm.size(), node)),
      gradient_(make_gradient_step(config_, net, train, comm, sync, *updater_, workspace_rows_, max_rows_per_rank(), node)),
      read_ahead_(train, plan_, comm, max_rows_per_rank()),
      reports_(comm, train.shape().is_classification(), gradient_->sums_over_ranks()) {}

template <class T>
void Trainer<T>::set_trace(Trace* trace) {
  trace_ = trace;
  gradient_->set_trace(trace);
}

template <class T>
double Trainer<T>::lr_at(std::int64_t step) const {
  return optimizer_.config().lr_weights * lr_factor(config_.schedule, step, total_steps_, config_.warmup_steps);
}

template <class T>
void Trainer<T>::step() {
  PhaseTimes times;
  StepClock clock(times, Phase::data);
  if (position_.step_in_epoch >= plan_.steps_per_epoch()) {  // the previous step ended an epoch
    ++position_.epoch;
    position_.step_in_epoch = 0;
  }
  comm_.step_started(position_.step + 1);
  if (trace_) trace_->step_begins(position_.step + 1);
  const TraceSpan step_span(trace_, "step");

  // data: this rank's slice of the global batch, in an order of (seed, epoch) alone
  plan_.shuffle(position_.epoch);
  read_ahead_.before_step(position_);
  const std::int64_t batch = plan_.batch_rows(position_.step_in_epoch);
  const auto rows = plan_.rank_rows(position_.step_in_epoch, comm_.size(), comm_.rank());

  // forward, backward and the sum over ranks; early updates may run inside
  optimizer_.begin_step();
  updater_->begin(lr_at(position_.step) / optimizer_.config().lr_weights, clock);
  const LossSums sums = gradient_->compute(rows, batch, clock);

  // update: the same on every rank, of every layer not updated yet
  {
    const PhaseScope update(clock, Phase::update, trace_);
    if (!updater_->finish())
      throw DivergedError(reports_.divergence().message(
          position_.step + 1, "the gradient summed over the ranks holds NaN or infinite values"));
  }
  clock.switch_to(Phase::update);  // books the time up to here
  last_step_ = times;
  reports_.add(sums, batch, times);
  ++position_.step;
  ++position_.step_in_epoch;
  position_.samples += batch;
}

template <class T>
ReportContext Trainer<T>::report_context() const {
  return {position_, plan_.steps_per_epoch(), total_steps_, lr_at(std::max<std::int64_t>(position_.step - 1, 0))};
}

template <class T>
bool Trainer<T>::run(TrainingObserver* observer) {
  reports_.start();
  while (!done()) {
    step();
    const bool epoch_end = position_.step_in_epoch == plan_.steps_per_epoch();
    if (position_.step % config_.log_every == 0 || done() || epoch_end) {
      const TraceSpan span(trace_, "report");
      const StepReport report = reports_.since_last(report_context());
      if (observer) observer->on_step(report);
    }
    if (epoch_end) {
      const StepReport summary = reports_.epoch(report_context());
      EvalResult test;
      if (test_) {
        const TraceSpan span(trace_, "evaluation");
        test = evaluate(*test_);
      }
      if (observer) observer->on_epoch_end(summary, test_ ? &test : nullptr);
    }
    bool stop = false;
    if (observer) {
      observer->after_step(position_);
      stop = observer->stop_requested(position_);
    }
    if (trace_) trace_->step_ends();
    if (stop) return !done();
  }
  return false;
}

template <class T>
EvalResult Trainer<T>::evaluate(RowSource& data) {
  const EvalResult result = dmlp::evaluate(net_, data, comm_, workspace_rows_, config_.reproducible);
  // Finite parameters can still be too large to evaluate (outputs overflow):
  // the same sums on every rank, so every rank finds it alike.
  if (!std::isfinite(result.loss))
    throw DivergedError(reports_.divergence().message(
        position_.step, "the test loss on " + data.name() + " is " + format_number(result.loss) +
                            ": the parameters are too large for the outputs to be finite"));
  return result;
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace dmlp
