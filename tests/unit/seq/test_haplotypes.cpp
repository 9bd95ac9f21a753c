// distinct_haplotypes: each haplotype's sequence is the reference with exactly its ALT alleles,
// whichever haplotypes share it; with indels, cut so that the anchor keeps its place.
#include "scpx/core/error.hpp"
#include "scpx/seq/haplotypes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace scpx::seq {
namespace {

/// The sequence of haplotype h written naively, for comparison.
std::string naive(const std::string& ref, const std::vector<window_variant>& snvs, std::uint32_t h) {
    std::string s = ref;
    std::vector<bool> set(ref.size(), false);
    for (const auto& v : snvs)
        for (const auto c : v.carriers)
            if (c == h && !set[static_cast<std::size_t>(v.offset)]) {
                s[static_cast<std::size_t>(v.offset)] = v.alt[0];
                set[static_cast<std::size_t>(v.offset)] = true;
            }
    return s;
}

window_variant snv(std::int64_t offset, char alt, std::vector<std::uint32_t> carriers) {
    return {offset, 1, std::string(1, alt), std::move(carriers)};
}

TEST(Haplotypes, SharedPatternsRunOnceAndReferenceHaplotypesReuseTheWindow) {
    const std::string ref = "ACGTACGTAC";
    // Individuals: 0 = ref/ref, 1 = ref/alt0, 2 = alt0+alt1 on both haplotypes, 3 = alt1/ref.
    const std::vector<window_variant> snvs = {snv(2, 'T', {3, 4, 5}), snv(7, 'C', {4, 5, 6})};
    const window_frame all = window_frame::whole(10);
    const auto hw = distinct_haplotypes(ref, snvs, 8, all);
    ASSERT_EQ(hw.sequence_of.size(), 8u);
    EXPECT_EQ(hw.size(), 4u);      // ref, alt0, alt0+alt1, alt1
    EXPECT_EQ(hw.n_reference, 4u); // haplotypes 0, 1, 2, 7
    EXPECT_EQ(hw.conflicts, 0u);
    EXPECT_EQ(hw.sequence(0, ref, snvs, all), ref);
    EXPECT_EQ(hw.sequence(hw.sequence_of[3], ref, snvs, all), "ACTTACGTAC");
    EXPECT_EQ(hw.sequence(hw.sequence_of[4], ref, snvs, all), "ACTTACGCAC");
    EXPECT_EQ(hw.sequence_of[4], hw.sequence_of[5]);
    EXPECT_EQ(hw.sequence(hw.sequence_of[6], ref, snvs, all), "ACGTACGCAC");
    EXPECT_EQ(hw.sequence_of[0], hw.sequence_of[7]);
}

TEST(Haplotypes, EveryHaplotypeGetsItsOwnAllelesOnRandomWindows) {
    std::mt19937 rng(11);
    const std::string bases = "ACGT";
    for (int trial = 0; trial < 20; ++trial) {
        std::string ref(200, 'A');
        for (auto& c : ref)
            c = bases[rng() % 4];
        const std::uint32_t H = 2 * (1 + rng() % 30);
        std::vector<window_variant> snvs;
        for (int k = 0, n = static_cast<int>(rng() % 12); k < n; ++k) {
            window_variant v;
            v.offset = static_cast<std::int64_t>(rng() % ref.size());
            v.alt = std::string(1, bases[rng() % 4]);
            for (std::uint32_t h = 0; h < H; ++h)
                if (rng() % 5 == 0) v.carriers.push_back(h);
            snvs.push_back(v);
        }
        const window_frame all = window_frame::whole(200);
        const auto hw = distinct_haplotypes(ref, snvs, H, all);
        std::size_t n_ref = 0;
        for (std::uint32_t h = 0; h < H; ++h) {
            const std::string want = naive(ref, snvs, h);
            EXPECT_EQ(hw.sequence(hw.sequence_of[h], ref, snvs, all), want)
                << "trial " << trial << " haplotype " << h;
            if (hw.sequence(hw.sequence_of[h], ref, snvs, all) == ref) ++n_ref;
        }
        EXPECT_LE(hw.size(), static_cast<std::size_t>(H));
        // n_reference counts haplotypes carrying nothing; an ALT equal to the REF base (not
        // possible after the reader's REF check) would be the only way for both to differ.
        EXPECT_LE(hw.n_reference, n_ref);
    }
}

TEST(Haplotypes, TwoAllelesAtOneSiteKeepTheFirstAndAreCounted) {
    // A multi-allelic site split into two biallelic records whose GTs both claim haplotype 1.
    const std::vector<window_variant> snvs = {snv(1, 'G', {1}), snv(1, 'T', {1, 2})};
    const std::string ref = "AAAA";
    const window_frame all = window_frame::whole(4);
    const auto hw = distinct_haplotypes(ref, snvs, 4, all);
    EXPECT_EQ(hw.conflicts, 1u);
    EXPECT_EQ(hw.sequence(hw.sequence_of[1], ref, snvs, all), "AGAA");
    EXPECT_EQ(hw.sequence(hw.sequence_of[2], ref, snvs, all), "ATAA");
    EXPECT_EQ(hw.applied, (std::vector<bool>{true, true})); // T is haplotype 2's
    // The same deletion written twice (as left- and right-aligned in two files): the second is
    // in conflict on its only carrier, so in no sequence.
    const std::vector<window_variant> twice = {{1, 3, "A", {0}}, {2, 3, "A", {0}}};
    const auto hw2 = distinct_haplotypes("AAAAAA", twice, 2, window_frame::whole(6));
    EXPECT_EQ(hw2.conflicts, 1u);
    EXPECT_EQ(hw2.applied, (std::vector<bool>{true, false}));
}

TEST(Haplotypes, NoHaplotypesOrNoSnvs) {
    EXPECT_EQ(distinct_haplotypes("ACGT", {}, 0, window_frame::whole(4)).size(), 0u);
    const auto hw = distinct_haplotypes("ACGT", {}, 6, window_frame::whole(4));
    EXPECT_EQ(hw.size(), 1u);
    EXPECT_EQ(hw.n_reference, 6u);
}

TEST(Haplotypes, BadSnvsAreRefused) {
    const window_frame all = window_frame::whole(4);
    EXPECT_THROW(distinct_haplotypes("ACGT", {snv(4, 'A', {0})}, 2, all), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {snv(-1, 'A', {0})}, 2, all), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {snv(0, 'N', {0})}, 2, all), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {snv(0, 'A', {2})}, 2, all), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {{2, 3, "A", {0}}}, 2, all), usage_error); // REF past the end
    EXPECT_THROW(distinct_haplotypes("ACGT", {{2, 1, "", {0}}}, 2, all), usage_error);  // no ALT
    EXPECT_THROW(distinct_haplotypes("ACGT", {{2, 0, "A", {0}}}, 2, all), usage_error); // no REF
    EXPECT_THROW(distinct_haplotypes("ACGT", {}, 2, {5, 0, 4}), usage_error);           // anchor outside
    EXPECT_THROW(distinct_haplotypes("ACGT", {}, 2, {2, 5, 4}), usage_error);           // left > length
}

