// Inspecting and writing data set files; loading is in dataset_load.cpp,
// streaming in dataset_stream.cpp.
#include "dmlp/io/dataset_file.hpp"

#include <cmath>
#include <filesystem>
#include <string_view>

#include "dmlp/core/errors.hpp"
#include "dmlp/io/atomic_file.hpp"
#include "dmlp/io/file_error.hpp"

namespace dmlp {
namespace {
std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}
}  // namespace

namespace {
namespace fs = std::filesystem;

// Where HDF5 looks for a file another one names (an external link's target, a
// virtual dataset's source, external raw storage): the name as given (from
// here), and next to the file that names it. Each candidate that exists must
// be a regular file (a FIFO would block HDF5's open forever, a device would
// never end), and one must exist; returns it.
std::string resolve_referenced(const std::string& container, const std::string& name, const std::string& what) {
  std::vector<std::string> candidates{name};
  if (!fs::path(name).is_absolute()) candidates.push_back((fs::path(container).parent_path() / name).string());
  std::string found;
  for (const std::string& c : candidates) {
    std::error_code e;
    const fs::file_status status = fs::status(c, e);
    if (!fs::exists(status)) continue;
    if (!fs::is_regular_file(status))
      file_error(container, what + " " + name + ", which is " +
                                (fs::is_fifo(status) ? "a FIFO" : fs::is_directory(status) ? "a directory" : "not a regular file") +
                                "; expected a regular file");
    if (found.empty()) found = c;
  }
  if (found.empty()) file_error(container, what + " " + name + ", which is missing: HDF5 would read its rows as zeros");
  return found;
}

// /NAME reached through an external link: its target file, checked before
// HDF5 opens it. Soft links are followed by HDF5 within the file.
void check_link(const std::string& path, hid_t f, const std::string& name, std::vector<std::string>& sources) {
  H5L_info_t info{};
  if (H5Lget_info(f, name.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_EXTERNAL) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  std::vector<char> value(info.u.val_size + 1, '\0');
  const char* target_file = nullptr;
  const char* target_object = nullptr;
  unsigned flags = 0;
  if (H5Lget_val(f, name.c_str(), value.data(), value.size(), H5P_DEFAULT) < 0 ||
      H5Lunpack_elink_val(value.data(), value.size(), &flags, &target_file, &target_object) < 0) {
    H5Eclear2(H5E_DEFAULT);
    file_error(path, "/" + name + " is an external link that cannot be read");
  }
  sources.push_back(resolve_referenced(path, target_file, "/" + name + " is an external link to a dataset in"));
}

// The files a dataset reads its values from besides its own: a virtual
// dataset's sources (each must hold its source dataset over the rows it maps:
// HDF5 would read zeros for what it lacks) and external raw storage.
void check_sources(const std::string& path, hid_t dataset, const std::string& name, std::vector<std::string>& sources) {
  const h5::PropertyList dcpl(h5::check(H5Dget_create_plist(dataset), "H5Dget_create_plist"));
  const int external = H5Pget_external_count(dcpl.get());
  for (int i = 0; i < external; ++i) {
    char file[4096] = "";
    off_t offset = 0;
    hsize_t size = 0;
    h5::check(H5Pget_external(dcpl.get(), unsigned(i), sizeof file, file, &offset, &size), "H5Pget_external");
    const std::string found = resolve_referenced(path, file, "dataset /" + name + " stores its values in the file");
    std::error_code e;
    if (size != H5F_UNLIMITED && fs::file_size(found, e) < std::uintmax_t(offset) + size)
      file_error(path, "dataset /" + name + " stores its values in " + file + ", which is shorter than the " +
                           std::to_string(std::uintmax_t(offset) + size) + " bytes it names (truncated?)");
    sources.push_back(found);
  }
  if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) return;
  size_t mappings = 0;
  h5::check(H5Pget_virtual_count(dcpl.get(), &mappings), "H5Pget_virtual_count");
  for (size_t i = 0; i < mappings; ++i) {
    const auto text = [&](auto get) {
      const ssize_t length = get(dcpl.get(), i, nullptr, 0);
      std::string value(std::size_t(std::max<ssize_t>(length, 0)) + 1, '\0');
      if (length > 0) get(dcpl.get(), i, value.data(), value.size());
      value.resize(std::size_t(std::max<ssize_t>(length, 0)));
      return value;
    };
    const std::string source = text(H5Pget_virtual_filename), source_set = text(H5Pget_virtual_dsetname);
    if (source.find('%') != std::string::npos || source_set.find('%') != std::string::npos) continue;  // patterns
    const std::string what = "dataset /" + name + " is a virtual dataset whose source file";
    const std::string found = source == "." ? path : resolve_referenced(path, source, what);
    if (source != ".") sources.push_back(found);
    // The source dataset must be there, over the rows it maps.
    const h5::Dataspace selection(h5::check(H5Pget_virtual_srcspace(dcpl.get(), i), "H5Pget_virtual_srcspace"));
    hsize_t low[H5S_MAX_RANK] = {}, high[H5S_MAX_RANK] = {};
    const bool bounded = H5Sget_select_bounds(selection.get(), low, high) >= 0;
    std::string problem;
    try {
      const h5::File file = source == "." ? h5::File(h5::check(H5Iget_file_id(dataset), "H5Iget_file_id"))
                                          : h5::open_read(found);
      const h5::Dataset set = h5::open_dataset(file.get(), source_set);
      const auto dims = h5::shape(set.get());
      for (std::size_t d = 0; bounded && d < dims.size(); ++d)
        if (high[d] >= dims[d])
          problem = "holds " + std::to_string(dims[0]) + " rows of /" + source_set + ", fewer than the rows mapped from it";
    } catch (const h5::H5Error& e) {
      problem = std::string("cannot be read (") + e.what() + ")";
    }
    if (!problem.empty()) file_error(path, what + " " + source + ", which " + problem + ": HDF5 would read zeros there");
  }
}
}  // namespace

