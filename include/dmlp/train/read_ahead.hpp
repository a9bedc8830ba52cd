#pragma once
// Tells a streaming source the rows of the next steps, as many as its
// read-ahead holds, so that it reads them in large sorted runs while the
// current steps train. Every rank announces at the same steps: a bad row or a
// changed file found by any of them ends the job as one failure, said once.
#include <cstdint>
#include <vector>

#include "dmlp/data/batch_plan.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/position.hpp"

namespace dmlp {

class ReadAhead {
 public:
  // `max_rank_rows`: the most rows a rank takes in one step.
  ReadAhead(RowSource& source, const BatchPlan& plan, Collective& comm, std::int64_t max_rank_rows);
  // Before the step after `position`: announces the next run of steps if the last one is used up.
  void before_step(const TrainPosition& position);

 private:
  RowSource& source_;
  const BatchPlan& plan_;
  Collective& comm_;
  std::int64_t max_rank_rows_;
  std::vector<std::int64_t> upcoming_;  // rows announced, reserved once
  std::int64_t epoch_ = -1, until_ = 0;  // steps [.., until_) of epoch_ announced
};

}  // namespace dmlp