/// Haplotype h's window written naively: the haplotype over the whole reference with each base's
/// reference origin (inserted bases count as their variant's last REF base), the anchor as the
/// first base from the anchor's reference position on. False when the window leaves the reference.
bool naive_window(const std::string& ref, const std::vector<window_variant>& vars, std::uint32_t h,
                  const window_frame& frame, std::string& window) {
    std::vector<std::size_t> order(vars.size());
    for (std::size_t k = 0; k < order.size(); ++k)
        order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return vars[a].offset < vars[b].offset; });
    std::string hap;
    std::vector<std::int64_t> origin;
    std::int64_t pos = 0;
    for (const std::size_t k : order) {
        const auto& v = vars[k];
        const bool carried = std::find(v.carriers.begin(), v.carriers.end(), h) != v.carriers.end();
        if (!carried || v.offset < pos) continue; // not carried, or overlapping an earlier allele
        for (; pos < v.offset; ++pos) {
            hap += ref[static_cast<std::size_t>(pos)];
            origin.push_back(pos);
        }
        for (std::size_t i = 0; i < v.alt.size(); ++i) {
            hap += v.alt[i];
            origin.push_back(v.offset +
                             std::min<std::int64_t>(static_cast<std::int64_t>(i), v.ref_length - 1));
        }
        pos = v.offset + v.ref_length;
    }
    for (; pos < static_cast<std::int64_t>(ref.size()); ++pos) {
        hap += ref[static_cast<std::size_t>(pos)];
        origin.push_back(pos);
    }
    const auto it = std::lower_bound(origin.begin(), origin.end(), frame.anchor);
    const std::int64_t start = (it - origin.begin()) - frame.left;
    if (start < 0 || start + frame.length > static_cast<std::int64_t>(hap.size())) return false;
    window = hap.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(frame.length));
    return true;
}

