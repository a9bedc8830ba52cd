// dmlp predict: a checkpoint's outputs for every row of a data set, to HDF5.
#include <cstdio>

#include "commands.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/checkpoint_load.hpp"
#include "dmlp/run/data_sources.hpp"
#include "dmlp/run/predictions.hpp"
#include "dmlp/run/training_run.hpp"

namespace dmlp::cli {

int run_predict(const mpi::Communicator& world, const PredictOptions& o) {
  run::LoadingConfig loading;
  mpi::collectively(world, [&] {
    require_positive(double(o.batch_size), "--batch-size");
    loading.mode = run::parse_load_mode(o.load);
  });
  run::place_threads(world, o.threads);
  CheckpointMeta meta;
  const Network<float> net = run::load_network(world, o.checkpoint, meta);
  auto data = run::open_data_file(o.data, loading, false, world).rows;
  mpi::collectively(world, [&] {
    if (data->shape().features != meta.spec.inputs())
      throw InputError(o.data + " has " + std::to_string(data->shape().features) + " features but the model takes " +
                       std::to_string(meta.spec.inputs()) + " inputs");
  });
  const run::PredictionsWritten written =
      run::write_predictions(world, net, *data, o.batch_size, o.out, {meta.path, o.data});
  if (world.rank() == 0)
    std::printf("wrote %s: %lld rows x %d outputs%s\n", o.out.c_str(), static_cast<long long>(written.rows),
                written.outputs, written.with_classes ? ", and /predicted_class" : "");
  return 0;
}

}  // namespace dmlp::cli
