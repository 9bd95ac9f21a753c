#include "scpx/core/log.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <unistd.h>

namespace scpx::log {

namespace {

struct state {
    std::mutex mutex;
    int rank = 0, nranks = 1;
    std::atomic<int> threshold{static_cast<int>(level::info)};
    std::shared_ptr<spdlog::logger> console; // rank 0: stdout (information); other ranks: stderr
    std::shared_ptr<spdlog::logger> errors;  // stderr: warnings and errors on every rank
    std::shared_ptr<spdlog::logger> file;    // rank 0's log, under its temporary name …
    std::atomic<bool> file_open{false};      // … (read without the mutex by enabled())
    std::atomic<bool> file_broken{false};    // … a write to it failed: it stopped being written
    std::unique_ptr<atomic_output> file_out; // … which this renames when the run ends
};

state& global() {
    static state s;
    return s;
}

std::shared_ptr<spdlog::logger> make_console(bool to_stdout) {
    // Messages are formatted here, so spdlog adds nothing but the text ("%v").
    std::shared_ptr<spdlog::logger> logger;
    if (to_stdout)
        logger = std::make_shared<spdlog::logger>("scpx", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    else
        logger = std::make_shared<spdlog::logger>("scpx_err", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::trace);
    return logger;
}

const char* prefix(level l) {
    switch (l) {
    case level::debug: return "[debug] ";
    case level::warn: return "WARNING: ";
    case level::error: return "ERROR: ";
    default: return "";
    }
}

// A run ended by a signal (SLURM's time limit, Ctrl-C, MPI_Abort from another rank) runs no
// destructor: the handler renames the temporary log to the failed run's name, so the log is kept
// where the user looks and no hidden temporary is left. Only async-signal-safe calls (rename,
// signal, raise) on paths prepared when the file was opened.
char g_signal_temp[4096];
char g_signal_failed[4096];
volatile std::sig_atomic_t g_signal_armed = 0;
// "WARNING: unfinished output kept for --resume: PATH\n", prepared by note_kept_on_signal.
char g_signal_kept[4200];
volatile std::sig_atomic_t g_signal_kept_len = 0;

/// Appends `text` (n bytes) to the temporary log; async-signal-safe.
void append_on_signal(const char* text, std::size_t n) {
    const int fd = ::open(g_signal_temp, O_WRONLY | O_APPEND);
    if (fd < 0) return;
    const ssize_t w = ::write(fd, text, n);
    (void)w; // nothing more to do in a signal handler if it fails
    ::close(fd);
}

extern "C" void keep_log_on_signal(int sig) {
    if (g_signal_armed) {
        g_signal_armed = 0;
        if (g_signal_kept_len > 0)
            append_on_signal(g_signal_kept, static_cast<std::size_t>(g_signal_kept_len));
        // The log's last line says why it ends there. Under mpirun, SIGTERM is usually another
        // rank's error, which that rank printed on stderr (only rank 0 writes this log).
        // Put together without allocating (a signal handler): "signal 2", "signal 15".
        static const char head[] = "ERROR: stopped by signal ";
        static const char tail[] =
            " (a time limit, Ctrl-C, or an error on another MPI rank: see the job's stderr)\n";
        char line[sizeof head + 2 + sizeof tail];
        std::size_t n = sizeof head - 1;
        std::memcpy(line, head, n);
        if (sig >= 10) line[n++] = static_cast<char>('0' + (sig / 10) % 10);
        line[n++] = static_cast<char>('0' + sig % 10);
        std::memcpy(line + n, tail, sizeof tail - 1);
        n += sizeof tail - 1;
        append_on_signal(line, n);
        std::rename(g_signal_temp, g_signal_failed);
    }
    // The run's unfinished outputs go too (no destructor will run), after the log has been moved
    // out of their way. features' resumable temporary is not among them: it is kept for --resume.
    detail::remove_live_temporaries_on_signal();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void arm_signal_handler(const std::string& temp, const std::string& failed) {
    if (temp.size() >= sizeof g_signal_temp || failed.size() >= sizeof g_signal_failed) return;
    g_signal_armed = 0;
    std::memcpy(g_signal_temp, temp.c_str(), temp.size() + 1);
    std::memcpy(g_signal_failed, failed.c_str(), failed.size() + 1);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        struct sigaction old {};
        // Leave a handler someone else installed (MPI, a debugger) alone.
        if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) std::signal(sig, keep_log_on_signal);
    }
    g_signal_armed = 1;
}

} // namespace

level parse_level(std::string_view t) {
    if (t == "debug" || t == "10" || t == "1" || t == "2" || t == "3" || t == "4" || t == "5" || t == "6" ||
        t == "7" || t == "8" || t == "9")
        return level::debug;
    if (t == "info" || t == "20") return level::info;
    if (t == "warn" || t == "warning" || t == "30") return level::warn;
    if (t == "error" || t == "40" || t == "50") return level::error;
    if (t == "off" || t == "quiet") return level::off;
    throw usage_error("--verbosity must be debug, info, warn, error, off or a number 1..50 (got '" +
                      std::string(t) + "')");
}

void init(int rank, int nranks, level verbosity) {
    auto& s = global();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.rank = rank;
    s.nranks = nranks;
    s.threshold = static_cast<int>(verbosity);
    if (!s.console) {
        s.console = make_console(rank == 0);
        s.errors = make_console(false);
    }
}

void set_verbosity(level v) { global().threshold = static_cast<int>(v); }
level verbosity() { return static_cast<level>(global().threshold.load()); }
int rank() { return global().rank; }
int nranks() { return global().nranks; }

std::string failed_log_path(const std::string& path) {
    const std::string ext = ".log";
    const bool has_ext = path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
    return sibling_name(has_ext ? path.substr(0, path.size() - ext.size()) : path, "", ".failed.log");
}

void open_file(const std::string& path) {
    auto& s = global();
    if (s.rank != 0) return;
    // Checks and temporary name of any output (directory writable, not an input of the run).
    make_parent_dirs(path);
    auto out = std::make_unique<atomic_output>(path);
    // The failed run's log replaces, and a success removes, <log>.failed.log: it is an output too.
    try {
        check_output_path(failed_log_path(path), /*overwrite=*/true);
    } catch (const error& e) {
        throw usage_error(std::string(e.what()) + " (it is where the log goes if this run fails)");
    }
    std::lock_guard<std::mutex> lock(s.mutex);
    try {
        auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(out->temp_path(), /*truncate=*/true);
        s.file = std::make_shared<spdlog::logger>("scpx_file", sink);
    } catch (const spdlog::spdlog_ex& e) {
        throw io_error("cannot open log file " + path + ": " + e.what());
    }
    s.file->set_pattern("%v");
    s.file->set_level(spdlog::level::trace);
    s.file->flush_on(spdlog::level::info);
    // A log that cannot be written (its file system full) says so once, in scpx's words, and
    // stops being written; the run goes on (its outputs report their own write errors). spdlog's
    // default would print a raw "[*** LOG ERROR ***]" line for every message.
    s.file->set_error_handler([path](const std::string& why) {
        auto& st = global();
        if (!st.file_open.exchange(false)) return;
        st.file_broken = true;
        std::fprintf(stderr, "WARNING: the log %s is no longer written: %s\n", path.c_str(), why.c_str());
    });
    s.file_open = true;
    s.file_broken = false;
    arm_signal_handler(out->temp_path(), failed_log_path(path));
    s.file_out = std::move(out);
}

void note_kept_on_signal(const std::string& path) {
    g_signal_kept_len = 0;
    if (path.empty()) return;
    const std::string line = "WARNING: unfinished output kept for --resume: " + path + "\n";
    if (line.size() > sizeof g_signal_kept) return;
    std::memcpy(g_signal_kept, line.data(), line.size());
    g_signal_kept_len = static_cast<std::sig_atomic_t>(line.size());
}

bool file_incomplete() {
    return global().file_broken.load();
}

std::string file_path() {
    auto& s = global();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.file_out ? s.file_out->path() : std::string();
}

void close_file(outcome how) {
    auto& s = global();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.file) s.file->flush();
    s.file.reset(); // closes the temporary file before it is renamed
    s.file_open = false;
    g_signal_armed = 0;
    if (!s.file_out) return;
    std::unique_ptr<atomic_output> out = std::move(s.file_out);
    const std::string failed = failed_log_path(out->path());
    // Best effort: a log that cannot be renamed must not hide the run's own outcome.
    switch (how) {
    case outcome::succeeded:
        try {
            out->commit();
            std::remove(failed.c_str()); // an earlier failure's log no longer describes these outputs
        } catch (const error& e) {
            std::fprintf(stderr, "WARNING: %s\n", e.what());
        }
        break;
    case outcome::failed:
        if (s.file_broken && file_bytes(out->temp_path()) == 0) break; // nothing to keep: removed
        if (std::rename(out->temp_path().c_str(), failed.c_str()) == 0) out->release();
        else std::fprintf(stderr, "WARNING: cannot keep the log as %s: %s\n", failed.c_str(), std::strerror(errno));
        break;
    case outcome::abandoned: break; // the atomic_output's destructor removes the temporary file
    }
}

