// dmlp eval | predict | inspect: using checkpoints.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "app.hpp"
#include "checkpoint_io.hpp"
#include "commands.hpp"
#include "data_sources.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/placement.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp::cli {
namespace {

// Every rank holds the checkpoint's network, in float.
Network<float> network_from(const CheckpointMeta& meta, const std::vector<float>& params) {
  Network<float> net(meta.spec);
  std::copy(params.begin(), params.end(), net.params().begin());
  return net;
}

std::string model_line(const CheckpointMeta& m) {
  return m.spec.describe() + "; step " + std::to_string(m.progress.step);
}

void print_eval_text(const CheckpointMeta& meta, const RowSource& data, const EvalResult& r) {
  std::printf("checkpoint  %s (%s)\n", meta.path.c_str(), model_line(meta).c_str());
  std::printf("data        %s\n", describe_data(data).c_str());
  if (!r.classification) {
    std::printf("mse %.6g  r2 %.4f  loss %.6g\n", r.mse, r.r2, r.loss);
    return;
  }
  std::printf("loss %.4f  accuracy %.4f\n", r.loss, r.accuracy);
  const int c = r.num_classes;
  std::printf("per-class accuracy\n");
  for (int i = 0; i < c; ++i) {
    const auto row = r.confusion.begin() + std::ptrdiff_t(i) * c;
    const std::int64_t total = std::accumulate(row, row + c, std::int64_t{0});
    std::printf("  class %-3d %s (%lld rows)\n", i,
                total ? std::to_string(double(row[i]) / double(total)).substr(0, 6).c_str() : "-     ",
                static_cast<long long>(total));
  }
  std::printf("confusion matrix (rows: true class, columns: predicted class)\n      ");
  for (int j = 0; j < c; ++j) std::printf("%7d", j);
  std::printf("\n");
  for (int i = 0; i < c; ++i) {
    std::printf("  %3d ", i);
    for (int j = 0; j < c; ++j) std::printf("%7lld", static_cast<long long>(r.confusion[std::size_t(i) * c + j]));
    std::printf("\n");
  }
}

nlohmann::json eval_json(const CheckpointMeta& meta, const RowSource& data, const EvalResult& r) {
  nlohmann::json j = {{"checkpoint", meta.path}, {"step", meta.progress.step}, {"data", data.name()},
                      {"rows", r.rows},          {"loss", r.loss}};
  if (!r.classification) {
    j["mse"] = r.mse;
    j["r2"] = r.r2;
    return j;
  }
  const int c = r.num_classes;
  nlohmann::json per_class = nlohmann::json::array(), confusion = nlohmann::json::array();
  for (int i = 0; i < c; ++i) {
    const auto row = r.confusion.begin() + std::ptrdiff_t(i) * c;
    const std::int64_t total = std::accumulate(row, row + c, std::int64_t{0});
    per_class.push_back(total ? nlohmann::json(double(row[i]) / double(total)) : nlohmann::json(nullptr));
    confusion.push_back(std::vector<std::int64_t>(row, row + c));
  }
  j["accuracy"] = r.accuracy;
  j["per_class_accuracy"] = per_class;
  j["confusion"] = confusion;
  return j;
}

void set_threads_for(const mpi::Communicator& world, int requested) {
  const mpi::Placement p = mpi::discover_placement(world, requested);
  set_threads(p.threads);
}

}  // namespace

int run_eval(const mpi::Communicator& world, const EvalOptions& o) {
  collectively(world, [&] { require_positive(double(o.batch_size), "--batch-size"); });
  set_threads_for(world, o.threads);
  std::vector<float> params;
  const CheckpointMeta meta = load_checkpoint<float>(world, o.checkpoint, params);
  auto data = open_data_file(o.data, o.load, true, world);
  collectively(world, [&] { check_data_fits_model(data->shape(), meta.spec, o.data); });
  const Network<float> net = network_from(meta, params);
  mpi::MpiCollective collective(world);
  const EvalResult result = evaluate(net, *data, collective, int(o.batch_size));
  if (world.rank() == 0) {
    if (o.json)
      std::printf("%s\n", eval_json(meta, *data, result).dump().c_str());
    else
      print_eval_text(meta, *data, result);
  }
  return 0;
}

