#include "scpx/io/h5_writer.hpp"
#include "scpx/io/mpiio_alias.hpp"

#include "scpx/config.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/dist/mpi.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace scpx::io {

namespace {

constexpr const char* kDoneName = "/done";

std::size_t elem_size(h5_dtype t, std::size_t str_len) {
    switch (t) {
    case h5_dtype::f32: return 4;
    case h5_dtype::f64: return 8;
    case h5_dtype::i32: return 4;
    case h5_dtype::i64: return 8;
    case h5_dtype::u8: return 1;
    case h5_dtype::str: return str_len;
    }
    return 0;
}

std::string normalise(const std::string& name) {
    std::string n = name;
    if (n.empty() || n.front() != '/') n = "/" + n;
    while (n.size() > 1 && n.back() == '/')
        n.pop_back();
    return n;
}

std::string join_lines(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) s += '\n';
        s += v[i];
    }
    return s;
}

// The root attributes in the order they are written; checked one by one when resuming.
std::vector<std::pair<std::string, std::string>> provenance_attrs(const h5_provenance& p) {
    std::vector<std::pair<std::string, std::string>> a = {
        {"scpx_version", SCPX_VERSION}, {"scpx_git_hash", SCPX_GIT_HASH},      {"scpx_stage", p.stage},
        {"scpx_command", p.command},    {"scpx_inputs", join_lines(p.inputs)},
    };
    for (const auto& kv : p.extra)
        a.push_back(kv);
    // Every rank must write identical attribute values: take rank 0's.
    for (auto& kv : a)
        kv.second = mpi::broadcast(kv.second);
    return a;
}

std::string spec_describe(const h5_dataset_spec& s) {
    h5_info i;
    i.dtype = s.dtype;
    i.is_string = s.dtype == h5_dtype::str;
    i.is_float = s.dtype == h5_dtype::f32 || s.dtype == h5_dtype::f64;
    i.is_integer = !i.is_string && !i.is_float;
    i.string_len = s.str_len;
    i.shape = s.shape;
    return i.describe();
}

// Rank 0's verdict on an existing temporary output: "" = compatible, "!..." = unreadable,
// anything else = the first difference.
std::string check_resumable(const std::string& temp, const std::vector<h5_dataset_spec>& specs,
                            const std::vector<std::pair<std::string, std::string>>& attrs, hsize_t done_rows,
                            std::vector<std::uint8_t>& done) {
    h5_file f;
    try {
        f = h5_open_file(temp, false, h5_driver::serial);
    } catch (const error& e) {
        return std::string("!") + e.what();
    }
    try {
        for (const auto& kv : attrs) {
            if (!h5_has_attr(f.id(), kv.first)) return "attribute " + kv.first + " is missing";
            const std::string have = h5_read_attr_string(f.id(), kv.first);
            if (have != kv.second)
                return "attribute " + kv.first + " is '" + have + "', now '" + kv.second + "'";
        }
        for (const auto& s : specs) {
            if (!h5_exists(f.id(), s.name)) return "dataset " + s.name + " is missing";
            const h5_info info = h5_dataset_info(f.id(), s.name);
            const std::string want = spec_describe(s);
            if (info.describe() != want)
                return "dataset " + s.name + " is " + info.describe() + ", now " + want;
        }
        const auto mask = h5_read<std::uint8_t>(f.id(), kDoneName, 1);
        if (mask.shape[0] != done_rows)
            return "dataset /done has " + std::to_string(mask.shape[0]) + " rows, now " +
                   std::to_string(done_rows);
        done = mask.data;
    } catch (const error& e) {
        return std::string("!") + e.what();
    }
    return "";
}

