#include "scpx/cli/run.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/version.hpp"
#include "scpx/dist/mpi.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <sys/stat.h>

namespace scpx::cli {

// (documented in run.hpp)
CLI::Validator integer_at_least(long long min) {
    return CLI::Validator(
        [min](std::string& v) -> std::string {
            long long x = 0;
            std::size_t used = 0;
            try {
                x = std::stoll(v, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != v.size() || x < min)
                return "must be an integer ≥ " + std::to_string(min) + " (got '" + v + "')";
            return std::string();
        },
        "INT≥" + std::to_string(min));
}

CLI::Validator finite_number() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v)) return "'" + s + "' is not a finite number";
            return {};
        },
        "FINITE");
}

CLI::Validator positive_number() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || !(v > 0))
                return "must be a positive number (got '" + s + "')";
            return {};
        },
        "POSITIVE");
}

CLI::Validator non_empty_name() {
    return CLI::Validator(
        [](std::string& v) { return v.empty() ? std::string("an empty name would write hidden files") : ""; },
        "NAME");
}

std::vector<std::string> gene_types_filter(const std::vector<std::string>& option) {
    if (option.size() == 1 && option[0] == "all") return {};
    return option;
}

void add_common_options(CLI::App& sub, common_options& o, const std::string& out_help) {
    if (!out_help.empty())
        sub.add_option("--out", o.out, out_help)->required()->check(non_empty_name())->group("Output");
    sub.add_option("--verbosity", o.verbosity, "debug|info|warn|error|off (or MetaXcan's 1..50: below 20 debug)")
        ->capture_default_str()->group("Run");
    sub.add_option("--threads", o.threads, "CPU threads per rank (0: all available)")
        ->capture_default_str()->check(integer_at_least(0))->group("Run");
    sub.add_option("--seed", o.seed, "random seed")->capture_default_str()->check(integer_at_least(0))
        ->group("Run");
    sub.add_option("--split", o.split, "SLURM arrays: cut the work list into N parts")
        ->capture_default_str()->check(integer_at_least(1))->group("Run");
    sub.add_option("--job", o.job, "SLURM arrays: run part K (0-based) of --split")
        ->capture_default_str()->check(integer_at_least(0))->group("Run");
}

namespace {
std::vector<std::string>& recorded_command_line() {
    static std::vector<std::string> args;
    return args;
}
} // namespace

void note_command_line(int argc, const char* const* argv) {
    recorded_command_line().assign(argv, argv + argc);
}

const std::vector<std::string>& command_line() {
    return recorded_command_line();
}

void drop_options(CLI::App& sub, std::initializer_list<const char*> names) {
    for (const char* name : names)
        sub.remove_option(sub.get_option(name));
}

