#include "scpx/io/h5.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/ompio_semaphore.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <pwd.h>
#include <sys/stat.h>

namespace scpx::io {

namespace {

// One on-disk format for every scpx file: 1.8-compatible objects at most, the earliest format
// where possible. Superblock v0 has no "file open for write" flag, so an output left behind by a
// killed job can be reopened for resuming without h5clear.
constexpr H5F_libver_t kLibverLow = H5F_LIBVER_EARLIEST;
constexpr H5F_libver_t kLibverHigh = H5F_LIBVER_V18;

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < path.size()) {
        const std::size_t j = path.find('/', i);
        const std::size_t end = j == std::string::npos ? path.size() : j;
        if (end > i) parts.push_back(path.substr(i, end - i));
        i = end + 1;
    }
    return parts;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string object_path(hid_t obj) {
    const ssize_t n = H5Iget_name(obj, nullptr, 0);
    if (n <= 0) return "/";
    std::string s(static_cast<std::size_t>(n) + 1, '\0');
    H5Iget_name(obj, s.data(), s.size());
    s.resize(static_cast<std::size_t>(n));
    return s;
}

std::string shape_string(const std::vector<hsize_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

// Integer conversions that would clip abort the read instead (HDF5 clamps silently by default).
H5T_conv_ret_t refuse_out_of_range(H5T_conv_except_t except, hid_t, hid_t, void*, void*, void*) {
    if (except == H5T_CONV_EXCEPT_RANGE_HI || except == H5T_CONV_EXCEPT_RANGE_LOW) return H5T_CONV_ABORT;
    return H5T_CONV_UNHANDLED;
}

template <class T>
constexpr bool is_integer_type() {
    return h5_dtype_of<T>::value == h5_dtype::i32 || h5_dtype_of<T>::value == h5_dtype::i64 ||
           h5_dtype_of<T>::value == h5_dtype::u8;
}

} // namespace

void h5_quiet() {
    static std::once_flag once;
    std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

h5_plist h5_file_access(h5_driver driver) {
    h5_quiet();
    h5_plist fapl(H5Pcreate(H5P_FILE_ACCESS));
    SCPX_H5_CHECK(fapl.id());
    SCPX_H5_CHECK(H5Pset_libver_bounds(fapl.id(), kLibverLow, kLibverHigh));
#if H5_VERSION_GE(1, 10, 7)
    // Keep locking, but do not fail on file systems where it is disabled (Lustre, NFS).
    SCPX_H5_CHECK(H5Pset_file_locking(fapl.id(), true, true));
#endif
    if (driver == h5_driver::mpio) {
        mpi::ensure_initialized();
        SCPX_H5_CHECK(H5Pset_fapl_mpio(fapl.id(), MPI_COMM_WORLD, MPI_INFO_NULL));
    }
    return fapl;
}

h5_plist h5_file_creation() {
    h5_quiet();
    h5_plist fcpl(H5Pcreate(H5P_FILE_CREATE));
    SCPX_H5_CHECK(fcpl.id());
    // The root group is created with the file: no timestamps on it either.
    SCPX_H5_CHECK(H5Pset_obj_track_times(fcpl.id(), false));
    return fcpl;
}

h5_plist h5_dataset_creation() {
    h5_quiet();
    h5_plist dcpl(H5Pcreate(H5P_DATASET_CREATE));
    SCPX_H5_CHECK(dcpl.id());
    SCPX_H5_CHECK(H5Pset_obj_track_times(dcpl.id(), false));
    // Allocating at creation fixes every address before any raw data is written, so the file
    // layout does not depend on which rank writes first; parallel HDF5 requires it anyway.
    SCPX_H5_CHECK(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY));
    SCPX_H5_CHECK(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER));
    return dcpl;
}

h5_plist h5_group_creation() {
    h5_quiet();
    h5_plist gcpl(H5Pcreate(H5P_GROUP_CREATE));
    SCPX_H5_CHECK(gcpl.id());
    SCPX_H5_CHECK(H5Pset_obj_track_times(gcpl.id(), false));
    return gcpl;
}

