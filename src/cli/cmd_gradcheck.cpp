// dmlp gradcheck: back-propagation against finite differences, in double.
#include <algorithm>
#include <cstdio>
#include <thread>

#include "exit_codes.hpp"
#include "commands.hpp"
#include "dmlp/core/gradcheck.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/core/init.hpp"
#include "dmlp/core/rng.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/train/threads.hpp"

namespace dmlp::cli {

int run_gradcheck(const mpi::Communicator& world, const GradcheckOptions& o) {
  ModelSpec spec;
  Regularization reg;
  mpi::collectively(world, [&] {
    spec = o.model.spec();
    reg = o.reg.spec();
    require_positive(double(o.batch_size), "--batch-size");
    require_at_most(o.batch_size, kMaxRows, "--batch-size");
    require_memory(parameter_bytes(spec, 8, 2) + workspace_bytes(spec, o.batch_size, 8) * 2,
                   "gradcheck of " + spec.describe() + " on " + std::to_string(o.batch_size) + " rows");
    require_positive(o.threshold, "--threshold");
    require_positive(o.step, "--step");
    require_positive(o.threads, "--threads");
    if (o.per_layer < 0)
      throw InputError("--per-layer " + std::to_string(o.per_layer) + " must be >= 0 (0: every parameter)");
  });
  // More threads than cores only slows the check down (and thousands fail to start).
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  if (o.threads > cores && world.rank() == 0)
    std::printf("warning: --threads %d is more than the %d cores here; using %d\n", o.threads, cores, cores);
  set_threads(std::min(o.threads, cores));

  // A random network and batch: He/Glorot weights, small random biases so that
  // no unit sits on a kink, inputs ~ N(0, 1), labels or targets at random.
  Network<double> net(spec);
  initialize_parameters(net, o.seed);
  const CounterRng rng(o.seed, RngStream::Test);
  std::uint64_t draw = 0;
  for (int k = 0; k < net.num_layers(); ++k)
    for (int j = 0; j < spec.layers[k].out; ++j) net.bias(k)[j] = 0.1 * rng.normal(draw++);
  const int rows = int(o.batch_size);
  Workspace<double> ws(spec, rows);
  for (std::size_t i = 0; i < std::size_t(rows) * spec.inputs(); ++i) ws.input()[i] = rng.normal(draw++);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  std::vector<double> targets(std::size_t(rows) * spec.outputs());
  const int classes = num_classes_for_output(spec.loss, spec.outputs());
  for (auto& l : labels) l = classes > 0 ? std::int32_t(rng.below(draw++, std::uint64_t(classes))) : 0;
  for (auto& t : targets) t = rng.normal(draw++);

  dmlp::GradcheckOptions check;
  check.step = o.step;
  check.max_per_layer = o.per_layer;
  check.seed = o.seed;
  const GradcheckResult result =
      gradient_check(net, ws, rows, {labels.data(), targets.data()}, reg, check);

  std::int64_t checked = 0;
  for (const auto& l : result.layers) checked += l.checked;
  if (checked == 0)  // every parameter within --step of a kink: nothing was compared
    mpi::collectively(world, [&] {
      throw InputError("--step " + format_number(o.step) + " puts every checked parameter within a step of a kink, "
                       "so no gradient was compared; lower --step");
    });
  const bool passed = result.worst_rel_error() <= o.threshold;
  if (world.rank() == 0) {
    std::printf("gradcheck %s, batch %d, %s, h = %g, double precision\n", spec.describe().c_str(),
                rows, reg.active() ? (std::string(to_string(reg.kind)) + " lambda " +
                                      std::to_string(reg.lambda)).c_str()
                                   : "no penalty",
                o.step);
    for (const auto& l : result.layers) {
      const auto& shape = spec.layers[l.layer];
      std::printf("  layer %d  W %dx%d + b %d: %lld checked, %lld skipped at kinks, max |error| %.3e, "
                  "relative error %.3e\n",
                  l.layer + 1, shape.out, shape.in, shape.out, static_cast<long long>(l.checked),
                  static_cast<long long>(l.skipped), l.max_abs_error, l.rel_error);
    }
    std::printf("%s: worst relative error %.3e, threshold %.1e\n", passed ? "PASSED" : "FAILED",
                result.worst_rel_error(), o.threshold);
  }
  return passed ? 0 : kExitFailure;
}

}  // namespace dmlp::cli
