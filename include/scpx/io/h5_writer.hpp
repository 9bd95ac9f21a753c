#pragma once
/// @file h5_writer.hpp
/// Collective parallel-HDF5 writer for row-block outputs: one row per gene (or SNP, cell type...)
/// in every dataset, each MPI rank writing its own rows.
///
/// Guarantees
/// - Every rank opens the same file with the MPI-IO driver, also at one rank, so the file is
///   laid out identically at any rank count: a completed file is byte-identical whether it was
///   written by 1, 2 or 4 ranks, and across reruns (no timestamps, no rank count, no time in
///   the provenance; all storage is contiguous and allocated when the file is created).
/// - The output appears under its final name only when complete: it is written as
///   `<dir>/.<name>.scpx-tmp` (scpx::atomic_output) and renamed by rank 0 after a barrier in
///   finish().
///
/// Usage (every call is collective: every rank makes the same calls in the same order, a rank
/// with nothing to write passes no rows):
///
///     io::h5_writer_options o;  o.done_rows = n_genes;  o.resume = opt.resume;
///     io::h5_row_writer w(out, {{"gene_id", io::h5_dtype::str, {n_genes}, 24},
///                               {"pred", io::h5_dtype::f32, {n_genes, n_cells}}},
///                         prov, o);
///     auto mine = w.pending_rows(my.begin, my.end);           // skips rows already done
///     const std::size_t rounds = dist::collective_rounds(mine.size(), batch); // max over ranks
///     for (std::size_t r = 0; r < rounds; ++r) {
///         auto rows = slice(mine, r * batch, batch);           // may be empty on some ranks
///         w.write_rows("gene_id", rows, ids_of(rows));
///         w.write_rows("pred", rows, preds_of(rows));
///         w.mark_done(rows);
///     }
///     w.finish();
///
/// Resume protocol (when `done_rows > 0`)
/// 1. The file has a uint8 dataset `/done` of `done_rows` elements, 0 at creation.
/// 2. mark_done(rows) first flushes the file (data of those rows reach the disk), then sets
///    `/done[rows] = 1`. A row is therefore only ever marked after its data are written.
/// 3. All metadata (datasets, attributes) are created and flushed by the constructor; later
///    writes only touch raw data, so a job killed at any point leaves a readable temporary file.
/// 4. With `resume = true` and a temporary file present, rank 0 checks it: same datasets
///    (names, dtypes, shapes) and same provenance attributes. If they match, every rank reopens
///    it and done() holds the mask; pending_rows() skips finished rows. If the provenance
///    differs, the constructor throws usage_error (the partial output belongs to another
///    configuration); if the file is unreadable (killed while being created), it starts afresh.
///    With `resume = true`, no temporary file and a final output that passes the same checks with
///    every row done, complete() is true and nothing is written (a resubmitted array task that had
///    finished); a final output that does not pass them is made anew.
/// 5. finish() checks that every row is marked, closes, and renames. The finished file keeps
///    `/done` (all ones), so a resumed output is byte-identical to an uninterrupted one.
/// 6. The provenance must not contain the resume flag, thread counts, verbosity or anything
///    else that may differ between the interrupted and the resuming run.
/// When the writer is destroyed without finish() (an exception), a resumable temporary output is
/// kept for the next --resume; a non-resumable one is removed.

#include "scpx/io/h5.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scpx::io {

/// Layout of one dataset of a row-block output.
struct h5_dataset_spec {
    std::string name;               ///< path in the file ("/gene_id" or "pred/expr"; groups are created)
    h5_dtype dtype = h5_dtype::f32; ///< element type
    std::vector<hsize_t> shape;     ///< full shape [rows, cols...], at least 1-D; rows = shape[0]
    std::size_t str_len = 0;        ///< dtype str: bytes per element, fixed-length, null-padded (> 0)
    std::string description;        ///< written as the dataset's "description" attribute when set
    std::vector<std::pair<std::string, std::string>> attrs; ///< further string attributes
};

/// What produced an output. Stored as root attributes scpx_version, scpx_git_hash, scpx_stage,
/// scpx_command, scpx_inputs (one per line) and the `extra` pairs, in that order.
struct h5_provenance {
    std::string stage;               ///< pipeline stage ("predict-epi")
    std::string command;             ///< options in effect, as a re-runnable command line
    std::vector<std::string> inputs; ///< input files as given
    std::vector<std::pair<std::string, std::string>> extra; ///< more string attributes
};

