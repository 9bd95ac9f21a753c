// `features personal --samples` (sample_list.hpp).
#include "scpx/cli/sample_list.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"
#include "scpx/io/vcf_reader.hpp"

#include <cctype>
#include <fstream>
#include <map>
#include <set>

namespace scpx::cli {

sample_list read_sample_list(const std::string& path) {
    if (!path_exists(path)) throw missing_file_error(path, "sample list");
    std::ifstream in(path);
    if (!in) throw io_error("cannot open the sample list '" + path + "'");
    sample_list out;
    out.path = path;
    std::map<std::string, std::size_t> line_of;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (n == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.pop_back();
        std::size_t b = 0;
        while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b])))
            ++b;
        line.erase(0, b);
        if (line.empty() || line[0] == '#') continue;
        if (line.find_first_of(" \t") != std::string::npos)
            throw input_error(path, "line " + std::to_string(n), "sample",
                              "'" + line + "' holds white space: one sample ID per line");
        const auto [it, added] = line_of.emplace(line, n);
        if (!added)
            throw input_error(path, "line " + std::to_string(n), "sample",
                              "sample '" + line + "' repeats line " + std::to_string(it->second));
        out.ids.push_back(line);
        out.lines.push_back(n);
    }
    if (out.ids.empty()) throw input_error(path, "", "sample", "no sample ID in the file");
    return out;
}

void require_samples_in(const sample_list& list, const std::string& vcf) {
    io::vcf_options header_only;
    header_only.want_haplotypes = false;
    const io::vcf_reader r(vcf, header_only);
    const std::set<std::string> have(r.samples().begin(), r.samples().end());
    std::vector<std::size_t> absent;
    for (std::size_t i = 0; i < list.ids.size(); ++i)
        if (have.count(list.ids[i]) == 0) absent.push_back(i);
    if (absent.empty()) return;
    std::string msg = "sample '" + list.ids[absent[0]] + "' is not in " + vcf + " (" +
                      std::to_string(have.size()) + " samples)";
    if (absent.size() > 1) {
        std::vector<std::string> more;
        for (std::size_t k = 1; k < absent.size() && k < 6; ++k)
            more.push_back(list.ids[absent[k]] + " (line " + std::to_string(list.lines[absent[k]]) + ")");
        msg += "; nor are " + std::to_string(absent.size() - 1) + " other ID(s): " + join(more, ", ") +
               (absent.size() > 6 ? ", ..." : "");
    }
    throw input_error(list.path, "line " + std::to_string(list.lines[absent[0]]), "sample", msg);
}

} // namespace scpx::cli
