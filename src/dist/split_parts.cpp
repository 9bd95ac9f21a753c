// Checks of the parts of a --split run before a merge joins them (see split_parts.hpp).
#include "scpx/dist/split_parts.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/provenance.hpp"
#include "scpx/core/text.hpp"
#include "scpx/io/h5.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace scpx::dist {

namespace {

std::string root_attr(hid_t file, const std::string& path, const std::string& name, const std::string& what) {
    if (!io::h5_has_attr(file, name))
        throw input_error(path, "attribute '" + name + "'", "", "not " + what + " (no provenance)");
    return io::h5_read_attr_string(file, name);
}

/// "begin end total" of scpx_split_genes, nothing more.
void parse_split_genes(split_part& p, const std::string& rows) {
    unsigned long long b = 0, e = 0, t = 0;
    int used = 0;
    if (std::sscanf(rows.c_str(), "%llu %llu %llu%n", &b, &e, &t, &used) != 3 ||
        static_cast<std::size_t>(used) != rows.size() || b >= e || e > t)
        throw input_error(p.path, "attribute 'scpx_split_genes'", "",
                          "'" + rows + "' is not 'begin end total' with begin < end <= total");
    p.begin = b;
    p.end = e;
    p.total = t;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/// The inputs as each job found them: a size that differs between jobs means the file was
/// replaced while the array ran (an error); only another modification time may be a copy staged
/// anew for a job (a warning).
void require_same_inputs(const std::vector<split_part>& parts, const std::vector<std::size_t>& ordered) {
    const split_part& job0 = parts[ordered.front()];
    if (job0.input_stamps.empty()) return;
    std::map<std::string, input_stamp> want;
    for (input_stamp& s : parse_input_stamps(job0.input_stamps, job0.path))
        want[s.path] = s;
    for (const std::size_t k : ordered) {
        const split_part& p = parts[k];
        if (&p == &job0 || p.input_stamps.empty()) continue;
        for (const input_stamp& s : parse_input_stamps(p.input_stamps, p.path)) {
            const auto it = want.find(s.path);
            if (it == want.end()) continue;
            if (s.size != it->second.size)
                throw input_error(p.path, "attribute 'scpx_input_stamps'", "",
                                  "input " + s.path + " was " + std::to_string(s.size) + " bytes when job " +
                                      std::to_string(p.job) + " ran and " + std::to_string(it->second.size) +
                                      " bytes when job " + std::to_string(job0.job) +
                                      " ran: it changed between the jobs, so the parts disagree; rerun them");
            if (s.mtime_ns != it->second.mtime_ns)
                SCPX_LOG_WRN(
                    "input {} had another modification time when job {} ran than when job {} ran: if "
                    "its content changed between the jobs, the parts disagree",
                    s.path, p.job, job0.job);
        }
    }
}

/// Where " --split N --job K" is in a recorded command: on one line (features) or on two of
/// options_in_effect's continued lines (" --split N \\\n    --job K", lctpred). (No std::regex:
/// GCC 12 warns inside it under the sanitizer build.)
struct split_at {
    bool ok = false;
    std::size_t begin = 0, end = 0; ///< [begin, end) is the whole match
    std::string split, job, separator;
};

split_at find_split_job(const std::string& c) {
    const auto digits = [&c](std::size_t from) {
        std::size_t to = from;
        while (to < c.size() && c[to] >= '0' && c[to] <= '9')
            ++to;
        return to;
    };
    for (std::size_t at = c.find(" --split "); at != std::string::npos; at = c.find(" --split ", at + 1)) {
        const std::size_t n_begin = at + 9, n_end = digits(n_begin);
        if (n_end == n_begin) continue;
        std::size_t r = n_end;
        if (c.compare(r, 3, " \\\n") == 0) {
            for (r += 3; r < c.size() && c[r] == ' '; ++r) {
            }
        } else if (r < c.size() && c[r] == ' ') {
            ++r;
        } else {
            continue;
        }
        if (c.compare(r, 6, "--job ") != 0) continue;
        const std::size_t k_begin = r + 6, k_end = digits(k_begin);
        if (k_end == k_begin) continue;
        split_at f;
        f.ok = true;
        f.begin = at;
        f.end = k_end;
        f.split = c.substr(n_begin, n_end - n_begin);
        f.job = c.substr(k_begin, k_end - k_begin);
        f.separator = c.substr(n_end, r - n_end);
        return f;
    }
    return {};
}

/// The options of a recorded command ("scpx stage --a 1 --b x y", on one line or on
/// options_in_effect's continued lines), by name: "--a" -> "1", "--b" -> "x y"; the words before
/// the first option under "".
std::map<std::string, std::string> recorded_options(const std::string& command) {
    // options_in_effect's continued lines (" \\\n    ") read as one line.
    std::string flat;
    for (std::size_t i = 0; i < command.size(); ++i) {
        if (command.compare(i, 2, "\\\n") == 0) {
            while (!flat.empty() && flat.back() == ' ')
                flat.pop_back();
            flat += ' ';
            for (i += 2; i < command.size() && command[i] == ' '; ++i) {
            }
            --i;
            continue;
        }
        flat += command[i];
    }
    std::map<std::string, std::string> out;
    std::size_t at = 0;
    while (at <= flat.size()) {
        std::size_t next = flat.find(" --", at);
        if (next == std::string::npos) next = flat.size();
        const std::string chunk = flat.substr(at, next - at);
        if (chunk.rfind("--", 0) == 0) {
            const std::size_t sp = chunk.find(' ');
            out[chunk.substr(0, sp)] = sp == std::string::npos ? "" : chunk.substr(sp + 1);
        } else {
            out[""] = chunk;
        }
        at = next + 1;
    }
    return out;
}

/// "--alpha 0.3 here, 0.5 there; --window only here" for two recorded commands.
std::string option_differences(const std::string& here, const std::string& there) {
    const auto a = recorded_options(here), b = recorded_options(there);
    std::vector<std::string> diffs;
    const auto shown = [](const std::string& name, const std::string& value) {
        return name.empty() ? "'" + value + "'" : value.empty() ? name : name + " " + value;
    };
    for (const auto& [name, value] : a) {
        const auto it = b.find(name);
        if (it == b.end())
            diffs.push_back(shown(name, value) + " only here");
        else if (it->second != value)
            diffs.push_back(shown(name, value) + " here, " + shown(name, it->second) + " there");
    }
    for (const auto& [name, value] : b)
        if (a.count(name) == 0) diffs.push_back(shown(name, value) + " only there");
    if (diffs.empty()) return "the commands differ in layout only:\n  " + here + "\n  " + there;
    return join(diffs, "; ");
}

} // namespace

split_part read_split_part(hid_t file, const std::string& path, const std::vector<std::string>& stages,
                           const std::string& what) {
    split_part p;
    p.path = path;
    p.stage = root_attr(file, path, "scpx_stage", what);
    if (std::find(stages.begin(), stages.end(), p.stage) == stages.end())
        throw input_error(path, "attribute 'scpx_stage'", "",
                          "made by stage '" + p.stage + "'; expected " + what);
    const std::string command = root_attr(file, path, "scpx_command", what);
    const split_at found = find_split_job(command);
    if (!found.ok)
        throw input_error(path, "attribute 'scpx_command'", "",
                          "no --split/--job in the command that made it");
    p.split = std::stoi(found.split);
    p.job = std::stoi(found.job);
    p.command_before_split = command.substr(0, found.begin);
    p.command_after_job = command.substr(found.end);
    p.job_separator = found.separator;
    p.command_without_job = p.command_before_split + " --split " + found.split + p.command_after_job;
    p.gene_list = root_attr(file, path, "scpx_gene_list", what);
    p.build = root_attr(file, path, "scpx_version", what) + " (git " +
              root_attr(file, path, "scpx_git_hash", what) + ")";
    if (io::h5_has_attr(file, "scpx_part_gene_list"))
        p.part_gene_list = io::h5_read_attr_string(file, "scpx_part_gene_list");
    if (io::h5_has_attr(file, "scpx_input_stamps"))
        p.input_stamps = io::h5_read_attr_string(file, "scpx_input_stamps");
    parse_split_genes(p, root_attr(file, path, "scpx_split_genes", what));
    return p;
}

std::vector<std::size_t> order_split_parts(const std::vector<split_part>& parts, const std::string& example) {
    SCPX_ASSERT(!parts.empty());
    const split_part& first = parts.front();
    for (const auto& p : parts) {
        if (&p == &first) continue;
        if (p.stage != first.stage)
            throw input_error(p.path, "attribute 'scpx_stage'", "",
                              "a " + p.stage + " output, but " + first.path + " is a " + first.stage +
                                  " output");
        if (p.command_without_job != first.command_without_job)
            throw input_error(p.path, "attribute 'scpx_command'", "",
                              "made with other options than " + first.path + " (only --job may differ): " +
                                  option_differences(p.command_without_job, first.command_without_job));
    }
    // Parts fitted by other scpx builds are joined, but said to be: their numbers may differ.
    for (const auto& p : parts)
        if (p.build != first.build)
            SCPX_LOG_WRN("{} was made by {}, {} by {}: if the builds compute differently, the parts disagree",
                         p.path, p.build, first.path, first.build);
    std::map<int, std::size_t> by_job;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const auto [it, added] = by_job.emplace(parts[k].job, k);
        if (added) continue;
        const std::string& other = parts[it->second].path;
        if (same_file(other, parts[k].path))
            throw usage_error("part " + parts[k].path + " given twice (also as " + other + ")");
        throw usage_error("job " + std::to_string(parts[k].job) + " of --split " +
                          std::to_string(parts[k].split) + " given twice: " + other + " and " +
                          parts[k].path);
    }
    std::vector<std::string> missing;
    for (int k = 0; k < first.split; ++k)
        if (by_job.count(k) == 0) missing.push_back(std::to_string(k));
    if (!missing.empty())
        throw usage_error("the parts of --split " + std::to_string(first.split) + " lack job(s) " +
                          join(missing, ", ") + "; give every part (e.g. " + example + ")");
    std::vector<std::size_t> ordered;
    for (const auto& [job, k] : by_job)
        ordered.push_back(k);
    // The same gene list (the inputs as the parts saw them), cut without gaps.
    const split_part& job0 = parts[ordered.front()];
    std::uint64_t next = 0;
    for (const std::size_t k : ordered) {
        const split_part& p = parts[k];
        if (p.gene_list != job0.gene_list)
            throw input_error(p.path, "attribute 'scpx_gene_list'", "",
                              "cut from another gene list (" + p.gene_list + ") than " + job0.path + " (" +
                                  job0.gene_list + "): the inputs changed between jobs");
        if (p.total != job0.total)
            throw input_error(p.path, "attribute 'scpx_split_genes'", "",
                              "a part of " + std::to_string(p.total) + " genes, but " + job0.path +
                                  " is a part of " + std::to_string(job0.total));
        if (p.begin != next)
            throw input_error(p.path, "attribute 'scpx_split_genes'", "",
                              "job " + std::to_string(p.job) + " starts at gene " + std::to_string(p.begin) +
                                  ", but the jobs before it end at " + std::to_string(next));
        next = p.end;
    }
    if (next != job0.total)
        throw input_error(parts[ordered.back()].path, "attribute 'scpx_split_genes'", "",
                          "the jobs end at gene " + std::to_string(next) + " of " +
                              std::to_string(job0.total));
    require_same_inputs(parts, ordered);
    return ordered;
}

