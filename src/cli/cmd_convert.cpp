// dmlp convert idx | csv: other formats to HDF5 data sets (docs/formats.md).
#include "app.hpp"
#include "commands.hpp"

namespace dmlp::cli {

int run_convert_idx(const mpi::Communicator& world, const ConvertIdxOptions&) {
  collectively(world, [] { throw InputError("dmlp convert idx is not built yet"); });
  return 0;
}

int run_convert_csv(const mpi::Communicator& world, const ConvertCsvOptions&) {
  collectively(world, [] { throw InputError("dmlp convert csv is not built yet"); });
  return 0;
}

}  // namespace dmlp::cli
