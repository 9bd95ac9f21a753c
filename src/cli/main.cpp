// scpx: one binary, one subcommand per pipeline stage. The only catch-all lives here: library
// code throws typed scpx errors, main logs them on the failing rank, removes partial outputs and
// ends every rank (MPI_Abort) so no rank hangs in a collective.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/config_file.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/version.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/singleton.hpp"
#include "scpx/io/h5.hpp"

#include <CLI/CLI.hpp>
#include <htslib/hts.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <thread>

namespace {

/// Ends a failed run: the error goes to stderr and into the run's log, which is kept as
/// `<out>.failed.log` (the log of earlier results stays), partial outputs are removed, and every
/// rank ends.
int fail(int code, const std::string& message, bool reported_by_rank_0 = false) {
    // Bad input usually fails on every rank at once, with one message: rank 0 reports it, and the
    // other ranks say it again only when theirs differs or they failed alone (known after at most
    // 3 s), so the user reads one ERROR line however slowly MPI_Abort reaches the ranks.
    const bool many = scpx::mpi::comm_size() > 1;
    const bool root = scpx::mpi::is_root();
    if (root) SCPX_LOG_ERR("{}", message);
    // A rank failing only because rank 0 did still gives its word (an empty message: it defers),
    // so that rank 0 learns at once that nobody else has anything to report.
    const bool alike =
        (many && scpx::mpi::failed_alike_everywhere(reported_by_rank_0 ? std::string() : message, 3.0)) ||
        reported_by_rank_0;
    if (!root && !alike) SCPX_LOG_ERR("{}", message);
    const std::string log_path = scpx::log::file_path();
    if (!log_path.empty() && !scpx::log::file_incomplete())
        SCPX_LOG_INF("the log of this failed run: {}", scpx::log::failed_log_path(log_path));
    scpx::log::close_file(scpx::log::outcome::failed);
    scpx::detail::remove_live_temporaries();
    if (many && !root && alike)
        std::this_thread::sleep_for(std::chrono::seconds(10)); // rank 0's abort ends us
    if (many) scpx::mpi::abort_all(code);
    // One rank: end here too, without MPI_Finalize, as MPI_Abort ends several. A library the
    // failure left in a bad state must not crash the exit: HDF5 closes at MPI_Finalize a file
    // whose close already failed (a full disk), and that segfaults.
    std::fflush(nullptr);
    scpx::mpi::remove_singleton_folder(); // MPI_Finalize would have removed it
    std::_Exit(code);
}

/// CLI11's words for an option given twice ("--seed: At Most 1 required but received 2") read
/// like a limit on its value; say what happened.
std::string readable_parse_error(const std::string& what) {
    const std::string marker = ": At Most 1 required but received ";
    const auto at = what.find(marker);
    if (at != std::string::npos)
        return what.substr(0, at) + " given " + what.substr(at + marker.size()) + " times; give it once";
    // An option the command does not have: say why for the ones other commands have.
    if (what.find("not expected") == std::string::npos) return what;
    const auto names = [&](const char* option) {
        const std::string_view w = what;
        for (auto p = w.find(option); p != std::string_view::npos; p = w.find(option, p + 1)) {
            const std::size_t end = p + std::strlen(option);
            if (end == w.size() || w[end] == ' ' || w[end] == '=' || w[end] == ',') return true;
        }
        return false;
    };
    if (names("--config"))
        return what + " (--config is an option of scpx itself: give it before the command, "
                      "scpx --config FILE <command> ...)";
    if (names("--split") || names("--job"))
        return what + " (this command has no --split/--job: it has no list of genes or models to cut into "
                      "array jobs)";
    if (names("--seed")) return what + " (this command has no --seed: nothing in it is random)";
    return what;
}

} // namespace

