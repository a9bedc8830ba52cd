#pragma once
// --trace FILE: every rank's timeline in one Chrome trace-event JSON file.
#include <string>
#include <utility>
#include <vector>

#include "dmlp/core/trace.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::run {

// Before training, collectively: InputError (exit 2) unless rank 0 can write
// `path`, and `path` is none of `others` (option, path): the data, the
// checkpoint to start from, --metrics, a checkpoint in the checkpoint directory.
void check_trace_path(const mpi::Communicator& world, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& others);

// Collectively: rank 0 gathers the ranks' events (pid = rank, named after
// `host`) and writes `path` atomically, {"traceEvents": [...], ...}.
void write_trace(const mpi::Communicator& world, const Trace& trace, const std::string& path, const std::string& host);

}  // namespace dmlp::run
