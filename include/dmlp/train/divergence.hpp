#pragma once
// What dmlp says when training diverges: one wording, wherever it is found.
#include <cstdint>
#include <string>

namespace dmlp {

// What the user can do about it, in setting names (core/settings.hpp).
std::string divergence_advice();

// Remembers the last loss reported, which the message then gives.
class DivergenceNotes {
 public:
  void loss_reported(std::int64_t step, double loss) { step_ = step, loss_ = loss; }
  // "diverged at step N: <what>; the last loss reported, …. Nothing non-finite was written; <advice>"
  std::string message(std::int64_t step, const std::string& what) const;

 private:
  std::int64_t step_ = -1;  // -1: none yet
  double loss_ = 0;
};

}  // namespace dmlp