void require_same_datasets(const std::map<std::string, io::h5_info>& have, const std::string& path,
                           const std::map<std::string, io::h5_info>& want, const std::string& want_path,
                           const std::set<std::string>& whole) {
    for (const auto& [name, info] : want)
        if (have.count(name) == 0)
            throw input_error(path, "dataset '/" + name + "'", "", "missing (present in " + want_path + ")");
    for (const auto& [name, info] : have) {
        const auto it = want.find(name);
        if (it == want.end()) throw input_error(path, "dataset '/" + name + "'", "", "not in " + want_path);
        std::vector<hsize_t> a = info.shape, b = it->second.shape;
        if (whole.count(name) == 0 && !a.empty() && !b.empty()) a[0] = b[0] = 0;
        // h5_info::dtype is str for every string, so equal dtypes mean equal kinds too.
        if (info.dtype != it->second.dtype || a != b)
            throw input_error(path, "dataset '/" + name + "'", "",
                              info.describe() + ", but " + it->second.describe() + " in " + want_path);
    }
}

std::vector<std::pair<std::string, std::string>> split_attributes(const split_gene_list& whole,
                                                                  index_range rows) {
    if (rows.begin > rows.end || rows.end > whole.size())
        throw internal_error("split_attributes: rows outside the gene list");
    const auto part = [&](const auto& v) {
        return std::vector<typename std::decay_t<decltype(v)>::value_type>(
            v.begin() + static_cast<std::ptrdiff_t>(rows.begin),
            v.begin() + static_cast<std::ptrdiff_t>(rows.end));
    };
    return {
        {"scpx_split_genes",
         std::to_string(rows.begin) + " " + std::to_string(rows.end) + " " + std::to_string(whole.size())},
        {"scpx_gene_list", gene_list_fingerprint(whole.ids, whole.chroms, whole.tss)},
        {"scpx_part_gene_list", gene_list_fingerprint(part(whole.ids), part(whole.chroms), part(whole.tss))}};
}

