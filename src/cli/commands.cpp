#include "scpx/cli/commands.hpp"

namespace scpx::cli {

void add_all_commands(CLI::App& app) {
    add_info_command(app);
    add_inspect_command(app);
    add_enet_command(app);
    add_enformer_command(app);
    add_features_command(app);
    add_ctpred_command(app);
    add_spredixcan_command(app);
    add_lctpred_command(app);
}

} // namespace scpx::cli
