#include "dmlp/io/checkpoint.hpp"
#include "dmlp/core/settings.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/atomic_file.hpp"
#include "dmlp/io/file_error.hpp"
#include "dmlp/io/h5.hpp"
#include "dmlp/mpi/liveness.hpp"
#include "dmlp/core/checksum.hpp"

namespace dmlp {

namespace fs = std::filesystem;

nlohmann::json model_to_json(const ModelSpec& spec) {
  nlohmann::json activations = nlohmann::json::array();
  for (Activation a : spec.activations) activations.push_back(std::string(to_string(a)));
  return {{"widths", spec.widths()},
          {"activations", activations},
          {"loss", std::string(to_string(spec.loss))},
          {"leaky_slope", spec.leaky_slope}};
}

ModelSpec model_from_json(const nlohmann::json& j) {
  try {
    std::vector<int> widths;
    for (const auto& w : j.at("widths")) {
      // get<int> would truncate 32.7 and wrap 2^32 + 20
      if (!w.is_number_integer() || w.get<std::int64_t>() < 1 || w.get<std::int64_t>() > INT_MAX)
        throw InputError("the model has a width of " + w.dump() + "; expected whole numbers from 1 to " +
                         std::to_string(INT_MAX));
      widths.push_back(int(w.get<std::int64_t>()));
    }
    ModelSpec spec;
    for (std::size_t k = 0; k + 1 < widths.size(); ++k) spec.layers.push_back({widths[k], widths[k + 1]});
    for (const auto& a : j.at("activations")) spec.activations.push_back(parse_activation(a.get<std::string>()));
    spec.loss = parse_loss(j.at("loss").get<std::string>());
    spec.leaky_slope = j.at("leaky_slope").get<double>();
    validate(spec);
    return spec;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("the model description is incomplete: ") + e.what());
  }
}

namespace {

std::string layer_path(const char* group, int k, const char* what) {
  return std::string(group) + "/layer" + std::to_string(k + 1) + "/" + what;
}

template <class T>
void write_layers(hid_t file, const char* group, const ParameterLayout& layout, const T* flat) {
  h5::create_group(file, group);
  for (int k = 0; k < int(layout.layers().size()); ++k) {
    const LayerSlots& s = layout.layer(k);
    h5::create_group(file, std::string(group) + "/layer" + std::to_string(k + 1));
    const hsize_t w[2] = {hsize_t(s.out), hsize_t(s.in)}, b[1] = {hsize_t(s.out)};
    h5::write_dataset<T>(file, layer_path(group, k, "W"), w, flat + s.weight_offset);
    h5::write_dataset<T>(file, layer_path(group, k, "b"), b, flat + s.bias_offset);
  }
}

// dmlp writes every array of a checkpoint into the file itself: a link to
// another file (or within it), a virtual dataset or external storage there was
// put by someone else, and would make HDF5 open files (a FIFO, say) behind the
// checks.
// Returns false when it is missing. Each component is checked before it is
// followed, so an external link is never traversed.
bool plain_dataset_exists(hid_t file, const std::string& name, const std::string& path) {
  for (std::size_t slash = name.find('/'); ; slash = name.find('/', slash + 1)) {
    const std::string prefix = name.substr(0, slash);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    H5L_info_t info{};
    const bool hard = H5Lget_info(file, prefix.c_str(), &info, H5P_DEFAULT) >= 0 && info.type == H5L_TYPE_HARD;
    H5Eclear2(H5E_DEFAULT);
    if (!hard) throw InputError(path + ": /" + prefix + " is a link, not an array of the file; the file is damaged");
    if (slash == std::string::npos) break;
  }
  const h5::Dataset set = h5::open_dataset(file, name);
  const h5::PropertyList dcpl(h5::check(H5Dget_create_plist(set.get()), "H5Dget_create_plist"));
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) > 0)
    throw InputError(path + ": /" + name + " reads its values from other files; the file is damaged");
  return true;
}