/// "" when no input is newer than the unfinished output `temp`, else why not: an input edited
/// after the interrupted run last wrote its rows would give a file whose early rows come from the
/// old input (the settings check cannot see that). Inputs that are not plain files are skipped.
std::string inputs_changed_since(const std::string& temp, const std::vector<std::string>& inputs,
                                 const char* output = "the unfinished output") {
    struct stat t {};
    if (::stat(temp.c_str(), &t) != 0) return "";
    for (const auto& in : inputs) {
        struct stat st {};
        if (::stat(in.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (st.st_mtim.tv_sec > t.st_mtim.tv_sec ||
            (st.st_mtim.tv_sec == t.st_mtim.tv_sec && st.st_mtim.tv_nsec > t.st_mtim.tv_nsec))
            return "input " + in + " was modified after " + output + " was last written";
    }
    return "";
}

} // namespace

struct h5_row_writer::impl {
    std::string path, temp;
    std::vector<h5_dataset_spec> specs;
    h5_writer_options opt;
    bool resumed = false;
    bool complete = false; ///< --resume found the final output of this configuration finished
    bool closed = false;
    /// A failed run keeps its temporary output for --resume.
    bool resumable() const { return opt.done_rows > 0 && opt.keep_unfinished; }
    std::vector<std::uint8_t> done_at_open; // mask as opened
    std::vector<std::uint8_t> done_local;   // mask as opened, plus rows this rank marked
    output_claim claim;                     // this run's, until the writer is gone (rank 0)
    std::unique_ptr<atomic_output> out;     // non-resumable: removes the temp on unwinding
    std::unique_ptr<mpiio_alias> alias;     // the name MPI-IO opens `temp` by; outlives `file`
    h5_file file;
    std::vector<h5_dataset> datasets; // parallel to specs
    h5_dataset done_ds;
    h5_plist dxpl;

    // Closes every HDF5 handle (collective), then waits for all ranks: after this the file on
    // disk is complete and may be renamed or removed.
    void close_file() {
        done_ds.reset();
        datasets.clear();
        dxpl.reset();
        closed = true;
        file.close();
        mpi::barrier();
    }

    const h5_dataset_spec& spec(const std::string& name, std::size_t& index) const {
        const std::string n = normalise(name);
        for (std::size_t i = 0; i < specs.size(); ++i)
            if (specs[i].name == n) {
                index = i;
                return specs[i];
            }
        throw internal_error("h5_row_writer(" + path + "): no dataset '" + n + "' was declared");
    }

    // Collective write of `nrows` rows (sorted ascending, unique) of dataset `ds`.
    void write(hid_t ds, const std::vector<hsize_t>& shape, const hsize_t* rows, hsize_t nrows,
               hid_t mem_type, const void* buf) {
        h5_space fspace(H5Dget_space(ds));
        SCPX_H5_CHECK(fspace.id());
        hsize_t row_elems = 1;
        for (std::size_t d = 1; d < shape.size(); ++d)
            row_elems *= shape[d];
        const hsize_t n_mem = std::max<hsize_t>(1, nrows * row_elems);
        h5_space mspace(H5Screate_simple(1, &n_mem, nullptr));
        SCPX_H5_CHECK(mspace.id());
        if (nrows * row_elems == 0) {
            // Ranks without rows still take part in the collective transfer.
            SCPX_H5_CHECK(H5Sselect_none(fspace.id()));
            SCPX_H5_CHECK(H5Sselect_none(mspace.id()));
            static const double dummy = 0;
            checked_write(ds, mem_type, mspace.id(), fspace.id(), &dummy);
            return;
        }
        std::vector<hsize_t> start(shape.size(), 0), count(shape);
        bool first_run = true;
        hsize_t i = 0;
        while (i < nrows) {
            hsize_t j = i + 1;
            while (j < nrows && rows[j] == rows[j - 1] + 1)
                ++j;
            start[0] = rows[i];
            count[0] = j - i;
            SCPX_H5_CHECK(H5Sselect_hyperslab(fspace.id(), first_run ? H5S_SELECT_SET : H5S_SELECT_OR,
                                              start.data(), nullptr, count.data(), nullptr));
            first_run = false;
            i = j;
        }
        checked_write(ds, mem_type, mspace.id(), fspace.id(), buf);
    }

    // H5Dwrite, failing with the dataset, the file and, when its file system is (nearly) full,
    // that: a disk filled by another job while this one runs fails here, not at the start.
    void checked_write(hid_t ds, hid_t mem_type, hid_t mspace, hid_t fspace, const void* buf) {
        const herr_t rc = H5Dwrite(ds, mem_type, mspace, fspace, dxpl.id(), buf);
        if (rc >= 0) return;
        std::string why = detail::h5_error_string(rc);
        struct statvfs fs {};
        if (::statvfs(parent_dir(temp).c_str(), &fs) == 0 &&
            static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize) < 1e6)
            why += " (the file system of " + parent_dir(temp) + " is full)";
        char name[256] = "";
        H5Iget_name(ds, name, sizeof name);
        throw io_error("cannot write dataset " + std::string(name) + " of " + path + ": " + why);
    }
};

