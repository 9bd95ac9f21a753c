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
        std::ostringstream line;
        line << "line " << where.line << ", column " << where.column;
        if (where.line == 0) throw io_error("cannot read config file " + path + ": " + std::string(e.description()));
        throw input_error(path, line.str(), "", "invalid TOML: " + std::string(e.description()));
    }
}

} // namespace scpx::cli
