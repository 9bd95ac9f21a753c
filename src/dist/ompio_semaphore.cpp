#include "scpx/dist/ompio_semaphore.hpp"

#include <mpi.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scpx::mpi {

std::string ompio_semaphore_name(const std::string& path) {
    // basename(3) as Open MPI calls it: trailing slashes do not occur for a file.
    const std::size_t slash = path.find_last_of('/');
    const std::string name = "OMPIO_" + (slash == std::string::npos ? path : path.substr(slash + 1));
    return name.substr(0, 251); // snprintf(name, 252, "OMPIO_%s", base)
}

namespace {

timespec deadline_after(double seconds) {
    timespec t{};
    ::clock_gettime(CLOCK_REALTIME, &t);
    const double whole = std::floor(seconds);
    t.tv_sec += static_cast<time_t>(whole);
    t.tv_nsec += static_cast<long>((seconds - whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_nsec -= 1000000000L;
        ++t.tv_sec;
    }
    return t;
}

bool before(const timespec& deadline) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec < deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec);
}

} // namespace

ompio_semaphore_check release_stale_ompio_semaphore(const std::string& path, double wait_seconds) {
    ompio_semaphore_check out;
    const std::string name = ompio_semaphore_name(path);
    out.file = "/dev/shm/sem." + name;
#if defined(OPEN_MPI)
    const timespec deadline = deadline_after(wait_seconds);
    sem_t* sem = ::sem_open(name.c_str(), 0);
    if (sem == SEM_FAILED) {
        if (errno != EACCES) return out; // none (the usual case)
        // Another user's: gone once their open has passed its barrier, unless their process
        // died there.
        struct stat st {};
        while (::stat(out.file.c_str(), &st) == 0) {
            if (!before(deadline)) {
                out.state = ompio_semaphore_check::kind::foreign;
                out.owner_uid = static_cast<unsigned>(st.st_uid);
                return out;
            }
            ::usleep(20000);
        }
        return out;
    }
    int rc;
    while ((rc = ::sem_timedwait(sem, &deadline)) != 0 && errno == EINTR) {
    }
    const bool stale = rc != 0 && errno == ETIMEDOUT;
    // Taken in time: it was only busy, give it back. Not in time: nobody will — give it back for
    // them (a process hung on it then goes on).
    if (rc == 0 || stale) ::sem_post(sem);
    ::sem_close(sem);
    if (stale) out.state = ompio_semaphore_check::kind::released;
#else
    (void)wait_seconds;
#endif
    return out;
}

} // namespace scpx::mpi
