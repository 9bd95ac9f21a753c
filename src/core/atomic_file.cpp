#include "scpx/core/atomic_file.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace scpx {

/// NAME_MAX of ext4, XFS, Lustre, GPFS and tmpfs: the longest file name they take.
constexpr std::size_t kNameMax = 255;

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string beside(const std::string& path, const std::string& name) {
    const auto slash = path.find_last_of('/');
    return (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + name;
}

namespace {
// atomic_output's working copy is `.<name>.scpx-tmp` (sibling_name); output_of_working_copy undoes it.
// (constants, not std::strings: usable whatever the order of static initialisation)
constexpr char working_copy_dot[] = ".";
constexpr char working_copy_suffix[] = ".scpx-tmp";
} // namespace

std::string output_of_working_copy(const std::string& path) {
    const std::string prefix = working_copy_dot, suffix = working_copy_suffix;
    const std::string name = base_name(path);
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return "";
    // A working name of the full 255 bytes may be a hashed one (sibling_name), which cannot be undone.
    if (name.size() >= kNameMax) return "";
    return beside(path, name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
}

std::string sibling_name(const std::string& path, const std::string& dot, const std::string& suffix) {
    const std::string name = base_name(path);
    std::string sibling = dot + name + suffix;
    if (sibling.size() > kNameMax) {
        // The name's extensions stay (".covariance.txt.gz": whether it is compressed is read
        // from them), the hash takes the place of the middle.
        const std::size_t ext = name.find('.', name.size() > 24 ? name.size() - 24 : 1);
        const std::string tail = ext == std::string::npos ? std::string() : name.substr(ext);
        const std::string hash = fmt::format("~{:016x}", fnv1a64(name));
        sibling = dot + name.substr(0, kNameMax - dot.size() - hash.size() - tail.size() - suffix.size()) +
                  hash + tail + suffix;
    }
    return beside(path, sibling);
}

namespace {

// Temporary files still open, so main()'s last-resort handler can remove them before
// MPI_Abort kills the process without unwinding.
// Never destroyed: atomic_output objects owned by other statics (the log file's) are destroyed
// at exit in an order the language does not fix relative to these.
std::mutex& temps_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::vector<std::string>& live_temps() {
    static auto* v = new std::vector<std::string>;
    return *v;
}

// The same paths for a signal handler (SLURM's time limit, Ctrl-C, another rank's MPI_Abort),
// which may take no lock: fixed slots of C strings, each claimed and released through an atomic
// state, so the handler reads only complete paths (lock-free atomics and unlink are
// async-signal-safe). A path that finds no slot (or is too long) is still removed on the ordinary
// error paths, only not on a signal.
constexpr int kSignalSlots = 64;
enum slot_state : int { kFree = 0, kBusy = 1, kLive = 2 };
char g_slot_path[kSignalSlots][4096];
std::atomic<int> g_slot_state[kSignalSlots];

void claim_signal_slot(const std::string& p) noexcept {
    if (p.size() >= sizeof g_slot_path[0]) return;
    for (int i = 0; i < kSignalSlots; ++i) {
        int expected = kFree;
        if (!g_slot_state[i].compare_exchange_strong(expected, kBusy)) continue;
        std::memcpy(g_slot_path[i], p.c_str(), p.size() + 1);
        g_slot_state[i].store(kLive);
        return;
    }
}

void release_signal_slot(const std::string& p) noexcept {
    for (int i = 0; i < kSignalSlots; ++i) {
        if (g_slot_state[i].load() != kLive || p != g_slot_path[i]) continue;
        int expected = kLive;
        if (!g_slot_state[i].compare_exchange_strong(expected, kBusy)) continue;
        g_slot_path[i][0] = '\0';
        g_slot_state[i].store(kFree);
        return;
    }
}

void track(const std::string& p) {
    std::lock_guard<std::mutex> lock(temps_mutex());
    live_temps().push_back(p);
    claim_signal_slot(p);
}

void untrack(const std::string& p) noexcept {
    std::lock_guard<std::mutex> lock(temps_mutex());
    auto& v = live_temps();
    const auto before = v.size();
    v.erase(std::remove(v.begin(), v.end(), p), v.end());
    for (auto n = before - v.size(); n > 0; --n) release_signal_slot(p);
}

struct input_file {
    dev_t dev;
    ino_t ino;
    std::string given_as;
};

std::vector<input_file>& inputs() {
    static auto* v = new std::vector<input_file>;
    return *v;
}

/// Throws usage_error when `path` is a file recorded by note_input_file.
void refuse_if_input(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return; // a new file cannot be an input
    std::lock_guard<std::mutex> lock(temps_mutex());
    for (const auto& in : inputs())
        if (in.dev == st.st_dev && in.ino == st.st_ino)
            throw usage_error("output " + path + " is the input file given as " + in.given_as +
                              "; writing it would destroy that input: choose another output name");
}

} // namespace

void note_input_file(const std::string& path, const std::string& given_as) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    std::lock_guard<std::mutex> lock(temps_mutex());
    inputs().push_back({st.st_dev, st.st_ino, given_as});
}

void require_not_an_input(const std::string& path) { refuse_if_input(path); }

void clear_input_files() {
    std::lock_guard<std::mutex> lock(temps_mutex());
    inputs().clear();
}

long long file_bytes(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

void make_parent_dirs(const std::string& path) {
    const std::string dir = parent_dir(path);
    if (dir == "." || dir == "/" || path_exists(dir)) return;
    make_parent_dirs(dir);
    if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
        throw io_error("cannot create directory " + dir + ": " + std::strerror(errno));
}

void require_writable_location(const std::string& path) {
    if (path.empty()) throw usage_error("an output path is empty");
    struct stat st {};
    // A directory under an output's name would only fail at the final rename, after the work.
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw io_error("cannot write " + path + ": it is a directory");
    const std::string dir = parent_dir(path);
    if (::stat(dir.c_str(), &st) != 0)
        throw io_error("cannot write " + path + ": directory " + dir + " does not exist");
    if (!S_ISDIR(st.st_mode)) throw io_error("cannot write " + path + ": " + dir + " is not a directory");
    if (::access(dir.c_str(), W_OK) != 0)
        throw io_error("cannot write " + path + ": directory " + dir + " is not writable");
    if (path_exists(path) && ::access(path.c_str(), W_OK) != 0 && ::access(dir.c_str(), W_OK) != 0)
        throw io_error("cannot write " + path + ": the file exists and is read-only");
}

void check_output_path(const std::string& path, bool overwrite) {
    refuse_if_input(path);
    // Found now, not at the rename after hours of work.
    const std::string name = base_name(path);
    if (name.size() > kNameMax)
        throw usage_error("output " + path + ": its name is " + std::to_string(name.size()) +
                          " bytes long, more than the " + std::to_string(kNameMax) +
                          " a file system takes: give a shorter name");
    // The rename at commit would replace a device, FIFO or socket (as root: /dev/null itself).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        throw usage_error("output " + path +
                          " exists and is not a regular file (a device, FIFO or socket); writing it would "
                          "replace it: give a file name");
    require_writable_location(path);
    if (!overwrite && path_exists(path))
        throw usage_error("output " + path + " exists; pass --overwrite to replace it");
}

atomic_output::atomic_output(std::string path, bool overwrite) : path_(std::move(path)) {
    check_output_path(path_, overwrite);
    claim_ = output_claim(path_);
    temp_ = sibling_name(path_, working_copy_dot, working_copy_suffix);
    track(temp_);
}

atomic_output::~atomic_output() {
    if (!committed_ && owned_) discard();
    untrack(temp_);
}

void atomic_output::commit() {
    if (committed_) return;
    if (std::rename(temp_.c_str(), path_.c_str()) != 0)
        throw io_error("cannot rename " + temp_ + " to " + path_ + ": " + std::strerror(errno));
    committed_ = true;
    untrack(temp_);
}

void atomic_output::release() noexcept {
    owned_ = false;
    untrack(temp_);
}

void atomic_output::discard() noexcept {
    if (!temp_.empty()) std::remove(temp_.c_str());
}

namespace detail {
/// Removes every temporary output still registered; called by main() before MPI_Abort.
void remove_live_temporaries() noexcept {
    std::lock_guard<std::mutex> lock(temps_mutex());
    for (const auto& p : live_temps()) std::remove(p.c_str());
    live_temps().clear();
}

void remove_live_temporaries_on_signal() noexcept {
    for (int i = 0; i < kSignalSlots; ++i)
        if (g_slot_state[i].load() == kLive) ::unlink(g_slot_path[i]);
}

void track_temporary(const std::string& path) { track(path); }
void untrack_temporary(const std::string& path) noexcept { untrack(path); }
} // namespace detail

} // namespace scpx
