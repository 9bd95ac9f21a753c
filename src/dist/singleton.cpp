#include "scpx/dist/singleton.hpp"

#include "scpx/dist/mpi.hpp"

#include <mpi.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <signal.h>
#include <string>
#include <sys/types.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace scpx::mpi {

namespace {

std::string g_folder;                // this process's session folder, once prepare_singleton() has set one
std::vector<std::string> g_settings; // "name=value" of each variable prepare_singleton() set
enum class start_kind { unknown, launched, plain };
start_kind g_start = start_kind::unknown;

bool process_alive(long pid) {
    // EPERM: the pid exists but belongs to someone else (reused) — not ours to judge ended.
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Where Open MPI itself would put its session folders (opal_tmp_directory, or the user's base).
std::string session_parent(const singleton::env_reader& env) {
    for (const char* name : {"OMPI_MCA_orte_tmpdir_base", "TMPDIR", "TEMP", "TMP"}) {
        const char* value = env(name);
        if (value && *value) return value;
    }
    return "/tmp";
}

void set_unless_given(const char* name, const std::string& value) {
    if (std::getenv(name)) return;
    ::setenv(name, value.c_str(), /*overwrite=*/0);
    g_settings.push_back(std::string(name) + "=" + value);
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

std::string singleton_folder_name(unsigned uid, const std::string& host, long pid) {
    return "scpx-ompi." + std::to_string(uid) + "." + host + "." + std::to_string(pid);
}

long singleton_folder_pid(const std::string& name, unsigned uid, const std::string& host) {
    const std::string prefix = "scpx-ompi." + std::to_string(uid) + "." + host + ".";
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9) return -1; // beyond any pid_max
    for (const char c : digits) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    }
    const long pid = std::stol(digits);
    return pid > 0 ? pid : -1;
}

std::size_t sweep_ended_singletons(const std::string& parent, unsigned uid, const std::string& host,
                                   const std::function<bool(long)>& alive) {
    namespace fs = std::filesystem;
    std::size_t removed = 0;
    std::error_code ec;
    fs::directory_iterator it(parent, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const long pid = singleton_folder_pid(it->path().filename().string(), uid, host);
        if (pid < 0 || alive(pid)) continue;
        std::error_code gone;
        // symlink_status: a link of that name is removed itself, never followed.
        if (!fs::is_directory(fs::symlink_status(it->path(), gone))) continue;
        if (fs::remove_all(it->path(), gone) != static_cast<std::uintmax_t>(-1) && !gone) ++removed;
    }
    return removed;
}

} // namespace singleton

void prepare_singleton() {
#if defined(OPEN_MPI)
    static bool done = false;
    if (done) return;
    done = true;
    const singleton::env_reader env = [](const char* name) {
        return static_cast<const char*>(std::getenv(name));
    };
    g_start = singleton::started_by_launcher(env) ? start_kind::launched : start_kind::plain;
    if (g_start == start_kind::launched) return;
    const std::string parent = session_parent(env);
    const std::string host = host_name();
    const unsigned uid = static_cast<unsigned>(::getuid());
    singleton::sweep_ended_singletons(parent, uid, host, process_alive);
    set_unless_given("OMPI_MCA_pml", "ob1");
    // Isolated only with our transport list: a btl list of the user's may hold vader, whose shared
    // memory segment is named by job id in /dev/shm — the same id in every isolated singleton.
    if (!env("OMPI_MCA_btl")) {
        set_unless_given("OMPI_MCA_btl", "self");
        set_unless_given("OMPI_MCA_ess_singleton_isolated", "1");
    }
    if (!env("OMPI_MCA_orte_top_session_dir")) {
        g_folder = parent + "/" + singleton::singleton_folder_name(uid, host, static_cast<long>(::getpid()));
        set_unless_given("OMPI_MCA_orte_top_session_dir", g_folder);
    }
#endif
}

std::string start_description() {
    // Read as prepare_singleton() found it: after MPI_Init, Open MPI's own singleton start puts
    // OMPI_COMM_WORLD_* into the environment, so a plain run would look launched.
    if (g_start == start_kind::unknown) return "";
    if (g_start == start_kind::launched) return "by a launcher (mpirun, srun)";
    if (g_settings.empty()) return "a plain run, MPI settings as given";
    std::string all = "a plain run, lone-rank settings";
    for (const std::string& setting : g_settings)
        all += " " + setting;
    return all;
}

void remove_singleton_folder() {
    if (g_folder.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(g_folder, ignored);
}

} // namespace scpx::mpi
