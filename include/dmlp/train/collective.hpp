#pragma once
// What training needs from the other ranks, as interfaces: the training loop
// stays free of MPI, and a single process plugs in the trivial versions below.
// src/mpi implements them over MPI.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "dmlp/core/network.hpp"
#include "dmlp/train/step_clock.hpp"

namespace dmlp {

// What a rank is doing, for a stall watchdog's reports (mpi/stall_watchdog.hpp).
enum class Activity : std::int64_t {
  starting_up = 0,         // agreeing on the configuration, placing threads, building the model
  reading_data = 1,        // reading a data set (HDF5): loading it, or its fingerprint
  reading_checkpoint = 2,  // rank 0 reads the checkpoint to start from
  training = 3,            // a training step
  evaluating = 4,          // the test set
  writing_checkpoint = 5,  // rank 0 writes a checkpoint; the others wait for it
  finishing = 6,           // the final checkpoint, evaluation and reports
};

// Integer all-reduces in the background, in place (--reproducible's exact
// sums, overlapped with the rest of the step): start(), then done() between
// pieces of work to move them along, then wait(). The slots are made once,
// so a step allocates nothing. Every rank starts them in the same order.
class BackgroundIntegers {
 public:
  virtual ~BackgroundIntegers() = default;
  virtual void start(int slot, std::span<std::int64_t> values, bool maximum) = 0;
  virtual bool done(int slot) = 0;  // tests it, which moves it along
  virtual void wait(int slot) = 0;
};

// Small blocking collectives over all ranks.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void sum(std::span<double> values) = 0;  // in place: every rank gets the sum
  virtual void max(std::span<double> values) = 0;  // in place: every rank gets the maximum
  // In place, element-wise: every rank gets the maximum, and in `ranks` the
  // lowest rank that holds it.
  virtual void max_with_rank(std::span<double> values, std::span<int> ranks) = 0;
  // Integer versions, exact in any order: what --reproducible's sums travel as.
  virtual void sum_integers(std::span<std::int64_t> values) = 0;
  virtual void max_integers(std::span<std::int64_t> values) = 0;
  // `slots` background all-reduces; by default each runs blocking at its start.
  virtual std::unique_ptr<BackgroundIntegers> background_integers(int slots);
  // What this rank does from now on; a stall watchdog tells the others.
  virtual void now_doing(Activity) {}
  virtual Activity doing() const { return Activity::training; }
  // A step begins (counted from 1): training, at that step.
  virtual void step_started(std::int64_t /*step*/) {}
  // Runs `work` (no collectives inside) on every rank, then the ranks agree:
  // when it threw anywhere, every rank throws the same failure, which one
  // rank reports (mpi::collectively). A single process just runs it.
  virtual void agreed(const std::function<void()>& work) { work(); }
};

// Told when layers' gradients are summed over all ranks, and so final.
class SummedObserver {
 public:
  virtual ~SummedObserver() = default;
  virtual void layers_summed(int first, int last) = 0;  // layers first … last, counted from 0
};

// Sums the gradient buffer over ranks during back-propagation.
// Per step: begin(grads), then layer_ready(k) for k = K-1 … 0 as backward
// finishes each layer, then finish(); after finish every rank holds Σ_ranks grads.
template <class T>
class GradientSync : public GradientObserver {
 public:
  virtual void begin(std::span<T> grads) = 0;
  virtual void finish() = 0;
  // Asks to be told of each bucket's sum as soon as it completes (in
  // push_communication() and finish()); returns false where sums are not made in
  // buckets during backward, and nothing will be told. Null: stop telling.
  virtual bool report_buckets(SummedObserver*) { return false; }
  // Where the time this sync spends computing (the node path's slice sums)
  // is booked, as Phase::reduction; null: nowhere.
  virtual void book_on(StepClock*) {}
};

// An activity for the scope's lifetime, then the one before it again.
class ActivityScope {
 public:
  ActivityScope(Collective& comm, Activity activity) : comm_(comm), before_(comm.doing()) { comm.now_doing(activity); }
  ~ActivityScope() { comm_.now_doing(before_); }
  ActivityScope(const ActivityScope&) = delete;
  ActivityScope& operator=(const ActivityScope&) = delete;

 private:
  Collective& comm_;
  Activity before_;
};

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<double>) override {}
  void max(std::span<double>) override {}
  void max_with_rank(std::span<double>, std::span<int> ranks) override {
    for (int& r : ranks) r = 0;
  }
  void sum_integers(std::span<std::int64_t>) override {}
  void max_integers(std::span<std::int64_t>) override {}
};

template <class T>
class NoGradientSync final : public GradientSync<T> {
 public:
  void begin(std::span<T>) override {}
  void layer_ready(int) override {}
  void finish() override {}
};

}  // namespace dmlp
