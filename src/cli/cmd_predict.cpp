// dmlp predict: a checkpoint's outputs for every row of a data set, to HDF5.
#include <cstdio>

#include "commands.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/file_identity.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/run/inference.hpp"
#include "dmlp/run/predictions.hpp"

namespace dmlp::cli {

int run_predict(const mpi::Communicator& world, const PredictOptions& o) {
  const InferenceOptions& i = o.inference;
  run::LoadingConfig loading;
  mpi::collectively(world, [&] {
    loading = i.loading();
    // before the checkpoint and the data are read (write_predictions checks again, for library users)
    if (world.rank() != 0) return;
    std::vector<FileRole> inputs = {{"--checkpoint", i.checkpoint}, {"--data", i.data}};
    for (const std::string& source : dataset_sources(i.data)) inputs.push_back({"--data", source, "a source of --data " + i.data});
    check_outputs(inputs, {{"--out", o.out}});
  });
  const run::InferenceInputs in = run::open_inference(world, i.checkpoint, i.data, loading, i.threads, false);
  const run::PredictionsWritten written =
      run::write_predictions(world, in.net, *in.data, i.batch_size, o.out, {in.meta.path, i.data});
  if (world.rank() == 0)
    std::printf("wrote %s: %lld rows x %d outputs%s\n", o.out.c_str(), static_cast<long long>(written.rows),
                written.outputs, written.with_classes ? ", and /predicted_class" : "");
  return 0;
}

}  // namespace dmlp::cli
