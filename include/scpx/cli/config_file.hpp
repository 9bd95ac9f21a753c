#pragma once
/// @file config_file.hpp
/// The --config TOML file: options of the top level or of a `[subcommand]` table, overridden
/// by command-line flags (CLI11 merges them); validated strictly with toml++ first.

#include <string>

namespace scpx::cli {

/// The value of --config (or --config=FILE) in argv, or "" when absent.
std::string find_config_argument(int argc, char** argv);

/// Parses `path` as TOML. @throws input_error naming the file, line and column of a syntax
/// error, io_error when it cannot be read.
void validate_config_file(const std::string& path);

} // namespace scpx::cli
