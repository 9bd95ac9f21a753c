// One run writes an output at a time: an advisory lock next to the output (see output_claim.hpp).
#include "scpx/core/output_claim.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scpx {

namespace {

// Claims this process holds, one per lock file (by the file's identity, so two spellings of one
// output share an entry instead of this process locking itself out). Never destroyed: claims of
// static objects (the log file's) are released at exit in no fixed order relative to this.
struct held_lock {
    int fd = -1;
    int refs = 0;
    std::string path; ///< the lock file, removed with the last release
};
std::mutex& claims_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::map<std::string, held_lock>& held() {
    static auto* m = new std::map<std::string, held_lock>;
    return *m;
}

std::string file_identity(const struct stat& st) {
    return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
}

/// The name of this machine ("?" when unknown), as holder lines name it.
std::string this_host() {
    char host[256] = {0};
    if (::gethostname(host, sizeof host - 1) != 0) return "?";
    return host;
}

/// "pid 123 on node7 since 2026-11-29 12:50:01 UTC": what another run is told about the holder.
std::string holder_text() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char when[32] = {0};
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return fmt::format("pid {} on {} since {}", static_cast<long>(::getpid()), this_host(), when);
}

/// The holder's line of a lock file; a holder that has just taken the lock may not have written
/// it yet, so an empty file is read again for a moment.
std::string read_holder(int fd) {
    for (int attempt = 0;; ++attempt) {
        char buf[512] = {0};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
            s.pop_back();
        if (!s.empty() || attempt == 10) return s;
        ::usleep(20000);
    }
}

/// What a refused run is told about the holder: its line, unless that names a process of this
/// host that has ended — then the line is an earlier holder's, left in a lock file the present
/// holder could not rewrite (another user's file in a sticky folder).
std::string describe_holder(const std::string& line) {
    if (line.empty()) return "a process holds the lock";
    long pid = 0;
    char host[256] = {0};
    if (std::sscanf(line.c_str(), "pid %ld on %255s", &pid, host) == 2 && pid > 0) {
        if (this_host() == host && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            return "a process holds the lock; its file still names an earlier holder, " + line +
                   ", which has ended";
    }
    return line;
}

/// Files written in place of an output (output_set's staged files) -> the output they stand in for.
std::map<std::string, std::string>& stand_ins() {
    static auto* m = new std::map<std::string, std::string>;
    return *m;
}

std::string output_named(const std::string& path) {
    std::lock_guard<std::mutex> lock(claims_mutex());
    const auto it = stand_ins().find(path);
    return it == stand_ins().end() ? path : it->second;
}

/// The lock file exists but cannot serve (a folder, a link, another kind of file): the run goes
/// on, as the output itself is fine, but says that it is unprotected and why.
void warn_unclaimable(const std::string& output, const std::string& lock_file, const std::string& why) {
    {
        // Once per lock file: an output's writers may each ask for its claim.
        static auto* warned = new std::set<std::string>;
        std::lock_guard<std::mutex> lock(claims_mutex());
        if (!warned->insert(lock_file).second) return;
    }
    SCPX_LOG_WRN(
        "cannot claim output {}: its lock file {} {}; another run given the same output now would not "
        "be noticed (remove {} if no run is writing {})",
        output, lock_file, why, lock_file, output);
}

} // namespace

std::string output_claim::lock_path(const std::string& path) {
    return sibling_name(path, ".", ".scpx-lock");
}

void output_claim::add_stand_in(const std::string& stand_in, const std::string& path) {
    std::lock_guard<std::mutex> lock(claims_mutex());
    stand_ins()[stand_in] = path;
}

void output_claim::remove_stand_in(const std::string& stand_in) noexcept {
    std::lock_guard<std::mutex> lock(claims_mutex());
    stand_ins().erase(stand_in);
}