TEST(Haplotypes, IndelsKeepTheAnchorInPlace) {
    //                       0123456789012345678901234
    const std::string ref = "AAAAACCCCCGGGGGTTTTTACGTA";
    const window_frame frame{12, 4, 10}; // window [8, 18) of the reference; the anchor G at 12
    const std::vector<window_variant> vars = {
        {9, 2, "C", {1}},     // haplotype 1: deletes reference base 10 (G) upstream
        {10, 1, "GAAA", {2}}, // haplotype 2: inserts AAA after base 10 upstream
        {14, 6, "G", {3}},    // haplotype 3: deletes 15..19 downstream
        {11, 3, "G", {4}},    // haplotype 4: deletes 12 (the anchor) and 13
        {1, 3, "A", {5}},     // haplotype 5: a deletion in the margin, wholly before its window
    };
    const auto hw = distinct_haplotypes(ref, vars, 6, frame);
    EXPECT_EQ(hw.margin_short, 0);
    EXPECT_EQ(hw.sequence(hw.sequence_of[0], ref, vars, frame), "CCGGGGGTTT");
    EXPECT_EQ(hw.sequence(hw.sequence_of[1], ref, vars, frame), "CCCGGGGTTT"); // one more C pulled in
    EXPECT_EQ(hw.sequence(hw.sequence_of[2], ref, vars, frame), "AAAGGGGTTT");
    EXPECT_EQ(hw.sequence(hw.sequence_of[3], ref, vars, frame), "CCGGGGGACG");
    EXPECT_EQ(hw.sequence(hw.sequence_of[4], ref, vars, frame),
              "CCGGGTTTTT"); // base 14 takes the anchor's place
    // The margin deletion cannot change haplotype 5's window: it shares the reference window.
    EXPECT_EQ(hw.sequence_of[5], hw.sequence_of[0]);
    EXPECT_EQ(hw.n_reference, 2u);
    EXPECT_EQ(hw.size(), 5u);
}

TEST(Haplotypes, AWindowPastTheMarginIsReported) {
    const std::string ref = "ACGTACGTACGTACGTACGT";
    const window_frame frame{10, 4, 8}; // window [6, 14)
    // A deletion of 8 bases upstream pulls the window 8 bases further left: 2 short.
    const std::vector<window_variant> vars = {{1, 9, "C", {0}}};
    const auto hw = distinct_haplotypes(ref, vars, 2, frame);
    EXPECT_EQ(hw.margin_short, 2);
    EXPECT_THROW(hw.sequence(hw.sequence_of[0], ref, vars, frame), std::logic_error);
}

TEST(Haplotypes, IndelsMnpsAndSnvsOnRandomWindowsEqualANaiveBuilder) {
    std::mt19937 rng(23);
    const std::string bases = "ACGT";
    int checked = 0, short_seen = 0;
    for (int trial = 0; trial < 300; ++trial) {
        std::string ref(160, 'A');
        for (auto& c : ref)
            c = bases[rng() % 4];
        const std::int64_t length = 40 + static_cast<std::int64_t>(rng() % 60);
        const std::int64_t left = static_cast<std::int64_t>(rng() % static_cast<unsigned>(length + 1));
        const window_frame frame{60 + static_cast<std::int64_t>(rng() % 40), left, length};
        const std::uint32_t H = 2 * (1 + rng() % 12);
        std::vector<window_variant> vars;
        for (int k = 0, n = static_cast<int>(rng() % 16); k < n; ++k) {
            window_variant v;
            v.ref_length = 1 + static_cast<std::int64_t>(rng() % 3 == 0 ? rng() % 12 : 0);
            v.offset =
                static_cast<std::int64_t>(rng() % (ref.size() - static_cast<std::size_t>(v.ref_length) + 1));
            const std::size_t alt_len = rng() % 3 == 0 ? 1 + rng() % 12 : 1;
            for (std::size_t i = 0; i < alt_len; ++i)
                v.alt += bases[rng() % 4];
            for (std::uint32_t h = 0; h < H; ++h)
                if (rng() % 4 == 0) v.carriers.push_back(h);
            vars.push_back(v);
        }
        const auto hw = distinct_haplotypes(ref, vars, H, frame);
        bool all_fit = true;
        for (std::uint32_t h = 0; h < H; ++h) {
            std::string want;
            if (!naive_window(ref, vars, h, frame, want)) {
                all_fit = false;
                continue;
            }
            if (hw.margin_short > 0) continue; // the caller would widen the margin first
            EXPECT_EQ(hw.sequence(hw.sequence_of[h], ref, vars, frame), want)
                << "trial " << trial << " haplotype " << h;
            ++checked;
        }
        EXPECT_EQ(hw.margin_short > 0, !all_fit) << "trial " << trial;
        short_seen += hw.margin_short > 0 ? 1 : 0;
    }
    EXPECT_GT(checked, 1000);
    EXPECT_GT(short_seen, 0);
}

} // namespace
} // namespace scpx::seq
