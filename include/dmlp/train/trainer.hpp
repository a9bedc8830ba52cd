#pragma once
// The data-parallel training loop. Each rank runs forward and backward on its
// slice of every global batch; the gradient sync sums the slices' gradients,
// which the loss has already scaled by 1/B, so every rank applies the same
// update to the same parameters.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dmlp/core/exact_sum.hpp"
#include "dmlp/core/loss.hpp"
#include "dmlp/core/lr_schedule.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/progress.hpp"
#include "dmlp/train/reports.hpp"

namespace dmlp {

struct TrainConfig {
  std::int64_t global_batch = 64;  // B, over all ranks
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;      // > 0: stop after this many steps, whatever the epochs
  bool drop_last = false;
  std::uint64_t seed = 1;
  OptimizerConfig optimizer;  // the base rates η0: see effective_optimizer
  LrScaling lr_scaling = LrScaling::None;
  std::int64_t lr_reference_batch = kDefaultLrReferenceBatch;  // B0
  LrSchedule schedule = LrSchedule::Constant;
  std::int64_t warmup_steps = 0;
  Regularization reg;
  std::int64_t log_every = 100;    // steps between progress reports
  // > 0: each global batch is cut into micro-shards of this many rows; a rank
  // runs its micro-shards one after another and sums their gradients before
  // communicating once (gradient accumulation: the workspace holds m rows).
  std::int64_t micro_batch = 0;
  // Bitwise the same parameters, loss and evaluation at every rank and thread
  // count: micro-shards computed with one BLAS thread each, and every sum over
  // them exact (ExactSum). Needs micro_batch > 0.
  bool reproducible = false;
  BackwardTuning tuning;  // how backward runs (fused passes, GEMM slices for MPI progress)
};

inline constexpr std::int64_t kDefaultReproducibleMicroBatch = 32;

// The optimizer as it trains: η_w and η_b scaled by the lr-scaling rule for
// the global batch (the schedule's factor then applies step by step).
OptimizerConfig effective_optimizer(const TrainConfig& config);

// Throws InputError for settings that cannot train on `train` with `ranks` ranks.
void validate(const TrainConfig& config, const DataShape& train, const ModelSpec& model, int ranks,
              const std::string& data_name = "the training set");
// Throws InputError unless the model can read the data: input width, and the
// output fitting the classes or targets.
void check_data_fits_model(const DataShape& data, const ModelSpec& model, const std::string& data_name);

// Distributed evaluation: rank r of the collective takes a contiguous slice of
// `data`, `chunk_rows` rows at a time, and the sums are all-reduced. With
// `exact`, the chunks lie at multiples of chunk_rows whatever the rank count,
// each rank takes whole chunks, BLAS runs on one thread, and the sums are
// exact: the result is bitwise the same at every rank and thread count.
template <class T>
EvalResult evaluate(const Network<T>& net, RowSource& data, Collective& comm, int chunk_rows, bool exact = false);

class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void on_step(const StepReport&) {}  // every log_every steps, all ranks
  virtual void on_epoch_end(const StepReport& /*epoch summary*/, const EvalResult* /*test*/) {}
  virtual void after_step(const TrainProgress&) {}  // every step, all ranks
  // Asked after every step; must give the same answer on every rank.
  virtual bool stop_requested(const TrainProgress&) { return false; }
};

// Forwards to several observers; stops when any asks to (every one is asked,
// since an observer's answer may be collective).
class ObserverChain final : public TrainingObserver {
 public:
  void add(TrainingObserver* o) {
    if (o) observers_.push_back(o);
  }
  void on_step(const StepReport& r) override {
    for (auto* o : observers_) o->on_step(r);
  }
  void on_epoch_end(const StepReport& s, const EvalResult* t) override {
    for (auto* o : observers_) o->on_epoch_end(s, t);
  }
  void after_step(const TrainProgress& p) override {
    for (auto* o : observers_) o->after_step(p);
  }
  bool stop_requested(const TrainProgress& p) override {
    bool stop = false;
    for (auto* o : observers_) stop = o->stop_requested(p) || stop;
    return stop;
  }

 private:
  std::vector<TrainingObserver*> observers_;
};

template <class T>
class Trainer {
 public:
  Trainer(Network<T>& net, RowSource& train, RowSource* test, TrainConfig config, Collective& comm,
          GradientSync<T>& sync);
  ~Trainer() { sync_.report_buckets(nullptr); }  // the sync may outlive this trainer
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Steps until the run is done or the observer asks to stop; returns true when it stopped early.
  bool run(TrainingObserver* observer = nullptr);
  void step();  // one global step
  bool done() const { return progress_.step >= total_steps_; }

  EvalResult evaluate(RowSource& data);

