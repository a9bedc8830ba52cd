#pragma once
// --trace FILE: every rank's timeline in one Chrome trace-event JSON file.
#include <string>

#include "dmlp/core/trace.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::run {

// Before training, collectively: InputError (exit 2) unless rank 0 can write `path`.
void check_trace_path(const mpi::Communicator& world, const std::string& path);

// Collectively: rank 0 gathers the ranks' events (pid = rank, named after
// `host`) and writes `path` atomically, {"traceEvents": [...], ...}.
void write_trace(const mpi::Communicator& world, const Trace& trace, const std::string& path, const std::string& host);

}  // namespace dmlp::run
