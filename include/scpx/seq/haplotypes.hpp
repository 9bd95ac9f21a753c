#pragma once
/// @file haplotypes.hpp
/// Personalised sequence windows (pipeline.md §2): each haplotype's alleles written into the
/// reference, with haplotypes that make the same window sharing one sequence.
///
/// Enformer is run once per distinct sequence, not once per haplotype: in a window every haplotype
/// that carries no ALT allele is the reference window (the decision "windows with no variant equal
/// the reference: reuse it"), and haplotypes carrying the same ALT alleles share one sequence.
/// How much that saves depends on the window: on the 1000 Genomes chr20 panel of the demo (300
/// individuals) 10.2x fewer passes at 12,288 bp, 1.13x at 196,608 bp, 1.02x at 393,216 bp. The
/// result does not depend on the sharing: each haplotype gets exactly its own alleles' sequence.
///
/// SNVs replace one base in place. Indels and MNPs (pipeline.md §2's "documented extension")
/// replace REF's bases by ALT's, so a haplotype's sequence is longer or shorter than the
/// reference; its window is then cut from it so that the anchor (the TSS) keeps its place in the
/// window: `left` bases before it, whatever the haplotype's indels upstream. The reference given
/// is therefore wider than the window (a margin on each side, from which a haplotype with
/// deletions draws its bases); window_frame says where the window lies in it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace scpx::seq {

/// One variant of a window, as the haplotype builder needs it: REF's bases at
/// [offset, offset + ref_length) of the reference are replaced by `alt` (an SNV: ref_length 1 and
/// one ALT base; an MNP: equal lengths; an indel: different lengths, as written in the VCF with
/// its padding base).
struct window_variant {
    std::int64_t offset = 0;             ///< 0-based position of REF's first base in the reference
    std::int64_t ref_length = 1;         ///< REF's length (>= 1)
    std::string alt;                     ///< ALT's bases (A, C, G or T; at least one)
    std::vector<std::uint32_t> carriers; ///< haplotypes carrying ALT (2·sample + 0|1), ascending

    bool is_snv() const { return ref_length == 1 && alt.size() == 1; }
};

/// Where the window lies in the reference handed to the builder: `length` bases with the anchor
/// (the TSS) `left` bases from the window's start. For SNVs alone the window is the reference
/// itself: anchor = left and length = the reference's length (the default, see whole()).
struct window_frame {
    std::int64_t anchor = 0; ///< 0-based offset of the anchor base in the reference
    std::int64_t left = 0;   ///< the window's bases before the anchor, 0 <= left <= length
    std::int64_t length = 0; ///< the window's length

    /// The frame whose window is the whole reference of `length` bases.
    static window_frame whole(std::int64_t length) { return {0, 0, length}; }
};

/// The distinct sequences the haplotypes of one window make, as allele sets: a window of
/// 393,216 bp for 2,000 haplotypes would be 0.8 GB if every distinct sequence were held, so the
/// caller writes them out a batch at a time (append_sequence).
struct haplotype_windows {
    /// Per distinct sequence, the variants (indices into the `variants` given) whose ALT it
    /// carries and that reach into its window, in position order; in the order of the first
    /// haplotype making each set. An empty set is the reference window. Variants wholly outside
    /// a haplotype's window (in the margin) are left out: they cannot change the window's bases
    /// (those upstream only move the haplotype's coordinates, which the anchor absorbs), so
    /// haplotypes differing only there share a sequence.
    std::vector<std::vector<std::uint32_t>> alleles;
    /// [n_haplotypes] index into `alleles` of haplotype h (2·sample + 0|1).
    std::vector<std::uint32_t> sequence_of;
    /// Haplotypes whose window is the reference window (no ALT allele reaching into it).
    std::size_t n_reference = 0;
    /// (haplotype, variant) pairs not applied because the haplotype already carries an ALT
    /// allele of an earlier variant whose REF overlaps this one's (a multi-allelic site split
    /// into biallelic records, or an SNV inside a deletion, with GTs that claim both): the earlier
    /// allele, in position then input order, is kept. The caller reports it.
    std::size_t conflicts = 0;
    /// [variants] whether the variant was applied to some haplotype (false: every carrier had
    /// it in conflict), so that callers count only alleles a sequence holds.
    std::vector<bool> applied;
    /// How many more bases of reference, on the side that fell short, the widest-drifting
    /// haplotype's window needed: 0 when every window lies inside the reference given. When it
    /// is not 0 the caller fetches a wider margin and builds again (no sequence is valid).
    std::int64_t margin_short = 0;

    /// Number of distinct sequences.
    std::size_t size() const { return alleles.size(); }
    /// Appends distinct sequence `d` (the reference with its ALT alleles, cut to the frame's
    /// window) to `out`: exactly frame.length bases.
    void append_sequence(std::size_t d, const std::string& reference,
                         const std::vector<window_variant>& variants, const window_frame& frame,
                         std::string& out) const;
    /// Distinct sequence `d` as a string.
    std::string sequence(std::size_t d, const std::string& reference,
                         const std::vector<window_variant>& variants, const window_frame& frame) const;
};

/// Builds the distinct haplotype sequences of a window.
/// @param reference the reference bases, the window and its margins
/// @param variants the variants, in any order; REF spans inside [0, reference.size())
/// @param n_haplotypes 2 × number of individuals
/// @param frame where the window lies in `reference`
/// @throws usage_error for a REF span outside the reference, a carrier index ≥ n_haplotypes,
///         an empty ALT or one with a letter other than A/C/G/T, or a frame outside the reference
haplotype_windows distinct_haplotypes(const std::string& reference,
                                      const std::vector<window_variant>& variants, std::size_t n_haplotypes,
                                      const window_frame& frame);

} // namespace scpx::seq
