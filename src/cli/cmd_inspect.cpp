// `scpx inspect`: reads input files the way the stages will and summarises them, so format
// problems surface in seconds instead of hours into a cluster job.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"

namespace scpx::cli {

void add_inspect_command(CLI::App& app) {
    auto* sub = app.add_subcommand("inspect", "Check and summarise input files (FASTA, VCF, annotation, GWAS, models)");
    (void)sub;
}

} // namespace scpx::cli