namespace {

/// The datasets are allocated in full when the file is created: a file system without room for
/// them is refused now, with one clear message on every rank. Found later, a write failing for
/// space inside parallel HDF5 can leave ranks waiting in a collective call, or the library unable
/// to close the file.
void require_space_for(const std::string& path, const std::vector<h5_dataset_spec>& specs,
                       hsize_t done_rows) {
    // Besides the data: the root attributes and heaps (~64 KB with room) and an object header
    // with its attributes per dataset (~1 KB; 4 KB with room).
    double need = 64.0 * 1024;
    for (const auto& s : specs) {
        need += 4096;
        double n = 1;
        for (const hsize_t d : s.shape)
            n *= static_cast<double>(d);
        need += n * static_cast<double>(elem_size(s.dtype, s.str_len));
    }
    need += static_cast<double>(done_rows);
    std::string free_text;
    if (mpi::is_root()) {
        struct statvfs fs {};
        const std::string dir = parent_dir(path);
        if (::statvfs(dir.c_str(), &fs) == 0)
            free_text = std::to_string(static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
    }
    free_text = mpi::broadcast(free_text);
    if (free_text.empty()) return; // unknown: let the writes tell
    const double free_bytes = std::stod(free_text);
    if (free_bytes < need)
        throw io_error(
            fmt::format("not enough space for {}: its datasets need {:.1f} MB, the file system of {} has "
                        "{:.1f} MB free",
                        path, need / 1e6, parent_dir(path), free_bytes / 1e6));
}

} // namespace

h5_row_writer::h5_row_writer(const std::string& path, std::vector<h5_dataset_spec> datasets,
                             const h5_provenance& provenance, const h5_writer_options& options)
    : p_(std::make_unique<impl>()) {
    mpi::ensure_initialized();
    auto& p = *p_;
    p.path = path;
    p.opt = options;
    p.specs = std::move(datasets);
    if (p.opt.resume && (p.opt.done_rows == 0 || !p.opt.keep_unfinished))
        throw usage_error("h5_row_writer(" + path +
                          "): resume needs a done mask (done_rows > 0) and keep_unfinished");
    for (auto& s : p.specs) {
        s.name = normalise(s.name);
        if (s.name == "/" || s.name == kDoneName)
            throw usage_error("h5_row_writer(" + path + "): reserved dataset name '" + s.name + "'");
        if (s.shape.empty())
            throw usage_error("h5_row_writer(" + path + "): dataset " + s.name + " has no shape");
        if (s.dtype == h5_dtype::str && s.str_len == 0)
            throw usage_error("h5_row_writer(" + path + "): string dataset " + s.name + " needs str_len > 0");
        if (s.dtype != h5_dtype::str) s.str_len = 0;
    }
    for (std::size_t i = 0; i < p.specs.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (p.specs[i].name == p.specs[j].name)
                throw usage_error("h5_row_writer(" + path + "): dataset " + p.specs[i].name +
                                  " declared twice");

    const auto attrs = provenance_attrs(provenance);
    const bool resumable = p.resumable();
    // Validates the location (and `overwrite`) on every rank, claims the output for this run for
    // as long as the writer lives (rank 0; a resumable output has no atomic_output to hold it),
    // and names the temporary file. Agreed, as only rank 0 can find the output claimed.
    mpi::on_every_rank_agreed(
        [&] {
            atomic_output probe(path, p.opt.overwrite);
            p.claim = output_claim(path);
            p.temp = probe.temp_path();
            probe.release();
        },
        "cannot write " + path + ": another rank could not (see its message)");
    if (!resumable) p.out = std::make_unique<atomic_output>(path, true);

    // Decide whether to resume: rank 0 inspects the old temporary file, everyone follows.
    if (p.opt.resume) {
        std::string verdict = "!absent";
        std::vector<std::uint8_t> mask;
        if (mpi::is_root() && path_exists(p.temp)) {
            verdict = inputs_changed_since(p.temp, provenance.inputs);
            if (verdict.empty()) verdict = check_resumable(p.temp, p.specs, attrs, p.opt.done_rows, mask);
        } else if (mpi::is_root() && path_exists(path)) {
            // No unfinished output, but a finished one: a resubmitted array task that had
            // completed. The same configuration and inputs, every row done: nothing to redo.
            std::string why = inputs_changed_since(path, provenance.inputs, "it");
            if (why.empty()) why = check_resumable(path, p.specs, attrs, p.opt.done_rows, mask);
            if (why.empty() && std::count(mask.begin(), mask.end(), std::uint8_t{1}) ==
                                   static_cast<std::ptrdiff_t>(p.opt.done_rows))
                verdict = "=complete";
            else
                SCPX_LOG_INF(
                    "--resume: {} exists but is not a finished output of this run ({}); it is made anew",
                    path,
                    why.empty()     ? "unfinished rows"
                    : why[0] == '!' ? why.substr(1)
                                    : why);
        }
        verdict = mpi::broadcast(verdict);
        if (verdict == "=complete") {
            p.complete = true;
        } else if (verdict.empty()) {
            std::string bytes(mask.begin(), mask.end());
            bytes = mpi::broadcast(bytes);
            p.done_at_open.assign(bytes.begin(), bytes.end());
            p.resumed = true;
        } else if (verdict[0] != '!') {
            throw usage_error("cannot resume " + path + ": the unfinished output " + p.temp +
                              " does not match this run (" + verdict +
                              "); remove it or run without --resume");
        } else if (verdict != "!absent") {
            SCPX_LOG_WRN("cannot reopen unfinished output {} ({}); starting afresh", p.temp,
                         verdict.substr(1));
        }
    }

    if (p.complete) {
        // Nothing is opened or written: the caller checks complete() and does no work.
        p.closed = true;
        return;
    }

    h5_plist dxpl(H5Pcreate(H5P_DATASET_XFER));
    SCPX_H5_CHECK(dxpl.id());
    SCPX_H5_CHECK(H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE));
    p.dxpl = std::move(dxpl);

    if (p.resumed) {
        p.alias = std::make_unique<mpiio_alias>(p.temp);
        p.file = h5_open_file(p.temp, true, h5_driver::mpio, p.alias->name());
        for (const auto& s : p.specs) {
            p.datasets.emplace_back(H5Dopen2(p.file.id(), s.name.c_str(), H5P_DEFAULT));
            SCPX_H5_CHECK(p.datasets.back().id());
        }
        p.done_ds.reset(H5Dopen2(p.file.id(), kDoneName, H5P_DEFAULT));
        SCPX_H5_CHECK(p.done_ds.id());
        const auto n_done = std::count(p.done_at_open.begin(), p.done_at_open.end(), 1);
        SCPX_LOG_INF("resuming {}: {} of {} rows already done", path, n_done, p.opt.done_rows);
    } else {
        require_space_for(path, p.specs, p.opt.done_rows);
        p.alias = std::make_unique<mpiio_alias>(p.temp);
        p.file = h5_create_file(p.temp, h5_driver::mpio, p.alias->name());
        // Attributes first, then datasets in declaration order: the object header and heap
        // layout then depend on the declaration only.
        for (const auto& kv : attrs)
            h5_write_attr(p.file.id(), kv.first, kv.second);
        h5_plist dcpl = h5_dataset_creation();
        auto create = [&](const std::string& name, hid_t ftype, const std::vector<hsize_t>& shape) {
            h5_group parent = h5_require_parent(p.file.id(), name);
            h5_space space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
            SCPX_H5_CHECK(space.id());
            h5_dataset ds(H5Dcreate2(p.file.id(), name.c_str(), ftype, space.id(), H5P_DEFAULT, dcpl.id(),
                                     H5P_DEFAULT));
            SCPX_H5_CHECK(ds.id());
            return ds;
        };
        for (const auto& s : p.specs) {
            if (s.dtype == h5_dtype::str) {
                h5_type t = h5_string_type(s.str_len);
                p.datasets.push_back(create(s.name, t.id(), s.shape));
            } else {
                p.datasets.push_back(create(s.name, h5_file_type(s.dtype), s.shape));
            }
            if (!s.description.empty()) h5_write_attr(p.datasets.back().id(), "description", s.description);
            for (const auto& kv : s.attrs)
                h5_write_attr(p.datasets.back().id(), kv.first, kv.second);
        }
        if (p.opt.done_rows > 0) {
            p.done_ds = create(kDoneName, H5T_STD_U8LE, {p.opt.done_rows});
            h5_write_attr(p.done_ds.id(), "description",
                          std::string("1 when the row is complete (scpx resume mask)"));
            // Zero the mask explicitly: fill values are never written, and a reused file
            // name must not inherit old bytes.
            const std::vector<std::uint8_t> zeros(
                mpi::is_root() ? static_cast<std::size_t>(p.opt.done_rows) : 0, 0);
            std::vector<hsize_t> rows;
            if (mpi::is_root()) {
                rows.resize(zeros.size());
                std::iota(rows.begin(), rows.end(), hsize_t{0});
            }
            p.write(p.done_ds.id(), {p.opt.done_rows}, rows.data(), rows.size(), H5T_NATIVE_UINT8,
                    zeros.data());
            p.done_at_open.assign(static_cast<std::size_t>(p.opt.done_rows), 0);
        }
        // Everything structural reaches the disk now; later writes are raw data only.
        SCPX_H5_CHECK(H5Fflush(p.file.id(), H5F_SCOPE_GLOBAL));
    }
    p.done_local = p.done_at_open;
    // A run stopped by a signal runs no destructor: the log's signal handler says what is kept.
    if (p.resumable() && mpi::is_root()) log::note_kept_on_signal(p.temp);
}

h5_row_writer::~h5_row_writer() {
    if (!p_ || p_->closed) return;
    auto& p = *p_;
    // Reached without finish()/abandon(): an exception is unwinding. H5Fclose is collective
    // under MPI-IO, so with several ranks it could wait forever for ranks that did not fail;
    // leave the handles to MPI_Abort then.
    if (mpi::comm_size() > 1) {
        p.dxpl.release();
        p.done_ds.release();
        for (auto& d : p.datasets)
            d.release();
        p.file.release();
    } else {
        p.done_ds.reset();
        p.datasets.clear();
        p.file.reset();
    }
    if (p.resumable() && mpi::is_root()) {
        SCPX_LOG_WRN("unfinished output kept for --resume: {}", p.temp);
        log::note_kept_on_signal("");
    }
    // A non-resumable temporary output is removed by p.out's destructor.
}

const std::string& h5_row_writer::path() const {
    return p_->path;
}
const std::string& h5_row_writer::temp_path() const {
    return p_->temp;
}
bool h5_row_writer::resumed() const {
    return p_->resumed;
}
bool h5_row_writer::complete() const {
    return p_->complete;
}
const std::vector<std::uint8_t>& h5_row_writer::done() const {
    return p_->done_at_open;
}

std::vector<hsize_t> h5_row_writer::pending_rows(hsize_t begin, hsize_t end) const {
    std::vector<hsize_t> rows;
    for (hsize_t r = begin; r < end; ++r)
        if (r >= p_->done_at_open.size() || p_->done_at_open[r] == 0) rows.push_back(r);
    return rows;
}

void h5_row_writer::write_typed(const std::string& name, const std::vector<hsize_t>* rows, hsize_t first,
                                hsize_t count, h5_dtype t, const void* values, std::size_t n_values) {
    auto& p = *p_;
    SCPX_ASSERT(!p.closed);
    std::size_t index = 0;
    const h5_dataset_spec& s = p.spec(name, index);
    if (s.dtype != t)
        throw internal_error("h5_row_writer: dataset " + s.name + " holds " + h5_dtype_name(s.dtype) +
                             ", not " + h5_dtype_name(t));
    hsize_t row_elems = 1;
    for (std::size_t d = 1; d < s.shape.size(); ++d)
        row_elems *= s.shape[d];
    if (n_values != count * row_elems)
        throw internal_error("h5_row_writer: " + std::to_string(n_values) + " values for " +
                             std::to_string(count) + " rows of " + s.name + " (" + std::to_string(row_elems) +
                             " per row)");

    // Sorted row list; a permuted copy of the values when the caller's order differs, because
    // HDF5 maps a hyperslab union onto memory in file order.
    std::vector<hsize_t> sorted;
    const void* buf = values;
    std::vector<char> permuted;
    if (rows == nullptr) {
        if (first + count > s.shape[0])
            throw internal_error("h5_row_writer: rows [" + std::to_string(first) + ", " +
                                 std::to_string(first + count) + ") outside " + s.name + " (" +
                                 std::to_string(s.shape[0]) + " rows)");
        sorted.resize(static_cast<std::size_t>(count));
        std::iota(sorted.begin(), sorted.end(), first);
    } else {
        const std::size_t n = rows->size();
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        const bool ascending = std::is_sorted(rows->begin(), rows->end());
        if (!ascending)
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return (*rows)[a] < (*rows)[b]; });
        sorted.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            sorted[i] = (*rows)[order[i]];
        for (std::size_t i = 0; i < n; ++i) {
            if (sorted[i] >= s.shape[0])
                throw internal_error("h5_row_writer: row " + std::to_string(sorted[i]) + " outside " +
                                     s.name + " (" + std::to_string(s.shape[0]) + " rows)");
            if (i > 0 && sorted[i] == sorted[i - 1])
                throw internal_error("h5_row_writer: row " + std::to_string(sorted[i]) + " of " + s.name +
                                     " given twice");
        }
        if (!ascending && n > 0) {
            const std::size_t row_bytes = static_cast<std::size_t>(row_elems) * elem_size(t, s.str_len);
            permuted.resize(n * row_bytes);
            const char* src = static_cast<const char*>(values);
            for (std::size_t i = 0; i < n; ++i)
                std::memcpy(permuted.data() + i * row_bytes, src + order[i] * row_bytes, row_bytes);
            buf = permuted.data();
        }
    }
    if (t == h5_dtype::str) {
        h5_type mt = h5_string_type(s.str_len);
        p.write(p.datasets[index].id(), s.shape, sorted.data(), sorted.size(), mt.id(), buf);
    } else {
        p.write(p.datasets[index].id(), s.shape, sorted.data(), sorted.size(), h5_memory_type(t), buf);
    }
}