  const TrainConfig& config() const { return config_; }
  std::int64_t total_steps() const { return total_steps_; }
  std::int64_t steps_per_epoch() const { return plan_.steps_per_epoch(); }
  const BatchPlan& plan() const { return plan_; }
  int lanes() const { return std::max<int>(1, int(lanes_.size())); }  // threads on micro-batches at once
  std::int64_t max_rows_per_rank() const { return plan_.max_rank_rows(comm_.size()); }
  TrainProgress& progress() { return progress_; }
  const TrainProgress& progress() const { return progress_; }
  Optimizer<T>& optimizer() { return optimizer_; }
  const Optimizer<T>& optimizer() const { return optimizer_; }
  double lr_at(std::int64_t step) const;
  const PhaseTimes& last_step_times() const { return last_step_; }
  // A timeline to record steps into (--trace); null: none. Not owned.
  void set_trace(Trace* trace) { trace_ = trace; }
  Trace* trace() const { return trace_; }

 private:
  struct Tally {  // sums over a span of steps, this rank
    double loss = 0, correct = 0, rows = 0, steps = 0;
    PhaseTimes time;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };
  StepReport reduce_report(Tally& tally);
  void read_ahead();
  // This rank's part of a step's gradient, left in net_.grads() summed over
  // the ranks; returns the loss sums (exact_step: the loss over all ranks).
  LossSums accumulate_step(std::span<const std::int64_t> rows, std::int64_t batch, PhaseTimes& t);
  LossSums exact_step(std::span<const std::int64_t> rows, std::int64_t batch, PhaseTimes& t);

  // Forwards to the gradient sync, and updates each layer as soon as two
  // things hold: backward is done with it (dX_k computed, so W_k is free),
  // and its gradient is final: at once with one rank, or when the sync
  // reports its bucket summed over the ranks. Its gradient is then likely
  // still in cache. The same operations as the update after backward, in
  // another order of layers: bitwise the same parameters.
  struct EarlyUpdate final : GradientObserver, SummedObserver {
    Trainer* trainer = nullptr;
    GradientSync<T>* sync = nullptr;
    double lr_scale = 1;
    bool finite = true;
    double seconds = 0;  // spent updating this step, wherever it happened
    bool summed_when_ready = true;  // one rank: a layer's gradient is final when backward has it
    std::vector<char> summed, done, updated;  // per layer, sized once
    void start(int layers);
    void layer_ready(int k) override {
      sync->layer_ready(k);
      if (summed_when_ready) summed[std::size_t(k)] = 1;
    }
    void progress() override { sync->progress(); }
    bool wants_progress() const override { return sync->wants_progress(); }
    void layer_done(int k) override {
      done[std::size_t(k)] = 1;
      try_update(k);
    }
    void layers_summed(int first, int last) override {
      for (int k = first; k <= last; ++k) {
        summed[std::size_t(k)] = 1;
        try_update(k);
      }
    }
    void try_update(int k);
  };
  friend struct EarlyUpdate;
  bool early_update_ = false;  // this run updates early (one rank, or buckets the sync reports)

  // One thread's micro-shard in exact_step: lane 0 uses ws_, labels_, targets_
  // and the network's gradient buffer; the others own theirs.
  struct Lane {
    std::unique_ptr<Workspace<T>> ws;
    AlignedBuffer<std::int32_t> labels;  // (m)
    AlignedBuffer<T> targets;            // (m, k)
    AlignedBuffer<T> grads;              // like the parameters
    int rows = 0;
    LossSums sums;
  };

  Network<T>& net_;
  RowSource& train_;
  RowSource* test_;
  TrainConfig config_;
  Collective& comm_;
  GradientSync<T>& sync_;
  Optimizer<T> optimizer_;
  BatchPlan plan_;
  Workspace<T> ws_;
  AlignedBuffer<std::int32_t> labels_;  // (max_rows)
  AlignedBuffer<T> targets_;            // (max_rows, k)
  std::vector<std::int64_t> upcoming_;  // rows announced to a streaming source
  std::int64_t read_ahead_epoch_ = -1, read_ahead_until_ = 0;  // steps [.., until) announced
  TrainProgress progress_;
  std::int64_t total_steps_ = 0;
  Tally interval_, epoch_;
  EarlyUpdate early_;
  std::vector<Lane> lanes_;                 // exact_step's threads
  std::unique_ptr<ExactSum> exact_;         // (parameters + 1 loss) in exact_step
  std::vector<std::int64_t> exact_windows_;  // the windows' all-reduce
  std::string divergence_message(std::int64_t step, const std::string& what) const;
  PhaseTimes last_step_;
  Trace* trace_ = nullptr;
  double last_finite_loss_ = 0;      // the last reported loss, and its step (-1: none yet)
  std::int64_t last_finite_loss_step_ = -1;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace dmlp
