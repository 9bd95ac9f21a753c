#pragma once
/// @file run.hpp
/// What every subcommand shares: common options, the start-of-run banner with the options in
/// effect (as a command that reruns the job), the log file, and the total-time line.

#include "scpx/core/timer.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace scpx::cli {

/// Options every stage accepts.
struct common_options {
    std::string out;              ///< output prefix or file; the log goes to <out>.log
    std::string verbosity = "info";
    int threads = 0;              ///< 0: all cores available to this rank
    std::uint64_t seed = 1024;
    bool overwrite = true;
    int split = 1;                ///< SLURM arrays: the job list is cut into `split` parts …
    int job = 0;                  ///< … and this run does part `job` (0-based)
};

/// Adds --verbosity, --threads, --seed, --split/--job and (when out_help is not empty) --out.
void add_common_options(CLI::App& sub, common_options& o, const std::string& out_help);

/// The options of `sub` that have a value (given, from --config, or defaulted), written as a
/// command that reruns the job: "scpx <sub> --a 1 --b x".
std::string options_in_effect(const CLI::App& sub);

/// Lifetime of one subcommand run: sets verbosity, opens `<log_path>` on rank 0 (when not empty),
/// logs the banner (version, git hash, CUDA, ranks, device) and the options in effect; logs the
/// total wall time when destroyed.
class run_scope {
public:
    run_scope(const CLI::App& sub, const common_options& o, const std::string& log_path);
    ~run_scope();
    run_scope(const run_scope&) = delete;
    run_scope& operator=(const run_scope&) = delete;

private:
    stopwatch watch_;
    std::string name_;
};

/// `<prefix>.log`, or "<file without .h5/.csv/.db/.tsv/.gz>.log" when --out names a file.
std::string log_path_for(const std::string& out);

} // namespace scpx::cli
