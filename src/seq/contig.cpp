#include "scpx/seq/contig.hpp"

#include <algorithm>
#include <cctype>

namespace scpx::seq {

namespace {

bool has_chr_prefix(std::string_view s) {
    return s.size() > 3 && std::tolower(static_cast<unsigned char>(s[0])) == 'c' &&
           std::tolower(static_cast<unsigned char>(s[1])) == 'h' &&
           std::tolower(static_cast<unsigned char>(s[2])) == 'r';
}

void push_unique(std::vector<std::string>& v, std::string s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

} // namespace

std::vector<std::string> contig_aliases(std::string_view name) {
    std::vector<std::string> out;
    push_unique(out, std::string(name));
    if (name.empty()) return out;
    const std::string_view bare = has_chr_prefix(name) ? name.substr(3) : name;
    if (bare == "M" || bare == "MT") {
        // Mitochondrion: UCSC "chrM", Ensembl "MT", and the rarer mixed spellings.
        for (const char* s : {"chrM", "MT", "chrMT", "M"}) push_unique(out, s);
        return out;
    }
    if (has_chr_prefix(name)) {
        push_unique(out, std::string(bare));
        push_unique(out, "chr" + std::string(bare));
    } else {
        push_unique(out, "chr" + std::string(name));
    }
    return out;
}

std::string match_contig(std::string_view name,
                         const std::function<bool(const std::string&)>& exists) {
    for (const std::string& alias : contig_aliases(name)) {
        if (exists(alias)) return alias;
    }
    return {};
}

std::string contig_list_preview(const std::vector<std::string>& names, std::size_t max_shown) {
    if (names.empty()) return "(none)";
    std::string out;
    const std::size_t n = std::min(names.size(), max_shown);
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ", ";
        out += names[i];
    }
    if (names.size() > n) out += ", ... (" + std::to_string(names.size()) + " in all)";
    return out;
}

} // namespace scpx::seq
