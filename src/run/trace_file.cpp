#include "dmlp/run/trace_file.hpp"

#include "dmlp/io/file_identity.hpp"

#include <filesystem>
#include <numeric>
#include <vector>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/atomic_file.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::run {

void check_trace_path(const mpi::Communicator& world, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& others) {
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    std::vector<FileRole> inputs;
    for (const auto& [option, other] : others) inputs.push_back({option, other});
    check_outputs(inputs, {{"--trace", path}});
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    require_writable_directory(parent.empty() ? "." : parent.string(), "--trace " + path + ": the directory");
  });
}

void write_trace(const mpi::Communicator& world, const Trace& trace, const std::string& path, const std::string& host) {
  const std::string mine = trace.json_events(world.rank(), host);
  // Lengths first, then the text, in one Gatherv of chars.
  std::vector<std::int64_t> lengths(std::size_t(world.size()), 0);
  lengths[std::size_t(world.rank())] = std::int64_t(mine.size());
  world.allreduce(std::span<std::int64_t>(lengths), MPI_SUM);
  std::vector<int> counts(lengths.size()), displs(lengths.size());
  std::int64_t total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    if (lengths[r] > std::numeric_limits<int>::max() || total > std::numeric_limits<int>::max() - lengths[r])
      throw std::runtime_error("--trace " + path + ": the events exceed 2 GiB; give a shorter --trace-steps window");
    counts[r] = int(lengths[r]);
    displs[r] = int(total);
    total += lengths[r];
  }
  std::string all;
  if (world.rank() == 0) {
    all.resize(std::size_t(total));
    std::copy(mine.begin(), mine.end(), all.begin());
  }
  world.gather_rows(mine.data(), world.rank() == 0 ? all.data() : nullptr, 1, counts, displs, 0);
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    std::string file = "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"producer\": \"dmlp " DMLP_VERSION "\"},\n"
                       "\"traceEvents\": [\n";
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      if (r > 0 && lengths[r] > 0) file += ",\n";
      file.append(all, std::size_t(displs[r]), std::size_t(counts[r]));
    }
    file += "\n]}\n";
    write_file_atomically(path, std::span<const char>(file.data(), file.size()), "trace");
  });
}

}  // namespace dmlp::run