void require_rows_as_written(const split_part& part, const split_gene_list& rows,
                             const std::string& datasets) {
    if (part.part_gene_list.empty()) return;
    const std::string own = gene_list_fingerprint(rows.ids, rows.chroms, rows.tss);
    if (own != part.part_gene_list)
        throw input_error(part.path, "datasets " + datasets, "",
                          "its genes (" + own + ") are not the ones its run wrote (" + part.part_gene_list +
                              "): the part was edited after its run");
}

void require_joined_gene_list(const split_part& first, const split_gene_list& joined,
                              const std::string& datasets) {
    const std::string got = gene_list_fingerprint(joined.ids, joined.chroms, joined.tss);
    if (got != first.gene_list)
        throw input_error(first.path, "attribute 'scpx_gene_list'", "",
                          "the genes of the parts joined in job order (" + datasets + ": " + got +
                              ") are not the gene list recorded in every part (" + first.gene_list +
                              "): a part was edited, or comes from another run");
}

std::string unsplit_command(const split_part& part) {
    return part.command_before_split + " --split 1" + part.job_separator + "--job 0" + part.command_after_job;
}

io::h5_provenance merged_provenance(hid_t first, const std::vector<split_part>& in_job_order,
                                    const std::vector<std::string>& copied) {
    const split_part& job0 = in_job_order.front();
    io::h5_provenance prov;
    prov.stage = job0.stage;
    prov.command = unsplit_command(job0);
    const std::string inputs = io::h5_read_attr_string(first, "scpx_inputs");
    for (std::size_t at = 0;;) {
        const std::size_t nl = inputs.find('\n', at);
        prov.inputs.push_back(inputs.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
        if (nl == std::string::npos) break;
        at = nl + 1;
    }
    for (const std::string& name : copied)
        if (io::h5_has_attr(first, name)) prov.extra.emplace_back(name, io::h5_read_attr_string(first, name));
    prov.extra.emplace_back("scpx_split_genes",
                            "0 " + std::to_string(job0.total) + " " + std::to_string(job0.total));
    prov.extra.emplace_back("scpx_gene_list", job0.gene_list);
    if (!job0.part_gene_list.empty()) prov.extra.emplace_back("scpx_part_gene_list", job0.gene_list);
    if (!job0.input_stamps.empty()) prov.extra.emplace_back("scpx_input_stamps", job0.input_stamps);
    std::vector<std::string> paths;
    for (const split_part& p : in_job_order)
        paths.push_back(p.path);
    prov.extra.emplace_back("scpx_merged_parts", join(paths, "\n"));
    // scpx_version/scpx_git_hash are the merge's; the parts may have been made by another build.
    prov.extra.emplace_back("scpx_parts_build", job0.build);
    return prov;
}

} // namespace scpx::dist
