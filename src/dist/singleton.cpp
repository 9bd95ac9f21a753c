#include "scpx/dist/singleton.hpp"

#include "scpx/core/text.hpp"
#include "scpx/dist/mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <signal.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace scpx::mpi {

namespace {

std::string g_folder;                // this process's session folder, once prepare_singleton() has set one
mode_t g_umask = 0;                  // the caller's umask while MPI_Init runs under one keeping owner rwx
bool g_umask_changed = false;
std::vector<std::pair<std::string, std::string>> g_settings; // each variable prepare_singleton() set
enum class start_kind { unknown, launched, plain };
start_kind g_start = start_kind::unknown;

bool process_alive(long pid) {
    // EPERM: the pid exists but belongs to someone else (reused) — not ours to judge ended.
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// The inode number of this process's pid namespace ("pid:[4026531836]"), 0 when unknown. Pids are
// only unique, and kill(pid, 0) only meaningful, within one namespace.
std::uint64_t pid_namespace() {
    std::error_code ec;
    const std::string link = std::filesystem::read_symlink("/proc/self/ns/pid", ec).string();
    const auto open = link.find('['), close = link.find(']');
    if (ec || open == std::string::npos || close == std::string::npos || close <= open + 1) return 0;
    return std::strtoull(link.substr(open + 1, close - open - 1).c_str(), nullptr, 10);
}

// Open MPI's parameter files, highest precedence first: OMPI_MCA_mca_base_param_files when set (a
// comma-separated list, "none" for no file), else the user's, then the installation's
// (OPAL_PREFIX when Open MPI was moved).
std::vector<std::string> mca_param_files(const singleton::env_reader& env) {
    std::vector<std::string> files;
    if (const char* list = env("OMPI_MCA_mca_base_param_files"); list && *list) {
        const std::string all = list;
        if (all == "none") return files;
        for (std::size_t at = 0; at <= all.size();) {
            const std::size_t end = std::min(all.find(',', at), all.size());
            if (end > at) files.push_back(all.substr(at, end - at));
            at = end + 1;
        }
        return files;
    }
    if (const char* home = env("HOME"); home && *home)
        files.push_back(std::string(home) + "/.openmpi/mca-params.conf");
    if (const char* prefix = env("OPAL_PREFIX"); prefix && *prefix)
        files.push_back(std::string(prefix) + "/etc/openmpi-mca-params.conf");
    files.push_back(std::string(SCPX_OMPI_SYSCONFDIR) + "/openmpi-mca-params.conf");
    return files;
}

// A parameter as Open MPI would read it: the environment's OMPI_MCA_<name>, else the first
// parameter file that sets it; empty when neither does.
std::string mca_param(const singleton::env_reader& env, const std::string& name) {
    const std::string var = "OMPI_MCA_" + name;
    if (const char* value = env(var.c_str())) return value;
    return singleton::mca_file_value(mca_param_files(env), name);
}

// Where Open MPI itself would put its session folders (opal_tmp_directory, or the base set), and
// what chose it, for a message about it.
struct session_base {
    std::string folder;
    std::string chosen_by;
    std::string remedy;
};

session_base session_parent(const singleton::env_reader& env) {
    if (std::string base = mca_param(env, "orte_tmpdir_base"); !base.empty())
        return {base, "Open MPI's orte_tmpdir_base",
                "set orte_tmpdir_base to a writable local folder with free space"};
    for (const char* name : {"TMPDIR", "TEMP", "TMP"}) {
        const char* value = env(name);
        if (value && *value)
            return {value, name,
                    std::string("point ") + name + " at a writable local folder with free space"};
    }
    return {"/tmp", "the default, no TMPDIR set", "point TMPDIR at a writable local folder with free space"};
}

void set_for_open_mpi(const char* name, const std::string& value) {
    ::setenv(name, value.c_str(), /*overwrite=*/1);
    g_settings.emplace_back(name, value);
}

} // namespace

namespace singleton {

bool started_by_launcher(const env_reader& env) {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMIX_NAMESPACE",
                             "PMI_RANK", "PMI_SIZE", "PMI_FD", "PMI_PORT"}) {
        if (env(name)) return true;
    }
    return false;
}