namespace {
std::vector<char> pack_strings(const std::string& dataset, std::size_t len,
                               const std::vector<std::string>& values) {
    std::vector<char> buf(values.size() * len, '\0');
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i].size() > len)
            throw usage_error("value '" + values[i] + "' is longer than the " + std::to_string(len) +
                              " bytes reserved for " + dataset);
        std::memcpy(buf.data() + i * len, values[i].data(), values[i].size());
    }
    return buf;
}
} // namespace

void h5_row_writer::write_rows(const std::string& name, hsize_t first, hsize_t count,
                               const std::vector<std::string>& values) {
    std::size_t index = 0;
    const auto& s = p_->spec(name, index);
    const auto buf = pack_strings(s.name, std::max<std::size_t>(s.str_len, 1), values);
    write_typed(name, nullptr, first, count, h5_dtype::str, buf.data(), values.size());
}

void h5_row_writer::write_rows(const std::string& name, const std::vector<hsize_t>& rows,
                               const std::vector<std::string>& values) {
    std::size_t index = 0;
    const auto& s = p_->spec(name, index);
    const auto buf = pack_strings(s.name, std::max<std::size_t>(s.str_len, 1), values);
    write_typed(name, &rows, 0, rows.size(), h5_dtype::str, buf.data(), values.size());
}

