// Input stamps and gene-list fingerprints recorded in outputs (see provenance.hpp).
#include "scpx/core/provenance.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

namespace scpx {

namespace {

/// The file behind an input: the input itself, or FILE of an HDF5 "FILE.h5:/dataset" spec.
bool stat_input(const std::string& spec, struct stat& st) {
    if (::stat(spec.c_str(), &st) == 0) return true;
    for (const char* ext : {".h5:", ".hdf5:"})
        if (const auto at = spec.find(ext); at != std::string::npos)
            return ::stat(spec.substr(0, at + std::strlen(ext) - 1).c_str(), &st) == 0;
    return false;
}

} // namespace

std::vector<input_stamp> stamp_inputs(const std::vector<std::string>& inputs) {
    std::vector<input_stamp> out;
    for (const auto& p : inputs) {
        struct stat st {};
        if (p.empty() || !stat_input(p, st)) continue;
        out.push_back({static_cast<long long>(st.st_size),
                       static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec, p});
    }
    return out;
}

std::string input_stamps(const std::vector<std::string>& inputs) {
    std::string lines;
    for (const input_stamp& s : stamp_inputs(inputs))
        lines += fmt::format("{} {} {}\n", s.size, s.mtime_ns, s.path);
    return lines;
}

std::vector<input_stamp> parse_input_stamps(const std::string& text, const std::string& file) {
    std::vector<input_stamp> out;
    for (std::size_t at = 0, nl; at < text.size(); at = nl + 1) {
        nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        const std::string line = text.substr(at, nl - at);
        input_stamp s;
        int used = 0;
        if (std::sscanf(line.c_str(), "%lld %lld %n", &s.size, &s.mtime_ns, &used) != 2 || used <= 0 ||
            static_cast<std::size_t>(used) >= line.size())
            throw input_error(file, "attribute 'scpx_input_stamps'", "",
                              "'" + line + "' is not 'size mtime path'");
        s.path = line.substr(static_cast<std::size_t>(used));
        out.push_back(std::move(s));
    }
    return out;
}

std::string gene_list_fingerprint(const std::vector<std::string>& ids, const std::vector<std::string>& chroms,
                                  const std::vector<std::int64_t>& tss) {
    // Not FNV's offset basis (0xcbf29ce484222325) but the value scpx has always started from:
    // kept, so that fingerprints recorded in existing outputs still compare.
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t g = 0; g < ids.size(); ++g)
        h = fnv1a64(ids[g] + '\t' + chroms.at(g) + '\t' + std::to_string(tss.at(g)) + '\n', h);
    return std::to_string(ids.size()) + " genes, fnv1a64 " + fmt::format("{:016x}", h);
}

} // namespace scpx