namespace {

/// Whether `l` goes to the console of this rank: at or above the threshold; other ranks stay
/// quiet unless something goes wrong (or debugging was asked for).
bool to_console(const state& s, level l) {
    const int t = s.threshold.load();
    // A fatal error is shown even at --verbosity off: a run must not end in silence.
    if (static_cast<int>(l) < std::min(t, static_cast<int>(level::error))) return false;
    return s.rank == 0 || l >= level::warn || t == static_cast<int>(level::debug);
}

/// Whether `l` goes to the log file: information at least, whatever the console shows — the log
/// is the record of the run (options in effect, inputs, timings) even with --verbosity warn.
bool to_file(const state& s, level l) {
    return s.file_open.load() &&
           static_cast<int>(l) >= std::min(s.threshold.load(), static_cast<int>(level::info));
}

} // namespace

bool enabled(level l) {
    const auto& s = global();
    return to_console(s, l) || to_file(s, l);
}

void write(level l, std::string_view message) {
    auto& s = global();
    if (!s.console) init(s.rank, s.nranks, static_cast<level>(s.threshold.load()));
    std::string text;
    if (s.rank != 0) text = "[rank " + std::to_string(s.rank) + "] ";
    text += prefix(l);
    text.append(message.data(), message.size());
    std::lock_guard<std::mutex> lock(s.mutex);
    if (to_console(s, l)) (l >= level::warn ? s.errors : s.console)->info(text);
    if (s.file && to_file(s, l)) s.file->info(text);
}

} // namespace scpx::log
