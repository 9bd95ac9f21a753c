// A short MPI-IO name for a long path (mpiio_alias.hpp): a symlink beside the file, reached
// through the folder's descriptor in /proc/self/fd.
#include "scpx/io/mpiio_alias.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"
#include "scpx/dist/mpi.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace scpx::io {

mpiio_alias::mpiio_alias(const std::string& path) : name_(path) {
    if (path.size() <= max_length) return;
    const std::string dir = parent_dir(path), base = base_name(path);
    const std::string link_base = fmt::format(".scpx-io.{:016x}", fnv1a64(base));
    link_ = beside(path, link_base);
    std::string failure;
    if (mpi::is_root()) {
        // The target first, so that the link never dangles (MPI-IO then creates nothing).
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        const bool made = fd >= 0;
        if (fd >= 0)
            ::close(fd);
        else if (errno != EEXIST)
            failure = "cannot create " + path + ": " + std::strerror(errno);
        ::unlink(link_.c_str()); // a stale one of a run that was killed
        if (failure.empty() && ::symlink(base.c_str(), link_.c_str()) != 0) {
            failure = "cannot make the short MPI-IO name " + link_ + " for " + path + ": " + std::strerror(errno);
            if (made) ::unlink(path.c_str()); // nothing of this run stays behind
        }
    }
    failure = mpi::broadcast(failure); // every rank stops alike, or none does
    if (!failure.empty()) throw io_error(failure);
    dir_fd_ = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    const std::string why = dir_fd_ < 0 ? std::strerror(errno) : "";
    if (mpi::sum(dir_fd_ < 0 ? 1LL : 0LL) > 0) { // a rank that cannot must not leave the others waiting
        if (dir_fd_ >= 0) ::close(dir_fd_);
        if (mpi::is_root()) ::unlink(link_.c_str());
        throw io_error("cannot open the folder " + dir + " of " + path +
                       (why.empty() ? " on another rank" : ": " + why));
    }
    name_ = "/proc/self/fd/" + std::to_string(dir_fd_) + "/" + link_base;
}

mpiio_alias::~mpiio_alias() {
    if (dir_fd_ >= 0) ::close(dir_fd_);
    if (!link_.empty() && mpi::is_root()) ::unlink(link_.c_str());
}

} // namespace scpx::io
