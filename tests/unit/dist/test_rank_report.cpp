#include "scpx/dist/rank_report.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using scpx::dist::describe_rank_devices;
using scpx::dist::describe_rank_work;
using scpx::dist::rank_device;
using scpx::dist::rank_list;
using scpx::dist::rank_work;

namespace {

std::vector<rank_device> devices(const std::vector<bool>& gpu) {
    std::vector<rank_device> out;
    for (std::size_t i = 0; i < gpu.size(); ++i)
        out.push_back({"node" + std::to_string(i / 4),
                       gpu[i] ? "cuda:" + std::to_string(i % 4) + " H100" : "CPU", gpu[i]});
    return out;
}

} // namespace

TEST(RankReport, RankListShortensRuns) {
    EXPECT_EQ(rank_list({}), "");
    EXPECT_EQ(rank_list({3}), "3");
    EXPECT_EQ(rank_list({0, 1, 2, 3, 7, 9, 10}), "0–3, 7, 9, 10");
    EXPECT_EQ(rank_list({4, 5, 6, 12, 13, 14, 15}), "4–6, 12–15");
}

TEST(RankReport, ListsEachRanksDeviceAndHost) {
    const auto r = describe_rank_devices("Enformer", devices({true, true}));
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0], "Enformer device per rank:");
    EXPECT_EQ(r.lines[1], "  rank 0 (node0): cuda:0 H100");
    EXPECT_EQ(r.lines[2], "  rank 1 (node0): cuda:1 H100");
    EXPECT_EQ(r.warning, "") << "all ranks on a GPU";
    EXPECT_EQ(describe_rank_devices("Enformer", devices({false, false, false})).warning, "")
        << "all on the CPU";
}

TEST(RankReport, WarnsWhenSomeRanksFellBackToTheCpu) {
    // Two nodes of four ranks; the second node has no GPU.
    const auto r =
        describe_rank_devices("Enformer", devices({true, true, true, true, false, false, false, false}));
    EXPECT_NE(r.warning.find("rank(s) 4–7 run on the CPU (no GPU found on node1) while 4 rank(s) use a GPU"),
              std::string::npos)
        << r.warning;
}

TEST(RankReport, ManyRanksAreSummarised) {
    std::vector<bool> gpu(40, true);
    gpu[12] = gpu[13] = gpu[30] = false;
    const auto r = describe_rank_devices("Enformer", devices(gpu));
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "Enformer devices: 37 rank(s) on a GPU, 3 on the CPU (CPU: ranks 12, 13, 30)");
    EXPECT_NE(r.warning.find("no GPU found on node3, node7)"), std::string::npos) << r.warning;
}

TEST(RankReport, WorkNamesTheSlowestRank) {
    const auto lines =
        describe_rank_work("features", {{"10 gene(s)", 4.0}, {"11 gene(s)", 9.5}, {"10 gene(s)", 4.0}});
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "features per rank:");
    EXPECT_EQ(lines[2], "  rank 1: 9.50 s, 11 gene(s)");
    // Ties keep rank order: the fastest of two equal ranks is the lower one.
    EXPECT_EQ(lines[4], "features: slowest rank 1 9.50 s, fastest rank 0 4.00 s, median 4.00 s over 3 ranks");

    const std::vector<rank_work> many(20, {"x", 1.0});
    EXPECT_EQ(describe_rank_work("features", many).size(), 1u) << "beyond kListedRanks only the summary";
    EXPECT_TRUE(describe_rank_work("features", {}).empty());
}