template <class Stored>
std::vector<Stored> read_layers(hid_t file, const char* group, const ParameterLayout& layout, const std::string& path) {
  std::vector<Stored> flat(layout.size());
  for (int k = 0; k < int(layout.layers().size()); ++k) {
    const LayerSlots& s = layout.layer(k);
    for (const char* what : {"W", "b"}) {
      const std::string name = layer_path(group, k, what);
      if (!plain_dataset_exists(file, name, path))
        throw InputError(path + ": no dataset /" + name + "; the checkpoint is incomplete");
      const h5::Dataset set = h5::open_dataset(file, name);
      const auto dims = h5::shape(set.get());
      const bool is_w = what[0] == 'W';
      const std::vector<hsize_t> expected = is_w ? std::vector<hsize_t>{hsize_t(s.out), hsize_t(s.in)}
                                                 : std::vector<hsize_t>{hsize_t(s.out)};
      if (dims != expected)
        throw InputError(path + ": dataset /" + name + " has the wrong shape for the model it describes");
      h5::read_rows(set.get(), 0, dims[0], flat.data() + (is_w ? s.weight_offset : s.bias_offset));
    }
  }
  return flat;
}

// Everything a checkpoint says besides its arrays, in one text: what
// state_fnv1a64 covers (format 3), so that a damaged step, position, seed,
// generator state, model or configuration is caught like a damaged array.
struct StateAttributes {
  std::string dmlp_version, precision, model, config, rng;
  std::int64_t ranks, step, epoch, step_in_epoch, samples;
  std::uint64_t seed, parameters_checksum;
  std::optional<std::uint64_t> velocity_checksum;
  std::optional<std::string> optimizer;  // format 4: kind, update count, the other arrays' checksums
  std::optional<std::string> data;       // format 5: the data sets' fingerprints
};
std::uint64_t state_checksum(const StateAttributes& a) {
  std::string text;
  for (const std::string* s : {&a.dmlp_version, &a.precision, &a.model, &a.config, &a.rng}) text += *s + '\n';
  for (std::int64_t v : {a.ranks, a.step, a.epoch, a.step_in_epoch, a.samples}) text += std::to_string(v) + '\n';
  text += std::to_string(a.seed) + '\n' + std::to_string(a.parameters_checksum) + '\n';
  text += a.velocity_checksum ? std::to_string(*a.velocity_checksum) : std::string("-");
  if (a.optimizer) text += '\n' + *a.optimizer;
  if (a.data) text += '\n' + *a.data;
  return checksum(std::string_view(text));
}

// The optimizer's part of the state text (format 4): kind, t, and the
// checksums of its arrays besides the velocity.
std::string optimizer_text(OptimizerKind kind, std::int64_t steps,
                           const std::vector<std::pair<std::string, std::uint64_t>>& arrays) {
  std::string text = std::string(to_string(kind)) + '\n' + std::to_string(steps);
  for (const std::string_view name : kOptimizerStateNames) {
    if (name == kVelocity) continue;
    const auto at = std::find_if(arrays.begin(), arrays.end(), [&](const auto& a) { return a.first == name; });
    text += '\n' + (at == arrays.end() ? std::string("-") : std::to_string(at->second));
  }
  return text;
}

template <class Stored>
std::uint64_t checksum_of(const std::vector<Stored>& flat) {
  return checksum<Stored>(flat);
}
}  // namespace

