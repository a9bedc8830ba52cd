#pragma once
// Checkpoints as the subcommands use them: rank 0 reads and verifies, every
// rank receives the result.
#include <optional>
#include <string>
#include <vector>

#include "dmlp/io/checkpoint.hpp"
#include "dmlp/mpi/communicator.hpp"

namespace dmlp::cli {

// Collective. Rank 0 reads `path` (metadata and parameters, checksums
// verified); every rank returns the metadata and the parameters as T.
// Throws InputError on every rank when the file is not a good checkpoint.
template <class T>
CheckpointMeta load_checkpoint(const mpi::Communicator& world, const std::string& path, std::vector<T>& params,
                               std::vector<T>* velocity = nullptr);

// Collective. For --resume DIR: the newest checkpoint in DIR that loads, with a
// warning (printed by rank 0) for each newer one that does not. For
// --resume FILE: that file. Throws InputError when nothing usable is found.
template <class T>
CheckpointMeta load_resume_checkpoint(const mpi::Communicator& world, const std::string& dir_or_file,
                                      std::vector<T>& params, std::vector<T>& velocity);

}  // namespace dmlp::cli
