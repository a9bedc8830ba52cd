#include "checkpoint_io.hpp"

#include <cstdio>
#include <filesystem>

#include "app.hpp"

namespace dmlp::cli {
namespace {

// Rank 0's metadata, sent to all: the JSON parts as text, the numbers as int64.
void broadcast_meta(const mpi::Communicator& world, CheckpointMeta& m) {
  std::string model = world.rank() == 0 ? model_to_json(m.spec).dump() : std::string();
  std::string config = world.rank() == 0 ? m.config.dump() : std::string();
  world.broadcast(model, 0);
  world.broadcast(config, 0);
  world.broadcast(m.path, 0);
  world.broadcast(m.precision, 0);
  world.broadcast(m.dmlp_version, 0);
  std::int64_t numbers[10] = {m.format_version, m.ranks, m.progress.step, m.progress.epoch, m.progress.step_in_epoch,
                              m.progress.samples, std::int64_t(m.seed), std::int64_t(m.parameters_checksum),
                              m.has_velocity, std::int64_t(m.velocity_checksum)};
  world.broadcast(std::span<std::int64_t>(numbers), 0);
  if (world.rank() != 0) {
    m.spec = model_from_json(nlohmann::json::parse(model));
    m.config = nlohmann::json::parse(config);
    m.format_version = int(numbers[0]);
    m.ranks = int(numbers[1]);
    m.progress = {numbers[2], numbers[3], numbers[4], numbers[5]};
    m.seed = std::uint64_t(numbers[6]);
    m.parameters_checksum = std::uint64_t(numbers[7]);
    m.has_velocity = numbers[8] != 0;
    m.velocity_checksum = std::uint64_t(numbers[9]);
  }
}

template <class T>
void read_on_root(const std::string& path, CheckpointMeta& meta, std::vector<T>& params, std::vector<T>* velocity) {
  meta = read_checkpoint_meta(path);
  const std::size_t n = ParameterLayout(meta.spec).size();
  params.assign(n, T(0));
  if (velocity) velocity->assign(meta.has_velocity ? n : 0, T(0));
  read_checkpoint_arrays<T>(meta, params, velocity ? std::span<T>(*velocity) : std::span<T>());
}

template <class T>
void share_arrays(const mpi::Communicator& world, const CheckpointMeta& meta, std::vector<T>& params,
                  std::vector<T>* velocity) {
  const std::size_t n = ParameterLayout(meta.spec).size();
  params.resize(n);
  world.broadcast(std::span<T>(params), 0);
  if (velocity) {
    velocity->resize(meta.has_velocity ? n : 0);
    world.broadcast(std::span<T>(*velocity), 0);
  }
}

}  // namespace

template <class T>
CheckpointMeta load_checkpoint(const mpi::Communicator& world, const std::string& path, std::vector<T>& params,
                               std::vector<T>* velocity) {
  CheckpointMeta meta;
  collectively(world, [&] {
    if (world.rank() == 0) read_on_root(path, meta, params, velocity);
  });
  broadcast_meta(world, meta);
  share_arrays(world, meta, params, velocity);
  return meta;
}

template <class T>
CheckpointMeta load_resume_checkpoint(const mpi::Communicator& world, const std::string& dir_or_file,
                                      std::vector<T>& params, std::vector<T>& velocity) {
  if (!std::filesystem::is_directory(dir_or_file)) return load_checkpoint(world, dir_or_file, params, &velocity);
  CheckpointMeta meta;
  collectively(world, [&] {
    if (world.rank() != 0) return;
    const auto candidates = checkpoints_in(dir_or_file);
    if (candidates.empty()) throw InputError("--resume " + dir_or_file + ": no checkpoints (ckpt-*.h5) in this directory");
    for (const auto& path : candidates) {
      try {
        read_on_root(path, meta, params, &velocity);
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "warning: skipping checkpoint %s: %s\n", path.c_str(), e.what());
      }
    }
    throw InputError("--resume " + dir_or_file + ": none of its " + std::to_string(candidates.size()) +
                     " checkpoints could be read");
  });
  broadcast_meta(world, meta);
  share_arrays(world, meta, params, &velocity);
  return meta;
}

template CheckpointMeta load_checkpoint<float>(const mpi::Communicator&, const std::string&, std::vector<float>&,
                                               std::vector<float>*);
template CheckpointMeta load_checkpoint<double>(const mpi::Communicator&, const std::string&, std::vector<double>&,
                                                std::vector<double>*);
template CheckpointMeta load_resume_checkpoint<float>(const mpi::Communicator&, const std::string&,
                                                      std::vector<float>&, std::vector<float>&);
template CheckpointMeta load_resume_checkpoint<double>(const mpi::Communicator&, const std::string&,
                                                       std::vector<double>&, std::vector<double>&);

}  // namespace dmlp::cli