template <class T>
void write_checkpoint(const std::string& path, const Network<T>& net, const OptimizerSnapshot<T>& optimizer,
                      const CheckpointState& state) {
  std::vector<std::pair<std::string, std::uint64_t>> array_checksums;
  std::optional<std::uint64_t> velocity_checksum;
  for (const auto& [name, values] : optimizer.arrays) {
    if (std::find(kOptimizerStateNames.begin(), kOptimizerStateNames.end(), name) == kOptimizerStateNames.end() ||
        values.size() != net.params().size())
      throw std::invalid_argument("write_checkpoint: optimizer array '" + name + "' of " +
                                  std::to_string(values.size()) + " values");
    array_checksums.emplace_back(name, checksum<T>(values));
    if (name == kVelocity) velocity_checksum = array_checksums.back().second;
  }
  {
    {
      h5::File file = h5::create_in_memory(path);
      const hid_t f = file.get();
      h5::write_attribute(f, "dmlp_format", std::string("checkpoint"));
      h5::write_attribute<std::int64_t>(f, "format_version", kCheckpointFormatVersion);
      h5::write_attribute(f, "dmlp_version", std::string(DMLP_VERSION));
      h5::write_attribute(f, "precision", std::string(sizeof(T) == 4 ? "float32" : "float64"));
      h5::write_attribute(f, "model", model_to_json(net.spec()).dump());
      h5::write_attribute(f, "config", state.config.dump());
      h5::write_attribute<std::int64_t>(f, "ranks", state.ranks);
      h5::write_attribute<std::int64_t>(f, "step", state.position.step);
      h5::write_attribute<std::int64_t>(f, "epoch", state.position.epoch);
      h5::write_attribute<std::int64_t>(f, "step_in_epoch", state.position.step_in_epoch);
      h5::write_attribute<std::int64_t>(f, "samples", state.position.samples);
      h5::write_attribute<std::uint64_t>(f, "seed", state.seed);
      // The data order is Philox4x32-10 keyed by (seed, epoch): this is its whole state.
      const std::string rng = nlohmann::json{{"generator", "philox4x32-10"},
                                             {"seed", state.seed},
                                             {"epoch", state.position.epoch},
                                             {"step_in_epoch", state.position.step_in_epoch}}
                                  .dump();
      h5::write_attribute(f, "rng", rng);
      const std::uint64_t parameters_checksum = checksum<T>(net.params());
      h5::write_attribute<std::uint64_t>(f, "parameters_fnv1a64", parameters_checksum);
      const StateAttributes covered{
          DMLP_VERSION, sizeof(T) == 4 ? "float32" : "float64", model_to_json(net.spec()).dump(), state.config.dump(),
          rng, state.ranks, state.position.step, state.position.epoch, state.position.step_in_epoch,
          state.position.samples, state.seed, parameters_checksum, velocity_checksum,
          optimizer_text(optimizer.kind, optimizer.steps, array_checksums), state.data.dump()};
      h5::write_attribute<std::uint64_t>(f, "state_fnv1a64", state_checksum(covered));
      h5::write_attribute(f, "data", state.data.dump());
      h5::write_attribute(f, "optimizer", std::string(to_string(optimizer.kind)));
      h5::write_attribute<std::int64_t>(f, "optimizer_steps", optimizer.steps);
      write_layers(f, "parameters", net.layout(), net.params().data());
      if (!optimizer.arrays.empty()) h5::create_group(f, "optimizer");
      for (std::size_t a = 0; a < optimizer.arrays.size(); ++a) {
        const std::string& name = optimizer.arrays[a].first;
        h5::write_attribute<std::uint64_t>(f, name + "_fnv1a64", array_checksums[a].second);
        write_layers(f, ("optimizer/" + name).c_str(), net.layout(), optimizer.arrays[a].second.data());
      }
      const std::vector<char> image = h5::file_image(f);
      file.close();
      write_file_atomically(path, image, "checkpoint", "the earlier checkpoints are intact");
    }
  }
}

