#pragma once
// Losses ℓ(y, y') on the network output y (B, k), and the one definition of the
// batch mean.
//
// The objective is the mean over the *global* batch: (1/B) Σ_i ℓ_i. A rank
// holding b of the B rows scales its sums by 1/B; adding the ranks' results
// (the all-reduce) then gives the mean. batch_mean_scale() is that 1/B, and
// every loss value and loss gradient in dmlp goes through it.
//
//   squared error  ℓ = ‖y − y'‖²                      (targets y' ∈ R^k)
//   bce on logits  ℓ = −t log σ(y) − (1−t) log(1−σ(y)), t = label ∈ {0,1}, k = 1
//   softmax CE     ℓ = −log softmax(y)_c,               c = label ∈ [0,k)
//   hinge          ℓ = max(0, 1 − s·y), s = 2·label − 1 ∈ {−1,+1}, k = 1
//                  (subgradient 0 at the kink)
#include <cstdint>
#include <string>
#include <string_view>

namespace dmlp {

enum class Loss { SoftmaxCrossEntropy, BinaryCrossEntropy, SquaredError, Hinge };

std::string_view to_string(Loss l);
Loss parse_loss(std::string_view name);  // throws InputError
std::string loss_names();

// Classification losses take integer labels; squared error takes real targets.
bool is_classification(Loss l);
// Classes the output layer can express: k for softmax, 2 for bce and hinge.
int num_classes_for_output(Loss l, int outputs);
// Throws InputError when the loss cannot be computed on `outputs` values.
void check_loss_fits_outputs(Loss l, int outputs);

template <class T>
T batch_mean_scale(long long global_batch) {
  return global_batch > 0 ? T(1) / T(global_batch) : T(0);
}

template <class T>
struct Targets {
  const std::int32_t* labels = nullptr;  // (B) for classification
  const T* values = nullptr;             // (B, k) for squared error
};

struct LossSums {
  double loss = 0;     // Σ_i ℓ_i · scale over the rows given
  double correct = 0;  // rows classified correctly (classification only)
};

// For rows·k outputs Y: returns Σ ℓ_i·scale and the correct count; writes
// dY = scale · ∂ℓ/∂Y when dY is not null. Y and dY may not alias.
template <class T>
LossSums loss_forward_backward(Loss loss, int rows, int k, const T* Y, Targets<T> targets, T scale,
                               T* dY);

// The class a row of outputs predicts.
template <class T>
int predicted_class(Loss loss, int k, const T* y_row);

}  // namespace dmlp