int run_predict(const mpi::Communicator& world, const PredictOptions& o) {
  collectively(world, [&] { require_positive(double(o.batch_size), "--batch-size"); });
  set_threads_for(world, o.threads);
  std::vector<float> params;
  const CheckpointMeta meta = load_checkpoint<float>(world, o.checkpoint, params);
  auto data = open_data_file(o.data, o.load, false, world);
  collectively(world, [&] {
    if (data->shape().features != meta.spec.inputs())
      throw InputError(o.data + " has " + std::to_string(data->shape().features) + " features but the model takes " +
                       std::to_string(meta.spec.inputs()) + " inputs");
  });
  const Network<float> net = network_from(meta, params);
  const int k = meta.spec.outputs();
  const bool classify = is_classification(meta.spec.loss);

  // This rank's contiguous slice, forward in chunks.
  const Slice mine = shard(data->shape().rows, world.size(), world.rank());
  const int chunk = int(std::min<std::int64_t>(o.batch_size, std::max<std::int64_t>(mine.count, 1)));
  Workspace<float> ws(meta.spec, chunk);
  std::vector<float> outputs(std::size_t(mine.count) * k);
  std::vector<std::int32_t> predicted(std::size_t(mine.count));
  std::vector<std::int64_t> indices(static_cast<std::size_t>(chunk));
  for (std::int64_t first = 0; first < mine.count; first += chunk) {
    const int n = int(std::min<std::int64_t>(chunk, mine.count - first));
    std::iota(indices.begin(), indices.begin() + n, mine.begin + first);
    data->gather({indices.data(), std::size_t(n)}, ws.input(), nullptr, nullptr);
    const float* y = forward(net, ws, n);
    std::copy(y, y + std::size_t(n) * k, outputs.begin() + first * k);
    for (int r = 0; r < n; ++r) predicted[std::size_t(first + r)] = predicted_class(meta.spec.loss, k, y + std::size_t(r) * k);
  }

  // All ranks write their rows into one file with collective MPI-IO; it gets its
  // name only once complete.
  const std::filesystem::path out(o.out);
  std::string tmp = (out.parent_path() / ("." + out.filename().string() + ".tmp")).string();
  world.broadcast(tmp, 0);
  h5::File file;  // outlives a failure, whose handler aborts before a collective close could hang
  mpi::or_abort(world, [&] {  // collective file I/O: a failure on one rank ends the job
    file = h5::create(tmp, world.get());
    const hsize_t rows = hsize_t(data->shape().rows);
    const hsize_t dims[2] = {rows, hsize_t(k)};
    {
      const h5::Dataset out_set = h5::create_dataset(file.get(), "outputs", H5T_NATIVE_FLOAT, dims);
      h5::write_rows(out_set.get(), hsize_t(mine.begin), hsize_t(mine.count), outputs.data(), true);
    }
    if (classify) {
      const h5::Dataset cls = h5::create_dataset(file.get(), "predicted_class", H5T_NATIVE_INT32, std::span(dims, 1));
      h5::write_rows(cls.get(), hsize_t(mine.begin), hsize_t(mine.count), predicted.data(), true);
    }
    h5::write_attribute(file.get(), "dmlp_format", std::string("predictions"));
    h5::write_attribute<std::int64_t>(file.get(), "format_version", 1);
    h5::write_attribute(file.get(), "checkpoint", meta.path);
    h5::write_attribute(file.get(), "data", o.data);
    h5::write_attribute(file.get(), "model", model_to_json(meta.spec).dump());
    file.close();
  });
  collectively(world, [&] {
    if (world.rank() == 0 && std::rename(tmp.c_str(), o.out.c_str()) != 0)
      throw std::runtime_error("cannot rename " + tmp + " to " + o.out);
  });
  if (world.rank() == 0)
    std::printf("wrote %s: %lld rows x %d outputs%s\n", o.out.c_str(), static_cast<long long>(data->shape().rows), k,
                classify ? ", and /predicted_class" : "");
  return 0;
}

int run_inspect(const mpi::Communicator& world, const InspectOptions& o) {
  std::vector<double> params, velocity;
  const CheckpointMeta m = load_checkpoint<double>(world, o.file, params, &velocity);
  std::vector<double> other;
  CheckpointMeta other_meta;
  if (!o.compare.empty()) {
    other_meta = load_checkpoint<double>(world, o.compare, other);
    collectively(world, [&] {
      if (other.size() != params.size())
        throw InputError(o.compare + " holds a different model (" + other_meta.spec.describe() + ") than " + o.file +
                         " (" + m.spec.describe() + ")");
    });
  }
  if (world.rank() != 0) return 0;
  const ParameterLayout layout(m.spec);
  std::printf("checkpoint  %s\n", m.path.c_str());
  std::printf("format      dmlp checkpoint, format_version %d, written by dmlp %s on %d rank%s\n", m.format_version,
              m.dmlp_version.c_str(), m.ranks, m.ranks == 1 ? "" : "s");
  std::printf("model       %s\n", m.spec.describe().c_str());
  for (int k = 0; k < m.spec.num_layers(); ++k) {
    const LayerSlots& s = layout.layer(k);
    std::printf("  layer %d   W %d x %d, b %d, %s (%zu parameters)\n", k + 1, s.out, s.in, s.out,
                std::string(to_string(m.spec.activations[std::size_t(k)])).c_str(), s.end() - s.begin());
  }
  std::printf("parameters  %zu %s, checksum %016" PRIx64 " verified\n", layout.size(), m.precision.c_str(),
              m.parameters_checksum);
  std::printf("optimizer   %s\n", m.has_velocity ? "momentum velocity stored, checksum verified" : "no state (plain SGD)");
  std::printf("progress    step %lld, epoch %lld (%lld steps into it), %lld samples seen\n",
              static_cast<long long>(m.progress.step), static_cast<long long>(m.progress.epoch + 1),
              static_cast<long long>(m.progress.step_in_epoch), static_cast<long long>(m.progress.samples));
  std::printf("data order  philox4x32-10, seed %llu\n", static_cast<unsigned long long>(m.seed));
  std::printf("config      %s\n", m.config.dump().c_str());
  if (!o.compare.empty()) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      diff = std::max(diff, std::abs(params[i] - other[i]));
      scale = std::max(scale, std::abs(params[i]));
    }
    std::printf("compared    %s: %s; max |difference| %.3g, relative to max |parameter| %.3g\n", o.compare.c_str(),
                other_meta.parameters_checksum == m.parameters_checksum && diff == 0 ? "bitwise identical" : "different",
                diff, scale > 0 ? diff / scale : 0.0);
  }
  return 0;
}

}  // namespace dmlp::cli