int main(int argc, char** argv) {
    // A umask that takes the owner's own bits (0200, 0277) would leave scpx unable to reopen the
    // files it just made (its log is created, then reopened to append) or to use the folders it
    // makes: the owner keeps rwx, group and others stay as the umask says.
    const mode_t umask_given = ::umask(0);
    ::umask(umask_given & 077);
    std::optional<scpx::mpi::session> mpi;
    try {
        mpi.emplace(argc, argv);
    } catch (const scpx::error& e) { // before MPI is up: a temporary folder it cannot use
        // Help and the version need no MPI: they are still answered (one rank, no MPI).
        bool help_or_version = false;
        for (int i = 1; i < argc; ++i) {
            const std::string_view a = argv[i];
            help_or_version |= a == "-h" || a == "--help" || a == "--help-all" || a == "--version";
        }
        if (!help_or_version) {
            SCPX_LOG_ERR("{}", e.what());
            return 1;
        }
    }
    const int rank = scpx::mpi::comm_rank();
    scpx::log::init(rank, scpx::mpi::comm_size());
    if ((umask_given & 0700) != 0 && rank == 0)
        SCPX_LOG_WRN("umask {:04o} takes the owner's own permissions: scpx makes its files and folders with "
                     "umask {:04o}",
                     static_cast<unsigned>(umask_given), static_cast<unsigned>(umask_given & 077));
    // scpx reports htslib failures itself, naming file, record and field; htslib's own
    // "[E::...]" lines would only precede that message with a less helpful one.
    hts_set_log_level(HTS_LOG_OFF);
    scpx::io::h5_quiet(); // likewise for HDF5's error-stack dumps

    CLI::App app{"scpx: cell-type-specific TWAS (scPrediXcan) in C++/CUDA/MPI.\n"
                 "Stages: Enformer features, ctPred, l-ctPred (elastic net), S-PrediXcan."};
    app.name("scpx");
    app.set_version_flag("--version", scpx::version_line());
    app.set_config("--config", "",
                   "TOML file of options in a [subcommand] table (e.g. [ctpred.train]); command-line flags override it");
    app.set_help_all_flag("--help-all", "Print help for every subcommand and exit");
    // A misspelt key in the config file is an error, not a silently ignored option.
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.require_subcommand(1);
    app.fallthrough();
    scpx::cli::add_all_commands(app);
    scpx::cli::note_command_line(argc, argv);

    try {
        const std::string config = scpx::cli::find_config_argument(argc, argv);
        if (!config.empty()) scpx::cli::validate_config_file(config);
        app.parse(argc, argv);
    } catch (const CLI::ConfigError& e) {
        // CLI11 says "INI was not able to parse inspect.fastaa": name the file and the key instead.
        std::string key = e.what();
        const auto at = key.rfind(' ');
        if (at != std::string::npos) key = key.substr(at + 1);
        SCPX_LOG_ERR("config file {}: unknown or misplaced option '{}' (see scpx <subcommand> --help)",
                     scpx::cli::find_config_argument(argc, argv), key);
        return 2;
    } catch (const CLI::ParseError& e) {
        // Help, --version and option errors: print once, not once per rank. Option errors exit
        // with 2, as scpx's own usage errors do (CLI11's codes 100+ say which check failed;
        // scripts only need "bad usage").
        if (e.get_exit_code() == 0) return rank == 0 ? app.exit(e) : 0; // --help, --version
        // Written like every other error (an "ERROR: " line on stderr), then CLI11's hint.
        if (rank == 0) {
            SCPX_LOG_ERR("{}", readable_parse_error(e.what()));
            std::fprintf(stderr, "Run with --help or --help-all for more information.\n");
        }
        return 2;
    } catch (const scpx::mpi::other_rank_failed& e) {
        return fail(1, e.what(), /*reported_by_rank_0=*/true);
    } catch (const scpx::usage_error& e) {
        return fail(2, e.what());
    } catch (const scpx::error& e) {
        return fail(1, e.what());
    } catch (const std::exception& e) {
        return fail(1, std::string("unexpected failure (please report it): ") + e.what());
    }
    return 0;
}
