#pragma once
// The network: one flat parameter buffer, one flat gradient buffer laid out
// alike, named per-layer views into both, and the forward and backward passes
// over preallocated activations.
#include <span>
#include <vector>

#include "dmlp/core/aligned_buffer.hpp"
#include "dmlp/core/dense.hpp"
#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/trace.hpp"

namespace dmlp {

template <class T>
class Network {
 public:
  explicit Network(ModelSpec spec);  // validates the spec; parameters start at zero
  // Over storage it does not own, layout_.size() values each: how the ranks of
  // a node share one parameter buffer (mpi/node_team.hpp). Not zeroed here.
  Network(ModelSpec spec, std::span<T> params, std::span<T> grads);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  Network(Network&&) noexcept = default;  // the spans follow the moved buffers' heap storage
  Network& operator=(Network&&) = delete;

  const ModelSpec& spec() const { return spec_; }
  const ParameterLayout& layout() const { return layout_; }
  int num_layers() const { return spec_.num_layers(); }

  std::span<T> params() { return params_; }  // [W_1 b_1 … W_K b_K]
  std::span<const T> params() const { return params_; }
  std::span<T> grads() { return grads_; }  // same layout as params
  std::span<const T> grads() const { return grads_; }

  T* weights(int k) { return params_.data() + layout_.layer(k).weight_offset; }       // W_k (out, in)
  T* bias(int k) { return params_.data() + layout_.layer(k).bias_offset; }            // b_k (out)
  T* weight_grad(int k) { return grads_.data() + layout_.layer(k).weight_offset; }    // dW_k (out, in)
  T* bias_grad(int k) { return grads_.data() + layout_.layer(k).bias_offset; }        // db_k (out)
  DenseParams<T> layer(int k) const;

  // Backward accumulates into the gradient buffer; this clears it.
  void zero_grad();

 private:
  ModelSpec spec_;
  ParameterLayout layout_;
  AlignedBuffer<T> owned_params_, owned_grads_;  // empty over outside storage
  std::span<T> params_, grads_;
};

// Activations and back-propagated deltas for up to max_rows rows, allocated once.
template <class T>
class Workspace {
 public:
  Workspace(const ModelSpec& spec, int max_rows);
  int max_rows() const { return max_rows_; }
  T* input() { return activations_[0].data(); }                 // x_0 (rows, d): the batch goes here
  const T* activation(int k) const { return activations_[k].data(); }  // x_k (rows, r_k), k = 0..K
  T* activation(int k) { return activations_[k].data(); }
  const T* output() const { return activations_.back().data(); }  // x_K (rows, outputs)
  T* output_grad() { return delta_[0].data(); }                   // ∂L/∂x_K (rows, outputs)
  T* delta(int i) { return delta_[i].data(); }                    // two (rows, max width) buffers

 private:
  int max_rows_;
  std::vector<AlignedBuffer<T>> activations_;
  AlignedBuffer<T> delta_[2];
};

// Told when a layer's parameter gradient is final during backward, so that
// communicating it can overlap the rest of back-propagation.
class GradientObserver {
 public:
  virtual ~GradientObserver() = default;
  virtual void layer_ready(int k) = 0;  // dW_k and db_k are complete
  virtual void push_communication() {}  // a chance to push communication along
  // Whether communication is in flight that only progresses inside MPI calls:
  // backward then calls push_communication() between slices of its GEMMs too.
  virtual bool wants_communication_pushed() const { return false; }
  // Backward is done with layer k: its gradient is final and its weights are
  // no longer needed this step (dX_k is computed), so they may be updated.
  virtual void layer_done(int /*k*/) {}
};

// x_K = f_K(… f_1(x_0)) for the first `rows` rows of ws.input(); returns x_K.
// With a trace that is on, each layer is a span ("forward layer k", from 1).
template <class T>
const T* forward(const Network<T>& net, Workspace<T>& ws, int rows, Trace* trace = nullptr);

// Back-propagates ws.output_grad() from layer K down to layer 1, adding each
// layer's dW_k, db_k into net.grads() (or, with GradMode::Overwrite, storing
// them there, as if zero_grad() had run first).
template <class T>
void backward(Network<T>& net, Workspace<T>& ws, int rows, GradientObserver* observer = nullptr,
              GradMode mode = GradMode::Accumulate, Trace* trace = nullptr, const BackwardTuning& tuning = {});
// The same into `grads`, a buffer laid out as net.grads(): how several threads
// back-propagate different rows through one network at once.
template <class T>
void backward_into(const Network<T>& net, Workspace<T>& ws, int rows, std::span<T> grads, GradientObserver* observer,
                   GradMode mode, Trace* trace = nullptr, const BackwardTuning& tuning = {});

}  // namespace dmlp
