// Distinct personalised windows: apply each haplotype's ALT alleles to the reference, cut the
// window around the anchor (the TSS), and group haplotypes by the alleles that reach into it.
#include "scpx/seq/haplotypes.hpp"

#include "scpx/core/error.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

namespace scpx::seq {

namespace {

std::int64_t length_change(const window_variant& v) {
    return static_cast<std::int64_t>(v.alt.size()) - v.ref_length;
}

/// Where the anchor lands in the haplotype made by applying `applied` (indices into `variants`,
/// in position order, REF spans not overlapping). An anchor inside a replaced REF lands on the
/// ALT base at the same distance from the variant's start, or just after ALT when ALT is
/// shorter (the anchor base was deleted: the next base takes its place).
std::int64_t anchor_in_haplotype(const std::vector<window_variant>& variants,
                                 const std::vector<std::uint32_t>& applied, std::int64_t anchor) {
    std::int64_t shift = 0;
    for (const std::uint32_t k : applied) {
        const auto& v = variants[k];
        if (v.offset + v.ref_length <= anchor) {
            shift += length_change(v);
        } else {
            if (v.offset <= anchor)
                return v.offset + shift +
                       std::min(anchor - v.offset, static_cast<std::int64_t>(v.alt.size()));
            break; // position order: the others lie after the anchor too
        }
    }
    return anchor + shift;
}

void check_inputs(const std::string& reference, const std::vector<window_variant>& variants,
                  std::size_t n_haplotypes, const window_frame& frame) {
    const auto len = static_cast<std::int64_t>(reference.size());
    if (frame.anchor < 0 || frame.anchor > len || frame.length < 0 || frame.left < 0 ||
        frame.left > frame.length)
        throw usage_error("window frame (anchor " + std::to_string(frame.anchor) + ", " +
                          std::to_string(frame.left) + " of " + std::to_string(frame.length) +
                          " bases before it) does not fit a reference of " + std::to_string(len) + " bp");
    for (const auto& v : variants) {
        if (v.offset < 0 || v.ref_length < 1 || v.offset + v.ref_length > len)
            throw usage_error("variant REF [" + std::to_string(v.offset) + ", " +
                              std::to_string(v.offset + v.ref_length) + ") outside a reference of " +
                              std::to_string(len) + " bp");
        if (v.alt.empty() || v.alt.find_first_not_of("ACGT") != std::string::npos)
            throw usage_error("variant ALT '" + v.alt + "' is not a string of A, C, G and T");
        for (const std::uint32_t h : v.carriers)
            if (h >= n_haplotypes)
                throw usage_error("variant carrier " + std::to_string(h) + " beyond " +
                                  std::to_string(n_haplotypes) + " haplotypes");
    }
}

} // namespace

haplotype_windows distinct_haplotypes(const std::string& reference,
                                      const std::vector<window_variant>& variants, std::size_t n_haplotypes,
                                      const window_frame& frame) {
    check_inputs(reference, variants, n_haplotypes, frame);
    const auto len = static_cast<std::int64_t>(reference.size());
    // Position order, input order among variants at one offset (the earlier one wins a conflict).
    std::vector<std::uint32_t> order(variants.size());
    std::iota(order.begin(), order.end(), std::uint32_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return variants[a].offset < variants[b].offset;
    });

    // Each haplotype's applied variants, in position order; a REF overlapping the previous
    // applied REF of the same haplotype is a conflict.
    haplotype_windows out;
    std::vector<std::vector<std::uint32_t>> applied(n_haplotypes);
    std::vector<std::int64_t> applied_end(n_haplotypes, 0);
    out.applied.assign(variants.size(), false);
    for (const std::uint32_t k : order) {
        const auto& v = variants[k];
        for (const std::uint32_t h : v.carriers) {
            if (!applied[h].empty() && v.offset < applied_end[h]) {
                ++out.conflicts;
                continue;
            }
            applied[h].push_back(k);
            applied_end[h] = v.offset + v.ref_length;
            out.applied[k] = true;
        }
    }

    // Each haplotype's window in its own coordinates, and the alleles reaching into it: its
    // sequence's identity.
    std::map<std::vector<std::uint32_t>, std::uint32_t> index_of;
    out.sequence_of.resize(n_haplotypes);
    std::vector<std::uint32_t> inside;
    for (std::size_t h = 0; h < n_haplotypes; ++h) {
        const std::int64_t start = anchor_in_haplotype(variants, applied[h], frame.anchor) - frame.left;
        const std::int64_t end = start + frame.length;
        inside.clear();
        std::int64_t shift = 0;
        for (const std::uint32_t k : applied[h]) {
            const auto& v = variants[k];
            const std::int64_t at = v.offset + shift; // ALT's first base in the haplotype
            if (at < end && at + static_cast<std::int64_t>(v.alt.size()) > start) inside.push_back(k);
            shift += length_change(v);
        }
        out.margin_short = std::max({out.margin_short, -start, end - (len + shift)});
        if (inside.empty()) ++out.n_reference;
        const auto [it, added] = index_of.emplace(inside, static_cast<std::uint32_t>(out.alleles.size()));
        if (added) out.alleles.push_back(inside);
        out.sequence_of[h] = it->second;
    }
    return out;
}

void haplotype_windows::append_sequence(std::size_t d, const std::string& reference,
                                        const std::vector<window_variant>& variants,
                                        const window_frame& frame, std::string& out) const {
    const std::vector<std::uint32_t>& set = alleles.at(d);
    // The haplotype over the whole reference, then its window. A set of SNVs only, the common
    // case, needs no copy of the reference beyond the window itself.
    const bool snvs_only =
        std::all_of(set.begin(), set.end(), [&](std::uint32_t k) { return variants[k].is_snv(); });
    if (snvs_only) {
        const std::int64_t start = frame.anchor - frame.left;
        if (start < 0 || start + frame.length > static_cast<std::int64_t>(reference.size()))
            throw std::logic_error("haplotype window outside the reference: the margin was too small");
        const std::size_t at = out.size();
        out.append(reference, static_cast<std::size_t>(start), static_cast<std::size_t>(frame.length));
        for (const std::uint32_t k : set)
            out[at + static_cast<std::size_t>(variants[k].offset - start)] = variants[k].alt[0];
        return;
    }
    std::string haplotype;
    std::size_t pos = 0;
    for (const std::uint32_t k : set) {
        const auto& v = variants[k];
        haplotype.append(reference, pos, static_cast<std::size_t>(v.offset) - pos);
        haplotype += v.alt;
        pos = static_cast<std::size_t>(v.offset + v.ref_length);
    }
    haplotype.append(reference, pos, std::string::npos);
    const std::int64_t start = anchor_in_haplotype(variants, set, frame.anchor) - frame.left;
    if (start < 0 || start + frame.length > static_cast<std::int64_t>(haplotype.size()))
        throw std::logic_error("haplotype window outside the reference: the margin was too small");
    out.append(haplotype, static_cast<std::size_t>(start), static_cast<std::size_t>(frame.length));
}

std::string haplotype_windows::sequence(std::size_t d, const std::string& reference,
                                        const std::vector<window_variant>& variants,
                                        const window_frame& frame) const {
    std::string s;
    append_sequence(d, reference, variants, frame, s);
    return s;
}

} // namespace scpx::seq