namespace {
std::string quote_if_needed(const std::string& s) {
    // Anything a shell would expand or split: blanks, quotes, globs, history, braces, comments.
    if (!s.empty() && s.find_first_of(" \t\n'\"$*?;&|<>()[]{}!#~`\\") == std::string::npos) return s;
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

namespace {
std::map<const CLI::Option*, std::vector<const CLI::Option*>>& yielding_defaults() {
    static std::map<const CLI::Option*, std::vector<const CLI::Option*>> m;
    return m;
}
} // namespace

void default_yields_to(const CLI::Option* option, const CLI::Option* given) {
    yielding_defaults()[option].push_back(given);
}

std::string options_in_effect(const CLI::App& sub) {
    std::string cmd = "scpx " + full_command_name(sub);
    std::string positionals; // written last, as typed after the options
    for (const CLI::Option* opt : sub.get_options()) {
        const std::string name = opt->get_name(false, true);
        if (name.empty() || name == "--help" || name == "-h" || name == "--help-all") continue;
        if (opt->get_lnames().empty()) {
            if (opt->get_positional())
                for (const auto& v : opt->results())
                    positionals += " \\\n    " + quote_if_needed(v);
            continue;
        }
        const std::string flag = "--" + opt->get_lnames().front();
        if (opt->get_expected_max() == 0) { // a flag: bare when on; a negated one by its "no" name
            if (opt->count() == 0) continue;
            if (opt->as<bool>()) {
                cmd += " \\\n    " + flag;
            } else {
                for (const std::string& f : opt->get_fnames())
                    if (f != opt->get_lnames().front()) cmd += " \\\n    --" + f;
            }
            continue;
        }
        if (opt->count() == 0) {
            const auto it = yielding_defaults().find(opt);
            if (it != yielding_defaults().end() &&
                std::any_of(it->second.begin(), it->second.end(),
                            [](const CLI::Option* o) { return o->count() > 0; }))
                continue;
        }
        std::vector<std::string> values = opt->results();
        if (values.empty() && !opt->get_default_str().empty()) values = {opt->get_default_str()};
        if (values.empty()) continue;
        cmd += " \\\n    " + flag;
        for (const auto& v : values) cmd += " " + quote_if_needed(v);
    }
    return cmd + positionals;
}

std::string log_path_for(const std::string& out) {
    std::string base = out;
    for (const char* ext : {".gz", ".h5", ".hdf5", ".csv", ".tsv", ".txt", ".db", ".json"}) {
        if (ends_with(base, ext)) base.resize(base.size() - std::string(ext).size());
    }
    return sibling_name(base, "", ".log"); // a 255-byte name stays a name the file system takes
}

namespace {
/// Notes `path` and its index files (htslib and samtools put them next to it: an output over
/// `x.vcf.gz.tbi` or `genome.fa.fai` would break the input as surely as one over the input).
void note_input_with_index(const std::string& path, const std::string& given_as) {
    note_input_file(path, given_as);
    for (const char* ext : {".tbi", ".csi", ".fai", ".gzi"})
        note_input_file(path + ext, "the index of " + given_as);
}
} // namespace

void note_input_files(const CLI::App& sub) {
    for (const CLI::Option* opt : sub.get_options()) {
        if (opt->get_lnames().empty() || opt->get_type_size() == 0) continue; // flags name no file
        const std::string flag = "--" + opt->get_lnames().front();
        if (flag == "--out" || flag == "--output_file") continue;
        for (const std::string& v : opt->results()) {
            const std::string given_as = flag + " " + v;
            note_input_with_index(v, given_as);
            // "FILE:/dataset" (HDF5 inputs) and "NAME=FILE" (named inputs, e.g. --pseudobulk).
            const std::string named = v.find('=') == std::string::npos ? v : v.substr(v.find('=') + 1);
            if (named != v) note_input_with_index(named, given_as);
            for (const std::string& w : {v, named}) {
                const auto colon = w.rfind(':');
                if (colon != std::string::npos && colon > 0)
                    note_input_with_index(w.substr(0, colon), given_as);
            }
        }
    }
}

namespace {
/// `--out` names a file or a prefix of files; an existing directory (or a path ending in '/')
/// would give hidden files such as "DIR/.h5" or fail only at the final rename.
void refuse_directory_out(const std::string& out) {
    if (out.empty()) return;
    struct stat st {};
    if (out.back() == '/' || (::stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
        throw usage_error("--out " + out + " is a directory; give a file name or a prefix in it, e.g. --out " +
                          (out.back() == '/' ? out : out + "/") + "result");
}
} // namespace

run_scope::run_scope(const CLI::App& sub, const common_options& o, const std::string& log_path)
    : name_(full_command_name(sub)), unwinding_at_start_(std::uncaught_exceptions()) {
    log::set_verbosity(log::parse_level(o.verbosity));
    refuse_directory_out(o.out);
    note_input_files(sub);
    // Rank 0 writes the log; agreed, so that a log it cannot open (or another run writing it)
    // stops every rank at once rather than when the others reach their first collective step.
    if (!log_path.empty())
        mpi::on_root_agreed([&] { log::open_file(log_path); },
                            "cannot open the log file " + log_path + " (rank 0 reports why)");
    SCPX_LOG_INF("{}", version_line());
    SCPX_LOG_INF("  ranks: {}, host of rank 0: {}, device: {}", mpi::comm_size(), mpi::host_name(),
                 gpu::available() ? gpu::describe() : std::string("CPU"));
    if (!log_path.empty()) SCPX_LOG_INF("  log file: {}", log_path);
    SCPX_LOG_INF("Options in effect:\n  {}\n", options_in_effect(sub));
}

run_scope::~run_scope() {
    // Failing: main() logs the error into the still open log, then closes it as a failed run's.
    if (std::uncaught_exceptions() > unwinding_at_start_) return;
    SCPX_LOG_INF("scpx {} finished in {}", name_, format_duration(watch_.seconds()));
    log::close_file(keep_previous_log_ ? log::outcome::abandoned : log::outcome::succeeded);
}

} // namespace scpx::cli
