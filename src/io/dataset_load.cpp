// The collective load of a data set file into memory on every rank.
#include "dataset_file_internal.hpp"
#include "dmlp/io/file_error.hpp"

#include <algorithm>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp {

std::unique_ptr<InMemoryDataset> load_dataset(const DatasetFileInfo& info, const mpi::Communicator& comm) {
  auto data = std::make_unique<InMemoryDataset>(info.shape, info.path);
  const std::size_t d = std::size_t(info.shape.features), k = std::size_t(std::max(info.shape.targets, 1));
  const Slice mine = shard(info.shape.rows, comm.size(), comm.rank());
  float* X = data->features().data() + std::size_t(mine.begin) * d;
  const bool answers = info.has_targets_or_labels;
  std::int32_t* labels = answers && !data->labels().empty() ? data->labels().data() + mine.begin : nullptr;
  float* targets = answers && !data->targets().empty() ? data->targets().data() + std::size_t(mine.begin) * k : nullptr;
  // Each rank reads its slab, all together (collective MPI-IO), then closes. An
  // I/O error here strikes one rank inside collectives: it ends the job, with
  // the file still open (closing it is collective too).
  h5::File file;
  mpi::or_abort(comm, [&] {
    try {
      file = h5::open_read(info.path, comm.get());
      h5::read_rows(h5::open_dataset(file.get(), "features").get(), hsize_t(mine.begin), hsize_t(mine.count), X, true);
      if (labels) h5::read_rows(h5::open_dataset(file.get(), "labels").get(), hsize_t(mine.begin), hsize_t(mine.count), labels, true);
      if (targets)
        h5::read_rows(h5::open_dataset(file.get(), "targets").get(), hsize_t(mine.begin), hsize_t(mine.count), targets, true);
      file.close();
    } catch (const h5::H5Error& e) {  // a damaged chunk, say: bad input, named
      file_error(info.path, "cannot read rows " + std::to_string(mine.begin) + " to " +
                                std::to_string(mine.begin + mine.count - 1) + " (damaged?): " + e.what());
    }
  });
  if (const FeatureScale to_value = feature_scale(info); to_value.applies)
    for (std::size_t i = 0; i < std::size_t(mine.count) * d; ++i) X[i] = to_value(X[i]);
  std::optional<mpi::RankFailure> failure;
  try {
    check_rows(info, mine.count, mine.begin, {}, X, labels, targets);
  } catch (const InputError& e) {
    failure = mpi::RankFailure{comm.rank(), e.what(), kExitInputError};
  }
  if (const auto first = mpi::first_failure(comm, failure)) throw InputError(first->message);

  std::vector<int> counts(std::size_t(comm.size())), displs(std::size_t(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const Slice s = shard(info.shape.rows, comm.size(), r);
    counts[std::size_t(r)] = int(s.count);
    displs[std::size_t(r)] = int(s.begin);
  }
  if (comm.size() > 1) {
    comm.allgather_rows(data->features().data(), int(d), counts, displs);
    if (labels) comm.allgather_rows(data->labels().data(), 1, counts, displs);
    if (targets) comm.allgather_rows(data->targets().data(), int(k), counts, displs);
  }
  return data;
}

}  // namespace dmlp
