#pragma once
// The update of a step, layer by layer: the regularization gradient, then the
// optimizer, on each W_k and b_k.
//
// Early updates: a layer can be updated as soon as two things hold: backward
// is done with it (dX_k computed, so W_k is free), and its gradient is final:
// at once with one rank, or when the sync reports its bucket summed over the
// ranks. Its gradient is then likely still in cache. The operations are those
// of the update after backward, in another order of layers: bitwise the same
// parameters. Without early updates, finish() updates the whole buffer.
#include <vector>

#include "dmlp/core/network.hpp"
#include "dmlp/core/optimizer.hpp"
#include "dmlp/core/regularizer.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/parameter_update.hpp"
#include "dmlp/train/step_clock.hpp"

namespace dmlp {

template <class T>
class LayerUpdater final : public ParameterUpdate, public GradientObserver, public SummedObserver {
 public:
  // `early`: update during backward where the sync allows it (one rank, or a
  // sync that reports its buckets as they complete).
  LayerUpdater(Optimizer<T>& optimizer, Network<T>& net, const Regularization& reg, GradientSync<T>& sync,
               int ranks, bool early);
  ~LayerUpdater() override;
  LayerUpdater(const LayerUpdater&) = delete;
  LayerUpdater& operator=(const LayerUpdater&) = delete;

  bool early() const { return early_; }
  // Whom backward's last pass tells of finished layers: this updater, which
  // forwards to the sync, or the sync alone.
  GradientObserver& backward_observer() override { return early_ ? static_cast<GradientObserver&>(*this) : sync_; }

  // A step begins: its learning rate is η_w's schedule factor `lr_scale`;
  // updates during backward are booked on `clock` as the update.
  void begin(double lr_scale, StepClock& clock) override;
  // After the sync's finish(): updates every layer not yet updated. Returns
  // false when any update met a NaN or infinite value.
  bool finish() override;

  // GradientObserver: backward's news, forwarded to the sync
  void layer_ready(int k) override;
  void push_communication() override { sync_.push_communication(); }
  bool wants_communication_pushed() const override { return sync_.wants_communication_pushed(); }
  void layer_done(int k) override;
  // SummedObserver: the sync's news
  void layers_summed(int first, int last) override;

 private:
  void try_update(int k);

  Optimizer<T>& optimizer_;
  Network<T>& net_;
  const Regularization& reg_;
  GradientSync<T>& sync_;
  bool early_ = false;
  bool summed_when_ready_ = true;  // one rank: a layer's gradient is final when backward has it
  bool reporting_ = false;         // the sync reports its buckets to this updater
  double lr_scale_ = 1;
  bool finite_ = true;
  StepClock* clock_ = nullptr;
  std::vector<char> summed_, done_, updated_;  // per layer, sized once
};

}  // namespace dmlp