namespace {
// The datasets and attributes of an open data set file, each checked.
DatasetFileInfo inspect_open_file(const std::string& path, hid_t f, bool require_answers) {
  DatasetFileInfo info;
  info.path = path;
  if (h5::has_attribute(f, "dmlp_format")) {
    const std::string kind = h5::read_string_attribute(f, "dmlp_format");
    if (kind != "dataset") file_error(path, "dmlp_format is '" + kind + "'; expected 'dataset' (a data set file)");
  }
  if (h5::has_attribute(f, "format_version")) {
    const auto version = h5::read_attribute<std::int64_t>(f, "format_version");
    if (version != kDatasetFormatVersion)
      file_error(path, "format_version is " + std::to_string(version) + "; expected " +
                           std::to_string(kDatasetFormatVersion));
  }
  if (!h5::exists(f, "features")) file_error(path, "no dataset /features (expected float32 or uint8 [rows, features])");
  check_link(path, f, "features", info.sources);
  const h5::Dataset features = h5::open_dataset(f, "features");
  check_sources(path, features.get(), "features", info.sources);
  const auto dims = h5::shape(features.get());
  if (dims.size() != 2)
    file_error(path, "dataset /features has shape " + shape_text(dims) + "; expected 2 dimensions [rows, features]");
  info.feature_type = h5::element_type(features.get());
  const auto& t = info.feature_type;
  const bool ok_type = (t.kind == h5::ElementKind::Float && (t.bytes == 4 || t.bytes == 8)) ||
                       (t.kind == h5::ElementKind::Integer && t.bytes == 1 && !t.is_signed);
  if (!ok_type) file_error(path, "dataset /features has type " + t.describe() + "; expected float32, float64 or uint8");
  if (t.kind == h5::ElementKind::Integer) {
    for (const char* name : {"scale", "offset"}) {
      if (!h5::has_attribute(features.get(), name)) continue;
      const double value = h5::read_attribute<double>(features.get(), name);
      // applied in float: it must be finite and, for scale, not 0 there too
      const float applied = float(value);
      if (!std::isfinite(applied) || (name == std::string_view("scale") && applied == 0))
        file_error(path, "attribute " + std::string(name) + " of /features is " + format_number(value) +
                             "; expected a finite" + (name == std::string_view("scale") ? ", non-zero" : "") + " number");
      (name == std::string_view("scale") ? info.scale : info.offset) = value;
      info.scaled = true;
    }
  }
  if (dims[0] == 0) file_error(path, "dataset /features has 0 rows; expected at least 1");
  if (dims[1] == 0) file_error(path, "dataset /features has 0 columns; expected at least 1");
  if (dims[1] > hsize_t(kMaxWidth))
    file_error(path, "dataset /features has " + std::to_string(dims[1]) + " columns; expected at most " +
                         std::to_string(kMaxWidth));
  info.shape.rows = std::int64_t(dims[0]);
  info.shape.features = int(dims[1]);

  const bool has_labels = h5::exists(f, "labels"), has_targets = h5::exists(f, "targets");
  if (has_labels && has_targets) file_error(path, "has both /labels and /targets; expected one of them");
  info.has_targets_or_labels = has_labels || has_targets;
  if (!info.has_targets_or_labels) {
    if (require_answers)
      file_error(path, "has neither /labels (classification) nor /targets (regression); expected one of them");
    info.shape.task = TaskKind::Classification;
    return info;
  }
  const std::string name = has_labels ? "labels" : "targets";
  check_link(path, f, name, info.sources);
  const h5::Dataset answers = h5::open_dataset(f, name);
  check_sources(path, answers.get(), name, info.sources);
  const auto adims = h5::shape(answers.get());
  const auto atype = h5::element_type(answers.get());
  if (adims.empty() || adims.size() > 2 || (has_labels && adims.size() == 2 && adims[1] != 1))
    file_error(path, "dataset /" + name + " has shape " + shape_text(adims) + "; expected " +
                         (has_labels ? "[rows]" : "[rows] or [rows, targets]"));
  if (adims[0] != dims[0])
    file_error(path, "dataset /features has " + std::to_string(dims[0]) + " rows but /" + name + " has " +
                         std::to_string(adims[0]) + "; expected the same number");
  if (has_labels) {
    if (atype.kind != h5::ElementKind::Integer)
      file_error(path, "dataset /labels has type " + atype.describe() + "; expected an integer type (int32)");
    if (!h5::has_attribute(answers.get(), "num_classes"))
      file_error(path, "dataset /labels has no num_classes attribute; expected the number of classes");
    const auto classes = h5::read_integer_attribute(answers.get(), "num_classes", 1, kMaxClasses);
    info.shape.task = TaskKind::Classification;
    info.shape.num_classes = int(classes);
  } else {
    if (atype.kind != h5::ElementKind::Float)
      file_error(path, "dataset /targets has type " + atype.describe() + "; expected float32");
    info.shape.task = TaskKind::Regression;
    if (adims.size() == 2 && (adims[1] == 0 || adims[1] > hsize_t(kMaxWidth)))
      file_error(path, "dataset /targets has " + std::to_string(adims[1]) + " columns; expected 1 to " +
                           std::to_string(kMaxWidth));
    info.shape.targets = adims.size() == 2 ? int(adims[1]) : 1;
  }
  return info;
}
}  // namespace

