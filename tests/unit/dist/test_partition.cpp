#include "scpx/core/error.hpp"
#include "scpx/dist/partition.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

using scpx::dist::index_range;

namespace {

// Blocks must be in order, contiguous and cover [begin, end) exactly.
void expect_cover(const std::vector<index_range>& blocks, std::size_t begin, std::size_t end) {
    std::size_t at = begin;
    for (const auto& b : blocks) {
        EXPECT_EQ(b.begin, at);
        EXPECT_LE(b.begin, b.end);
        at = b.end;
    }
    EXPECT_EQ(at, end);
}

double block_cost(const std::vector<double>& c, const index_range& r) {
    return std::accumulate(c.begin() + static_cast<long>(r.begin), c.begin() + static_cast<long>(r.end), 0.0);
}

std::vector<double> uneven_costs(std::size_t n) {
    std::vector<double> c(n);
    std::uint64_t s = 12345;
    for (auto& x : c) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const auto v = (s >> 33) % 1000;
        x = v < 100 ? 0.0 : static_cast<double>(v % 300); // some zero-cost genes, spread costs
    }
    return c;
}

} // namespace

TEST(Partition, EqualCostsSplitNearlyEvenly) {
    const std::vector<double> c(10, 1.0);
    const auto b = scpx::dist::partition_by_cost(c, 4);
    ASSERT_EQ(b.size(), 4u);
    expect_cover(b, 0, 10);
    for (const auto& r : b) {
        EXPECT_GE(r.size(), 2u);
        EXPECT_LE(r.size(), 3u);
    }
}

TEST(Partition, UnevenCostsAreBalancedWithinOneItem) {
    const auto c = uneven_costs(1000);
    const double total = std::accumulate(c.begin(), c.end(), 0.0);
    const double max_item = *std::max_element(c.begin(), c.end());
    ASSERT_GT(total, 0);
    for (std::size_t parts : {1u, 2u, 3u, 4u, 7u, 64u}) {
        const auto b = scpx::dist::partition_by_cost(c, parts);
        ASSERT_EQ(b.size(), parts);
        expect_cover(b, 0, c.size());
        for (const auto& r : b) {
            EXPECT_LE(block_cost(c, r), total / static_cast<double>(parts) + max_item) << parts;
            EXPECT_GE(block_cost(c, r), total / static_cast<double>(parts) - max_item) << parts;
        }
    }
}

TEST(Partition, CostsMatterNotCounts) {
    // One expensive item first: it should get a block (almost) to itself.
    std::vector<double> c(9, 1.0);
    c[0] = 8.0;
    const auto b = scpx::dist::partition_by_cost(c, 2);
    EXPECT_EQ(b[0], (index_range{0, 1}));
    EXPECT_EQ(b[1], (index_range{1, 9}));
}

TEST(Partition, DeterministicAndConsistentWithBlockQueries) {
    const auto c = uneven_costs(517);
    const auto a = scpx::dist::partition_by_cost(c, 5);
    const auto b = scpx::dist::partition_by_cost(c, 5);
    EXPECT_EQ(a, b);
    for (std::size_t k = 0; k < 5; ++k)
        EXPECT_EQ(scpx::dist::partition_block(c, 5, k), a[k]);
}

TEST(Partition, NoBlockIsEmptyWhenItemsSuffice) {
    // A costly item among cheap ones: by cost alone a neighbouring block would get nothing (an
    // lctpred array job with no gene could never be merged). Every part gets >= 1 item.
    for (std::size_t big : {0u, 3u, 6u}) {
        std::vector<double> c(7, 1.0);
        c[big] = 100.0;
        for (std::size_t parts = 1; parts <= c.size(); ++parts) {
            const auto b = scpx::dist::partition_by_cost(c, parts);
            expect_cover(b, 0, c.size());
            for (const auto& r : b)
                EXPECT_FALSE(r.empty()) << "big item " << big << ", " << parts << " parts";
        }
    }
    // The same inside a job's block, for ranks.
    const std::vector<double> c = {1, 1, 50, 1, 1, 1, 1, 1};
    for (const auto& r : scpx::dist::partition_by_cost(c, 3, {1, 5}))
        EXPECT_FALSE(r.empty());
}

TEST(Partition, FewerItemsThanParts) {
    const std::vector<double> c = {3.0, 1.0, 2.0};
    const auto b = scpx::dist::partition_by_cost(c, 8);
    ASSERT_EQ(b.size(), 8u);
    expect_cover(b, 0, 3);
    std::size_t non_empty = 0;
    for (const auto& r : b) {
        EXPECT_LE(r.size(), 1u);
        non_empty += r.empty() ? 0 : 1;
    }
    EXPECT_EQ(non_empty, 3u);
}

