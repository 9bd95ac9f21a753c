#pragma once
/// @file output_set.hpp
/// The output files of one l-ctPred run (lctpred's .db, covariance and summary; enet cv's three
/// tables) appear together or not at all. Each writer writes a complete file to a staging name
/// next to its final path; only when every file of the set is complete are they renamed into
/// place, one after the other. If one of those renames fails, the renames done before it are
/// undone (an output it replaced is put back), so a failed run never leaves a mix of new and
/// old outputs.
///
///     output_set outs(overwrite);
///     const std::size_t db = outs.add(prefix + ".db");   // checked now: before any work
///     write_db(outs.staged(db));
///     outs.commit();                                    // all renames, consecutively

#include "scpx/core/output_claim.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace scpx::enet {

/// A set of outputs committed together. Not copyable. Staged files not committed are removed
/// by the destructor.
class output_set {
public:
    /// @param overwrite  when false, an existing output is refused (usage_error) by add()
    explicit output_set(bool overwrite) : overwrite_(overwrite) {}
    ~output_set();
    output_set(const output_set&) = delete;
    output_set& operator=(const output_set&) = delete;

    /// Checks `path` (check_output_path), claims it for this run (output_claim: another run
    /// writing it is refused) and adds it; returns its index.
    std::size_t add(const std::string& path);
    /// Collective over MPI_COMM_WORLD: every rank adds `paths` (indices from size() on, in
    /// order); if one fails on any rank, every rank throws (that rank its own error, the others
    /// io_error naming `who`). Then rank 0 owns the staged files and the others release them.
    void add_on_every_rank(const std::vector<std::string>& paths, const std::string& who);
    /// Where the writer puts output i: `<dir>/.scpx-staged.<name>` (same directory, so the
    /// rename is atomic; same ending, so ".gz" still selects gzip).
    const std::string& staged(std::size_t i) const { return files_[i].staged; }
    const std::string& path(std::size_t i) const { return files_[i].path; }

    /// Renames every staged file into place. An output that exists is first moved aside and
    /// restored if a later rename fails. @throws io_error naming the file that failed and
    /// saying that no output of this run was kept (or, if even the undo failed, which are new).
    void commit();
    /// Leaves staged files alone (another MPI rank owns them).
    void release() noexcept;

private:
    struct file {
        std::string path, staged, backup;
    };
    std::vector<file> files_;
    std::vector<output_claim> claims_; ///< released after the staged files are gone
    bool overwrite_;
    bool committed_ = false, owned_ = true;
};

} // namespace scpx::enet
