#pragma once
/// @file commands.hpp
/// One function per subcommand; each adds its CLI::App and the callback that runs it.

#include <CLI/CLI.hpp>

namespace scpx::cli {

/// Adds every subcommand to the top-level app (src/cli/commands.cpp).
void add_all_commands(CLI::App& app);

void add_info_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_enet_command(CLI::App& app);
/// `scpx enformer predict` (src/cli/cmd_enformer.cpp).
void add_enformer_command(CLI::App& app);
/// `scpx features reference` (src/cli/cmd_features.cpp).
void add_features_command(CLI::App& app);
/// `scpx spredixcan` (src/cli/cmd_spredixcan.cpp).
void add_spredixcan_command(CLI::App& app);
/// `scpx ctpred targets|train|predict` (src/cli/cmd_ctpred.cpp).
void add_ctpred_command(CLI::App& app);
/// `scpx lctpred` (src/cli/cmd_lctpred.cpp) and `scpx lctpred merge`.
void add_lctpred_command(CLI::App& app);
/// `scpx lctpred merge` under `lctpred` (src/cli/cmd_lctpred_merge.cpp).
void add_lctpred_merge_command(CLI::App& lctpred);

} // namespace scpx::cli