namespace {
// Before an MPI-IO open: a semaphore a dead process left taken would make it wait for ever
// (ompio_semaphore.hpp). Open MPI's rank 0 is the one that takes it.
// Another user's left there makes Open MPI's open fail with an unexplained MPI_ERR_OTHER.
void release_stale_mpiio_lock(const std::string& path, h5_driver driver) {
    if (driver != h5_driver::mpio || !mpi::is_root()) return;
    const auto check = mpi::release_stale_ompio_semaphore(path);
    using kind = mpi::ompio_semaphore_check::kind;
    if (check.state == kind::released)
        SCPX_LOG_WRN(
            "released Open MPI's MPI-IO semaphore {}, left taken by a process that died opening a file "
            "of this name (the open would otherwise wait for ever)",
            check.file);
    if (check.state == kind::foreign) {
        const passwd* pw = ::getpwuid(check.owner_uid);
        const std::string owner =
            (pw ? std::string(pw->pw_name) + " (uid " : "(uid ") + std::to_string(check.owner_uid) + ")";
        throw io_error(
            "cannot open " + path + " with MPI-IO: Open MPI's semaphore " + check.file +
            ", which it uses for every file of this name on the node, belongs to user " + owner +
            " (left by a run of theirs that died opening such a file, or one still in MPI_File_open "
            "after 2 s); give the output another name, or ask them or an administrator to remove " +
            check.file);
    }
}
} // namespace

h5_file h5_create_file(const std::string& path, h5_driver driver, const std::string& open_as) {
    require_writable_location(path); // a clearer message than HDF5's for the common cases
    const std::string& name = open_as.empty() ? path : open_as;
    h5_plist fapl = h5_file_access(driver);
    release_stale_mpiio_lock(name, driver);
    h5_plist fcpl = h5_file_creation();
    const hid_t id = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.id(), fapl.id());
    if (id < 0) {
        const std::string output = output_of_working_copy(path);
        throw io_error("cannot create HDF5 file " +
                       (output.empty() ? path : output + " (its working copy " + path + ")") + ": " +
                       detail::h5_error_string(id));
    }
    return h5_file(id);
}

h5_file h5_open_file(const std::string& path, bool writable, h5_driver driver, const std::string& open_as) {
    if (!path_exists(path)) throw missing_file_error(path);
    // HDF5 seeks: a FIFO would block the open for ever, a directory or device fails obscurely.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw input_error(path, "", "",
                          "not a regular file (a directory, FIFO or device); HDF5 files are read from disk");
    const std::string& name = open_as.empty() ? path : open_as;
    h5_plist fapl = h5_file_access(driver);
    release_stale_mpiio_lock(name, driver);
    const hid_t id = H5Fopen(name.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.id());
    if (id < 0) {
        const std::string why = detail::h5_error_string(id);
#if H5_VERSION_GE(1, 12, 0)
        h5_plist plain = h5_file_access(h5_driver::serial);
        const htri_t is_hdf5 = H5Fis_accessible(path.c_str(), plain.id());
#else
        const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
#endif
        if (is_hdf5 <= 0) throw input_error(path, "", "", "not an HDF5 file (or truncated)");
        throw io_error("cannot open HDF5 file " + path + ": " + why);
    }
    return h5_file(id);
}

std::string h5_file_name(hid_t loc) {
    const ssize_t n = H5Fget_name(loc, nullptr, 0);
    if (n <= 0) return "<hdf5>";
    std::string s(static_cast<std::size_t>(n) + 1, '\0');
    H5Fget_name(loc, s.data(), s.size());
    s.resize(static_cast<std::size_t>(n));
    return s;
}

