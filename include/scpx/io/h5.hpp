#pragma once
/// @file h5.hpp
/// Thin HDF5 layer: RAII handles, reproducible file/dataset creation, whole-dataset read/write,
/// attributes and "FILE.h5:/path" references.
///
/// Every object scpx creates has no timestamps (H5Pset_obj_track_times(false)) and every file has
/// fixed library-version bounds, so the same data always give the same bytes. HDF5's own error
/// printing is switched off the first time this layer is used: failures surface as scpx::h5_error
/// (innermost HDF5 message) or, for user data, as scpx::input_error naming file and dataset.

#include "scpx/core/check.hpp"

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace scpx::io {

/// Owns one HDF5 identifier and closes it with `Close` (H5Fclose, H5Dclose, ...).
/// The destructor ignores close errors (it may run during unwinding); call close() where a
/// failure to close matters (a file being written).
template <herr_t (*Close)(hid_t)>
class h5_handle {
public:
    h5_handle() noexcept = default;
    /// Takes ownership of `id` (which may be negative = invalid).
    explicit h5_handle(hid_t id) noexcept : id_(id) {}
    ~h5_handle() { reset(); }
    h5_handle(const h5_handle&) = delete;
    h5_handle& operator=(const h5_handle&) = delete;
    h5_handle(h5_handle&& o) noexcept : id_(o.release()) {}
    h5_handle& operator=(h5_handle&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }

    /// The identifier, for passing to H5* calls.
    hid_t id() const noexcept { return id_; }
    /// True when it holds an identifier.
    bool valid() const noexcept { return id_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    /// Gives up ownership without closing.
    hid_t release() noexcept {
        hid_t id = id_;
        id_ = H5I_INVALID_HID;
        return id;
    }
    /// Closes the current identifier (ignoring errors) and takes `id`.
    void reset(hid_t id = H5I_INVALID_HID) noexcept {
        if (id_ >= 0) Close(id_);
        id_ = id;
    }
    /// Closes now and reports failure. @throws h5_error
    void close();

private:
    hid_t id_ = H5I_INVALID_HID;
};

template <herr_t (*Close)(hid_t)>
void h5_handle<Close>::close() {
    if (id_ < 0) return;
    const hid_t id = release();
    SCPX_H5_CHECK(Close(id));
}

using h5_file = h5_handle<H5Fclose>;    ///< file
using h5_group = h5_handle<H5Gclose>;   ///< group
using h5_dataset = h5_handle<H5Dclose>; ///< dataset
using h5_space = h5_handle<H5Sclose>;   ///< dataspace
using h5_plist = h5_handle<H5Pclose>;   ///< property list
using h5_attr = h5_handle<H5Aclose>;    ///< attribute
using h5_type = h5_handle<H5Tclose>;    ///< datatype (only for types we create)
using h5_object = h5_handle<H5Oclose>;  ///< any object opened by path

/// Switches off HDF5's automatic error-stack printing (once per process; idempotent).
/// Called by every function of this layer, so callers rarely need it.
void h5_quiet();

/// How a file is opened: plain POSIX (sec2) or the MPI-IO driver on MPI_COMM_WORLD (collective:
/// every rank must make the same calls).
enum class h5_driver { serial, mpio };

/// Creates (truncates) a file with scpx's reproducible settings. `open_as`: another name of the
/// same file to hand to HDF5 (an mpiio_alias of a long path); messages name `path`.
/// @throws io_error naming the path when it cannot be created
h5_file h5_create_file(const std::string& path, h5_driver driver = h5_driver::serial,
                       const std::string& open_as = {});

/// Opens an existing HDF5 file (`open_as` as in h5_create_file).
/// @throws io_error when missing or unreadable, input_error when it is not an HDF5 file
h5_file h5_open_file(const std::string& path, bool writable = false, h5_driver driver = h5_driver::serial,
                     const std::string& open_as = {});

/// The file-access property list scpx uses (libver bounds, driver). Exposed for the writer.
h5_plist h5_file_access(h5_driver driver);
/// The file-creation property list scpx uses (no timestamps on the root group).
h5_plist h5_file_creation();
/// A dataset-creation property list: contiguous, no timestamps, space allocated at creation,
/// fill values never written (the writer's rows cover every element).
h5_plist h5_dataset_creation();
/// A group-creation property list without timestamps.
h5_plist h5_group_creation();

/// Path of the file an identifier belongs to (for messages).
std::string h5_file_name(hid_t loc);

// ---------------------------------------------------------------------------------------------
// References "FILE.h5:/path/in/file"

/// A dataset (or group) inside a file, as given on the command line.
struct h5_ref {
    std::string file; ///< file path
    std::string path; ///< absolute path inside the file ("/x/y"); may be empty for "whole file"
    /// "file:/path", the form users typed.
    std::string str() const { return path.empty() ? file : file + ":" + path; }
};

/// Parses "FILE.h5:/path/in/file". The split is at the last ":/" (so "a:b.h5:/x" works); without
/// one, a trailing ":name" after a name ending in .h5/.hdf5 is accepted as "/name"; otherwise the
/// whole text is the file and the path is `default_path`.
/// @param option  the option name for messages ("--features")
/// @throws usage_error when the file part is empty, or the path is empty and no default is given
h5_ref h5_parse_ref(const std::string& text, const std::string& option, const std::string& default_path = "");

// ---------------------------------------------------------------------------------------------
// Datasets

/// Element type of a dataset as scpx sees it.
enum class h5_dtype { f32, f64, i32, i64, u8, str };

/// Name of a dtype for messages ("float32", "string").
const char* h5_dtype_name(h5_dtype t);

/// The scpx dtype matching a C++ type.
template <class T>
struct h5_dtype_of;
template <>
struct h5_dtype_of<float> {
    static constexpr h5_dtype value = h5_dtype::f32;
};
template <>
struct h5_dtype_of<double> {
    static constexpr h5_dtype value = h5_dtype::f64;
};
template <>
struct h5_dtype_of<std::int32_t> {
    static constexpr h5_dtype value = h5_dtype::i32;
};
template <>
struct h5_dtype_of<std::int64_t> {
    static constexpr h5_dtype value = h5_dtype::i64;
};
template <>
struct h5_dtype_of<std::uint8_t> {
    static constexpr h5_dtype value = h5_dtype::u8;
};

/// Native in-memory HDF5 type of a numeric dtype (not for str). Library-owned: do not close.
hid_t h5_memory_type(h5_dtype t);
/// Little-endian on-disk type of a numeric dtype (not for str). Library-owned: do not close.
hid_t h5_file_type(h5_dtype t);
/// A fixed-length (null-padded, UTF-8) or variable-length (`len == 0`) string type.
h5_type h5_string_type(std::size_t len);

/// What a dataset holds: element class and shape.
struct h5_info {
    h5_dtype dtype = h5_dtype::f64; ///< for integers: i64 unless 32-bit or smaller
    bool is_integer = false;        ///< integer class in the file
    bool is_float = false;          ///< floating-point class in the file
    bool is_string = false;         ///< string class in the file
    bool variable_length = false;   ///< variable-length strings
    std::size_t string_len = 0;     ///< fixed-length strings: bytes per element
    std::vector<hsize_t> shape;     ///< empty for a scalar
    /// Number of elements.
    hsize_t size() const;
    /// "float32 [100, 8]" for messages.
    std::string describe() const;
};

/// True when `path` exists under `loc` (every intermediate group included).
bool h5_exists(hid_t loc, const std::string& path);

/// Opens a dataset. @throws input_error "FILE, field '/path': no such dataset" when missing.
h5_dataset h5_open_dataset(hid_t loc, const std::string& path);

/// Type and shape of a dataset. @throws input_error when missing.
h5_info h5_dataset_info(hid_t loc, const std::string& path);

/// Creates the groups along `path` that do not exist yet (without timestamps); returns the
/// parent of the last component open. "/a/b/c" creates /a and /a/b.
h5_group h5_require_parent(hid_t loc, const std::string& path);

/// A whole dataset in memory, row-major.
template <class T>
struct h5_array {
    std::vector<hsize_t> shape; ///< dimensions ([] for a scalar)
    std::vector<T> data;        ///< prod(shape) values
};

/// Reads a whole numeric dataset. Integer datasets can be read as float/double; floating-point
/// datasets cannot be read as integers.
/// @param rank  required number of dimensions, or -1 for any
/// @throws input_error naming file and dataset when missing, of the wrong rank or wrong type
template <class T>
h5_array<T> h5_read(hid_t loc, const std::string& path, int rank = -1);

/// Same, opening the file of `ref` read-only (serial).
template <class T>
h5_array<T> h5_read(const h5_ref& ref, int rank = -1);

/// Reads a 1-D string dataset (fixed- or variable-length); trailing NULs are dropped.
std::vector<std::string> h5_read_strings(hid_t loc, const std::string& path);

/// Writes a whole numeric dataset (created here, with its parent groups; must not exist).
template <class T>
void h5_write(hid_t loc, const std::string& path, const std::vector<hsize_t>& shape, const T* data);
/// Convenience: shape [v.size()].
template <class T>
void h5_write(hid_t loc, const std::string& path, const std::vector<T>& v) {
    h5_write(loc, path, {static_cast<hsize_t>(v.size())}, v.data());
}

/// String storage: variable-length (h5py reads `str` via .asstr()) or fixed-length (numpy `S<n>`).
enum class h5_strings { variable, fixed };

/// Writes a 1-D string dataset. Fixed-length uses the longest string's byte length (at least 1).
void h5_write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                      h5_strings kind = h5_strings::variable);

// ---------------------------------------------------------------------------------------------
// Attributes (on a file = its root group, a group or a dataset)

/// Writes (replacing) a scalar UTF-8 variable-length string attribute (h5py reads it as `str`).
void h5_write_attr(hid_t obj, const std::string& name, const std::string& value);
/// Writes (replacing) a scalar double attribute.
void h5_write_attr(hid_t obj, const std::string& name, double value);
/// Writes (replacing) a scalar int64 attribute.
void h5_write_attr(hid_t obj, const std::string& name, std::int64_t value);

/// True when `obj` has an attribute `name`.
bool h5_has_attr(hid_t obj, const std::string& name);
/// Reads a scalar string attribute (fixed- or variable-length). @throws input_error if missing.
std::string h5_read_attr_string(hid_t obj, const std::string& name);
/// Reads a scalar numeric attribute as double. @throws input_error if missing or not numeric.
double h5_read_attr_double(hid_t obj, const std::string& name);
/// Reads a scalar integer attribute. @throws input_error if missing or not an integer.
std::int64_t h5_read_attr_int64(hid_t obj, const std::string& name);

/// Opens any object by path (for attributes on groups/datasets).
/// @throws input_error when missing.
h5_object h5_open_object(hid_t loc, const std::string& path);

} // namespace scpx::io
