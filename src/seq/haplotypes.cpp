// Distinct personalised windows: group haplotypes by the set of ALT alleles they carry, then
// write each set's alleles into a copy of the reference window.
#include "scpx/seq/haplotypes.hpp"

#include "scpx/core/error.hpp"

#include <algorithm>
#include <map>
#include <numeric>

namespace scpx::seq {

haplotype_windows distinct_haplotypes(const std::string& reference, const std::vector<window_snv>& snvs,
                                      std::size_t n_haplotypes) {
    const auto len = static_cast<std::int64_t>(reference.size());
    for (const auto& v : snvs) {
        if (v.offset < 0 || v.offset >= len)
            throw usage_error("SNV offset " + std::to_string(v.offset) + " outside a window of " +
                              std::to_string(len) + " bp");
        if (v.alt != 'A' && v.alt != 'C' && v.alt != 'G' && v.alt != 'T')
            throw usage_error(std::string("SNV ALT '") + v.alt + "' is not A, C, G or T");
        for (const std::uint32_t h : v.carriers)
            if (h >= n_haplotypes)
                throw usage_error("SNV carrier " + std::to_string(h) + " beyond " +
                                  std::to_string(n_haplotypes) + " haplotypes");
    }
    // Position order, input order among SNVs at one offset (the earlier one wins a conflict).
    std::vector<std::size_t> order(snvs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return snvs[a].offset < snvs[b].offset; });

    // Each haplotype's applied SNVs (positions in `order`, ascending): its sequence's identity.
    haplotype_windows out;
    std::vector<std::vector<std::uint32_t>> carried(n_haplotypes);
    for (std::size_t k = 0; k < order.size(); ++k) {
        const auto& v = snvs[order[k]];
        for (const std::uint32_t h : v.carriers) {
            auto& mine = carried[h];
            if (!mine.empty() && snvs[order[mine.back()]].offset == v.offset) {
                ++out.conflicts;
                continue;
            }
            mine.push_back(static_cast<std::uint32_t>(k));
        }
    }
    std::map<std::vector<std::uint32_t>, std::uint32_t> index_of;
    out.sequence_of.resize(n_haplotypes);
    for (std::size_t h = 0; h < n_haplotypes; ++h) {
        if (carried[h].empty()) ++out.n_reference;
        const auto [it, added] = index_of.emplace(carried[h], static_cast<std::uint32_t>(out.alleles.size()));
        if (added) {
            std::vector<std::uint32_t> set;
            set.reserve(carried[h].size());
            for (const std::uint32_t k : carried[h])
                set.push_back(static_cast<std::uint32_t>(order[k]));
            out.alleles.push_back(std::move(set));
        }
        out.sequence_of[h] = it->second;
    }
    return out;
}

void haplotype_windows::append_sequence(std::size_t d, const std::string& reference,
                                        const std::vector<window_snv>& snvs, std::string& out) const {
    const std::size_t at = out.size();
    out += reference;
    for (const std::uint32_t k : alleles.at(d))
        out[at + static_cast<std::size_t>(snvs[k].offset)] = snvs[k].alt;
}

std::string haplotype_windows::sequence(std::size_t d, const std::string& reference,
                                        const std::vector<window_snv>& snvs) const {
    std::string s;
    append_sequence(d, reference, snvs, s);
    return s;
}

} // namespace scpx::seq