std::string mca_file_value(const std::vector<std::string>& files, const std::string& name) {
    for (const std::string& file : files) {
        std::ifstream in(file);
        std::string line;
        bool found = false;
        std::string value;
        while (std::getline(in, line)) {
            // As Open MPI's keyval parser: '#' starts a comment only at the start of a line (a
            // value keeps it), and the last line that sets a name wins within a file.
            const std::string_view text = trim(line);
            if (text.empty() || text.front() == '#') continue;
            const auto eq = text.find('=');
            if (eq == std::string_view::npos || trim(text.substr(0, eq)) != name) continue;
            found = true;
            value = std::string(trim(text.substr(eq + 1)));
        }
        if (found) return value;
    }
    return "";
}

std::string singleton_folder_name(const folder_owner& owner, long pid) {
    return "scpx-ompi." + std::to_string(owner.uid) + "." + owner.host + "." +
           std::to_string(owner.pid_namespace) + "." + std::to_string(pid);
}

long singleton_folder_pid(const std::string& name, const folder_owner& owner) {
    std::string prefix = singleton_folder_name(owner, 0);
    prefix.pop_back(); // the "0"
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9) return -1; // beyond any pid_max
    for (const char c : digits) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    }
    const long pid = std::stol(digits);
    return pid > 0 ? pid : -1;
}

// Made before MPI_Init, so that a temporary folder MPI cannot use
// gets one line naming it instead of Open MPI's 50 lines from inside MPI_Init (its orte_init
// failure text never says which variable chose the folder) — or a SIGBUS in MPI_File_open, where a
// full file system let the folder be made but not the small file Open MPI maps there for MPI-IO's
// shared file pointer. Missing folders are made owner-only (0700, whatever the umask), as Open MPI
// makes them, and removed again when a later step fails.
void create_session_folder(const std::string& folder, unsigned uid) {
    std::vector<std::string> made;
    const auto fail = [&](const std::string& what) {
        for (auto it = made.rbegin(); it != made.rend(); ++it)
            ::rmdir(it->c_str());
        throw mpi_error(what);
    };
    const auto reason = [](const std::string& path) {
        return path + ": " + std::error_code(errno, std::generic_category()).message();
    };
    const std::filesystem::path whole(folder);
    std::string path;
    for (auto part = whole.begin(); part != whole.end(); ++part) {
        if (part->empty()) continue; // a trailing separator
        path = *part == "/" ? "/" : (path.empty() || path == "/" ? path : path + "/") + part->string();
        if (*part == "/") continue;
        const bool last = std::next(part) == whole.end();
        if (::mkdir(path.c_str(), S_IRWXU) == 0) {
            made.push_back(path);
            ::chmod(path.c_str(), S_IRWXU);
            continue;
        }
        if (errno != EEXIST) fail(reason(path));
        if (!last) continue;
        // The name holds this pid: a folder of that name was left by a killed earlier process with
        // the same pid (this user's: made anew) or put there by someone else (refused — MPI's
        // files would live in a folder another user controls).
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) fail(reason(path));
        if (!S_ISDIR(st.st_mode) || st.st_uid != uid)
            fail(path + " exists and is not a folder of this user's");
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
        if (ec || ::mkdir(path.c_str(), S_IRWXU) != 0) fail(reason(path));
        made.push_back(path);
        ::chmod(path.c_str(), S_IRWXU);
    }
    // Room for Open MPI's files: a few pages written (and so allocated) and removed again.
    const std::string probe = folder + "/space-check";
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) fail(reason(probe));
    static const char zeros[64 * 1024] = {};
    bool room = true;
    for (std::size_t written = 0; room && written < sizeof zeros;) {
        const ssize_t n = ::write(fd, zeros + written, sizeof zeros - written);
        if (n > 0)
            written += static_cast<std::size_t>(n);
        else if (!(n < 0 && errno == EINTR))
            room = false;
    }
    if (room && ::fsync(fd) != 0 && errno != EINVAL) room = false; // NFS reports a full disk late
    const int write_errno = errno;
    ::close(fd);
    ::unlink(probe.c_str());
    if (!room) {
        errno = write_errno ? write_errno : ENOSPC;
        fail(reason(probe));
    }
}

