#include "dmlp/run/checkpoint_load.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <optional>
#include <utility>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/io/checkpoint_dir.hpp"
#include "dmlp/mpi/consensus.hpp"

namespace dmlp::run {
namespace {

// Rank 0's metadata, sent to all as one JSON text; the path apart, as the
// bytes it is (a file name need not be UTF-8, which JSON text must be).
void broadcast_meta(const mpi::Communicator& world, CheckpointMeta& m) {
  std::string path = m.path;
  std::string text = world.rank() == 0 ? meta_to_json(m).dump() : std::string();
  world.broadcast(path, 0);
  world.broadcast(text, 0);
  if (world.rank() == 0) return;
  m = meta_from_json(nlohmann::json::parse(text));
  m.path = path;
}

template <class T>
void read_on_root(const std::string& path, CheckpointMeta& meta, std::vector<T>& params, OptimizerArrays<T>* optimizer) {
  meta = read_checkpoint_meta(path);
  try {
    const int arrays = optimizer ? int(meta.optimizer_arrays.size()) : 0;
    require_memory(parameter_bytes(meta.spec, sizeof(T), 2 + arrays), "its model " + meta.spec.describe());
  } catch (const InputError& e) {
    throw InputError(path + ": " + e.what());
  }
  const std::size_t n = ParameterLayout(meta.spec).size();
  params.assign(n, T(0));
  std::vector<std::pair<std::string, std::span<T>>> wanted;
  if (optimizer) {
    optimizer->clear();
    for (const auto& stored : meta.optimizer_arrays) optimizer->emplace_back(stored.first, std::vector<T>(n, T(0)));
    for (auto& [name, values] : *optimizer) wanted.emplace_back(name, std::span<T>(values));
  }
  read_checkpoint_state<T>(meta, params, std::span<const std::pair<std::string, std::span<T>>>(wanted));
}

template <class T>
void share(const mpi::Communicator& world, CheckpointMeta& meta, std::vector<T>& params, OptimizerArrays<T>* optimizer) {
  broadcast_meta(world, meta);
  const std::size_t n = ParameterLayout(meta.spec).size();
  params.resize(n);
  world.broadcast(std::span<T>(params), 0);
  if (optimizer) {
    optimizer->resize(meta.optimizer_arrays.size());
    for (std::size_t a = 0; a < optimizer->size(); ++a) {
      (*optimizer)[a].first = meta.optimizer_arrays[a].first;
      (*optimizer)[a].second.resize(n);
      world.broadcast(std::span<T>((*optimizer)[a].second), 0);
    }
  }
}

}  // namespace

template <class T>
CheckpointMeta load_checkpoint(const mpi::Communicator& world, const std::string& path, std::vector<T>& params,
                               OptimizerArrays<T>* optimizer) {
  CheckpointMeta meta;
  mpi::collectively(world, [&] {
    if (world.rank() == 0) read_on_root(path, meta, params, optimizer);
  });
  share(world, meta, params, optimizer);
  return meta;
}

Network<float> load_network(const mpi::Communicator& world, const std::string& path, CheckpointMeta& meta) {
  std::vector<float> params;
  meta = load_checkpoint<float>(world, path, params);
  Network<float> net(meta.spec);
  std::copy(params.begin(), params.end(), net.params().begin());
  return net;
}

template <class T>
CheckpointMeta load_resume_checkpoint(const mpi::Communicator& world, const std::string& dir_or_file,
                                      std::vector<T>& params, OptimizerArrays<T>& optimizer, RunLog& log) {
  if (!std::filesystem::is_directory(dir_or_file)) return load_checkpoint(world, dir_or_file, params, &optimizer);
  CheckpointMeta meta;
  mpi::collectively(world, [&] {
    if (world.rank() != 0) return;
    const CheckpointListing listing = list_checkpoints(dir_or_file);
    std::vector<std::string> skipped = listing.skipped;
    std::sort(skipped.begin(), skipped.end());
    for (const std::string& entry : skipped) log.warning("skipping " + entry);
    const auto& candidates = listing.checkpoints;
    if (candidates.empty())
      throw InputError("--resume " + dir_or_file + ": no checkpoints (ckpt-*.h5) in this directory");
    for (const auto& path : candidates) {
      try {
        read_on_root(path, meta, params, &optimizer);
        // the listing orders by the name's step: a file holding another step was renamed
        if (const auto named = checkpoint_step(std::filesystem::path(path).filename().string());
            named && *named != meta.position.step)
          throw InputError("its name says step " + std::to_string(*named) + " but it holds step " +
                           std::to_string(meta.position.step) + " (renamed?)");
        return;
      } catch (const std::exception& e) {
        log.warning("skipping checkpoint " + path + ": " + e.what());
      }
    }
    throw InputError("--resume " + dir_or_file + ": none of its " + std::to_string(candidates.size()) +
                     " checkpoints could be read");
  });
  share(world, meta, params, &optimizer);
  return meta;
}

void check_position(const CheckpointMeta& meta, const BatchPlan& plan) {
  const TrainPosition& p = meta.position;
  const std::int64_t steps = plan.steps_per_epoch(), batch = plan.global_batch();
  // Rows of the first s batches of an epoch (s <= steps; the last batch may be short).
  const auto rows_before = [&](std::int64_t s) {
    return s < steps ? s * batch : (steps - 1) * batch + plan.batch_rows(steps - 1);
  };
  // epoch * a + b == expected, without overflow (a forged count may be huge)
  const auto agrees = [](std::int64_t epoch, std::int64_t a, std::int64_t b, std::int64_t expected) {
    std::int64_t product = 0, sum = 0;
    return !__builtin_mul_overflow(epoch, a, &product) && !__builtin_add_overflow(product, b, &sum) && sum == expected;
  };
  // A step ends an epoch with step_in_epoch == steps; the next step starts the next.
  const bool in_epoch = p.step_in_epoch <= steps && (p.step_in_epoch > 0 || (p.step == 0 && p.epoch == 0));
  if (!(in_epoch && agrees(p.epoch, steps, p.step_in_epoch, p.step) &&
        agrees(p.epoch, rows_before(steps), rows_before(p.step_in_epoch), p.samples)))
    throw InputError(meta.path + ": its position (step " + std::to_string(p.step) + ", epoch " +
                     std::to_string(p.epoch + 1) + " with " + std::to_string(p.step_in_epoch) + " steps into it, " +
                     std::to_string(p.samples) + " samples) is not one this run's batches reach (" +
                     std::to_string(steps) + " steps of " + std::to_string(batch) + " rows an epoch, " +
                     std::to_string(plan.rows()) + " rows): the file is damaged, or it belongs to other data");
}

std::vector<std::string> check_data(const CheckpointMeta& meta, const RunConfig& config, const DataFingerprint& train,
                                    const DataFingerprint* test) {
  if (meta.data.is_null())
    return {meta.path + " (checkpoint format " + std::to_string(meta.format_version) +
            ") keeps no fingerprint of its data: that this run's training set is the one it trained on is not checked"};
  const std::string train_name = config.data.synthetic ? "the synthetic training set" : "--train " + config.data.train_file;
  const auto stored = [&](const char* set) -> std::optional<DataFingerprint> {
    try {
      if (!meta.data.contains(set) || meta.data.at(set).is_null()) return std::nullopt;
      return DataFingerprint::from_json(meta.data.at(set));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(meta.path + ": the fingerprint of its " + set + " set is malformed (" + e.what() +
                       "): the file is damaged");
    }
  };
  const auto then = stored("train");
  if (!then) throw InputError(meta.path + ": it keeps no fingerprint of its training set: the file is damaged");
  if (const std::string changed = then->differences(train); !changed.empty())
    throw InputError("cannot resume from " + meta.path + ": " + train_name + " is not the data it trained on (" +
                     changed + "). Resume with the data it trained on, or start a new run from its parameters with "
                     "--init " + meta.path);
  std::vector<std::string> warnings;
  const auto test_then = stored("test");
  if (test && test_then && !test_then->differences(*test).empty())
    warnings.push_back((config.data.synthetic ? std::string("the synthetic test set") : "--test " + config.data.test_file) +
                       " differs from the test set " + meta.path + " was evaluated on (" +
                       test_then->differences(*test) + "): test metrics before and after this resume do not compare");
  return warnings;
}

void check_init(const CheckpointMeta& meta, const ModelSpec& model) {
  if (model_to_json(meta.spec) != model_to_json(model))
    throw InputError(meta.path + " holds the model " + meta.spec.describe() + ", but the options describe " +
                     model.describe() + "; give the same --layers, --activation and --loss");
}

std::vector<std::string> check_resume(const CheckpointMeta& meta, const RunConfig& config, int ranks) {
  check_init(meta, config.model);
  if (meta.optimizer != config.training.optimizer.kind) {
    const std::string then(to_string(meta.optimizer)), now(to_string(config.training.optimizer.kind));
    throw InputError("cannot resume from " + meta.path + ": it was trained with --optimizer " + then +
                     " and this run asks for --optimizer " + now + "; one's state does not carry over to the other. "
                     "Resume with --optimizer " + then + ", or start a new run from its parameters with --init " +
                     meta.path);
  }
  std::vector<std::string> warnings;
  const auto stored_setting = [&](const char* pointer) {
    const nlohmann::json::json_pointer at(pointer);
    return meta.config.is_object() && meta.config.contains(at) ? meta.config.at(at) : nlohmann::json();
  };
  // --reproducible at the same micro-batch continues bit for bit at any rank count.
  const bool bitwise_at_any_ranks = config.training.reproducible && stored_setting("/training/reproducible") == true &&
                                    stored_setting("/training/micro_batch") == config.training.micro_batch;
  const auto not_bitwise_because = [&]() -> std::string {
    if (!config.training.reproducible) return "this run is not --reproducible";
    if (stored_setting("/training/reproducible") != true) return "the checkpoint was written without --reproducible";
    return "the checkpoint's micro-batch was " + stored_setting("/training/micro_batch").dump() + ", this run's is " +
           std::to_string(config.training.micro_batch);
  };
  nlohmann::json stored = meta.config;
  if (meta.format_version < 2) {
    try {
      stored = config_from_format1(meta.config, meta.spec);
    } catch (const nlohmann::json::exception&) {
      // a later layout under format 1 is compared as it is; anything else cannot be
      if (!(meta.config.is_object() && meta.config.contains("training") && meta.config["training"].is_object()))
        throw InputError("cannot resume from " + meta.path + ": it has checkpoint format " +
                         std::to_string(meta.format_version) +
                         " and an incomplete config, so whether its position belongs to this run's data order "
                         "cannot be checked. Start a new run from its parameters with --init " + meta.path);
    }
  }
  // The saved position (epoch, step in it, generator state) indexes the
  // checkpoint's data order, which the batch size, seed and data define: with
  // others it would silently train on other rows, or none.
  static constexpr std::pair<const char*, const char*> kOrderDefining[] = {
      {"/training/global_batch", "--batch-size"}, {"/training/drop_last", "--drop-last"},
      {"/training/seed", "--seed"},               {"/data/train", "--train"},
      {"/data/synthetic", "--synthetic, --samples, --classes or --noise"}};
  const nlohmann::json now = to_json(config);
  std::string changed, refused;
  for (const auto& key : result_settings_differing(stored, config)) {
    // the same file under another spelling (./train.h5, an absolute path, a link)
    if (key == "/data/train" && stored.contains(nlohmann::json::json_pointer(key)) &&
        stored.at(nlohmann::json::json_pointer(key)).is_string()) {
      const std::string then = stored.at(nlohmann::json::json_pointer(key)).get<std::string>();
      std::error_code e;
      if (std::filesystem::equivalent(then, config.data.train_file, e)) continue;
      // Another path: with a fingerprint (format 5), the content decides (check_data), not the path.
      if (meta.data.is_object() && meta.data.contains("train") && !meta.data["train"].is_null()) {
        warnings.push_back("--train is " + config.data.train_file + "; " + meta.path + " trained on " + then +
                           " (resuming on the same content, which its fingerprint checks)");
        continue;
      }
    }
    const auto defining = std::find_if(std::begin(kOrderDefining), std::end(kOrderDefining),
                                       [&](const auto& k) { return key.starts_with(k.first); });
    if (defining == std::end(kOrderDefining)) {
      changed += (changed.empty() ? "" : ", ") + key;
      continue;
    }
    const nlohmann::json::json_pointer at(key);
    refused += (refused.empty() ? "" : "; ") + std::string(defining->second) + " (" + key + ": " +
               (stored.contains(at) ? stored.at(at).dump() : "none") + " in the checkpoint, " +
               (now.contains(at) ? now.at(at).dump() : "none") + " now)";
  }
  if (!refused.empty())
    throw InputError("cannot resume from " + meta.path + ": its position (epoch " + std::to_string(meta.position.epoch) +
                     ", step " + std::to_string(meta.position.step_in_epoch) +
                     " of it) belongs to the data order of its settings, and these differ: " + refused +
                     ". Resume with the checkpoint's settings, or start a new run from its parameters with --init " +
                     meta.path);
  if (!changed.empty()) warnings.push_back("settings differ from the checkpoint's: " + changed);
  // One line for an elastic restart's log, first: old P, new P, and whether
  // the bits carry over, which any other changed setting rules out.
  if (meta.ranks != ranks)
    warnings.insert(warnings.begin(),
                    "resuming at another rank count: " + meta.path + " was written by " + std::to_string(meta.ranks) +
                        " ranks and this run has " + std::to_string(ranks) +
                        (bitwise_at_any_ranks && changed.empty()
                             ? "; reproducible (--reproducible, micro-batch " +
                                   std::to_string(config.training.micro_batch) + "): bit for bit as without the change"
                             : ": results match to rounding, not bit for bit (" +
                                   (bitwise_at_any_ranks ? "settings differ: " + changed : not_bitwise_because()) + ")"));
  return warnings;
}

template CheckpointMeta load_checkpoint<float>(const mpi::Communicator&, const std::string&, std::vector<float>&,
                                               OptimizerArrays<float>*);
template CheckpointMeta load_checkpoint<double>(const mpi::Communicator&, const std::string&, std::vector<double>&,
                                                OptimizerArrays<double>*);
template CheckpointMeta load_resume_checkpoint<float>(const mpi::Communicator&, const std::string&,
                                                      std::vector<float>&, OptimizerArrays<float>&, RunLog&);
template CheckpointMeta load_resume_checkpoint<double>(const mpi::Communicator&, const std::string&,
                                                       std::vector<double>&, OptimizerArrays<double>&, RunLog&);

}  // namespace dmlp::run
