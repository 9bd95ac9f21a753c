#include "scpx/dist/ompio_semaphore.hpp"

#include <mpi.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <semaphore.h>

namespace scpx::mpi {

std::string ompio_semaphore_name(const std::string& path) {
    // basename(3) as Open MPI calls it: trailing slashes do not occur for a file.
    const std::size_t slash = path.find_last_of('/');
    const std::string name = "OMPIO_" + (slash == std::string::npos ? path : path.substr(slash + 1));
    return name.substr(0, 251); // snprintf(name, 252, "OMPIO_%s", base)
}

bool release_stale_ompio_semaphore(const std::string& path, double wait_seconds) {
#if defined(OPEN_MPI)
    const std::string name = ompio_semaphore_name(path);
    sem_t* sem = ::sem_open(name.c_str(), 0);
    if (sem == SEM_FAILED) return false; // none (the usual case), or another user's
    timespec deadline{};
    ::clock_gettime(CLOCK_REALTIME, &deadline);
    const double whole = std::floor(wait_seconds);
    deadline.tv_sec += static_cast<time_t>(whole);
    deadline.tv_nsec += static_cast<long>((wait_seconds - whole) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_nsec -= 1000000000L;
        ++deadline.tv_sec;
    }
    int rc;
    while ((rc = ::sem_timedwait(sem, &deadline)) != 0 && errno == EINTR) {
    }
    const bool stale = rc != 0 && errno == ETIMEDOUT;
    // Taken in time: it was only busy, give it back. Not in time: nobody will — give it back for
    // them (a process hung on it then goes on).
    if (rc == 0 || stale) ::sem_post(sem);
    ::sem_close(sem);
    return stale;
#else
    (void)path;
    (void)wait_seconds;
    return false;
#endif
}

} // namespace scpx::mpi