DatasetFileInfo inspect_dataset_file(const std::string& path, MPI_Comm comm, bool require_answers) {
  require_readable_file(path);
  if (!h5::is_hdf5(path))
    file_error(path, "not an HDF5 file (expected a data set as docs/formats.md describes; convert CSV or IDX files "
                     "with dmlp convert)");
  h5::File file;
  try {
    file = h5::open_read(path, comm);
  } catch (const h5::H5Error& e) {  // a damaged file is bad input, not a failure of ours
    file_error(path, std::string("cannot be read as HDF5 (damaged or truncated?): ") + e.what());
  }
  try {
    return inspect_open_file(path, file.get(), require_answers);
  } catch (const h5::H5Error& e) {  // a malformed attribute or dataset: bad input
    file_error(path, e.what());
  }
}

std::string stored_as_text(const DatasetFileInfo& info) {
  std::string text = info.feature_type.describe();
  if (info.feature_type.kind == h5::ElementKind::Integer)
    text += " x " + format_number(info.scale) + " + " + format_number(info.offset);
  return text;
}

std::vector<std::string> dataset_sources(const std::string& path) {
  try {
    return inspect_dataset_file(path, MPI_COMM_NULL, false).sources;
  } catch (const std::exception&) {
    return {};
  }
}

void check_rows(const DatasetFileInfo& info, std::int64_t count, std::int64_t first_row,
                std::span<const std::int64_t> row_ids, const float* X, const std::int32_t* labels,
                const float* targets) {
  auto row_of = [&](std::int64_t i) { return row_ids.empty() ? first_row + i : row_ids[std::size_t(i)]; };
  const std::size_t d = std::size_t(info.shape.features);
  for (std::int64_t i = 0; i < count; ++i) {
    const float* x = X + std::size_t(i) * d;
    for (std::size_t j = 0; j < d; ++j)
      if (!std::isfinite(x[j]))
        file_error(info.path, "dataset /features row " + std::to_string(row_of(i)) + " column " + std::to_string(j) +
                                  " is " + (std::isnan(x[j]) ? "NaN" : "infinite") + "; expected finite values");
    if (labels && info.shape.is_classification() && info.has_targets_or_labels) {
      const std::int32_t l = labels[i];
      if (l < 0 || l >= info.shape.num_classes)
        file_error(info.path, "dataset /labels row " + std::to_string(row_of(i)) + " holds " + std::to_string(l) +
                                  "; expected a class in [0, " + std::to_string(info.shape.num_classes) +
                                  ") (num_classes = " + std::to_string(info.shape.num_classes) + ")");
    }
    if (targets && !info.shape.is_classification())
      for (int j = 0; j < info.shape.targets; ++j)
        if (!std::isfinite(targets[std::size_t(i) * info.shape.targets + j]))
          file_error(info.path, "dataset /targets row " + std::to_string(row_of(i)) + " column " + std::to_string(j) +
                                    " is not finite; expected finite values");
  }
}