h5_ref h5_parse_ref(const std::string& text, const std::string& option, const std::string& default_path) {
    h5_ref ref;
    const std::size_t colon_slash = text.rfind(":/");
    if (colon_slash != std::string::npos) {
        ref.file = text.substr(0, colon_slash);
        ref.path = text.substr(colon_slash + 1);
    } else {
        const std::size_t colon = text.rfind(':');
        const std::string head = colon == std::string::npos ? text : text.substr(0, colon);
        if (colon != std::string::npos && colon + 1 < text.size() &&
            (ends_with(head, ".h5") || ends_with(head, ".hdf5") || ends_with(head, ".he5"))) {
            ref.file = head;
            ref.path = "/" + text.substr(colon + 1);
        } else {
            ref.file = text;
            ref.path = default_path;
        }
    }
    if (ref.file.empty())
        throw usage_error(option + ": '" + text + "' names no file; expected FILE.h5:/dataset");
    while (ref.path.size() > 1 && ref.path.back() == '/')
        ref.path.pop_back();
    if (!ref.path.empty() && ref.path.front() != '/') ref.path = "/" + ref.path;
    if (ref.path.empty() && default_path.empty())
        throw usage_error(option + ": '" + text + "' names no dataset; expected FILE.h5:/dataset");
    return ref;
}

const char* h5_dtype_name(h5_dtype t) {
    switch (t) {
    case h5_dtype::f32: return "float32";
    case h5_dtype::f64: return "float64";
    case h5_dtype::i32: return "int32";
    case h5_dtype::i64: return "int64";
    case h5_dtype::u8: return "uint8";
    case h5_dtype::str: return "string";
    }
    return "?";
}

hid_t h5_memory_type(h5_dtype t) {
    switch (t) {
    case h5_dtype::f32: return H5T_NATIVE_FLOAT;
    case h5_dtype::f64: return H5T_NATIVE_DOUBLE;
    case h5_dtype::i32: return H5T_NATIVE_INT32;
    case h5_dtype::i64: return H5T_NATIVE_INT64;
    case h5_dtype::u8: return H5T_NATIVE_UINT8;
    case h5_dtype::str: break;
    }
    throw internal_error("h5_memory_type: no fixed memory type for strings");
}

hid_t h5_file_type(h5_dtype t) {
    switch (t) {
    case h5_dtype::f32: return H5T_IEEE_F32LE;
    case h5_dtype::f64: return H5T_IEEE_F64LE;
    case h5_dtype::i32: return H5T_STD_I32LE;
    case h5_dtype::i64: return H5T_STD_I64LE;
    case h5_dtype::u8: return H5T_STD_U8LE;
    case h5_dtype::str: break;
    }
    throw internal_error("h5_file_type: no fixed file type for strings");
}

h5_type h5_string_type(std::size_t len) {
    h5_type t(H5Tcopy(H5T_C_S1));
    SCPX_H5_CHECK(t.id());
    SCPX_H5_CHECK(H5Tset_size(t.id(), len == 0 ? H5T_VARIABLE : len));
    SCPX_H5_CHECK(H5Tset_cset(t.id(), H5T_CSET_UTF8));
    SCPX_H5_CHECK(H5Tset_strpad(t.id(), len == 0 ? H5T_STR_NULLTERM : H5T_STR_NULLPAD));
    return t;
}

hsize_t h5_info::size() const {
    hsize_t n = 1;
    for (hsize_t d : shape)
        n *= d;
    return n;
}

std::string h5_info::describe() const {
    std::string t;
    if (is_string)
        t = variable_length ? "variable-length string" : "string(" + std::to_string(string_len) + ")";
    else if (is_float || is_integer)
        t = h5_dtype_name(dtype);
    else
        t = "unsupported type";
    return t + " " + shape_string(shape);
}

