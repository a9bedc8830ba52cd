#include "dmlp/run/predictions.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "dmlp/core/loss.hpp"
#include "dmlp/io/atomic_file.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/io/file_identity.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/train/forward_rows.hpp"

namespace dmlp::run {

PredictionsWritten write_predictions(const mpi::Communicator& world, const Network<float>& net, RowSource& data,
                                     std::int64_t chunk_rows, const std::string& out, const PredictionSource& source) {
  const ModelSpec& spec = net.spec();
  const int k = spec.outputs();
  const bool classify = is_classification(spec.loss);
  // Before any work: a place that takes no files is the user's to fix (exit 2).
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    namespace fs = std::filesystem;
    check_outputs({{"--checkpoint", source.checkpoint}, {"--data", source.data}}, {{"--out", out}});
    const fs::path parent = fs::path(out).parent_path();
    require_writable_directory(parent.empty() ? "." : parent.string(), "--out " + out + ": the directory");
  });

  const Slice mine = shard(data.shape().rows, world.size(), world.rank());
  const int chunk = int(std::min<std::int64_t>(chunk_rows, std::max<std::int64_t>(mine.count, 1)));
  std::vector<float> outputs(std::size_t(mine.count) * k);        // (mine, k)
  std::vector<std::int32_t> predicted(std::size_t(mine.count));  // (mine)
  ForwardRows<float> rows(net, chunk, /*with_answers=*/false);
  rows.run(data, mine, [&](std::int64_t offset, int n, const float* y, const std::int32_t*, const float*) {
    std::copy(y, y + std::size_t(n) * k, outputs.begin() + offset * k);
    for (int r = 0; r < n; ++r)
      predicted[std::size_t(offset + r)] = predicted_class(spec.loss, k, y + std::size_t(r) * k);
  });

  // Rank 0 gathers every row, builds the file in memory and writes it whole:
  // a full disk is one line, and no partial file is left under any name.
  const int ranks = world.size();
  std::vector<int> counts(static_cast<std::size_t>(ranks)), displs(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const Slice s = shard(data.shape().rows, ranks, r);
    counts[std::size_t(r)] = int(s.count);
    displs[std::size_t(r)] = int(s.begin);
  }
  const bool root = world.rank() == 0;
  std::vector<float> all_outputs(root ? std::size_t(data.shape().rows) * k : 0);
  std::vector<std::int32_t> all_classes(root ? std::size_t(data.shape().rows) : 0);
  if (root) {  // rank 0's rows are the first
    std::copy(outputs.begin(), outputs.end(), all_outputs.begin());
    std::copy(predicted.begin(), predicted.end(), all_classes.begin());
  }
  world.gather_rows(outputs.data(), root ? all_outputs.data() : nullptr, k, counts, displs, 0);
  world.gather_rows(predicted.data(), root ? all_classes.data() : nullptr, 1, counts, displs, 0);
  mpi::collectively(world, [&] {
    if (!root) return;
    h5::File file = h5::create_in_memory(out);
    const hsize_t dims[2] = {hsize_t(data.shape().rows), hsize_t(k)};
    h5::write_dataset<float>(file.get(), "outputs", dims, all_outputs.data());
    if (classify) h5::write_dataset<std::int32_t>(file.get(), "predicted_class", std::span(dims, 1), all_classes.data());
    h5::write_attribute(file.get(), "dmlp_format", std::string("predictions"));
    h5::write_attribute<std::int64_t>(file.get(), "format_version", 1);
    h5::write_attribute(file.get(), "checkpoint", source.checkpoint);
    h5::write_attribute(file.get(), "data", source.data);
    h5::write_attribute(file.get(), "model", model_to_json(spec).dump());
    const std::vector<char> image = h5::file_image(file.get());
    file.close();
    write_file_atomically(out, image, "predictions");
  });
  return {data.shape().rows, k, classify};
}

}  // namespace dmlp::run
