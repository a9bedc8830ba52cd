// Training-step throughput against the bare-GEMM bound, for the
// 784-1024-1024-10 ReLU MLP in float32.
//
//   build/bench/dmlp_bench_step [--batches 128,256] [--threads 1,2] [--seconds 2]
//
// For each batch size B and thread count it prints
//   step     samples/s of a full step (data, forward, loss, backward, SGD update)
//            and GFLOP/s counting 6 x parameters x B per step;
//   gemm     samples/s and GFLOP/s of the step's 8 GEMMs alone, run bare
//            through cblas_sgemm on the same shapes (their exact flop count);
//   ratio    step samples/s / GEMM-only samples/s: the share of the bound reached,
//            for the step as it is, and in two more columns: "no early" without
//            the per-layer update during backward, and "before" without that and
//            with σ' and the bias gradient in two passes over dZ (the step
//            before these changes);
//   and the step's phases (data, forward + loss, backward, update) and the GEMMs' time, in ms.
// Step and GEMM trials alternate, and each figure is the best of 5 trials.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/init.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/train/threads.hpp"
#include "dmlp/train/trainer.hpp"

using namespace dmlp;
using Clock = std::chrono::steady_clock;

namespace {
std::vector<int> parse_list(const std::string& text) {
  std::vector<int> values;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    values.push_back(std::stoi(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return values;
}

// Median seconds per call of fn over `trials` trials of `reps` calls.
template <class Fn>
double median_seconds(Fn&& fn, int reps, int trials) {
  std::vector<double> t;
  for (int trial = 0; trial < trials; ++trial) {
    const auto start = Clock::now();
    for (int i = 0; i < reps; ++i) fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count() / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int reps_for(double seconds_per_call, double budget) {
  return std::max(3, int(budget / 5 / std::max(seconds_per_call, 1e-6)));
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<int> batches{128, 256}, thread_counts{1, 2};
  double budget = 2.0;  // seconds per measurement
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--batches") batches = parse_list(argv[i + 1]);
    else if (flag == "--threads") thread_counts = parse_list(argv[i + 1]);
    else if (flag == "--seconds") budget = std::stod(argv[i + 1]);
    else { std::fprintf(stderr, "unknown option %s\n", flag.c_str()); return 2; }
  }
  const std::vector<int> widths{784, 1024, 1024, 10};
  const ModelSpec spec = make_mlp(widths, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  const double params = double(ParameterLayout(spec).size());
  const auto data = make_synthetic({SyntheticKind::Blobs, 784, 10, 1, -1}, 0, 4096);
  std::printf("784-1024-1024-10 ReLU MLP, float32, %.0f parameters; %s, %s kernels\n", params,
              blas::library_info().name.c_str(), blas::library_info().core.c_str());
  if (const std::string w = blas_kernel_warning(); !w.empty()) std::printf("%s\n", w.c_str());
  std::printf("%6s %7s | %12s %10s | %12s %10s | %6s %8s %7s | %-23s | %s\n", "batch", "threads", "step samp/s",
              "step GF/s", "gemm samp/s", "gemm GF/s", "ratio", "no early", "before", "step ms: data fwd bwd upd",
              "gemm ms");

  for (int B : batches)
    for (int threads : thread_counts) {
      set_threads(threads);
      // The full step, through the trainer.
      TrainConfig config;
      config.global_batch = B;
      config.max_steps = 1 << 30;
      config.optimizer = {.lr_weights = 0.01, .lr_bias = 0.01, .momentum = 0.9};
      Network<float> net(spec);
      initialize_parameters(net, 1);
      SingleProcess collective;
      NoGradientSync<float> sync;
      Trainer<float> trainer(net, *data, nullptr, config, collective, sync);
      TrainConfig late_config = config, before_config = config;
      late_config.early_update = false;
      before_config.early_update = false;
      before_config.tuning.fuse_bias_grad = false;
      Network<float> late_net(spec), before_net(spec);
      initialize_parameters(late_net, 1);
      initialize_parameters(before_net, 1);
      Trainer<float> late(late_net, *data, nullptr, late_config, collective, sync);
      Trainer<float> before(before_net, *data, nullptr, before_config, collective, sync);
      for (int i = 0; i < 5; ++i) late.step(), before.step();
      PhaseTimes phases, best_phases;
      auto step = [&] {
        trainer.step();
        const PhaseTimes& t = trainer.last_step_times();
        phases.data += t.data, phases.forward += t.forward, phases.backward += t.backward;
        phases.update += t.update;
      };
      for (int i = 0; i < 5; ++i) trainer.step();
      const double probe = median_seconds([&] { trainer.step(); }, 3, 1);

      // The same 8 GEMMs, bare: per layer Z = X·Wᵀ, dW = dZᵀ·X, and dX = dZ·W above layer 1.
      std::vector<std::vector<float>> X, W, Z, dW;
      double gemm_flops = 0;
      for (std::size_t k = 0; k + 1 < widths.size(); ++k) {
        X.emplace_back(std::size_t(B) * widths[k], 0.01f);
        W.emplace_back(std::size_t(widths[k + 1]) * widths[k], 0.01f);
        Z.emplace_back(std::size_t(B) * widths[k + 1], 0.01f);
        dW.emplace_back(std::size_t(widths[k + 1]) * widths[k], 0.0f);
        gemm_flops += 2.0 * B * widths[k] * widths[k + 1] * (k == 0 ? 2 : 3);
      }
      auto gemms = [&] {
        for (std::size_t k = 0; k + 1 < widths.size(); ++k) {
          const int in = widths[k], out = widths[k + 1];
          blas::gemm<float>(blas::Op::N, blas::Op::T, B, out, in, 1, X[k].data(), in, W[k].data(), in, 0, Z[k].data(), out);
        }
        for (std::size_t k = widths.size() - 1; k-- > 0;) {
          const int in = widths[k], out = widths[k + 1];
          blas::gemm<float>(blas::Op::T, blas::Op::N, out, in, B, 1, Z[k].data(), out, X[k].data(), in, 1, dW[k].data(), in);
          if (k > 0)
            blas::gemm<float>(blas::Op::N, blas::Op::N, B, in, out, 1, Z[k].data(), out, W[k].data(), in, 0, X[k].data(), in);
        }
      };
      for (int i = 0; i < 5; ++i) gemms();
      // Interleaved trials, so that both see the same machine; the best of each
      // (noise only ever adds time).
      const int reps = reps_for(probe, budget);
      double step_s = 1e30, gemm_s = 1e30, late_s = 1e30, before_s = 1e30;
      for (int trial = 0; trial < 5; ++trial) {
        late_s = std::min(late_s, median_seconds([&] { late.step(); }, reps, 1));
        before_s = std::min(before_s, median_seconds([&] { before.step(); }, reps, 1));
        phases = PhaseTimes{};
        const double s = median_seconds(step, reps, 1);
        if (s < step_s) {
          step_s = s;
          best_phases = phases;
        }
        gemm_s = std::min(gemm_s, median_seconds(gemms, reps, 1));
      }
      const double step_rate = B / step_s, gemm_rate = B / gemm_s;
      auto ms = [&](double total) { return 1e3 * total / reps; };
      std::printf("%6d %7d | %12.0f %10.1f | %12.0f %10.1f | %5.1f%% %7.1f%% %6.1f%% | %5.2f %5.2f %5.2f %5.2f | %5.2f\n",
                  B, threads, step_rate, 6 * params * B / step_s / 1e9, gemm_rate, gemm_flops / gemm_s / 1e9,
                  100 * step_rate / gemm_rate, 100 * gemm_s / late_s, 100 * gemm_s / before_s,
                  ms(best_phases.data), ms(best_phases.forward),
                  ms(best_phases.backward), ms(best_phases.update), 1e3 * gemm_s);
      std::fflush(stdout);
    }
  return 0;
}
