#pragma once
// Shared by the HDF5 readers and writers of the data layer (hdf5.cpp, feature_file.cpp); needs <hdf5.h>, so it is
// included by .cpp files only, never by a public header.
#include <c10/util/Exception.h>
#include <hdf5.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <string>
#include <vector>

namespace ssl::data::hdf5 {

/// Every libhdf5 call runs under this lock, with HDF5's own error-stack printing off (the setting is
/// per thread in thread-safe builds, hence set on every entry): users see our one line only. The first lock
/// also keeps libhdf5 from closing files at process exit: a file whose close failed (a full disk) is
/// closed again there and crashes the library, while every file we write is closed or removed by its writer.
class Hdf5Lock {
 public:
  Hdf5Lock() : lock_(mutex()) {
    static const bool no_atexit = H5dont_atexit() >= 0;
    (void)no_atexit;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }

 private:
  static std::recursive_mutex& mutex() {
    static std::recursive_mutex m;
    return m;
  }
  std::lock_guard<std::recursive_mutex> lock_;
};

/// Closes an HDF5 identifier with the matching function once: by `close` (which says whether it worked) or at
/// scope exit.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
    return *this;
  }
  ~Handle() { reset(); }
  /// Closes the identifier, ignoring a failure (after an error, when the file is discarded anyway).
  void reset() { close(); }
  /// Closes the identifier; false when the close failed (a data set or file close writes what is still cached).
  /// Closed either way: the identifier is never closed twice.
  bool close() {
    const bool ok = id_ < 0 || !close_ || close_(id_) >= 0;
    id_ = -1;
    return ok;
  }
  /// The identifier (-1 when closed).
  hid_t get() const { return id_; }
  /// Whether it holds an open identifier.
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// The type as a numpy-like name (uint8, int64, float32, string, ...).
inline std::string type_name(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    default:
      return "a non-numeric type";
  }
}

/// The dimensions of a simple data space.
inline std::vector<hsize_t> dims_of(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

/// Dimensions as "[a,b,c]".
inline std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

/// Whether `file` has a link called `name`.
inline bool has_link(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

/// The system error behind the failure now on HDF5's error stack (as "No space left on device"), or "" when the
/// stack names none. Call right after the failed call: the next libhdf5 call clears the stack.
inline std::string system_error_on_stack() {
  std::string reason;
  const auto visit = [](unsigned, const H5E_error2_t* error, void* out) -> herr_t {
    static const char kKey[] = "error message = '";
    const char* at = error->desc ? std::strstr(error->desc, kKey) : nullptr;
    if (at) {
      at += sizeof kKey - 1;
      const char* end = std::strchr(at, '\'');
      *static_cast<std::string*>(out) = end ? std::string(at, end) : std::string(at);
      return 1;  // stop at the innermost error that names one
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, visit, &reason);
  return reason;
}

/// Throws "cannot write 'PATH': STEP failed (REASON)" unless `ok`; REASON is the system error HDF5 met, or
/// "disk full?" when it names none.
inline void check_write(bool ok, const std::string& path, const std::string& step) {
  if (ok) return;
  const std::string reason = system_error_on_stack();
  TORCH_CHECK(false, "cannot write '", path, "': ", step, " failed (", reason.empty() ? "disk full?" : reason, ")");
}

/// Grows `set` to `extent_after` and writes `data` (of `memory_type`, shape `count`) at `start`; throws naming
/// `path` and the data set `name` when that fails.
inline void extend_and_write(const std::string& path, hid_t set, int rank, const hsize_t* extent_after,
                             const hsize_t* start, const hsize_t* count, hid_t memory_type, const void* data,
                             const char* name) {
  Handle file_space;
  Handle memory;
  bool ok = H5Dset_extent(set, extent_after) >= 0;
  if (ok) {
    file_space = Handle(H5Dget_space(set), H5Sclose);
    memory = Handle(H5Screate_simple(rank, count, nullptr), H5Sclose);
    ok = file_space.valid() && memory.valid() &&
         H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0 &&
         H5Dwrite(set, memory_type, memory.get(), file_space.get(), H5P_DEFAULT, data) >= 0;
  }
  check_write(ok, path, std::string("writing ") + name);
}

/// Flushes `file` (written at `tmp`) while its data sets are open, closes the data sets and the file, syncs
/// `tmp` to disk and renames it to `path`; throws naming `path` when any step fails (the caller then removes
/// `tmp`).
inline void finish_atomic(std::initializer_list<Handle*> sets, Handle& file, const std::string& tmp,
                          const std::string& path) {
  {
    Hdf5Lock lock;
    check_write(H5Fflush(file.get(), H5F_SCOPE_GLOBAL) >= 0, path, "flushing '" + tmp + "'");
    for (Handle* set : sets) check_write(set->close(), path, "closing a data set of '" + tmp + "'");
    check_write(file.close(), path, "closing '" + tmp + "'");
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  TORCH_CHECK(synced, "cannot write '", path, "': syncing '", tmp, "' failed (", std::strerror(err), ")");
  TORCH_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot write '", path, "': ", std::strerror(errno));
}

/// Creates dataset /`name` of `type` whose rows have shape `row_shape`, empty and extendible along its first axis,
/// chunked by `chunk_rows` rows (shuffled and deflated at level `compression` > 0); written to `path` for errors.
inline Handle create_row_dataset(hid_t file, const std::string& path, const std::string& name, hid_t type,
                                 const std::vector<hsize_t>& row_shape, hsize_t chunk_rows, int compression = 0) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{chunk_rows};
  for (const hsize_t d : row_shape) {
    dims.push_back(d);
    max_dims.push_back(d);
    chunk.push_back(d);
  }
  const int rank = static_cast<int>(dims.size());
  Handle space(H5Screate_simple(rank, dims.data(), max_dims.data()), H5Sclose);
  Handle create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(create.get(), rank, chunk.data());
  if (compression > 0) {
    H5Pset_shuffle(create.get());
    H5Pset_deflate(create.get(), static_cast<unsigned>(compression));
  }
  Handle set(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, create.get(), H5P_DEFAULT), H5Dclose);
  TORCH_CHECK(set.valid(), "cannot write '", path, "': cannot create dataset /", name);
  return set;
}

}  // namespace ssl::data::hdf5
