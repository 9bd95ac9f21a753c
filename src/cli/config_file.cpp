// Strict validation of the --config TOML file with toml++, before CLI11 reads it: CLI11's own
// reader is lenient (an unclosed quote becomes part of the value), and a config mistake should
// stop the run with the file, line and column rather than surface hours later as a wrong input.
#include "scpx/cli/config_file.hpp"

#include "scpx/core/error.hpp"

#include <toml++/toml.h>

#include <sstream>
#include <string_view>

namespace scpx::cli {

std::string find_config_argument(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--config" && i + 1 < argc) return argv[i + 1];
        if (a.rfind("--config=", 0) == 0) return std::string(a.substr(9));
    }
    return {};
}

void validate_config_file(const std::string& path) {
    try {
        (void)toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        // The config file holds options: a missing or unreadable one is a usage error (exit 2),
        // as an option naming a missing file is, and so is one that is not valid TOML.
        if (where.line == 0) throw usage_error("cannot read config file " + path + ": " + std::string(e.description()));
        std::ostringstream msg;
        msg << path << ", line " << where.line << ", column " << where.column << ": invalid TOML: " << e.description();
        throw usage_error(msg.str());
    }
}

} // namespace scpx::cli
