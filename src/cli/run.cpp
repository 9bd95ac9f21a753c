#include "scpx/cli/run.hpp"

#include "scpx/core/device.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/version.hpp"
#include "scpx/dist/mpi.hpp"

#include <unistd.h>

namespace scpx::cli {

void add_common_options(CLI::App& sub, common_options& o, const std::string& out_help) {
    if (!out_help.empty()) sub.add_option("--out", o.out, out_help)->required()->group("Output");
    sub.add_option("--verbosity", o.verbosity, "debug|info|warn|error|off (or 10..50)")
        ->capture_default_str()->group("Run");
    sub.add_option("--threads", o.threads, "CPU threads per rank (0: all available)")
        ->capture_default_str()->check(CLI::NonNegativeNumber)->group("Run");
    sub.add_option("--seed", o.seed, "random seed")->capture_default_str()->group("Run");
    sub.add_option("--split", o.split, "SLURM arrays: cut the work list into N parts")
        ->capture_default_str()->check(CLI::PositiveNumber)->group("Run");
    sub.add_option("--job", o.job, "SLURM arrays: run part K (0-based) of --split")
        ->capture_default_str()->check(CLI::NonNegativeNumber)->group("Run");
}

namespace {
std::string quote_if_needed(const std::string& s) {
    if (!s.empty() && s.find_first_of(" \t'\"$*?;&|<>()") == std::string::npos) return s;
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return q + "'";
}

std::string full_command_name(const CLI::App& sub) {
    std::string name = sub.get_name();
    for (const CLI::App* p = sub.get_parent(); p && p->get_parent(); p = p->get_parent())
        name = p->get_name() + " " + name;
    return name;
}
} // namespace

std::string options_in_effect(const CLI::App& sub) {
    std::string cmd = "scpx " + full_command_name(sub);
    for (const CLI::Option* opt : sub.get_options()) {
        const std::string name = opt->get_name(false, true);
        if (name.empty() || name == "--help" || name == "-h" || name == "--help-all") continue;
        if (opt->get_lnames().empty()) continue;
        const std::string flag = "--" + opt->get_lnames().front();
        if (opt->get_type_size() == 0) {  // a flag
            if (opt->count() > 0) cmd += " \\\n    " + flag;
            continue;
        }
        std::vector<std::string> values = opt->results();
        if (values.empty() && !opt->get_default_str().empty()) values = {opt->get_default_str()};
        if (values.empty()) continue;
        cmd += " \\\n    " + flag;
        for (const auto& v : values) cmd += " " + quote_if_needed(v);
    }
    return cmd;
}

std::string log_path_for(const std::string& out) {
    std::string base = out;
    for (const char* ext : {".gz", ".h5", ".hdf5", ".csv", ".tsv", ".txt", ".db", ".json"}) {
        if (ends_with(base, ext)) base.resize(base.size() - std::string(ext).size());
    }
    return base + ".log";
}

run_scope::run_scope(const CLI::App& sub, const common_options& o, const std::string& log_path)
    : name_(full_command_name(sub)) {
    log::set_verbosity(log::parse_level(o.verbosity));
    if (!log_path.empty() && mpi::is_root()) log::open_file(log_path);
    char host[256] = "?";
    ::gethostname(host, sizeof host - 1);
    SCPX_LOG_INF("{}", version_line());
    SCPX_LOG_INF("  ranks: {}, host of rank 0: {}, device: {}", mpi::comm_size(), host,
                 gpu::available() ? gpu::describe() : std::string("CPU"));
    if (!log_path.empty()) SCPX_LOG_INF("  log file: {}", log_path);
    SCPX_LOG_INF("Options in effect:\n  {}\n", options_in_effect(sub));
}

run_scope::~run_scope() {
    SCPX_LOG_INF("scpx {} finished in {}", name_, format_duration(watch_.seconds()));
    log::close_file();
}

} // namespace scpx::cli
