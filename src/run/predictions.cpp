#include "dmlp/run/predictions.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "dmlp/core/loss.hpp"
#include "dmlp/io/checkpoint.hpp"
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
    const std::filesystem::path parent = std::filesystem::path(out).parent_path();
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

  const std::filesystem::path final_path(out);
  std::string tmp = (final_path.parent_path() / ("." + final_path.filename().string() + ".tmp")).string();
  world.broadcast(tmp, 0);
  h5::File file;  // outlives a failure, whose handler aborts before a collective close could hang
  mpi::or_abort(world, [&] {
    file = h5::create(tmp, world.get());
    const hsize_t dims[2] = {hsize_t(data.shape().rows), hsize_t(k)};
    {
      const h5::Dataset out_set = h5::create_dataset(file.get(), "outputs", h5::memory_type<float>(), dims);
      h5::write_rows(out_set.get(), hsize_t(mine.begin), hsize_t(mine.count), outputs.data(), true);
    }
    if (classify) {
      const h5::Dataset cls =
          h5::create_dataset(file.get(), "predicted_class", h5::memory_type<std::int32_t>(), std::span(dims, 1));
      h5::write_rows(cls.get(), hsize_t(mine.begin), hsize_t(mine.count), predicted.data(), true);
    }
    h5::write_attribute(file.get(), "dmlp_format", std::string("predictions"));
    h5::write_attribute<std::int64_t>(file.get(), "format_version", 1);
    h5::write_attribute(file.get(), "checkpoint", source.checkpoint);
    h5::write_attribute(file.get(), "data", source.data);
    h5::write_attribute(file.get(), "model", model_to_json(spec).dump());
    file.close();
  });
  mpi::collectively(world, [&] {
    if (world.rank() == 0 && std::rename(tmp.c_str(), out.c_str()) != 0)
      throw std::runtime_error("cannot rename " + tmp + " to " + out);
  });
  return {data.shape().rows, k, classify};
}

}  // namespace dmlp::run
