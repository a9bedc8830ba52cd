#include "dmlp/io/h5.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace dmlp::h5 {

void silence_automatic_error_printing() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string error_stack_text() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        auto& s = *static_cast<std::string*>(out);
        if (e->desc && *e->desc) s += (s.empty() ? "" : "; ") + std::string(e->desc);
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "HDF5 reported an error" : text;
}

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw H5Error(what + ": " + error_stack_text());
  return id;
}

hid_t check(hid_t id, const char* what) {
  if (id < 0) throw H5Error(std::string(what) + ": " + error_stack_text());
  return id;
}

template <> hid_t memory_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t memory_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t memory_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t memory_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t memory_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }
template <> hid_t memory_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }

namespace {
// Every file access starts here, so HDF5 is silenced before it could print,
// whichever program uses the library.
void silence_once() {
  static const bool silenced = (silence_automatic_error_printing(), true);
  (void)silenced;
}
}  // namespace

bool is_hdf5(const std::string& path) {
  silence_once();
  const htri_t answer = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return answer > 0;
}

namespace {
PropertyList access_list(MPI_Comm comm) {
  PropertyList fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  if (comm != MPI_COMM_NULL) check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  return fapl;
}
}  // namespace

File open_read(const std::string& path, MPI_Comm comm) {
  silence_once();
  const PropertyList fapl = access_list(comm);
  return File(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open " + path));
}

File create(const std::string& path, MPI_Comm comm) {
  silence_once();
  const PropertyList fapl = access_list(comm);
  return File(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create " + path));
}

File create_in_memory(const std::string& name) {
  silence_once();
  const PropertyList fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  check(H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/0), "H5Pset_fapl_core");
  // The core driver still opens the name it is given, to load an image from
  // it: a FIFO there would be opened (and its reader see an end) before the
  // real write. It gets a path that can never exist.
  constexpr const char* kNowhere = "/dev/null/dmlp-in-memory.h5";
  return File(check(H5Fcreate(kNowhere, H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create " + name + " in memory"));
}

std::vector<char> file_image(hid_t file) {
  check(H5Fflush(file, H5F_SCOPE_LOCAL), "H5Fflush");
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  check(hid_t(size < 0 ? -1 : 0), "H5Fget_file_image");
  std::vector<char> image(static_cast<std::size_t>(size));
  check(hid_t(H5Fget_file_image(file, image.data(), image.size()) < 0 ? -1 : 0), "H5Fget_file_image");
  return image;
}

bool exists(hid_t location, const std::string& name) {
  // Check each path component, as H5Lexists requires.
  std::size_t pos = name.front() == '/' ? 1 : 0;
  while (true) {
    const std::size_t slash = name.find('/', pos);
    const std::string prefix = name.substr(0, slash);
    const htri_t found = H5Lexists(location, prefix.c_str(), H5P_DEFAULT);
    if (found <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

Dataset open_dataset(hid_t file, const std::string& name) {
  const hid_t id = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (id < 0) {
    const std::string stack = error_stack_text();
    const hid_t group = H5Gopen2(file, name.c_str(), H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (group >= 0) {
      H5Gclose(group);
      throw H5Error("/" + name + " is a group; expected a dataset");
    }
    throw H5Error("cannot open dataset /" + name + ": " + stack);
  }
  return Dataset(id);
}

Group create_group(hid_t location, const std::string& name) {
  return Group(check(H5Gcreate2(location, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create group " + name));
}

std::vector<hsize_t> shape(hid_t dataset) {
  const Dataspace space(check(H5Dget_space(dataset), "H5Dget_space"));
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  return dims;
}

std::string ElementType::describe() const {
  const std::string bits = std::to_string(8 * bytes);
  switch (kind) {
    case ElementKind::Float: return "float" + bits;
    case ElementKind::Integer: return (is_signed ? "int" : "uint") + bits;
    case ElementKind::Other: return "a non-numeric type";
  }
  return "?";
}

ElementType element_type(hid_t dataset) {
  const Datatype type(check(H5Dget_type(dataset), "H5Dget_type"));
  ElementType t;
  t.bytes = H5Tget_size(type.get());
  switch (H5Tget_class(type.get())) {
    case H5T_FLOAT: t.kind = ElementKind::Float; break;
    case H5T_INTEGER:
      t.kind = ElementKind::Integer;
      t.is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
      break;
    default: t.kind = ElementKind::Other; break;
  }
  return t;
}

Dataset create_dataset(hid_t location, const std::string& name, hid_t file_type,
                       std::span<const hsize_t> dims) {
  const Dataspace space(check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "H5Screate_simple"));
  return Dataset(check(H5Dcreate2(location, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT),
                       "cannot create dataset " + name));
}

template <class T>
void write_dataset(hid_t location, const std::string& name, std::span<const hsize_t> dims, const T* data,
                   int compression_level) {
  const Dataspace space(check(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "H5Screate_simple"));
  const PropertyList dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  hsize_t elements = 1;
  for (hsize_t d : dims) elements *= d;
  if (compression_level > 0 && elements > 0) {
    // Chunks of whole rows, about 1 MiB each.
    std::vector<hsize_t> chunk(dims.begin(), dims.end());
    const hsize_t row = elements / std::max<hsize_t>(dims[0], 1) * sizeof(T);
    chunk[0] = std::clamp<hsize_t>((1u << 20) / std::max<hsize_t>(row, 1), 1, dims[0]);
    check(H5Pset_chunk(dcpl.get(), int(chunk.size()), chunk.data()), "H5Pset_chunk");
    check(H5Pset_deflate(dcpl.get(), unsigned(compression_level)), "H5Pset_deflate");
  }
  const Dataset set(check(H5Dcreate2(location, name.c_str(), memory_type<T>(), space.get(), H5P_DEFAULT,
                                     dcpl.get(), H5P_DEFAULT),
                          "cannot create dataset " + name));
  if (elements > 0)
    check(H5Dwrite(set.get(), memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write dataset " + name);
}

namespace {
// The file space of `dataset` with rows [first, first + count) selected.
Dataspace row_selection(hid_t dataset, hsize_t first, hsize_t count, hsize_t& row_elements) {
  Dataspace space(check(H5Dget_space(dataset), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  hsize_t dims[2] = {0, 1};
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "H5Sget_simple_extent_dims");
  row_elements = rank == 2 ? dims[1] : 1;
  if (count == 0) {
    check(H5Sselect_none(space.get()), "H5Sselect_none");
  } else {
    const hsize_t start[2] = {first, 0}, extent[2] = {count, row_elements};
    check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr), "H5Sselect_hyperslab");
  }
  return space;
}

PropertyList transfer_list(bool collective) {
  PropertyList dxpl(check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"));
  if (collective) check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return dxpl;
}
}  // namespace

namespace {
// A memory space shaped like the selected rows, so that HDF5 copies whole rows
// instead of mapping element by element between differently shaped spaces.
Dataspace rows_in_memory(hsize_t count, hsize_t row_elements, bool two_d) {
  const hsize_t dims[2] = {std::max<hsize_t>(count, 1), row_elements};
  Dataspace memory(check(H5Screate_simple(two_d ? 2 : 1, dims, nullptr), "H5Screate_simple"));
  if (count == 0) check(H5Sselect_none(memory.get()), "H5Sselect_none");
  return memory;
}
}  // namespace

namespace {
// Rows [first, first + count) of a dataset: their selection in the file, in
// memory (rows × the row's width), and the transfer list.
struct RowTransfer {
  Dataspace file_space, memory;
  PropertyList dxpl;
};
RowTransfer row_transfer(hid_t dataset, hsize_t first, hsize_t count, bool collective) {
  hsize_t row = 0;
  Dataspace file_space = row_selection(dataset, first, count, row);
  Dataspace memory = rows_in_memory(count, row, H5Sget_simple_extent_ndims(file_space.get()) == 2);
  return {std::move(file_space), std::move(memory), transfer_list(collective)};
}
}  // namespace

template <class T>
void read_rows(hid_t dataset, hsize_t first, hsize_t count, T* out, bool collective) {
  const RowTransfer t = row_transfer(dataset, first, count, collective);
  check(H5Dread(dataset, memory_type<T>(), t.memory.get(), t.file_space.get(), t.dxpl.get(), out), "cannot read rows");
}

template <class T>
void write_rows(hid_t dataset, hsize_t first, hsize_t count, const T* rows, bool collective) {
  const RowTransfer t = row_transfer(dataset, first, count, collective);
  check(H5Dwrite(dataset, memory_type<T>(), t.memory.get(), t.file_space.get(), t.dxpl.get(), rows),
        "cannot write rows");
}

template <class T>
void write_attribute(hid_t object, const std::string& name, T value) {
  const Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  const Attribute attr(check(H5Acreate2(object, name.c_str(), memory_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                             "cannot create attribute " + name));
  check(H5Awrite(attr.get(), memory_type<T>(), &value), "cannot write attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Datatype type(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1)), "H5Tset_size");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  const Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  const Attribute attr(check(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                             "cannot create attribute " + name));
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), padded.data()), "cannot write attribute " + name);
}

bool has_attribute(hid_t object, const std::string& name) {
  const htri_t found = H5Aexists(object, name.c_str());
  if (found < 0) H5Eclear2(H5E_DEFAULT);
  return found > 0;
}

namespace {
// "attribute num_classes of /labels", for messages.
std::string attribute_label(hid_t object, const std::string& name) {
  char where[256] = "";
  const ssize_t length = H5Iget_name(object, where, sizeof where);
  if (length < 0) H5Eclear2(H5E_DEFAULT);
  const std::string path = length > 0 ? where : "";
  return "attribute " + name + (path.empty() || path == "/" ? "" : " of " + path);
}

// Opens `name` and checks that it holds one number, an integer where
// `integral`; anything else throws H5Error naming the attribute.
Attribute open_single_number(hid_t object, const std::string& name, bool integral) {
  Attribute attr(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "cannot open attribute " + name));
  const Dataspace space(check(H5Aget_space(attr.get()), "H5Aget_space"));
  const hssize_t values = H5Sget_simple_extent_npoints(space.get());
  if (values != 1)
    throw H5Error(attribute_label(object, name) + " holds " + std::to_string(values) + " values; expected one " +
                  (integral ? "integer" : "number"));
  const Datatype type(check(H5Aget_type(attr.get()), "H5Aget_type"));
  const H5T_class_t kind = H5Tget_class(type.get());
  if (kind == H5T_INTEGER || (kind == H5T_FLOAT && !integral)) return attr;
  const char* found = kind == H5T_FLOAT ? "a floating-point number" : kind == H5T_STRING ? "a string" : "not a number";
  throw H5Error(attribute_label(object, name) + " is " + found + "; expected " + (integral ? "an integer" : "a number"));
}

bool stored_signed(const Attribute& attr) {
  const Datatype type(check(H5Aget_type(attr.get()), "H5Aget_type"));
  return H5Tget_sign(type.get()) != H5T_SGN_NONE;
}
}  // namespace

template <class T>
T read_attribute(hid_t object, const std::string& name) {
  const Attribute attr = open_single_number(object, name, std::is_integral_v<T>);
  // HDF5 clips an integer that does not fit the type it is read into: read
  // the other signedness first, and refuse what does not fit.
  if constexpr (std::is_same_v<T, std::int64_t>) {
    if (!stored_signed(attr)) {
      std::uint64_t raw = 0;
      check(H5Aread(attr.get(), H5T_NATIVE_UINT64, &raw), "cannot read attribute " + name);
      if (raw > std::uint64_t(INT64_MAX))
        throw H5Error(attribute_label(object, name) + " is " + std::to_string(raw) + "; expected at most " +
                      std::to_string(INT64_MAX));
      return std::int64_t(raw);
    }
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    if (stored_signed(attr)) {
      std::int64_t raw = 0;
      check(H5Aread(attr.get(), H5T_NATIVE_INT64, &raw), "cannot read attribute " + name);
      if (raw < 0) throw H5Error(attribute_label(object, name) + " is " + std::to_string(raw) + "; expected >= 0");
      return std::uint64_t(raw);
    }
  }
  T value{};
  check(H5Aread(attr.get(), memory_type<T>(), &value), "cannot read attribute " + name);
  return value;
}

std::int64_t read_integer_attribute(hid_t object, const std::string& name, std::int64_t min, std::int64_t max) {
  const auto value = read_attribute<std::int64_t>(object, name);
  if (value < min || value > max)
    throw H5Error(attribute_label(object, name) + " is " + std::to_string(value) + "; expected " +
                  std::to_string(min) + " to " + std::to_string(max));
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  const Attribute attr(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "cannot open attribute " + name));
  const Dataspace space(check(H5Aget_space(attr.get()), "H5Aget_space"));
  if (const hssize_t values = H5Sget_simple_extent_npoints(space.get()); values != 1)
    throw H5Error(attribute_label(object, name) + " holds " + std::to_string(values) + " values; expected one string");
  const Datatype stored(check(H5Aget_type(attr.get()), "H5Aget_type"));
  if (H5Tget_class(stored.get()) != H5T_STRING)
    throw H5Error(attribute_label(object, name) + " is not a string; expected a string");
  if (H5Tis_variable_str(stored.get()) > 0) {
    char* text = nullptr;
    const Datatype type(check(H5Tget_native_type(stored.get(), H5T_DIR_DEFAULT), "H5Tget_native_type"));
    check(H5Aread(attr.get(), type.get(), &text), "cannot read attribute " + name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(stored.get()), '\0');
  check(H5Aread(attr.get(), stored.get(), value.data()), "cannot read attribute " + name);
  value.resize(std::min(value.size(), value.find('\0')));
  return value;
}

#define DMLP_INSTANTIATE(T)                                                                          \
  template void write_dataset<T>(hid_t, const std::string&, std::span<const hsize_t>, const T*, int); \
  template void read_rows<T>(hid_t, hsize_t, hsize_t, T*, bool);                                     \
  template void write_rows<T>(hid_t, hsize_t, hsize_t, const T*, bool);                              \
  template void write_attribute<T>(hid_t, const std::string&, T);                                    \
  template T read_attribute<T>(hid_t, const std::string&);
DMLP_INSTANTIATE(float)
DMLP_INSTANTIATE(double)
DMLP_INSTANTIATE(std::int32_t)
DMLP_INSTANTIATE(std::int64_t)
DMLP_INSTANTIATE(std::uint64_t)
DMLP_INSTANTIATE(std::uint8_t)
#undef DMLP_INSTANTIATE

}  // namespace dmlp::h5
