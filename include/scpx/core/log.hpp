#pragma once
/// @file log.hpp
/// Rank-aware logging. Rank 0 writes information to stdout, warnings and errors to stderr and,
/// once a log file is opened, tees everything into it (`<out>.log`; the file keeps information
/// even when the console threshold is higher, as with --verbosity warn); other ranks write warnings
/// and errors to stderr prefixed "[rank r]" — except warnings every rank shares
/// (SCPX_LOG_WRN_SHARED), which rank 0 writes once for all.
/// The log file belongs to the run's results: it is written under a temporary name and becomes
/// `<out>.log` only when the run succeeds, so a failed or refused rerun never replaces the log of
/// the results already on disk; a failed run's log is kept as `<out>.failed.log` instead.
/// The SCPX_LOG_* macros do not evaluate their arguments below the verbosity threshold.

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace scpx::log {

/// Severity, in increasing order.
enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Parses "debug|info|warn|error|off" or MetaXcan-style numbers (10 debug … 40 error).
/// @throws usage_error on anything else.
level parse_level(std::string_view text);

/// Sets up the console sinks for this process. Safe to call more than once.
void init(int rank, int nranks, level verbosity = level::info);

/// Sets the threshold; messages below it are skipped.
void set_verbosity(level v);
level verbosity();

/// Rank 0 only: also write every message to a log file that becomes `path` when closed with
/// outcome::succeeded. Other ranks ignore the call. @throws io_error, usage_error (atomic_output)
void open_file(const std::string& path);

/// How the run that owns the log file ended.
enum class outcome {
    succeeded, ///< the file becomes `path` (replacing an earlier log); a stale `.failed.log` goes
    failed,    ///< the file becomes failed_log_path(path); `path` stays as it was
    abandoned  ///< the file is removed (the run left its outputs, and their log, untouched)
};
/// Flushes and closes the log file, if any, and gives it its final name.
void close_file(outcome how = outcome::succeeded);
/// A run stopped by a signal (time limit, Ctrl-C, another rank's error) keeps `path` for
/// --resume: the log's signal handler says so in the log ("" forgets it).
void note_kept_on_signal(const std::string& path);
/// Final path of the open log file ("" when none).
std::string file_path();
/// True when a write to the log file failed (its file system full): it stopped being written,
/// as a warning said, and a failed run's log that holds nothing is not kept.
bool file_incomplete();
/// `x.log` → `x.failed.log`: where a failed run's log goes.
std::string failed_log_path(const std::string& path);

/// True when a message at `l` would be written by this rank (to its console or its log file).
bool enabled(level l);

/// Writes one message (a trailing newline is added).
void write(level l, std::string_view message);

/// Rank of this process as given to init() (0 before init).
int rank();
/// Number of ranks as given to init() (1 before init).
int nranks();

} // namespace scpx::log

#define SCPX_LOG_AT(lvl, ...)                                                                     \
    do {                                                                                          \
        if (::scpx::log::enabled(lvl)) ::scpx::log::write(lvl, ::fmt::format(__VA_ARGS__));      \
    } while (0)
#define SCPX_LOG_DBG(...) SCPX_LOG_AT(::scpx::log::level::debug, __VA_ARGS__)
#define SCPX_LOG_INF(...) SCPX_LOG_AT(::scpx::log::level::info, __VA_ARGS__)
#define SCPX_LOG_WRN(...) SCPX_LOG_AT(::scpx::log::level::warn, __VA_ARGS__)
#define SCPX_LOG_ERR(...) SCPX_LOG_AT(::scpx::log::level::error, __VA_ARGS__)
/// A warning that every rank would raise alike — about an input all ranks read, or an option — is
/// written by rank 0 alone, so that N ranks do not print it N times. A finding about this rank's
/// own share of the work (its genes, its device) keeps SCPX_LOG_WRN, which every rank writes
/// ("[rank r]" on ranks other than 0).
#define SCPX_LOG_WRN_SHARED(...)                                                                  \
    do {                                                                                          \
        if (::scpx::log::rank() == 0) SCPX_LOG_WRN(__VA_ARGS__);                                  \
    } while (0)
