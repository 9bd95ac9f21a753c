#include "scpx/cli/commands.hpp"

namespace scpx::cli {

void add_all_commands(CLI::App& app) {
    add_info_command(app);
    add_inspect_command(app);
}

} // namespace scpx::cli
