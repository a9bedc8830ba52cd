// The start-up summary: what a person checks before trusting a run's numbers.
#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/row_stable_gemm.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/core/exact_sum.hpp"
#include "dmlp/run/training_run.hpp"

namespace dmlp::run {
namespace {

// printf into a std::string.
[[gnu::format(printf, 2, 3)]] void append(std::string& out, const char* format, ...) {
  va_list args, again;
  va_start(args, format);
  va_copy(again, args);
  const int length = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  const std::size_t at = out.size();
  out.resize(at + std::size_t(length) + 1);
  std::vsnprintf(out.data() + at, std::size_t(length) + 1, format, again);
  va_end(again);
  out.resize(at + std::size_t(length));
}

const char* plural(long long n) { return n == 1 ? "" : "s"; }

// What --reproducible cost when last measured (bench/reproducible_cost.sh),
// with the kernels it ran: docs/reproducibility.md has the table.
constexpr const char* kReproducibleCost =
    "measured at micro-batch 32 on 784-1024-1024-10, B 256: 11-15% slower than plain at 1 rank x 2 threads, "
    "14-16% at 2 x 1 (OpenBLAS 0.3.21's Cooperlake kernels and the row-stable AVX-512 ones, AMD EPYC Zen 4)";

}  // namespace

std::string format_summary(const RunDescription& d) {
  const RunConfig& c = d.config;
  const TrainConfig& t = c.training;
  const mpi::Placement& p = d.placement;
  std::string out;
  append(out, "dmlp %s\n", DMLP_VERSION);
  append(out, "  mpi        %s; %d rank%s on %d node%s\n", d.mpi_library.c_str(), p.ranks, plural(p.ranks), p.nodes,
         plural(p.nodes));
  const std::string threads_origin =
      p.threads_defaulted ? " (" + std::to_string(p.node_cores) + " cores / " + std::to_string(p.ranks_on_node) +
                                " ranks on the node)"
                          : " (--threads)";
  append(out, "  threads    %d per rank%s\n", p.threads, threads_origin.c_str());
  for (std::size_t i = 0; i < p.hosts.size(); ++i)
    out += std::string(i == 0 ? "  hosts      " : "             ") + p.hosts[i].describe() + "\n";
  append(out, "  blas       %s\n", d.threading.c_str());
  append(out, "  model      %s; %zu parameters, %s\n", c.model.describe().c_str(), d.parameters,
         c.precision == Precision::Float ? "float32" : "float64");
  append(out, "  data       train: %s (%s; %s)\n", d.train.text.c_str(), d.train.mode.c_str(),
         d.train.fingerprint.c_str());
  if (d.test)
    append(out, "             test:  %s (%s; %s)\n", d.test->text.c_str(), d.test->mode.c_str(),
           d.test->fingerprint.c_str());
  append(out, "  batch      global %lld, per rank %lld", static_cast<long long>(t.global_batch),
         static_cast<long long>(d.per_rank_batch_max));
  if (d.per_rank_batch_min != d.per_rank_batch_max) append(out, "-%lld", static_cast<long long>(d.per_rank_batch_min));
  append(out, "; %lld steps per epoch, %lld steps\n", static_cast<long long>(d.steps_per_epoch),
         static_cast<long long>(d.total_steps));
  // a micro-batch never holds more than the batch
  const long long micro = static_cast<long long>(std::min(t.micro_batch, t.global_batch));
  if (micro > 0) {
    const long long per_rank = (d.per_rank_batch_max + micro - 1) / micro;
    append(out, "  micro      %lld rows per micro-batch (--micro-batch%s), up to %lld per rank per step, ", micro,
           micro < t.micro_batch ? " above the batch" : "", per_rank);
    if (t.reproducible && d.micro_shards_held > 0 && d.micro_shards_held < per_rank)
      append(out, "held %lld at a time, ", static_cast<long long>(d.micro_shards_held));
    out += "one gradient sum per step\n";
  }
  if (t.reproducible) {
    // float: one fixed-point word a weight (core/fixed_point_sum.hpp), the binned words for the biases
    if (c.precision == Precision::Float)
      append(out, "  allreduce  exact: 64-bit integer sums, 1 per weight at a scale agreed each step and %d per bias, "
                  "added tile by tile in cache", exact_sum_words<float>());
    else
      append(out, "  allreduce  exact: 64-bit integer sums, %d per parameter, added tile by tile in cache",
             exact_sum_words<double>());
    if (p.ranks > 1 && d.exact_buckets > 0)
      append(out, "; over the ranks in %zu bucket%s, each as soon as its tiles are summed, %s\n", d.exact_buckets,
             plural(static_cast<long long>(d.exact_buckets)),
             d.exact_shared ? "each rank reading its peers' words for its own tiles from the node's shared memory"
                            : "by all-reduce");
    else
      out += "\n";
  } else {
    append(out, "  allreduce  %zu bucket%s (--bucket-mb %g), ", d.buckets, plural(static_cast<long long>(d.buckets)),
           c.execution.bucket_mb);
    if (!c.execution.overlap)
      out += "one call after backward (--no-overlap)\n";
    else if (d.buckets <= 1)
      out += "one call after backward: the whole gradient is one bucket (a smaller --bucket-mb lets part of it "
             "overlap backward)\n";
    else
      append(out, "overlapped: the sums of %.0f%% of the gradient start while backward runs, layer 1's after it\n",
             100 * d.overlappable);
  }
  if (p.ranks > 1) append(out, "  reduction  %s\n", d.reduction.c_str());
  if (p.ranks > 1) append(out, "             summed by %s\n", d.allreduce_algorithm.c_str());
  if (d.placement.ranks > 1)
    append(out, "  watchdog   %s\n",
           c.execution.stall_timeout > 0
               ? ("a rank waiting " + format_number(c.execution.stall_timeout) +
                  " s in a collective ends the job (--stall-timeout)").c_str()
               : "off (--stall-timeout 0)");
  if (t.reproducible) {
    const blas::LibraryInfo blas = blas::library_info();
    // float: forward and dX by dmlp's own kernels, whose bits are the same on every CPU; dW by BLAS,
    // its parts summed in fixed point
    const std::string products = c.precision == Precision::Float
                                     ? std::string("dW by ") + blas.name + "'s " + blas.core +
                                           " kernels (its parts summed in 64-bit fixed point), forward and dX by "
                                           "dmlp's row-stable " + cpu_kernels_name(row_stable_kernels()) + " kernels"
                                     : blas.name + "'s " + blas.core + " kernels";
    append(out, "  reproducible: yes (micro-batch %lld, exact sums): the same bits at any rank and thread count with "
                "%s; %s (docs/reproducibility.md)\n",
           micro, products.c_str(), kReproducibleCost);
  } else {
    append(out, "  reproducible: no: the same bits at the same rank and thread counts (--reproducible: at any)\n");
  }
  // the rates as they train: scaled for the batch; the schedule's factor applies step by step
  append(out, "  optimizer  %s, %s schedule", describe(effective_optimizer(t)).c_str(),
         std::string(to_string(t.schedule)).c_str());
  if (t.warmup_steps > 0) append(out, " after %lld warm-up steps", static_cast<long long>(t.warmup_steps));
  if (t.lr_scaling != LrScaling::None)
    append(out, "; lr scaled %s for batch %lld against %lld: x%g of --lr %g (bias %g)",
           std::string(to_string(t.lr_scaling)).c_str(), static_cast<long long>(t.global_batch),
           static_cast<long long>(t.lr_reference_batch),
           lr_batch_factor(t.lr_scaling, t.global_batch, t.lr_reference_batch), t.optimizer.lr_weights,
           t.optimizer.lr_bias);
  if (t.reg.active())
    append(out, ", %s lambda %g%s", std::string(to_string(t.reg.kind)).c_str(), t.reg.lambda,
           t.reg.include_bias ? " (biases too)" : "");
  out += "\n";
  if (const CheckpointPolicy& k = c.execution.checkpoint; !k.dir.empty()) {
    append(out, "  checkpoint %s", k.dir.c_str());
    if (k.every_steps > 0) append(out, ", every %lld steps", static_cast<long long>(k.every_steps));
    if (k.every_seconds > 0) append(out, ", every %s s", format_number(k.every_seconds).c_str());
    append(out, ", keep %d; SIGTERM or SIGUSR1 saves and stops\n", k.keep);
  }
  for (const auto& w : d.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace dmlp::run