/// Options of h5_row_writer.
struct h5_writer_options {
    hsize_t done_rows = 0; ///< > 0: keep a `/done` uint8 row mask of this length (resumable)
    bool resume = false;   ///< reopen a matching unfinished temporary output (needs done_rows)
    bool overwrite = true; ///< false: throw usage_error when the final output exists
    /// With a done mask: keep a failed run's temporary output for `resume`. false: write the mask
    /// but remove the temporary output on failure, as without one (a run with nothing to resume).
    bool keep_unfinished = true;
};

/// Collective row-block writer over MPI_COMM_WORLD. Not copyable; every method is collective.
class h5_row_writer {
public:
    /// Creates (or, when resuming, reopens) the temporary output and declares every dataset.
    /// @throws usage_error for an invalid layout, io_error when the file cannot be created
    h5_row_writer(const std::string& path, std::vector<h5_dataset_spec> datasets,
                  const h5_provenance& provenance, const h5_writer_options& options = {});
    ~h5_row_writer();
    h5_row_writer(const h5_row_writer&) = delete;
    h5_row_writer& operator=(const h5_row_writer&) = delete;

    /// Final path.
    const std::string& path() const;
    /// Temporary path written until finish().
    const std::string& temp_path() const;
    /// True when an unfinished output was reopened.
    bool resumed() const;
    /// True when, with `resume` and no unfinished output, the final output exists with this
    /// run's datasets and provenance, every row done and no input newer than it: nothing was
    /// opened, and the caller must write nothing (not even finish()) — the task is done.
    bool complete() const;
    /// The `/done` mask as it was when the file was opened (empty without a mask).
    const std::vector<std::uint8_t>& done() const;
    /// Rows in [begin, end) not yet done (all of them without a mask), ascending.
    std::vector<hsize_t> pending_rows(hsize_t begin, hsize_t end) const;

    /// Writes this rank's rows [first, first + count) of `name`; `values` holds count × (row
    /// size) elements, row-major. Collective. T must match the dataset's dtype.
    template <class T>
    void write_rows(const std::string& name, hsize_t first, hsize_t count, const T* values,
                    std::size_t n_values) {
        write_typed(name, nullptr, first, count, h5_dtype_of<T>::value, values, n_values);
    }
    /// Writes this rank's `rows` (any order, no duplicates); `values` follows the order of `rows`.
    template <class T>
    void write_rows(const std::string& name, const std::vector<hsize_t>& rows, const T* values,
                    std::size_t n_values) {
        write_typed(name, &rows, 0, rows.size(), h5_dtype_of<T>::value, values, n_values);
    }
    /// Vector forms of the above.
    template <class T>
    void write_rows(const std::string& name, hsize_t first, hsize_t count, const std::vector<T>& values) {
        write_rows(name, first, count, values.data(), values.size());
    }
    template <class T>
    void write_rows(const std::string& name, const std::vector<hsize_t>& rows, const std::vector<T>& values) {
        write_rows(name, rows, values.data(), values.size());
    }
    /// String rows (dtype str); strings longer than the dataset's str_len throw usage_error.
    void write_rows(const std::string& name, hsize_t first, hsize_t count,
                    const std::vector<std::string>& values);
    void write_rows(const std::string& name, const std::vector<hsize_t>& rows,
                    const std::vector<std::string>& values);

    /// Writes the whole dataset from rank 0's `values` (other ranks' values are ignored): for
    /// small tables such as column names. Collective.
    template <class T>
    void write_all(const std::string& name, const std::vector<T>& values) {
        write_all_typed(name, h5_dtype_of<T>::value, values.data(), values.size());
    }
    void write_all(const std::string& name, const std::vector<std::string>& values);

    /// Marks rows as finished (flushes first, see the protocol). No-op without a mask.
    void mark_done(const std::vector<hsize_t>& rows);
    void mark_done(hsize_t first, hsize_t count);

    /// Checks every row is marked (with a mask), closes the file and renames it into place.
    void finish();
    /// Closes without finishing: keeps the temporary output when resumable, removes it otherwise.
    void abandon();

private:
    struct impl;
    std::unique_ptr<impl> p_;
    void write_typed(const std::string& name, const std::vector<hsize_t>* rows, hsize_t first, hsize_t count,
                     h5_dtype t, const void* values, std::size_t n_values);
    void write_all_typed(const std::string& name, h5_dtype t, const void* values, std::size_t n_values);
};

} // namespace scpx::io
