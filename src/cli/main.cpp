// scpx: one binary, one subcommand per pipeline stage. The only catch-all lives here: library
// code throws typed scpx errors, main logs them on the failing rank, removes partial outputs and
// ends every rank (MPI_Abort) so no rank hangs in a collective.
#include "scpx/cli/commands.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/version.hpp"
#include "scpx/dist/mpi.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace {

int fail(int code) {
    scpx::detail::remove_live_temporaries();
    if (scpx::mpi::comm_size() > 1) scpx::mpi::abort_all(code);
    return code;
}

} // namespace

int main(int argc, char** argv) {
    scpx::mpi::session mpi(argc, argv);
    const int rank = scpx::mpi::comm_rank();
    scpx::log::init(rank, scpx::mpi::comm_size());

    CLI::App app{"scpx: cell-type-specific TWAS (scPrediXcan) in C++/CUDA/MPI.\n"
                 "Stages: Enformer features, ctPred, l-ctPred (elastic net), S-PrediXcan."};
    app.name("scpx");
    app.set_version_flag("--version", scpx::version_line());
    app.set_config("--config", "",
                   "TOML file of options (top level, or a [subcommand] table); command-line flags override it");
    app.set_help_all_flag("--help-all", "Print help for every subcommand and exit");
    app.require_subcommand(1);
    app.fallthrough();
    scpx::cli::add_all_commands(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Help, --version and option errors: print once, not once per rank.
        if (rank == 0) return app.exit(e);
        return e.get_exit_code();
    } catch (const scpx::usage_error& e) {
        SCPX_LOG_ERR("{}", e.what());
        return fail(2);
    } catch (const scpx::error& e) {
        SCPX_LOG_ERR("{}", e.what());
        return fail(1);
    } catch (const std::exception& e) {
        SCPX_LOG_ERR("unexpected failure (please report it): {}", e.what());
        return fail(1);
    }
    return 0;
}
