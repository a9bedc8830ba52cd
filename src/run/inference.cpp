#include "dmlp/run/inference.hpp"

#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/checkpoint_load.hpp"
#include "dmlp/run/data_sources.hpp"
#include "dmlp/run/training_run.hpp"

namespace dmlp::run {

InferenceInputs open_inference(const mpi::Communicator& world, const std::string& checkpoint,
                               const std::string& data_path, const LoadingConfig& loading, int threads,
                               bool require_answers) {
  place_threads(world, threads);
  CheckpointMeta meta;
  Network<float> net = load_network(world, checkpoint, meta);
  std::unique_ptr<RowSource> data = open_data_file(data_path, loading, require_answers, world).rows;
  mpi::collectively(world, [&] {
    if (require_answers) return check_data_fits_model(data->shape(), meta.spec, data_path);
    if (data->shape().features != meta.spec.inputs())
      throw InputError(data_path + " has " + std::to_string(data->shape().features) + " features but the model takes " +
                       std::to_string(meta.spec.inputs()) + " inputs");
  });
  return {std::move(meta), std::move(net), std::move(data)};
}

}  // namespace dmlp::run
