#pragma once
/// @file ompio_semaphore.hpp
/// Open MPI's MPI-IO (OMPIO) keeps a file's shared file pointer, when the ranks share a node, under
/// a named POSIX semaphore "OMPIO_<file name>" (/dev/shm/sem.OMPIO_<name>) — named by the file's
/// base name alone, no folder, no job. Rank 0 of every MPI_File_open takes it for one store and
/// gives it back, and the name is unlinked once all ranks have opened. A process that dies in
/// between (killed, or a SIGBUS from a full disk under its session folder) leaves it taken, and
/// every later MPI_File_open of a file of that name on the node waits for ever — scpx's staged
/// outputs have fixed names, so the next run of the same command would hang silently (seen in
/// the twenty-second session after a QA crash).

#include <string>

namespace scpx::mpi {

/// What release_stale_ompio_semaphore() found.
struct ompio_semaphore_check {
    enum class kind {
        free,     ///< none, or one that was only busy
        released, ///< one left taken by a dead process, given back (the caller logs it)
        foreign   ///< another user's, still there after the wait: Open MPI will fail to open it
    } state = kind::free;
    std::string file;       ///< where glibc keeps it: /dev/shm/sem.<ompio_semaphore_name>
    unsigned owner_uid = 0; ///< for foreign
};

/// Call on rank 0 before opening `path` with MPI-IO. When `path`'s OMPIO semaphore exists and stays
/// taken for `wait_seconds` (Open MPI holds it for a single store), it was left by a dead process:
/// it is given back, which also frees any process hung on it. Another user's semaphore cannot be
/// opened (mode 0644); one that is still there after the wait (a live open goes in milliseconds)
/// is reported as foreign, so the caller can say why MPI_File_open would fail. Never throws; a
/// no-op with MPI libraries other than Open MPI.
ompio_semaphore_check release_stale_ompio_semaphore(const std::string& path, double wait_seconds = 2.0);

/// The semaphore's name for `path`, as Open MPI forms it ("OMPIO_" + base name, at most 251
/// characters).
std::string ompio_semaphore_name(const std::string& path);

} // namespace scpx::mpi
