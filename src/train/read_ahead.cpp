#include "dmlp/train/read_ahead.hpp"

#include <algorithm>

namespace dmlp {

ReadAhead::ReadAhead(RowSource& source, const BatchPlan& plan, Collective& comm, std::int64_t max_rank_rows)
    : source_(source), plan_(plan), comm_(comm), max_rank_rows_(max_rank_rows) {
  if (source_.read_ahead_rows() > 0)
    upcoming_.reserve(std::size_t(std::max<std::int64_t>(source_.read_ahead_rows(), max_rank_rows_)));
}

void ReadAhead::before_step(const TrainPosition& position) {
  if (source_.read_ahead_rows() <= 0) return;
  if (epoch_ == position.epoch && position.step_in_epoch < until_) return;
  const std::int64_t steps = std::max<std::int64_t>(1, source_.read_ahead_rows() / max_rank_rows_);
  const std::int64_t until = std::min(position.step_in_epoch + steps, plan_.steps_per_epoch());
  upcoming_.clear();
  for (std::int64_t s = position.step_in_epoch; s < until; ++s) {
    const auto rows = plan_.rank_rows(s, comm_.size(), comm_.rank());
    upcoming_.insert(upcoming_.end(), rows.begin(), rows.end());
  }
  comm_.agreed([&] { source_.read_ahead(upcoming_); });
  epoch_ = position.epoch;
  until_ = until;
}

}  // namespace dmlp