void h5_row_writer::write_all_typed(const std::string& name, h5_dtype t, const void* values,
                                    std::size_t n_values) {
    std::size_t index = 0;
    const auto& s = p_->spec(name, index);
    const hsize_t rows = mpi::is_root() ? s.shape[0] : 0;
    write_typed(name, nullptr, 0, rows, t, values, mpi::is_root() ? n_values : 0);
}

void h5_row_writer::write_all(const std::string& name, const std::vector<std::string>& values) {
    std::size_t index = 0;
    const auto& s = p_->spec(name, index);
    const hsize_t rows = mpi::is_root() ? s.shape[0] : 0;
    const std::vector<std::string> none;
    write_rows(name, 0, rows, mpi::is_root() ? values : none);
}

void h5_row_writer::mark_done(const std::vector<hsize_t>& rows) {
    auto& p = *p_;
    SCPX_ASSERT(!p.closed);
    if (p.opt.done_rows == 0) return;
    std::vector<hsize_t> sorted(rows);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (hsize_t r : sorted)
        if (r >= p.opt.done_rows)
            throw internal_error("h5_row_writer::mark_done: row " + std::to_string(r) + " outside /done (" +
                                 std::to_string(p.opt.done_rows) + " rows)");
    // The rows' data must be on disk before their mark (protocol step 2).
    SCPX_H5_CHECK(H5Fflush(p.file.id(), H5F_SCOPE_GLOBAL));
    const std::vector<std::uint8_t> ones(sorted.size(), 1);
    p.write(p.done_ds.id(), {p.opt.done_rows}, sorted.data(), sorted.size(), H5T_NATIVE_UINT8, ones.data());
    for (hsize_t r : sorted)
        p.done_local[static_cast<std::size_t>(r)] = 1;
}