std::size_t sweep_ended_singletons(const std::string& parent, const folder_owner& owner,
                                   const std::function<bool(long)>& alive) {
    namespace fs = std::filesystem;
    std::size_t removed = 0;
    std::error_code ec;
    fs::directory_iterator it(parent, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const long pid = singleton_folder_pid(it->path().filename().string(), owner);
        if (pid < 0 || alive(pid)) continue;
        // A folder of ours only: not a link (never followed), not another user's of that name.
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != owner.uid) continue;
        std::error_code gone;
        if (fs::remove_all(it->path(), gone) != static_cast<std::uintmax_t>(-1) && !gone) ++removed;
    }
    return removed;
}

} // namespace singleton

void prepare_singleton() {
#if defined(OPEN_MPI)
    // Done only once it succeeded: a library caller that caught the error and calls again gets
    // the same check (and, once the folder can be made, the lone-rank start), never a bare
    // MPI_Init.
    static bool done = false;
    if (done) return;
    const singleton::env_reader env = [](const char* name) {
        return static_cast<const char*>(std::getenv(name));
    };
    g_start = singleton::started_by_launcher(env) ? start_kind::launched : start_kind::plain;
    if (g_start == start_kind::launched) {
        done = true;
        return;
    }
    // Folders that killed runs left behind go first, whether this run isolates or not.
    const session_base parent = session_parent(env);
    const singleton::folder_owner owner{static_cast<unsigned>(::getuid()), host_name(), pid_namespace()};
    singleton::sweep_ended_singletons(parent.folder, owner, process_alive);
    // Isolated (no orted) only in a session folder of our own — isolated singletons all get job
    // family 0 and would share one — and with our btl list: one of the user's may hold vader,
    // whose /dev/shm segment is named by that job id too.
    const bool isolate = mca_param(env, "orte_top_session_dir").empty() && !env("OMPI_MCA_btl") &&
                         mca_param(env, "ess_singleton_isolated").empty();
    std::string folder;
    if (isolate) {
        folder = parent.folder + "/" + singleton::singleton_folder_name(owner, static_cast<long>(::getpid()));
        try { // before anything is set
            singleton::create_session_folder(folder, owner.uid);
        } catch (const mpi_error& e) {
            throw mpi_error("cannot use " + parent.folder + " (" + parent.chosen_by +
                            ") for MPI's session folder: " + e.what() + "; " + parent.remedy);
        }
    }
    // The transport: the in-process one; a user's choice wins (a site file's does not: it is
    // written for jobs with peers, which a lone rank has not).
    if (!env("OMPI_MCA_pml")) set_for_open_mpi("OMPI_MCA_pml", "ob1");
    done = true;
    if (!isolate) return;
    set_for_open_mpi("OMPI_MCA_btl", "self");
    set_for_open_mpi("OMPI_MCA_ess_singleton_isolated", "1");
    g_folder = folder;
    set_for_open_mpi("OMPI_MCA_orte_top_session_dir", g_folder);
    // Open MPI makes its job folders inside with the process umask: one that takes the owner's
    // write or search bit (umask 0200, 0277) leaves it unable to use them. Until MPI is up, the
    // owner keeps rwx (singleton_started() puts the caller's umask back).
    const mode_t mask = ::umask(0);
    ::umask(mask & 077);
    g_umask = mask;
    g_umask_changed = (mask & 0700) != 0;
    if (!g_umask_changed) ::umask(mask);
#endif
}

void singleton_started() {
    // Open MPI has read them: a program this one starts must not take them for a user's setting
    // (it would share this run's session folder, and its MPI_Finalize delete it).
    for (const auto& [name, value] : g_settings)
        ::unsetenv(name.c_str());
    if (g_umask_changed) ::umask(g_umask);
    g_umask_changed = false;
}

std::string start_description() {
    // Read as prepare_singleton() found it: after MPI_Init, Open MPI's own singleton start puts
    // OMPI_COMM_WORLD_* into the environment, so a plain run would look launched.
    if (g_start == start_kind::unknown) return "";
    if (g_start == start_kind::launched) return "by a launcher (mpirun, srun)";
    if (g_settings.empty()) return "a plain run, MPI settings as given";
    std::string all = "a plain run, lone-rank settings";
    for (const auto& [name, value] : g_settings)
        all += " " + name + "=" + value;
    return all;
}

void remove_singleton_folder() {
    if (g_folder.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(g_folder, ignored);
}

} // namespace scpx::mpi