TEST(Partition, EmptyListGivesEmptyBlocks) {
    const auto b = scpx::dist::partition_by_cost({}, 3);
    ASSERT_EQ(b.size(), 3u);
    for (const auto& r : b)
        EXPECT_TRUE(r.empty());
}

TEST(Partition, AllZeroCostsFallBackToCounts) {
    const std::vector<double> c(7, 0.0);
    const auto b = scpx::dist::partition_by_cost(c, 3);
    EXPECT_EQ(b, scpx::dist::partition_even(7, 3));
    EXPECT_EQ(b[0], (index_range{0, 3}));
    EXPECT_EQ(b[2], (index_range{5, 7}));
}

TEST(Partition, ZeroCostItemsDoNotBreakCover) {
    const std::vector<double> c = {0, 0, 5, 0, 0, 5, 0};
    const auto b = scpx::dist::partition_by_cost(c, 2);
    expect_cover(b, 0, c.size());
    EXPECT_DOUBLE_EQ(block_cost(c, b[0]), 5.0);
    EXPECT_DOUBLE_EQ(block_cost(c, b[1]), 5.0);
}

TEST(Partition, RejectsBadInput) {
    EXPECT_THROW(scpx::dist::partition_by_cost({1, 2}, 0), scpx::usage_error);
    EXPECT_THROW(scpx::dist::partition_by_cost({1, -2}, 2), scpx::usage_error);
    EXPECT_THROW(scpx::dist::partition_by_cost({1, std::nan("")}, 2), scpx::usage_error);
    EXPECT_THROW(scpx::dist::partition_by_cost({1, std::numeric_limits<double>::infinity()}, 2),
                 scpx::usage_error);
    EXPECT_THROW(scpx::dist::partition_by_cost({1, 2}, 2, {1, 3}), scpx::usage_error);
    EXPECT_THROW(scpx::dist::partition_block({1, 2}, 2, 2), scpx::usage_error);
}

TEST(Partition, SplitValidation) {
    EXPECT_THROW(scpx::dist::make_split(0, 0), scpx::usage_error);
    EXPECT_THROW(scpx::dist::make_split(4, 4), scpx::usage_error);
    EXPECT_THROW(scpx::dist::make_split(4, -1), scpx::usage_error);
    try {
        scpx::dist::make_split(3, 5);
        FAIL() << "no throw";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("--job K must be in [0, 3)"), std::string::npos) << e.what();
    }
    const auto s = scpx::dist::make_split(4, 3);
    EXPECT_EQ(s.n_splits, 4u);
    EXPECT_EQ(s.job, 3u);
}

TEST(Partition, SplitJobsThenRanksCoverEverything) {
    const auto c = uneven_costs(301);
    std::size_t at = 0;
    for (long long job = 0; job < 3; ++job) {
        const auto split = scpx::dist::make_split(3, job);
        const index_range j = scpx::dist::split_range(c, split);
        EXPECT_EQ(j.begin, at);
        const auto ranks = scpx::dist::partition_by_cost(c, 4, j);
        expect_cover(ranks, j.begin, j.end);
        at = j.end;
    }
    EXPECT_EQ(at, c.size());
    // One rank, no split: the whole list.
    EXPECT_EQ(scpx::dist::rank_range(c), (index_range{0, c.size()}));
}

TEST(Partition, EvenSplitByCount) {
    const auto b = scpx::dist::partition_even(10, 4);
    EXPECT_EQ(b[0], (index_range{0, 3}));
    EXPECT_EQ(b[1], (index_range{3, 6}));
    EXPECT_EQ(b[2], (index_range{6, 8}));
    EXPECT_EQ(b[3], (index_range{8, 10}));
}

TEST(Partition, CollectiveRoundsAtOneRank) {
    EXPECT_EQ(scpx::dist::collective_rounds(0, 8), 0u);
    EXPECT_EQ(scpx::dist::collective_rounds(8, 8), 1u);
    EXPECT_EQ(scpx::dist::collective_rounds(9, 8), 2u);
    EXPECT_THROW(scpx::dist::collective_rounds(9, 0), scpx::usage_error);
}

TEST(SplitSpec, ASplitFinerThanItsListSaysWhatFits) {
    const auto message = [](scpx::dist::split_spec s, std::size_t items) {
        try {
            scpx::dist::require_split_fits(s, items, "model");
        } catch (const scpx::usage_error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(message({2, 0}, 2), "");
    EXPECT_EQ(message({3, 1}, 2),
              "--split 3 cuts 2 model(s) into more parts than there are models; use --split 2 or fewer");
    EXPECT_EQ(message({2, 1}, 1),
              "--split 2 cuts 1 model(s) into more parts than there are models; run without --split");
}