bool h5_exists(hid_t loc, const std::string& path) {
    h5_quiet();
    const auto parts = split_path(path);
    const bool absolute = !path.empty() && path.front() == '/';
    std::string cur;
    for (const auto& p : parts) {
        cur = (cur.empty() ? (absolute ? "/" : "") : cur + "/") + p;
        // Link by link: H5Lexists fails (rather than says no) when a parent is missing.
        if (H5Lexists(loc, cur.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    if (parts.empty()) return true;
    return H5Oexists_by_name(loc, cur.c_str(), H5P_DEFAULT) > 0;
}

h5_object h5_open_object(hid_t loc, const std::string& path) {
    if (!h5_exists(loc, path)) throw input_error(h5_file_name(loc), "", path, "no such object in the file");
    h5_object obj(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
    SCPX_H5_CHECK(obj.id());
    return obj;
}

h5_dataset h5_open_dataset(hid_t loc, const std::string& path) {
    if (!h5_exists(loc, path)) throw input_error(h5_file_name(loc), "", path, "no such dataset in the file");
    h5_object obj(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
    SCPX_H5_CHECK(obj.id());
    if (H5Iget_type(obj.id()) != H5I_DATASET) {
        // Name what the group holds: the dataset meant is usually one of them ("/B" for "/B/pred").
        std::string members;
        H5G_info_t gi{};
        if (H5Gget_info(obj.id(), &gi) >= 0)
            for (hsize_t k = 0; k < gi.nlinks && k < 8; ++k) {
                char name[256] = {};
                if (H5Lget_name_by_idx(obj.id(), ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name,
                                       H5P_DEFAULT) > 0)
                    members += std::string(members.empty() ? "" : ", ") + path +
                               (path.back() == '/' ? "" : "/") + name;
            }
        if (gi.nlinks > 8) members += ", ...";
        throw input_error(h5_file_name(loc), "", path,
                          "is a group, not a dataset" +
                              (members.empty() ? "" : " (it holds " + members + ")"));
    }
    obj.reset();
    h5_dataset ds(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
    SCPX_H5_CHECK(ds.id());
    return ds;
}

namespace {

h5_info info_of(hid_t ds) {
    h5_info info;
    h5_type type(H5Dget_type(ds));
    SCPX_H5_CHECK(type.id());
    const H5T_class_t cls = H5Tget_class(type.id());
    const std::size_t size = H5Tget_size(type.id());
    if (cls == H5T_FLOAT) {
        info.is_float = true;
        info.dtype = size <= 4 ? h5_dtype::f32 : h5_dtype::f64;
    } else if (cls == H5T_INTEGER) {
        info.is_integer = true;
        const bool is_signed = H5Tget_sign(type.id()) == H5T_SGN_2;
        if (size == 1 && !is_signed)
            info.dtype = h5_dtype::u8;
        else if (size < 4 || (size == 4 && is_signed))
            info.dtype = h5_dtype::i32;
        else
            info.dtype = h5_dtype::i64;
    } else if (cls == H5T_STRING) {
        info.is_string = true;
        info.dtype = h5_dtype::str;
        info.variable_length = H5Tis_variable_str(type.id()) > 0;
        info.string_len = info.variable_length ? 0 : size;
    }
    h5_space space(H5Dget_space(ds));
    SCPX_H5_CHECK(space.id());
    const int nd = H5Sget_simple_extent_ndims(space.id());
    SCPX_H5_CHECK(nd);
    info.shape.resize(static_cast<std::size_t>(nd));
    if (nd > 0) SCPX_H5_CHECK(H5Sget_simple_extent_dims(space.id(), info.shape.data(), nullptr));
    return info;
}

void require_rank(const std::string& file, const std::string& path, const h5_info& info, int rank) {
    if (rank >= 0 && static_cast<int>(info.shape.size()) != rank)
        throw input_error(file, "", path,
                          "expected a " + std::to_string(rank) + "-D dataset, found " + info.describe());
}

void write_numeric(hid_t loc, const std::string& path, const std::vector<hsize_t>& shape, h5_dtype t,
                   const void* data) {
    h5_group parent = h5_require_parent(loc, path);
    if (h5_exists(loc, path))
        throw io_error("cannot write " + h5_file_name(loc) + ":" + path + ": dataset exists");
    h5_space space(shape.empty() ? H5Screate(H5S_SCALAR)
                                 : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
    SCPX_H5_CHECK(space.id());
    h5_plist dcpl = h5_dataset_creation();
    h5_dataset ds(
        H5Dcreate2(loc, path.c_str(), h5_file_type(t), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT));
    SCPX_H5_CHECK(ds.id());
    hsize_t n = 1;
    for (hsize_t d : shape)
        n *= d;
    if (n > 0) SCPX_H5_CHECK(H5Dwrite(ds.id(), h5_memory_type(t), H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

} // namespace

h5_info h5_dataset_info(hid_t loc, const std::string& path) {
    h5_dataset ds = h5_open_dataset(loc, path);
    return info_of(ds.id());
}

h5_group h5_require_parent(hid_t loc, const std::string& path) {
    h5_quiet();
    const auto parts = split_path(path);
    const bool absolute = !path.empty() && path.front() == '/';
    h5_group cur(H5Gopen2(loc, absolute ? "/" : ".", H5P_DEFAULT));
    SCPX_H5_CHECK(cur.id());
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const char* name = parts[i].c_str();
        const htri_t e = H5Lexists(cur.id(), name, H5P_DEFAULT);
        SCPX_H5_CHECK(e);
        h5_group next;
        if (e > 0) {
            next.reset(H5Gopen2(cur.id(), name, H5P_DEFAULT));
        } else {
            h5_plist gcpl = h5_group_creation();
            next.reset(H5Gcreate2(cur.id(), name, H5P_DEFAULT, gcpl.id(), H5P_DEFAULT));
        }
        SCPX_H5_CHECK(next.id());
        cur = std::move(next);
    }
    return cur;
}

template <class T>
h5_array<T> h5_read(hid_t loc, const std::string& path, int rank) {
    const std::string file = h5_file_name(loc);
    h5_dataset ds = h5_open_dataset(loc, path);
    const h5_info info = info_of(ds.id());
    require_rank(file, path, info, rank);
    const h5_dtype want = h5_dtype_of<T>::value;
    const bool ok = info.is_integer || (info.is_float && !is_integer_type<T>());
    if (!ok)
        throw input_error(file, "", path,
                          std::string("expected ") + h5_dtype_name(want) +
                              (is_integer_type<T>() ? " (integer)" : " (numeric)") + " data, found " +
                              info.describe());
    h5_array<T> out;
    out.shape = info.shape;
    out.data.resize(static_cast<std::size_t>(info.size()));
    if (out.data.empty()) return out;
    h5_plist dxpl(H5Pcreate(H5P_DATASET_XFER));
    SCPX_H5_CHECK(dxpl.id());
    SCPX_H5_CHECK(H5Pset_type_conv_cb(dxpl.id(), refuse_out_of_range, nullptr));
    const herr_t rc = H5Dread(ds.id(), h5_memory_type(want), H5S_ALL, H5S_ALL, dxpl.id(), out.data.data());
    if (rc < 0) {
        if (info.is_integer && is_integer_type<T>())
            throw input_error(file, "", path,
                              std::string("values do not fit in ") + h5_dtype_name(want) + " (dataset is " +
                                  info.describe() + ")");
        throw h5_error("cannot read " + file + ":" + path + ": " + detail::h5_error_string(rc));
    }
    return out;
}

template <class T>
h5_array<T> h5_read(const h5_ref& ref, int rank) {
    h5_file f = h5_open_file(ref.file);
    return h5_read<T>(f.id(), ref.path, rank);
}

std::vector<std::string> h5_read_strings(hid_t loc, const std::string& path) {
    const std::string file = h5_file_name(loc);
    h5_dataset ds = h5_open_dataset(loc, path);
    const h5_info info = info_of(ds.id());
    if (!info.is_string) throw input_error(file, "", path, "expected 1-D strings, found " + info.describe());
    require_rank(file, path, info, 1);
    const std::size_t n = static_cast<std::size_t>(info.shape[0]);
    std::vector<std::string> out(n);
    if (n == 0) return out;
    if (info.variable_length) {
        h5_type mt = h5_string_type(0);
        std::vector<char*> ptrs(n, nullptr);
        SCPX_H5_CHECK(H5Dread(ds.id(), mt.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
        for (std::size_t i = 0; i < n; ++i)
            if (ptrs[i]) out[i] = ptrs[i];
        h5_space space(H5Dget_space(ds.id()));
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mt.id(), space.id(), H5P_DEFAULT, ptrs.data());
#else
        H5Dvlen_reclaim(mt.id(), space.id(), H5P_DEFAULT, ptrs.data());
#endif
        return out;
    }
    h5_type ft(H5Dget_type(ds.id()));
    SCPX_H5_CHECK(ft.id());
    const bool space_pad = H5Tget_strpad(ft.id()) == H5T_STR_SPACEPAD;
    h5_type mt(H5Tcopy(ft.id()));
    SCPX_H5_CHECK(mt.id());
    const std::size_t len = info.string_len;
    std::vector<char> buf(n * len);
    SCPX_H5_CHECK(H5Dread(ds.id(), mt.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
    for (std::size_t i = 0; i < n; ++i) {
        const char* p = buf.data() + i * len;
        std::size_t k = 0;
        while (k < len && p[k] != '\0')
            ++k;
        std::string s(p, k);
        if (space_pad)
            while (!s.empty() && s.back() == ' ')
                s.pop_back();
        out[i] = std::move(s);
    }
    return out;
}

template <class T>
void h5_write(hid_t loc, const std::string& path, const std::vector<hsize_t>& shape, const T* data) {
    write_numeric(loc, path, shape, h5_dtype_of<T>::value, data);
}

void h5_write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                      h5_strings kind) {
    h5_group parent = h5_require_parent(loc, path);
    if (h5_exists(loc, path))
        throw io_error("cannot write " + h5_file_name(loc) + ":" + path + ": dataset exists");
    const hsize_t n = v.size();
    h5_space space(H5Screate_simple(1, &n, nullptr));
    SCPX_H5_CHECK(space.id());
    std::size_t len = 0;
    if (kind == h5_strings::fixed) {
        len = 1;
        for (const auto& s : v)
            len = std::max(len, s.size());
    }
    h5_type type = h5_string_type(len);
    h5_plist dcpl(H5Pcreate(H5P_DATASET_CREATE));
    SCPX_H5_CHECK(dcpl.id());
    SCPX_H5_CHECK(H5Pset_obj_track_times(dcpl.id(), false));
    h5_dataset ds(H5Dcreate2(loc, path.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT));
    SCPX_H5_CHECK(ds.id());
    if (n == 0) return;
    if (kind == h5_strings::variable) {
        std::vector<const char*> ptrs(v.size());
        for (std::size_t i = 0; i < v.size(); ++i)
            ptrs[i] = v[i].c_str();
        SCPX_H5_CHECK(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
    } else {
        std::vector<char> buf(v.size() * len, '\0');
        for (std::size_t i = 0; i < v.size(); ++i)
            std::memcpy(buf.data() + i * len, v[i].data(), v[i].size());
        SCPX_H5_CHECK(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
    }
}

// ---------------------------------------------------------------------------------------------
// Attributes

namespace {

h5_attr create_attr(hid_t obj, const std::string& name, hid_t type) {
    h5_quiet();
    const htri_t e = H5Aexists(obj, name.c_str());
    SCPX_H5_CHECK(e);
    if (e > 0) SCPX_H5_CHECK(H5Adelete(obj, name.c_str()));
    h5_space space(H5Screate(H5S_SCALAR));
    SCPX_H5_CHECK(space.id());
    h5_attr a(H5Acreate2(obj, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT));
    SCPX_H5_CHECK(a.id());
    return a;
}

h5_attr open_attr(hid_t obj, const std::string& name) {
    h5_quiet();
    if (H5Aexists(obj, name.c_str()) <= 0)
        throw input_error(h5_file_name(obj), "object " + object_path(obj), name, "missing attribute");
    h5_attr a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    SCPX_H5_CHECK(a.id());
    return a;
}

} // namespace

void h5_write_attr(hid_t obj, const std::string& name, const std::string& value) {
    h5_type type = h5_string_type(0);
    h5_attr a = create_attr(obj, name, type.id());
    const char* p = value.c_str();
    SCPX_H5_CHECK(H5Awrite(a.id(), type.id(), &p));
}

void h5_write_attr(hid_t obj, const std::string& name, double value) {
    h5_attr a = create_attr(obj, name, H5T_IEEE_F64LE);
    SCPX_H5_CHECK(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &value));
}

void h5_write_attr(hid_t obj, const std::string& name, std::int64_t value) {
    h5_attr a = create_attr(obj, name, H5T_STD_I64LE);
    SCPX_H5_CHECK(H5Awrite(a.id(), H5T_NATIVE_INT64, &value));
}

bool h5_has_attr(hid_t obj, const std::string& name) {
    h5_quiet();
    return H5Aexists(obj, name.c_str()) > 0;
}

std::string h5_read_attr_string(hid_t obj, const std::string& name) {
    h5_attr a = open_attr(obj, name);
    h5_type ft(H5Aget_type(a.id()));
    SCPX_H5_CHECK(ft.id());
    if (H5Tget_class(ft.id()) != H5T_STRING)
        throw input_error(h5_file_name(obj), "object " + object_path(obj), name, "attribute is not a string");
    if (H5Tis_variable_str(ft.id()) > 0) {
        h5_type mt = h5_string_type(0);
        char* p = nullptr;
        SCPX_H5_CHECK(H5Aread(a.id(), mt.id(), &p));
        std::string s = p ? p : "";
        if (p) H5free_memory(p);
        return s;
    }
    const std::size_t len = H5Tget_size(ft.id());
    h5_type mt(H5Tcopy(ft.id()));
    SCPX_H5_CHECK(mt.id());
    std::vector<char> buf(len + 1, '\0');
    SCPX_H5_CHECK(H5Aread(a.id(), mt.id(), buf.data()));
    return std::string(buf.data(), std::strlen(buf.data()));
}

double h5_read_attr_double(hid_t obj, const std::string& name) {
    h5_attr a = open_attr(obj, name);
    h5_type ft(H5Aget_type(a.id()));
    SCPX_H5_CHECK(ft.id());
    const H5T_class_t cls = H5Tget_class(ft.id());
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        throw input_error(h5_file_name(obj), "object " + object_path(obj), name, "attribute is not numeric");
    double v = 0;
    SCPX_H5_CHECK(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v));
    return v;
}

std::int64_t h5_read_attr_int64(hid_t obj, const std::string& name) {
    h5_attr a = open_attr(obj, name);
    h5_type ft(H5Aget_type(a.id()));
    SCPX_H5_CHECK(ft.id());
    if (H5Tget_class(ft.id()) != H5T_INTEGER)
        throw input_error(h5_file_name(obj), "object " + object_path(obj), name,
                          "attribute is not an integer");
    std::int64_t v = 0;
    SCPX_H5_CHECK(H5Aread(a.id(), H5T_NATIVE_INT64, &v));
    return v;
}

#define SCPX_H5_INSTANTIATE(T)                                                                               \
    template h5_array<T> h5_read<T>(hid_t, const std::string&, int);                                         \
    template h5_array<T> h5_read<T>(const h5_ref&, int);                                                     \
    template void h5_write<T>(hid_t, const std::string&, const std::vector<hsize_t>&, const T*);
SCPX_H5_INSTANTIATE(float)
SCPX_H5_INSTANTIATE(double)
SCPX_H5_INSTANTIATE(std::int32_t)
SCPX_H5_INSTANTIATE(std::int64_t)
SCPX_H5_INSTANTIATE(std::uint8_t)
#undef SCPX_H5_INSTANTIATE

} // namespace scpx::io
