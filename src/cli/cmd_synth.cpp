// dmlp synth: synthetic data sets to HDF5.
#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/io/file_identity.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::cli {
namespace {
void write_set(const InMemoryDataset& d, const std::string& path) {
  const DataShape& s = d.shape();
  write_dataset_file(path, s.rows, s.features, d.features().data(),
                     s.is_classification() ? d.labels().data() : nullptr, s.num_classes,
                     s.is_classification() ? nullptr : d.targets().data(), s.targets);
}
}  // namespace

int run_synth(const mpi::Communicator& world, const SynthOptions& o) {
  SyntheticSpec spec;
  mpi::collectively(world, [&] {
    spec.kind = parse_synthetic_kind(o.kind);
    spec.features = o.features;
    spec.outputs = spec.kind == SyntheticKind::Regression ? o.targets : (spec.kind == SyntheticKind::Xor ? 2 : o.classes);
    spec.seed = o.seed;
    spec.noise = o.noise;
    validate(spec);
    require_positive(double(o.rows), "--rows");
    if (o.test_rows < 0) throw InputError("--test-rows must be >= 0");
    require_memory(double(std::max(o.rows, o.test_rows)) * (double(o.features) * 4 + 8),
                   "a synthetic set of " + std::to_string(std::max(o.rows, o.test_rows)) + " rows x " +
                       std::to_string(o.features) + " features");
    if (o.test_rows > 0 && o.test_out.empty()) throw InputError("--test-rows needs --test-out FILE");
    if (o.test_rows == 0 && !o.test_out.empty())
      throw InputError("--test-out " + o.test_out + " needs --test-rows N (the rows of the test set)");
    check_outputs({}, {{"--out", o.out}, {"--test-out", o.test_out}});
  });
  // One writer; the other ranks, if any, wait for it.
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    write_set(*make_synthetic(spec, 0, o.rows), o.out);
    if (o.test_rows > 0) write_set(*make_synthetic(spec, o.rows, o.test_rows), o.test_out);
    std::printf("wrote %s: %lld rows x %d features (%s, seed %llu)\n", o.out.c_str(), static_cast<long long>(o.rows),
                o.features, std::string(to_string(spec.kind)).c_str(), static_cast<unsigned long long>(o.seed));
    if (o.test_rows > 0)
      std::printf("wrote %s: %lld test rows\n", o.test_out.c_str(), static_cast<long long>(o.test_rows));
  });
  return 0;
}

}  // namespace dmlp::cli
