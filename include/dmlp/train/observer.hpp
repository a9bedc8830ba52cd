#pragma once
// What a run tells the code around it, and how that code can stop it.
#include <vector>

#include "dmlp/train/position.hpp"
#include "dmlp/train/reports.hpp"

namespace dmlp {

class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void on_step(const StepReport&) {}  // every log_every steps, all ranks
  virtual void on_epoch_end(const StepReport& /*epoch summary*/, const EvalResult* /*test*/) {}
  virtual void after_step(const TrainPosition&) {}  // every step, all ranks
  // Asked after every step; must give the same answer on every rank.
  virtual bool stop_requested(const TrainPosition&) { return false; }
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
  void after_step(const TrainPosition& p) override {
    for (auto* o : observers_) o->after_step(p);
  }
  bool stop_requested(const TrainPosition& p) override {
    bool stop = false;
    for (auto* o : observers_) stop = o->stop_requested(p) || stop;
    return stop;
  }

 private:
  std::vector<TrainingObserver*> observers_;
};

}  // namespace dmlp
