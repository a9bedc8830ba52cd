// The collective load of a data set file into memory: once per node, into
// memory that the node's ranks share and each fills a slab of.
#include "dataset_file_internal.hpp"
#include "dmlp/io/file_error.hpp"

#include <algorithm>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/batch_plan.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/liveness.hpp"
#include "dmlp/mpi/shared_window.hpp"

namespace dmlp {
namespace {
// A data set's rows in the node's shared memory (local rank 0's segment).
struct SharedRows {
  SharedRows(const mpi::Communicator& node, const DataShape& s)
      : features(node, node.rank() == 0 ? std::size_t(s.rows) * std::size_t(s.features) : 0, true),
        labels(node, node.rank() == 0 && s.is_classification() ? std::size_t(s.rows) : 0, true),
        targets(node, node.rank() == 0 && !s.is_classification() ? std::size_t(s.rows) * std::size_t(s.targets) : 0,
                true) {}
  mpi::SharedArray<float> features;
  mpi::SharedArray<std::int32_t> labels;
  mpi::SharedArray<float> targets;
};

std::unique_ptr<InMemoryDataset> held_by_node(const DatasetFileInfo& info, const std::shared_ptr<SharedRows>& rows,
                                              int sharers) {
  const DataShape& s = info.shape;
  RowStorage storage{rows->features.whole(std::size_t(s.rows) * std::size_t(s.features)),
                     rows->labels.whole(s.is_classification() ? std::size_t(s.rows) : 0),
                     rows->targets.whole(s.is_classification() ? 0 : std::size_t(s.rows) * std::size_t(s.targets)),
                     rows, sharers};
  return std::make_unique<InMemoryDataset>(s, info.path, std::move(storage));
}
}  // namespace

std::unique_ptr<InMemoryDataset> load_dataset(const DatasetFileInfo& info, const mpi::Communicator& comm,
                                              std::string* shortage) {
  // The ranks of a node hold the rows once, and read them together: rank i
  // of the node its slab, every node the whole set (no traffic between nodes).
  // Where some node's shared memory has no room for it, every rank holds a
  // copy, and the ranks read a slab each and exchange them.
  mpi::Communicator node = comm.split_shared();
  node.wait_with(comm.waiter());
  const DataShape& shape = info.shape;
  const std::size_t row_bytes = std::size_t(shape.features) * sizeof(float) +
                                (shape.is_classification() ? sizeof(std::int32_t)
                                                           : std::size_t(shape.targets) * sizeof(float));
  const std::size_t bytes = std::size_t(shape.rows) * row_bytes;
  std::string short_of = mpi::shared_memory_shortage(comm, node, node.size() > 1 ? bytes : 0, "the data set " + info.path);
  const bool by_node = short_of.empty();
  const bool shared = by_node && node.size() > 1;
  if (shortage) *shortage = std::move(short_of);
  const auto rows = shared ? std::make_shared<SharedRows>(node, info.shape) : nullptr;
  auto data = shared ? held_by_node(info, rows, node.size()) : std::make_unique<InMemoryDataset>(info.shape, info.path);
  const mpi::Communicator& readers = by_node ? node : comm;
  data->set_stored_as(stored_as_text(info));
  const std::size_t d = std::size_t(info.shape.features), k = std::size_t(std::max(info.shape.targets, 1));
  const Slice mine = shard(info.shape.rows, readers.size(), readers.rank());
  float* X = data->features().data() + std::size_t(mine.begin) * d;
  const bool answers = info.has_targets_or_labels;
  std::int32_t* labels = answers && !data->labels().empty() ? data->labels().data() + mine.begin : nullptr;
  float* targets = answers && !data->targets().empty() ? data->targets().data() + std::size_t(mine.begin) * k : nullptr;
  // Each rank reads its slab through a serial handle of its own, then the
  // ranks agree: a damaged chunk or a bad row anywhere is one failure, said
  // once by the lowest rank that met it. (Collective MPI-IO would leave a rank
  // that fails there alone inside HDF5's collectives, and HDF5 1.10 reads no
  // virtual dataset through it; plain reads of contiguous slabs are as fast.)
  mpi::collectively(comm, [&] {
    try {
      const h5::File file = h5::open_read(info.path);
      const h5::Dataset features = h5::open_dataset(file.get(), "features");
      const h5::Dataset answer_set =
          labels || targets ? h5::open_dataset(file.get(), labels ? "labels" : "targets") : h5::Dataset();
      // In pieces of about 64 MiB, saying between them that this rank is reading, not stalled.
      const auto piece = std::max<std::int64_t>(1, std::int64_t((std::size_t(64) << 20) / (d * sizeof(float))));
      for (std::int64_t at = 0; at < mine.count; at += piece) {
        const std::int64_t n = std::min(piece, mine.count - at);
        const hsize_t first = hsize_t(mine.begin + at);
        h5::read_rows(features.get(), first, hsize_t(n), X + std::size_t(at) * d);
        if (labels) h5::read_rows(answer_set.get(), first, hsize_t(n), labels + at);
        if (targets) h5::read_rows(answer_set.get(), first, hsize_t(n), targets + std::size_t(at) * k);
        mpi::still_working();
      }
    } catch (const h5::H5Error& e) {  // a damaged chunk, say: bad input, named
      file_error(info.path, "cannot read rows " + std::to_string(mine.begin) + " to " +
                                std::to_string(mine.begin + mine.count - 1) + " (damaged?): " + e.what());
    }
    if (const FeatureScale to_value = feature_scale(info); to_value.applies)
      for (std::size_t i = 0; i < std::size_t(mine.count) * d; ++i) X[i] = to_value(X[i]);
    check_rows(info, mine.count, mine.begin, {}, X, labels, targets);
  });

  if (by_node && !shared) return data;  // alone on its node: it read all rows
  if (shared) {
    // every slab written before any rank reads (MPI's shared-memory model: sync, barrier, sync)
    const auto sync = [&] {
      rows->features.sync();
      rows->labels.sync();
      rows->targets.sync();
    };
    sync();
    node.barrier();
    sync();
    return data;
  }
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