output_claim::output_claim(const std::string& path) {
    // The ranks of one run write its outputs together; rank 0 claims them for the run.
    if (detail::world_rank_or_minus_one() > 0) return;
    const std::string output = output_named(path);
    const std::string lp = lock_path(output);
    // A few tries: the file opened may be removed by its holder, releasing it, just before our
    // lock; that lock would be on a file nobody else sees, so it is dropped and taken anew.
    for (int attempt = 0; attempt < 5; ++attempt) {
        // Not through a link: the file is truncated and written, and it must be the lock file.
        // Readable and writable by whoever may write the output (0666 less the umask), so that
        // the members of a shared group folder claim through one file.
        bool ours = true;
        // Non-blocking: opening a FIFO put in its place must not wait for a writer.
        int fd = ::open(lp.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
        if (fd < 0 && (errno == EACCES || errno == EPERM)) {
            // Another user's lock file (a sticky folder refuses even to open it with O_CREAT):
            // a lock needs no write access.
            fd = ::open(lp.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            ours = false;
        }
        if (fd < 0) {
            const int e = errno;
            warn_unclaimable(output, lp,
                             e == ELOOP    ? "is a link"
                             : e == EISDIR ? "is a folder"
                                           : std::string("cannot be opened: ") + std::strerror(e));
            return;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
            ::close(fd);
            // A FIFO or device, or a hard link to another file, which writing would overwrite.
            warn_unclaimable(output, lp,
                             S_ISREG(st.st_mode) ? "has other names (a hard link)" : "is not a regular file");
            return;
        }
        const std::string id = file_identity(st);
        std::unique_lock<std::mutex> lock(claims_mutex());
        auto it = held().find(id);
        if (it != held().end()) { // this process holds it already (a nested claim)
            ::close(fd);
            ++it->second.refs;
            key_ = id;
            return;
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int e = errno;
            lock.unlock();
            if (e == EWOULDBLOCK) {
                const std::string holder = describe_holder(read_holder(fd));
                ::close(fd);
                throw usage_error(fmt::format(
                    "output {} is being written by another run ({}; its lock file is {}): wait for that run "
                    "to end, or give this one another output name",
                    output, holder, lp));
            }
            ::close(fd);
            // Lustre mounted without flock, some NFS setups: said once, as it holds for every output.
            static std::atomic<bool> said{false};
            if (!said.exchange(true))
                SCPX_LOG_INF("the file system of {} gives no file locks ({}): two runs given the same output "
                             "would not be noticed",
                             parent_dir(lp), std::strerror(e));
            return;
        }
        struct stat now {};
        if (::lstat(lp.c_str(), &now) != 0 || file_identity(now) != id) {
            ::close(fd); // released by its holder and removed in between: take the new one
            continue;
        }
        if (!ours) {
            // A stale lock file of another user: replaced by one of ours, which can say who holds
            // it. Where the folder does not allow that (sticky), it is held as it is.
            if (::unlink(lp.c_str()) == 0) {
                ::close(fd);
                continue;
            }
        } else {
            const std::string text = holder_text() + "\n";
            if (::ftruncate(fd, 0) == 0) {
                [[maybe_unused]] const ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
            }
            // Readable by all whatever the umask (077 made it 0600): another user writing into
            // the same folder can then open it to test the lock. It holds a pid, a host, a time.
            if (st.st_uid == ::geteuid() && (st.st_mode & 0444) != 0444)
                ::fchmod(fd, (st.st_mode & 07777) | 0444);
        }
        held()[id] = held_lock{fd, 1, lp};
        // main() removes it before MPI_Abort, as it does the temporaries.
        detail::track_temporary(lp);
        key_ = id;
        return;
    }
    throw io_error("cannot claim output " + output + ": its lock file " + lp + " keeps being replaced");
}

output_claim::~output_claim() {
    if (key_.empty()) return;
    std::lock_guard<std::mutex> lock(claims_mutex());
    auto it = held().find(key_);
    if (it == held().end() || --it->second.refs > 0) return;
    // Removed while still locked, so a process that opened it meanwhile finds it replaced.
    ::unlink(it->second.path.c_str());
    detail::untrack_temporary(it->second.path);
    ::close(it->second.fd);
    held().erase(it);
}

output_claim::output_claim(output_claim&& other) noexcept : key_(std::move(other.key_)) {
    other.key_.clear();
}

output_claim& output_claim::operator=(output_claim&& other) noexcept {
    if (this != &other) {
        output_claim old(std::move(*this));
        key_ = std::move(other.key_);
        other.key_.clear();
    }
    return *this;
}

} // namespace scpx
