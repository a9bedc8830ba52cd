#pragma once
// Training the same model on one process and on all ranks, for comparison.
#include <vector>

#include "dmlp/core/init.hpp"
#include "dmlp/data/synthetic.hpp"
#include <optional>

#include "dmlp/mpi/gradient_sync.hpp"
#include "dmlp/mpi/node_sync.hpp"
#include "dmlp/mpi/node_team.hpp"
#include "dmlp/train/trainer.hpp"

namespace dmlp::test {

struct RunSettings {
  std::int64_t rows = 300;
  std::int64_t batch = 48;
  std::int64_t steps = 30;
  bool drop_last = false;
  bool overlap = true;
  double bucket_mb = 0.001;  // small: several buckets even for a small model
  bool early_update = true;  // update each bucket's layers as soon as their sums complete
  OptimizerKind optimizer = OptimizerKind::Sgd;
  bool node = false;  // --reduction node: the ranks of a node share one model and split its update
  std::int64_t micro_batch = 0;
  bool reproducible = false;  // needs micro_batch > 0
};

// Each optimizer's settings for the equivalence runs: weight decay on, and
// rates that move the parameters well in 30 steps without diverging.
inline OptimizerConfig equivalence_optimizer(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::Sgd: return {.lr_weights = 0.05, .lr_bias = 0.05, .momentum = 0.9};
    case OptimizerKind::AdamW:
      return {.lr_weights = 0.01, .lr_bias = 0.005, .weight_decay = 0.01, .kind = kind};
    case OptimizerKind::Lars:
      return {.lr_weights = 5.0, .lr_bias = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .kind = kind,
              .trust_coefficient = 0.002};
    case OptimizerKind::Lamb:
      return {.lr_weights = 0.02, .lr_bias = 0.005, .weight_decay = 0.01, .kind = kind};
  }
  return {};
}

inline ModelSpec equivalence_model() {
  return make_mlp({20, 32, 16, 5}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
}

inline TrainConfig equivalence_config(const RunSettings& s) {
  TrainConfig c;
  c.global_batch = s.batch;
  c.max_steps = s.steps;
  c.drop_last = s.drop_last;
  c.seed = 17;
  c.optimizer = equivalence_optimizer(s.optimizer);
  c.reg = {Regularizer::L2, 1e-4, false};
  c.log_every = 1000;
  c.early_update = s.early_update;
  c.micro_batch = s.micro_batch;
  c.reproducible = s.reproducible;
  return c;
}

inline std::unique_ptr<InMemoryDataset> equivalence_data(const RunSettings& s) {
  return make_synthetic({SyntheticKind::Blobs, 20, 5, 17, 1.0}, 0, s.rows);
}

// One process alone, as if P = 1.
template <class T>
std::vector<T> train_alone(const RunSettings& s) {
  const auto data = equivalence_data(s);
  Network<T> net(equivalence_model());
  initialize_parameters(net, 17);
  SingleProcess collective;
  NoGradientSync<T> sync;
  Trainer<T> trainer(net, *data, nullptr, equivalence_config(s), collective, sync);
  trainer.run();
  return {net.params().begin(), net.params().end()};
}

// All ranks of `comm` together, ready to step; rank 0 initialises and
// broadcasts. With s.node, the ranks of each node share one model (the node
// path), when some node holds two ranks.
template <class T>
struct DistributedRun {
  DistributedRun(const mpi::Communicator& comm, const RunSettings& s)
      : data(equivalence_data(s)),
        config(equivalence_config(s)),
        team(s.node ? mpi::make_node_team<T>(comm, ParameterLayout(equivalence_model()),
                                             state_arrays(effective_optimizer(config)), s.bucket_mb)
                    : std::nullopt),
        net(team ? Network<T>(equivalence_model(), team->params(), team->grads()) : Network<T>(equivalence_model())),
        collective(comm) {
    if (comm.rank() == 0) initialize_parameters(net, 17);
    if (team) {
      if (team->local_rank() == 0) team->cross().broadcast(net.params(), 0);
      team->shared_written();
      node.emplace(*team, s.overlap);
    } else {
      comm.broadcast(net.params(), 0);
      plain.emplace(comm, net.layout(), s.bucket_mb, s.overlap);
    }
    GradientSync<T>& sync = team ? static_cast<GradientSync<T>&>(*node) : *plain;
    trainer.emplace(net, *data, nullptr, config, collective, sync, team ? &*team : nullptr);
  }
  std::vector<T> params() const { return {net.params().begin(), net.params().end()}; }

  std::unique_ptr<InMemoryDataset> data;
  TrainConfig config;
  std::optional<mpi::NodeTeam<T>> team;
  Network<T> net;
  mpi::MpiCollective collective;
  std::optional<mpi::MpiGradientSync<T>> plain;
  std::optional<mpi::NodeGradientSync<T>> node;
  std::optional<Trainer<T>> trainer;
};

template <class T>
std::vector<T> train_together(const mpi::Communicator& comm, const RunSettings& s) {
  DistributedRun<T> run(comm, s);
  run.trainer->run();
  return run.params();
}

// max |a − b| / max |b|
template <class T>
double relative_difference(const std::vector<T>& a, const std::vector<T>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

}  // namespace dmlp::test
