#include "dmlp/train/collective.hpp"

namespace dmlp {
namespace {
// Each all-reduce complete when it starts: a Collective with nothing better.
class BlockingIntegers final : public BackgroundIntegers {
 public:
  explicit BlockingIntegers(Collective& comm) : comm_(comm) {}
  void start(int, std::span<std::int64_t> values, bool maximum) override {
    if (maximum) comm_.max_integers(values);
    else comm_.sum_integers(values);
  }
  bool done(int) override { return true; }
  void wait(int) override {}

 private:
  Collective& comm_;
};
}  // namespace

std::unique_ptr<BackgroundIntegers> Collective::background_integers(int) {
  return std::make_unique<BlockingIntegers>(*this);
}

}  // namespace dmlp