namespace {
// The attributes of an open checkpoint, each checked for its type and range.
// With `computed_state`, it stores the state checksum the attributes give and
// returns without comparing it, or checking what follows it.
CheckpointMeta read_meta_attributes(const std::string& path, hid_t f, std::uint64_t* computed_state = nullptr) {
  CheckpointMeta m;
  m.path = path;
  auto require = [&](const char* name) {
    if (!h5::has_attribute(f, name)) throw InputError(path + ": attribute " + name + " is missing; not a dmlp checkpoint");
  };
  require("dmlp_format");
  if (h5::read_string_attribute(f, "dmlp_format") != "checkpoint")
    throw InputError(path + ": dmlp_format is '" + h5::read_string_attribute(f, "dmlp_format") + "'; expected 'checkpoint'");
  require("format_version");
  const auto version = h5::read_attribute<std::int64_t>(f, "format_version");  // checked before narrowing
  if (version < kOldestReadableCheckpointFormat || version > kCheckpointFormatVersion)
    throw InputError(path + ": checkpoint format_version " + std::to_string(version) + "; expected " +
                     std::to_string(kOldestReadableCheckpointFormat) + " to " + std::to_string(kCheckpointFormatVersion));
  m.format_version = int(version);
  for (const char* name : {"dmlp_version", "precision", "model", "config", "ranks", "step", "epoch", "step_in_epoch",
                           "samples", "seed", "parameters_fnv1a64"})
    require(name);
  m.dmlp_version = h5::read_string_attribute(f, "dmlp_version");
  m.precision = h5::read_string_attribute(f, "precision");
  if (m.precision != "float32" && m.precision != "float64")
    throw InputError(path + ": precision '" + m.precision + "'; expected float32 or float64");
  try {
    m.spec = model_from_json(nlohmann::json::parse(h5::read_string_attribute(f, "model")));
    m.config = nlohmann::json::parse(h5::read_string_attribute(f, "config"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": the model or config attribute is not valid JSON: " + e.what());
  } catch (const InputError& e) {
    throw InputError(path + ": " + e.what());
  }
  m.ranks = int(h5::read_integer_attribute(f, "ranks", 1, INT_MAX));
  m.position.step = h5::read_integer_attribute(f, "step", 0, kMaxSteps);
  m.position.epoch = h5::read_integer_attribute(f, "epoch", 0, m.position.step);
  m.position.step_in_epoch = h5::read_integer_attribute(f, "step_in_epoch", 0, m.position.step);
  m.position.samples = h5::read_integer_attribute(f, "samples", 0, kMaxSamples);
  if (m.position.samples < m.position.step)
    throw InputError(path + ": samples " + std::to_string(m.position.samples) + " is fewer than the step " +
                     std::to_string(m.position.step) + "; expected at least one sample a step");
  m.seed = h5::read_attribute<std::uint64_t>(f, "seed");
  m.parameters_checksum = h5::read_attribute<std::uint64_t>(f, "parameters_fnv1a64");
  m.has_velocity = h5::has_attribute(f, "velocity_fnv1a64");
  if (m.has_velocity) m.velocity_checksum = h5::read_attribute<std::uint64_t>(f, "velocity_fnv1a64");
  // Format 4 names the optimizer (a file that names it under an earlier
  // version is refused below).
  const bool names_optimizer = m.format_version >= 4 || h5::has_attribute(f, "optimizer");
  if (names_optimizer) {
    require("optimizer");
    require("optimizer_steps");
    const std::string kind = h5::read_string_attribute(f, "optimizer");
    const std::optional<OptimizerKind> known = find_optimizer(kind);
    if (!known) throw InputError(path + ": optimizer '" + kind + "'; expected sgd, adamw, lars or lamb");
    m.optimizer = *known;
    m.optimizer_steps = h5::read_integer_attribute(f, "optimizer_steps", 0, kMaxSteps);
    // A later attribute under an earlier version: the version was lowered,
    // which would also relax how the config is compared on resume.
    if (m.format_version < 4)
      throw InputError(path + ": format_version " + std::to_string(m.format_version) +
                       ", but it holds format 4's optimizer attributes: the file is damaged");
  } else {
    m.optimizer_steps = m.position.step;
  }
  for (const std::string_view name : kOptimizerStateNames) {
    const std::string attribute = std::string(name) + "_fnv1a64";
    if ((names_optimizer || name == kVelocity) && h5::has_attribute(f, attribute.c_str()))
      m.optimizer_arrays.emplace_back(name, h5::read_attribute<std::uint64_t>(f, attribute.c_str()));
  }
  // Lowering the version must not switch the state checksum off, nor relax
  // how the config is compared on resume.
  if (m.format_version < 3 && h5::has_attribute(f, "state_fnv1a64"))
    throw InputError(path + ": format_version " + std::to_string(m.format_version) +
                     ", but it holds format 3's state_fnv1a64: the file is damaged");
  // Format 5 keeps the data sets' fingerprints; a file that has them under an
  // earlier version was lowered, which would switch the data check off.
  if (m.format_version >= 5 || h5::has_attribute(f, "data")) {
    require("data");
    if (m.format_version < 5)
      throw InputError(path + ": format_version " + std::to_string(m.format_version) +
                       ", but it holds format 5's data attribute: the file is damaged");
    m.data = nlohmann::json::parse(h5::read_string_attribute(f, "data"), nullptr, /*allow_exceptions=*/false);
    if (m.data.is_discarded() || !m.data.is_object())
      throw InputError(path + ": attribute data is not a JSON object (the data sets' fingerprints): the file is damaged");
  }
  if (m.format_version >= 3) {
    require("rng");
    if (!computed_state) require("state_fnv1a64");
    const StateAttributes stored{
        m.dmlp_version, m.precision, h5::read_string_attribute(f, "model"), h5::read_string_attribute(f, "config"),
        h5::read_string_attribute(f, "rng"), m.ranks, m.position.step, m.position.epoch, m.position.step_in_epoch,
        m.position.samples, m.seed, m.parameters_checksum,
        m.has_velocity ? std::optional<std::uint64_t>(m.velocity_checksum) : std::nullopt,
        names_optimizer ? std::optional<std::string>(optimizer_text(m.optimizer, m.optimizer_steps, m.optimizer_arrays))
                        : std::nullopt,
        m.format_version >= 5 ? std::optional<std::string>(h5::read_string_attribute(f, "data")) : std::nullopt};
    const std::uint64_t actual = state_checksum(stored);
    if (computed_state) {
      *computed_state = actual;
      return m;
    }
    const std::uint64_t expected = h5::read_attribute<std::uint64_t>(f, "state_fnv1a64");
    if (actual != expected) {
      char text[200];
      std::snprintf(text, sizeof text,
                    ": state checksum mismatch (stored %016llx, computed %016llx): the step, position, seed, model or "
                    "configuration was altered; the file is damaged",
                    static_cast<unsigned long long>(expected), static_cast<unsigned long long>(actual));
      throw InputError(path + text);
    }
  }
  // one optimizer update per step: any other count was not written by dmlp
  if (names_optimizer && m.optimizer_steps != m.position.step)
    throw InputError(path + ": optimizer_steps " + std::to_string(m.optimizer_steps) + " differs from step " +
                     std::to_string(m.position.step) + "; the file is damaged");
  // The generator state repeats the position and seed (format 3): both must agree,
  // and so must the seed that the configuration trained with (format 2).
  if (m.format_version >= 3) {
    const std::string rng = h5::read_string_attribute(f, "rng");
    const nlohmann::json expected = {{"generator", "philox4x32-10"},
                                     {"seed", m.seed},
                                     {"epoch", m.position.epoch},
                                     {"step_in_epoch", m.position.step_in_epoch}};
    const nlohmann::json stored = nlohmann::json::parse(rng, nullptr, /*allow_exceptions=*/false);
    if (stored.is_discarded() || stored != expected)  // (a discarded value compares false either way)
      throw InputError(path + ": attribute rng is '" + rng + "'; expected " + expected.dump() +
                       " (the generator, seed and position the file states): the file is damaged");
  }
  if (const nlohmann::json::json_pointer seed("/training/seed");
      m.format_version >= 2 && m.config.is_object() && m.config.contains(seed) &&
      m.config.at(seed) != nlohmann::json(m.seed))
    throw InputError(path + ": attribute seed " + std::to_string(m.seed) + " differs from the configuration's " +
                     m.config.at(seed).dump() + ": the file is damaged");
  // the configuration's model is the model attribute's (format 2: both written from one spec)
  if (m.format_version >= 2 && m.config.is_object() && m.config.contains("model") &&
      m.config.at("model") != model_to_json(m.spec))
    throw InputError(path + ": the config's model " + m.config.at("model").dump() + " differs from the model attribute " +
                     model_to_json(m.spec).dump() + ": the file is damaged");
  // the arrays its kind keeps: Adam's two moments, or at most a velocity
  const bool adam = m.optimizer == OptimizerKind::AdamW || m.optimizer == OptimizerKind::Lamb;
  for (const std::string_view name : kOptimizerStateNames) {
    const bool held = std::any_of(m.optimizer_arrays.begin(), m.optimizer_arrays.end(),
                                  [&](const auto& a) { return a.first == name; });
    const bool moment = name != kVelocity;
    if (held != (adam && moment) && (adam || moment))
      throw InputError(path + ": " + (held ? "holds /optimizer/" : "lacks /optimizer/") + std::string(name) + ", which " +
                       setting("optimizer") + " " + std::string(to_string(m.optimizer)) +
                       (held ? " does not keep" : " needs") + "; the file is damaged");
  }
  return m;
}
}  // namespace

nlohmann::json meta_to_json(const CheckpointMeta& m) {
  nlohmann::json arrays = nlohmann::json::array();
  for (const auto& [name, sum] : m.optimizer_arrays) arrays.push_back({name, sum});
  return {{"format_version", m.format_version},
          {"dmlp_version", m.dmlp_version},
          {"precision", m.precision},
          {"model", model_to_json(m.spec)},
          {"config", m.config},
          {"ranks", m.ranks},
          {"position", {m.position.step, m.position.epoch, m.position.step_in_epoch, m.position.samples}},
          {"seed", m.seed},
          {"parameters_checksum", m.parameters_checksum},
          {"has_velocity", m.has_velocity},
          {"velocity_checksum", m.velocity_checksum},
          {"optimizer", to_string(m.optimizer)},
          {"optimizer_steps", m.optimizer_steps},
          {"optimizer_arrays", arrays},
          {"data", m.data}};
}

CheckpointMeta meta_from_json(const nlohmann::json& j) {
  CheckpointMeta m;
  m.format_version = j.at("format_version").get<int>();
  m.dmlp_version = j.at("dmlp_version").get<std::string>();
  m.precision = j.at("precision").get<std::string>();
  m.spec = model_from_json(j.at("model"));
  m.config = j.at("config");
  m.ranks = j.at("ranks").get<int>();
  const auto& p = j.at("position");
  m.position = {p.at(0).get<std::int64_t>(), p.at(1).get<std::int64_t>(), p.at(2).get<std::int64_t>(),
                p.at(3).get<std::int64_t>()};
  m.seed = j.at("seed").get<std::uint64_t>();
  m.parameters_checksum = j.at("parameters_checksum").get<std::uint64_t>();
  m.has_velocity = j.at("has_velocity").get<bool>();
  m.velocity_checksum = j.at("velocity_checksum").get<std::uint64_t>();
  m.optimizer = parse_optimizer(j.at("optimizer").get<std::string>());
  m.optimizer_steps = j.at("optimizer_steps").get<std::int64_t>();
  for (const auto& a : j.at("optimizer_arrays"))
    m.optimizer_arrays.emplace_back(a.at(0).get<std::string>(), a.at(1).get<std::uint64_t>());
  m.data = j.at("data");
  return m;
}

std::uint64_t computed_state_checksum(const std::string& path) {
  const h5::File file = h5::open_read(path);
  std::uint64_t computed = 0;
  try {
    read_meta_attributes(path, file.get(), &computed);
  } catch (const h5::H5Error& e) {
    throw InputError(path + ": " + e.what());
  }
  return computed;
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  require_readable_file(path, "no such checkpoint");
  if (!h5::is_hdf5(path)) throw InputError(path + ": not an HDF5 file, so not a dmlp checkpoint");
  h5::File file;
  try {
    file = h5::open_read(path);
  } catch (const h5::H5Error& e) {
    throw InputError(path + ": cannot be read as HDF5 (damaged or truncated?): " + e.what());
  }
  try {
    return read_meta_attributes(path, file.get());
  } catch (const h5::H5Error& e) {  // a malformed attribute: the file is damaged, not our failure
    throw InputError(path + ": " + e.what());
  }
}


namespace {
template <class Stored, class T>
void read_and_verify(hid_t f, const CheckpointMeta& meta, const char* group, std::uint64_t expected, std::span<T> out,
                     const char* what) {
  const ParameterLayout layout(meta.spec);
  const std::vector<Stored> flat = read_layers<Stored>(f, group, layout, meta.path);
  mpi::still_working();
  const std::uint64_t actual = checksum_of(flat);
  if (actual != expected) {
    char text[160];
    std::snprintf(text, sizeof text, ": %s checksum mismatch (stored %016llx, computed %016llx): the file is damaged",
                  what, static_cast<unsigned long long>(expected), static_cast<unsigned long long>(actual));
    throw InputError(meta.path + text);
  }
  // A checksum proves the bytes are the ones written, not that they are usable.
  const auto bad = std::count_if(flat.begin(), flat.end(), [](Stored v) { return !std::isfinite(v); });
  if (bad > 0)
    throw InputError(meta.path + ": " + std::to_string(bad) + " of its " + std::to_string(flat.size()) + " " + what +
                     " values are NaN or infinite: it was written by a run that diverged");
  // A second moment is a running mean of squares: never negative (its root would be NaN).
  if (std::string_view(what) == "exp_avg_sq")
    if (const auto negative = std::count_if(flat.begin(), flat.end(), [](Stored v) { return v < 0; }); negative > 0)
      throw InputError(meta.path + ": " + std::to_string(negative) + " of its " + std::to_string(flat.size()) +
                       " exp_avg_sq values are negative; a second moment never is: the file is damaged");
  std::copy(flat.begin(), flat.end(), out.begin());
}
}  // namespace

template <class T>
void read_checkpoint_state(const CheckpointMeta& meta, std::span<T> params,
                           std::span<const std::pair<std::string, std::span<T>>> optimizer_arrays) {
  const std::size_t n = ParameterLayout(meta.spec).size();
  for (const auto& [name, values] : optimizer_arrays)
    if (values.size() != n)
      throw std::invalid_argument("read_checkpoint_state: a buffer of " + std::to_string(values.size()) + " values for " +
                                  name + " of a model of " + std::to_string(n));
  if (params.size() != n)
    throw std::invalid_argument("read_checkpoint_state: buffers of " + std::to_string(params.size()) +
                                " values for a model of " + std::to_string(n));
  const h5::File file = h5::open_read(meta.path);
  const bool stored_float = meta.precision == "float32";
  auto read = [&](const char* group, std::uint64_t checksum, std::span<T> out, const char* what) {
    if (stored_float)
      read_and_verify<float>(file.get(), meta, group, checksum, out, what);
    else
      read_and_verify<double>(file.get(), meta, group, checksum, out, what);
  };
  try {
    read("parameters", meta.parameters_checksum, params, "parameter");
    for (const auto& [name, values] : optimizer_arrays) {
      const auto stored = std::find_if(meta.optimizer_arrays.begin(), meta.optimizer_arrays.end(),
                                       [&](const auto& a) { return a.first == name; });
      if (stored != meta.optimizer_arrays.end())
        read(("optimizer/" + name).c_str(), stored->second, values, name.c_str());
    }
  } catch (const h5::H5Error& e) {  // an array of the wrong type, a link to nowhere: a damaged file
    throw InputError(meta.path + ": cannot read its arrays (damaged?): " + e.what());
  }
}

template void write_checkpoint<float>(const std::string&, const Network<float>&, const OptimizerSnapshot<float>&,
                                      const CheckpointState&);
template void write_checkpoint<double>(const std::string&, const Network<double>&, const OptimizerSnapshot<double>&,
                                       const CheckpointState&);
template void read_checkpoint_state<float>(const CheckpointMeta&, std::span<float>,
                                            std::span<const std::pair<std::string, std::span<float>>>);
template void read_checkpoint_state<double>(const CheckpointMeta&, std::span<double>,
                                             std::span<const std::pair<std::string, std::span<double>>>);

}  // namespace dmlp
