#pragma once
/// @file run.hpp
/// What every subcommand shares: common options, the start-of-run banner with the options in
/// effect (as a command that reruns the job), the log file, and the total-time line.

#include "scpx/core/timer.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

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

/// Check for an integer option with a message in the user's terms ("--batch: must be an integer
/// ≥ 1 (got '0')") instead of CLI11's "Value 0 not in range 0.000000 to 1.797693e+308"; also
/// refuses "-1" for unsigned options (CLI11 would wrap it to 2⁶⁴ − 1).
CLI::Validator integer_at_least(long long min);

/// Check for a floating-point option: rejects nan and inf (CLI::Range lets nan through), e.g.
/// `->check(finite_number())->check(CLI::Range(0.0, 1.0))`.
CLI::Validator finite_number();
/// A finite number > 0 (CLI::PositiveNumber's message prints the whole double range).
CLI::Validator positive_number();
/// An output name must not be empty ("" would write hidden files such as ".db" and ".log").
CLI::Validator non_empty_name();

/// The gene-type filter a --gene-types value asks for (features, inspect): the types given, or
/// none (every gene) for the single word "all".
std::vector<std::string> gene_types_filter(const std::vector<std::string>& option);

/// Adds --verbosity, --threads, --seed, --split/--job and (when out_help is not empty) --out.
void add_common_options(CLI::App& sub, common_options& o, const std::string& out_help);

/// Removes options of add_common_options that a command has no use for (e.g. --seed where nothing
/// is random, --split/--job where there is no work list to cut): an option that does nothing
/// would be listed in --help and in the logged command, and an array job given --split would
/// write N full copies.
void drop_options(CLI::App& sub, std::initializer_list<const char*> names);

/// The options of `sub` that have a value (given, from --config, or defaulted), written as a
/// command that reruns the job: "scpx <sub> --a 1 --b x". Flags given appear bare (`--resume`,
/// or `--no-overwrite` for a negated one); a default that `default_yields_to` marks as not
/// applying is left out.
std::string options_in_effect(const CLI::App& sub);

/// Marks `option`'s default as not applying when `given` is given (e.g. --nfolds when a --foldid
/// table decides the folds), so options_in_effect does not write it: the rerun would then pass it
/// explicitly, which means something else.
void default_yields_to(const CLI::Option* option, const CLI::Option* given);

/// Lifetime of one subcommand run: sets verbosity, records the run's input files (the values of
/// its options that name existing files, so no output can replace one — see note_input_file),
/// refuses an --out that is a directory, opens `<log_path>` on rank 0 (when not empty), logs the
/// banner (version, git hash, CUDA, ranks, device) and the options in effect. When the run ends
/// normally it logs the total wall time and the log file takes its final name; when an exception
/// leaves the run, it leaves the log open for main() to record the error and close it as a
/// failed run's log (log::outcome::failed).
class run_scope {
public:
    run_scope(const CLI::App& sub, const common_options& o, const std::string& log_path);
    ~run_scope();
    run_scope(const run_scope&) = delete;
    run_scope& operator=(const run_scope&) = delete;

    /// The run ends without writing (e.g. its outputs exist and may not be replaced): the log of
    /// the outputs already on disk stays as it is, and this run's log is removed at the end.
    void keep_previous_log() { keep_previous_log_ = true; }

private:
    stopwatch watch_;
    std::string name_;
    int unwinding_at_start_ = 0;
    bool keep_previous_log_ = false;
};

/// Registers with note_input_file() every value of `sub`'s options that names an existing
/// regular file — also the file part of "FILE:/dataset" and of "NAME=FILE" — except the output
/// options (--out, --output_file).
void note_input_files(const CLI::App& sub);

/// Records the command line as main() received it (for checks CLI11 cannot make, such as which
/// subcommand an option was typed after); command_line() returns it ({} before).
void note_command_line(int argc, const char* const* argv);
const std::vector<std::string>& command_line();

/// `<prefix>.log`, or "<file without .h5/.csv/.db/.tsv/.gz>.log" when --out names a file.
std::string log_path_for(const std::string& out);

} // namespace scpx::cli
