// dmlp inspect: a checkpoint's metadata, layers and checksums; --compare: how
// far a second checkpoint's parameters are from the first's.
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "exit_codes.hpp"
#include "commands.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/checkpoint_load.hpp"

namespace dmlp::cli {
namespace {

void print_meta(const CheckpointMeta& m) {
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
  std::string arrays;
  for (const auto& [name, sum] : m.optimizer_arrays) arrays += (arrays.empty() ? "" : ", ") + name;
  std::printf("optimizer   %s, update count %lld; %s\n", std::string(to_string(m.optimizer)).c_str(), static_cast<long long>(m.optimizer_steps),
              arrays.empty() ? "no state arrays" : ("state " + arrays + ", checksums verified").c_str());
  std::printf("progress    step %lld, epoch %lld (%lld steps into it), %lld samples seen\n",
              static_cast<long long>(m.position.step), static_cast<long long>(m.position.epoch + 1),
              static_cast<long long>(m.position.step_in_epoch), static_cast<long long>(m.position.samples));
  std::printf("data order  philox4x32-10, seed %llu\n", static_cast<unsigned long long>(m.seed));
  for (const char* set : {"train", "test"}) {
    if (!m.data.is_object() || !m.data.contains(set) || m.data[set].is_null()) continue;
    const nlohmann::json& f = m.data[set];
    std::printf("%-11s %s rows x %s features, %s, stored %s, content xxh3 %s\n",
                (std::string(set) + " set").c_str(), f.value("rows", nlohmann::json()).dump().c_str(),
                f.value("features", nlohmann::json()).dump().c_str(),
                f.contains("classes") ? (f["classes"].dump() + " classes").c_str() : (f.value("targets", nlohmann::json()).dump() + " targets").c_str(),
                f.value("stored", std::string("?")).c_str(), f.value("content_xxh3", std::string("?")).c_str());
  }
  if (m.data.is_null()) std::printf("data        no fingerprint (checkpoint format %d)\n", m.format_version);
  std::printf("config      %s\n", m.config.dump().c_str());
}

}  // namespace

int run_inspect(const mpi::Communicator& world, const InspectOptions& o) {
  std::vector<double> params;
  run::OptimizerArrays<double> state;  // read, so that their checksums are verified
  const CheckpointMeta m = run::load_checkpoint<double>(world, o.file, params, &state);
  std::vector<double> other;
  run::OptimizerArrays<double> other_state;
  CheckpointMeta other_meta;
  if (!o.compare.empty()) {
    other_meta = run::load_checkpoint<double>(world, o.compare, other, &other_state);
    mpi::collectively(world, [&] {
      if (other.size() != params.size())
        throw InputError(o.compare + " holds a different model (" + other_meta.spec.describe() + ") than " + o.file +
                         " (" + m.spec.describe() + ")");
    });
  }
  if (o.compare.empty()) {
    if (world.rank() == 0) print_meta(m);
    return 0;
  }
  double diff = 0, scale = 0;  // every rank holds both: every rank exits alike
  for (std::size_t i = 0; i < params.size(); ++i) {
    diff = std::max(diff, std::abs(params[i] - other[i]));
    scale = std::max(scale, std::abs(params[i]));
  }
  // the optimizer's state is part of what a resumed run continues from
  const bool same_optimizer = m.optimizer == other_meta.optimizer && m.optimizer_steps == other_meta.optimizer_steps &&
                              m.optimizer_arrays == other_meta.optimizer_arrays && state == other_state;
  const bool identical = other_meta.parameters_checksum == m.parameters_checksum && diff == 0 && same_optimizer;
  if (world.rank() == 0) {
    print_meta(m);
    std::printf("compared    %s: %s; max |difference| %.3g, relative to max |parameter| %.3g%s\n", o.compare.c_str(),
                identical ? "bitwise identical" : "different", diff, scale > 0 ? diff / scale : 0.0,
                same_optimizer ? "" : "; the optimizer state differs (kind, update count or arrays)");
  }
  return identical ? 0 : kExitFailure;  // as cmp and diff do: scripts can test it
}

}  // namespace dmlp::cli
