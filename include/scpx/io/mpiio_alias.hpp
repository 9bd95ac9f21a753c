#pragma once
/// @file mpiio_alias.hpp
/// A short name for MPI-IO to open a file of a long path by.
///
/// Open MPI 4.1's MPI-IO copies the path it is given into fixed 256-byte buffers (its lockedfile
/// component's lock test, run at every open): a longer path aborts the process with "buffer
/// overflow detected", whatever the file system allows. A deep HPC project folder reaches that
/// quickly. A path longer than mpiio_alias::max_length is therefore opened through an alias: a
/// symlink `.scpx-io.<hash of the name>` beside the file (relative, so it stays valid on every
/// node of a shared file system), reached through `/proc/self/fd/<descriptor of the folder>`,
/// which each rank resolves in its own process. Shorter paths are used as they are.

#include <string>

namespace scpx::io {

class mpiio_alias {
public:
    /// Paths up to this many bytes go to MPI-IO as they are: 256 bytes less ".locktest.", a rank
    /// of up to 7 digits and the terminating NUL, rounded down.
    static constexpr std::size_t max_length = 230;

    /// The name MPI-IO opens `path` by. Collective over MPI_COMM_WORLD when the path is long (rank
    /// 0 makes the symlink, and creates `path` empty when it does not exist, so the link never
    /// dangles); the object must outlive the file's closing (Open MPI removes its helper files by
    /// the name it was given).
    /// @throws io_error naming the path when the folder cannot be opened or the link made
    explicit mpiio_alias(const std::string& path);
    ~mpiio_alias();
    mpiio_alias(const mpiio_alias&) = delete;
    mpiio_alias& operator=(const mpiio_alias&) = delete;

    /// What to pass to MPI-IO (HDF5's MPI-IO driver).
    const std::string& name() const { return name_; }
    /// True when name() is an alias, not the path itself.
    bool aliased() const { return dir_fd_ >= 0; }

private:
    std::string name_;
    std::string link_; ///< the symlink's real path (rank 0 removes it)
    int dir_fd_ = -1;
};

} // namespace scpx::io
