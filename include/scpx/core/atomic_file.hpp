#pragma once
/// @file atomic_file.hpp
/// Outputs appear under their final name only when complete: write to a temporary name in the
/// same directory, then rename (atomic on POSIX). An output that is abandoned, because an
/// exception unwinds past it, is removed, so no partial file is ever left behind.

#include "scpx/core/output_claim.hpp"

#include <string>

namespace scpx {

/// One output file written under a temporary name and renamed on commit().
///
///     atomic_output out(path);            // checks the directory is writable now, not at the end
///     write_everything(out.temp_path());
///     out.commit();                       // rename temp → path
///
/// The temporary name is deterministic (`<dir>/.<name>.scpx-tmp`) so every MPI rank agrees on
/// it; with MPI only one rank should call commit() (after a barrier). Because it is, the output
/// is claimed for this run (output_claim) while the object lives: another run asking for the
/// same output is refused instead of writing the same temporary file.
class atomic_output {
public:
    /// @param path       final path
    /// @param overwrite  when false and `path` exists, throws usage_error
    /// @throws usage_error also when another run is writing `path` (output_claim)
    explicit atomic_output(std::string path, bool overwrite = true);
    ~atomic_output();
    atomic_output(const atomic_output&) = delete;
    atomic_output& operator=(const atomic_output&) = delete;

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_; }

    /// Renames the temporary file to the final path. @throws io_error if that fails.
    void commit();
    /// Removes the temporary file now (also done by the destructor unless committed).
    void discard() noexcept;
    /// After release(), the temporary file is another rank's: neither the destructor nor the
    /// last-resort removals (MPI_Abort, a signal) of this process touch it.
    void release() noexcept;

private:
    std::string path_, temp_;
    output_claim claim_;
    bool committed_ = false, owned_ = true;
};

/// The output whose working copy (atomic_output::temp_path) `path` is, for messages: "a/x.h5" for
/// "a/.x.h5.scpx-tmp"; "" for any other path (and for working names of 255 bytes, which may be the
/// hashed ones of longer outputs).
std::string output_of_working_copy(const std::string& path);

/// Throws io_error naming `path` when it is an existing directory, or unless its directory
/// exists and is writable.
void require_writable_location(const std::string& path);

/// Checks that `path` can become an output of this run: not an input of the run
/// (require_not_an_input), a writable location (require_writable_location), and, unless
/// `overwrite`, not an existing file. Every way of writing an output (atomic_output, l-ctPred's
/// output_set) checks through here, so they refuse the same paths with the same words.
/// @throws usage_error (an input, or exists and !overwrite) / io_error (not writable)
void check_output_path(const std::string& path, bool overwrite);

/// Creates the parent directory of `path` (and its parents) when missing.
void make_parent_dirs(const std::string& path);

/// The directory part of a file path: "a/b.txt" → "a", "b.txt" → ".", "/b.txt" → "/".
std::string parent_dir(const std::string& path);
/// The file name part of a path: "a/b.txt" → "b.txt".
std::string base_name(const std::string& path);
/// The path of file `name` in the folder of `path`, that folder written as given (so messages
/// show the user's spelling): ("a/b.txt", ".x") → "a/.x", ("b.txt", ".x") → ".x".
std::string beside(const std::string& path, const std::string& name);

/// A working file beside `path`: `<dir>/<dot><name><suffix>` (dot "." for hidden ones: the staged
/// output, the lock file). A name longer than file systems allow (255 bytes) keeps its first
/// bytes and gets a hash of the whole name instead of the rest, the same in every run (so that
/// --resume finds the staged output of a long output name).
std::string sibling_name(const std::string& path, const std::string& dot, const std::string& suffix);

/// True when `path` names an existing file or directory.
bool path_exists(const std::string& path);

/// Size of the file `path` in bytes, -1 when it cannot be stat'ed.
long long file_bytes(const std::string& path);

/// Records that the running command reads the existing file `path` (`given_as`: how the user
/// named it, e.g. "--features feat.h5:/X"). From then on an atomic_output whose final path is
/// that file (by device and inode, so another spelling of the path or a link is caught too) is
/// refused with a usage_error before anything is written: an output can never replace an input.
/// Paths that do not name an existing regular file are ignored.
void note_input_file(const std::string& path, const std::string& given_as);
/// Forgets every recorded input (tests; a new command in the same process).
void clear_input_files();
/// atomic_output's check, for writers that stage their own temporaries: throws usage_error when
/// `path` is a file recorded by note_input_file.
void require_not_an_input(const std::string& path);

} // namespace scpx

namespace scpx::detail {
/// Removes every temporary output of live atomic_output objects. main()'s catch-all calls it
/// before MPI_Abort, which ends the process without running destructors.
void remove_live_temporaries() noexcept;
/// The same from a signal handler: async-signal-safe (no lock, no allocation), for the
/// temporaries registered while fixed slots were free (64 at once, paths under 4 KiB).
void remove_live_temporaries_on_signal() noexcept;
/// For writers that stage their own temporary files: registers `path` so that
/// remove_live_temporaries() removes it too, until untrack_temporary(path).
void track_temporary(const std::string& path);
void untrack_temporary(const std::string& path) noexcept;
} // namespace scpx::detail