void h5_row_writer::mark_done(hsize_t first, hsize_t count) {
    std::vector<hsize_t> rows(static_cast<std::size_t>(count));
    std::iota(rows.begin(), rows.end(), first);
    mark_done(rows);
}

void h5_row_writer::finish() {
    auto& p = *p_;
    SCPX_ASSERT(!p.closed);
    if (p.opt.done_rows > 0) {
        std::vector<std::uint8_t> all(p.done_local.size(), 0);
        if (mpi::comm_size() > 1) {
            SCPX_MPI_CHECK(MPI_Allreduce(p.done_local.data(), all.data(), static_cast<int>(all.size()),
                                         MPI_UINT8_T, MPI_MAX, MPI_COMM_WORLD));
        } else {
            all = p.done_local;
        }
        const auto missing = std::count(all.begin(), all.end(), 0);
        if (missing > 0) {
            const auto first = std::find(all.begin(), all.end(), 0) - all.begin();
            throw internal_error("h5_row_writer::finish(" + p.path + "): " + std::to_string(missing) +
                                 " rows never marked done (first: row " + std::to_string(first) + ")");
        }
    }
    p.close_file();
    if (mpi::is_root()) log::note_kept_on_signal("");
    bool ok = true;
    std::string why;
    if (mpi::is_root()) {
        try {
            if (p.out) {
                p.out->commit();
            } else {
                atomic_output out(p.path, true);
                out.commit();
            }
        } catch (const error& e) {
            ok = false;
            why = e.what();
        }
    } else if (p.out) {
        p.out->release();
    }
    if (!mpi::all_ok(ok)) {
        if (!why.empty()) throw io_error(why);
        throw io_error("rank 0 could not rename " + p.temp + " to " + p.path);
    }
}

void h5_row_writer::abandon() {
    auto& p = *p_;
    if (p.closed) return;
    p.close_file();
    if (mpi::is_root()) log::note_kept_on_signal("");
    if (p.out) {
        if (!mpi::is_root()) p.out->release();
        p.out.reset(); // rank 0 removes the temporary output
    }
    mpi::barrier();
}

} // namespace scpx::io
