#pragma once
// A small RAII layer over HDF5's C API. Every handle closes itself; every
// failing call becomes an H5Error carrying HDF5's own error-stack text; and
// HDF5 never prints on its own.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dmlp::h5 {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Stops HDF5 printing its error stack to stderr; errors reach us as exceptions.
// Opening or creating a file through this layer does it first.
void silence_automatic_error_printing();

// The current HDF5 error stack as one line, innermost cause last.
std::string error_stack_text();

// Returns id, or throws H5Error("<what>: <HDF5's error stack>") when it is negative.
hid_t check(hid_t id, const std::string& what);
hid_t check(hid_t id, const char* what);  // no string is built unless it fails

template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now and reports failure, which for a file means its last writes
  // (metadata included) may not have reached storage.
  void close() {
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    if (id >= 0 && Close(id) < 0) throw H5Error("closing an HDF5 object failed: " + error_stack_text());
  }
  void reset() noexcept {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;
using PropertyList = Handle<H5Pclose>;

// The HDF5 memory type of a C++ scalar.
template <class T>
hid_t memory_type();

// True when `path` exists and is an HDF5 file (checked without MPI-IO).
bool is_hdf5(const std::string& path);

// Opens for reading: with MPI-IO on `comm` (collective) when given, else serially.
File open_read(const std::string& path, MPI_Comm comm = MPI_COMM_NULL);
// Creates (truncating) a file for serial writing, or with MPI-IO on `comm` (collective).
File create(const std::string& path, MPI_Comm comm = MPI_COMM_NULL);

bool exists(hid_t location, const std::string& name);  // a link `name` below location

// A file held in memory only (the core driver): nothing reaches a disk until
// the caller writes file_image() itself.
File create_in_memory(const std::string& name);
std::vector<char> file_image(hid_t file);  // the bytes of a file held in memory
Dataset open_dataset(hid_t file, const std::string& name);
Group create_group(hid_t location, const std::string& name);

// The dataset's extent, one entry per dimension.
std::vector<hsize_t> shape(hid_t dataset);

enum class ElementKind { Float, Integer, Other };
struct ElementType {
  ElementKind kind = ElementKind::Other;
  std::size_t bytes = 0;
  bool is_signed = false;
  std::string describe() const;  // e.g. "float32", "uint8", "int64"
};
ElementType element_type(hid_t dataset);

// A new dataset of `dims`, written from `data` (row-major), optionally chunked
// and deflate-compressed.
template <class T>
void write_dataset(hid_t location, const std::string& name, std::span<const hsize_t> dims,
                   const T* data, int compression_level = 0);
// Creates a dataset without writing it (for collective writes of hyperslabs).
Dataset create_dataset(hid_t location, const std::string& name, hid_t file_type,
                       std::span<const hsize_t> dims);

// Reads rows [first, first + count) of a 1-D or 2-D dataset into `out`,
// converting to T. `collective` selects collective MPI-IO transfer.
template <class T>
void read_rows(hid_t dataset, hsize_t first, hsize_t count, T* out, bool collective = false);
// Writes `count` rows at `first` (collective when asked); count may be 0.
template <class T>
void write_rows(hid_t dataset, hsize_t first, hsize_t count, const T* rows, bool collective);

// Scalar and string attributes. A read checks that the attribute holds one
// value of a fitting class (an integer for integer T, which it fits) and
// throws H5Error naming it otherwise.
template <class T>
void write_attribute(hid_t object, const std::string& name, T value);
void write_attribute(hid_t object, const std::string& name, const std::string& value);
bool has_attribute(hid_t object, const std::string& name);
template <class T>
T read_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
// An integer attribute in [min, max].
std::int64_t read_integer_attribute(hid_t object, const std::string& name, std::int64_t min, std::int64_t max);

}  // namespace dmlp::h5