namespace {
void write_answers(hid_t f, std::int64_t rows, const std::int32_t* labels, int num_classes, const float* targets,
                   int target_width, int level) {
  if (labels) {
    const hsize_t dims[1] = {hsize_t(rows)};
    h5::write_dataset<std::int32_t>(f, "labels", dims, labels, level);
    const h5::Dataset set = h5::open_dataset(f, "labels");
    h5::write_attribute<std::int64_t>(set.get(), "num_classes", num_classes);
  } else if (targets) {
    const hsize_t dims[2] = {hsize_t(rows), hsize_t(target_width)};
    h5::write_dataset<float>(f, "targets", dims, targets, level);
  }
  h5::write_attribute(f, "dmlp_format", std::string("dataset"));
  h5::write_attribute<std::int64_t>(f, "format_version", kDatasetFormatVersion);
}

// The set is built in memory and written whole, under its name only once complete.
void write_image(h5::File& file, const std::string& path) {
  const std::vector<char> image = h5::file_image(file.get());
  file.close();
  write_file_atomically(path, image, "data set");
}
}  // namespace

void write_dataset_file(const std::string& path, std::int64_t rows, int features, const float* X,
                        const std::int32_t* labels, int num_classes, const float* targets, int target_width,
                        const DatasetWriteOptions& options) {
  h5::File file = h5::create_in_memory(path);
  const hsize_t dims[2] = {hsize_t(rows), hsize_t(features)};
  h5::write_dataset<float>(file.get(), "features", dims, X, options.compression_level);
  write_answers(file.get(), rows, labels, num_classes, targets, target_width, options.compression_level);
  write_image(file, path);
}

void write_dataset_file_u8(const std::string& path, std::int64_t rows, int features, const std::uint8_t* X,
                           double scale, double offset, const std::int32_t* labels, int num_classes,
                           const DatasetWriteOptions& options) {
  h5::File file = h5::create_in_memory(path);
  const hsize_t dims[2] = {hsize_t(rows), hsize_t(features)};
  h5::write_dataset<std::uint8_t>(file.get(), "features", dims, X, options.compression_level);
  {
    const h5::Dataset set = h5::open_dataset(file.get(), "features");
    h5::write_attribute<double>(set.get(), "scale", scale);
    h5::write_attribute<double>(set.get(), "offset", offset);
  }
  write_answers(file.get(), rows, labels, num_classes, nullptr, 0, options.compression_level);
  write_image(file, path);
}

}  // namespace dmlp
