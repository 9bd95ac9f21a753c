// distinct_haplotypes: each haplotype's sequence is the reference with exactly its ALT alleles,
// whichever haplotypes share it.
#include "scpx/core/error.hpp"
#include "scpx/seq/haplotypes.hpp"

#include <gtest/gtest.h>

#include <random>

namespace scpx::seq {
namespace {

/// The sequence of haplotype h written naively, for comparison.
std::string naive(const std::string& ref, const std::vector<window_snv>& snvs, std::uint32_t h) {
    std::string s = ref;
    std::vector<bool> set(ref.size(), false);
    for (const auto& v : snvs)
        for (const auto c : v.carriers)
            if (c == h && !set[static_cast<std::size_t>(v.offset)]) {
                s[static_cast<std::size_t>(v.offset)] = v.alt;
                set[static_cast<std::size_t>(v.offset)] = true;
            }
    return s;
}

TEST(Haplotypes, SharedPatternsRunOnceAndReferenceHaplotypesReuseTheWindow) {
    const std::string ref = "ACGTACGTAC";
    // Individuals: 0 = ref/ref, 1 = ref/alt0, 2 = alt0+alt1 on both haplotypes, 3 = alt1/ref.
    const std::vector<window_snv> snvs = {{2, 'T', {3, 4, 5}}, {7, 'C', {4, 5, 6}}};
    const auto hw = distinct_haplotypes(ref, snvs, 8);
    ASSERT_EQ(hw.sequence_of.size(), 8u);
    EXPECT_EQ(hw.size(), 4u);      // ref, alt0, alt0+alt1, alt1
    EXPECT_EQ(hw.n_reference, 4u); // haplotypes 0, 1, 2, 7
    EXPECT_EQ(hw.conflicts, 0u);
    EXPECT_EQ(hw.sequence(0, ref, snvs), ref);
    EXPECT_EQ(hw.sequence(hw.sequence_of[3], ref, snvs), "ACTTACGTAC");
    EXPECT_EQ(hw.sequence(hw.sequence_of[4], ref, snvs), "ACTTACGCAC");
    EXPECT_EQ(hw.sequence_of[4], hw.sequence_of[5]);
    EXPECT_EQ(hw.sequence(hw.sequence_of[6], ref, snvs), "ACGTACGCAC");
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
        std::vector<window_snv> snvs;
        for (int k = 0, n = static_cast<int>(rng() % 12); k < n; ++k) {
            window_snv v;
            v.offset = static_cast<std::int64_t>(rng() % ref.size());
            v.alt = bases[rng() % 4];
            for (std::uint32_t h = 0; h < H; ++h)
                if (rng() % 5 == 0) v.carriers.push_back(h);
            snvs.push_back(v);
        }
        const auto hw = distinct_haplotypes(ref, snvs, H);
        std::size_t n_ref = 0;
        for (std::uint32_t h = 0; h < H; ++h) {
            const std::string want = naive(ref, snvs, h);
            EXPECT_EQ(hw.sequence(hw.sequence_of[h], ref, snvs), want)
                << "trial " << trial << " haplotype " << h;
            if (hw.sequence(hw.sequence_of[h], ref, snvs) == ref) ++n_ref;
        }
        EXPECT_LE(hw.size(), static_cast<std::size_t>(H));
        // n_reference counts haplotypes carrying nothing; an ALT equal to the REF base (not
        // possible after the reader's REF check) would be the only way for both to differ.
        EXPECT_LE(hw.n_reference, n_ref);
    }
}

TEST(Haplotypes, TwoAllelesAtOneSiteKeepTheFirstAndAreCounted) {
    // A multi-allelic site split into two biallelic records whose GTs both claim haplotype 1.
    const std::vector<window_snv> snvs = {{1, 'G', {1}}, {1, 'T', {1, 2}}};
    const std::string ref = "AAAA";
    const auto hw = distinct_haplotypes(ref, snvs, 4);
    EXPECT_EQ(hw.conflicts, 1u);
    EXPECT_EQ(hw.sequence(hw.sequence_of[1], ref, snvs), "AGAA");
    EXPECT_EQ(hw.sequence(hw.sequence_of[2], ref, snvs), "ATAA");
}

TEST(Haplotypes, NoHaplotypesOrNoSnvs) {
    EXPECT_EQ(distinct_haplotypes("ACGT", {}, 0).size(), 0u);
    const auto hw = distinct_haplotypes("ACGT", {}, 6);
    EXPECT_EQ(hw.size(), 1u);
    EXPECT_EQ(hw.n_reference, 6u);
}

TEST(Haplotypes, BadSnvsAreRefused) {
    EXPECT_THROW(distinct_haplotypes("ACGT", {{4, 'A', {0}}}, 2), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {{-1, 'A', {0}}}, 2), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {{0, 'N', {0}}}, 2), usage_error);
    EXPECT_THROW(distinct_haplotypes("ACGT", {{0, 'A', {2}}}, 2), usage_error);
}

} // namespace
} // namespace scpx::seq
