// dmlp eval: a checkpoint's loss and accuracy (or MSE and R²) on a data set.
#include <cstdio>
#include <numeric>

#include "commands.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/data_sources.hpp"
#include "dmlp/run/inference.hpp"

namespace dmlp::cli {
namespace {

// Row i of the confusion matrix: its total and its share predicted right.
struct ClassRow {
  std::int64_t total;
  double accuracy;  // NaN when the class has no rows
};
ClassRow class_row(const EvalResult& r, int i) {
  const auto row = r.confusion.begin() + std::ptrdiff_t(i) * r.num_classes;
  const std::int64_t total = std::accumulate(row, row + r.num_classes, std::int64_t{0});
  return {total, total ? double(row[i]) / double(total) : std::nan("")};
}

void print_text(const CheckpointMeta& meta, const RowSource& data, const EvalResult& r) {
  std::printf("checkpoint  %s (%s; step %lld)\n", meta.path.c_str(), meta.spec.describe().c_str(),
              static_cast<long long>(meta.position.step));
  std::printf("data        %s\n", run::describe_data(data).c_str());
  if (!r.classification) {
    std::printf("mse %.6g  r2 %.4f  loss %.6g\n", r.mse, r.r2, r.loss);
    return;
  }
  std::printf("loss %.4f  accuracy %.4f\n", r.loss, r.accuracy);
  const int c = r.num_classes;
  std::printf("per-class accuracy\n");
  for (int i = 0; i < c; ++i) {
    const ClassRow row = class_row(r, i);
    std::printf("  class %-3d %s (%lld rows)\n", i,
                row.total ? std::to_string(row.accuracy).substr(0, 6).c_str() : "-     ",
                static_cast<long long>(row.total));
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

nlohmann::json as_json(const CheckpointMeta& meta, const RowSource& data, const EvalResult& r) {
  nlohmann::json j = {{"checkpoint", meta.path}, {"step", meta.position.step}, {"data", data.name()},
                      {"rows", r.rows},          {"loss", r.loss}};
  if (!r.classification) {
    j["mse"] = r.mse;
    j["r2"] = r.r2;
    return j;
  }
  const int c = r.num_classes;
  nlohmann::json per_class = nlohmann::json::array(), confusion = nlohmann::json::array();
  for (int i = 0; i < c; ++i) {
    const ClassRow row = class_row(r, i);
    per_class.push_back(row.total ? nlohmann::json(row.accuracy) : nlohmann::json(nullptr));
    const auto first = r.confusion.begin() + std::ptrdiff_t(i) * c;
    confusion.push_back(std::vector<std::int64_t>(first, first + c));
  }
  j["accuracy"] = r.accuracy;
  j["per_class_accuracy"] = per_class;
  j["confusion"] = confusion;
  return j;
}

}  // namespace

int run_eval(const mpi::Communicator& world, const EvalOptions& o) {
  const InferenceOptions& i = o.inference;
  run::LoadingConfig loading;
  mpi::collectively(world, [&] { loading = i.loading(); });
  const run::InferenceInputs in = run::open_inference(world, i.checkpoint, i.data, loading, i.threads, true);
  mpi::MpiCollective collective(world);
  const EvalResult result = evaluate(in.net, *in.data, collective, int(i.batch_size), o.reproducible);
  if (world.rank() != 0) return 0;
  if (o.json)
    std::printf("%s\n", as_json(in.meta, *in.data, result).dump().c_str());
  else
    print_text(in.meta, *in.data, result);
  return 0;
}

}  // namespace dmlp::cli
