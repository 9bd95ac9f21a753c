#include "scpx/io/id_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

namespace {

TEST(IdIndex, InsertFindAndOrder) {
    scpx::io::id_index idx;
    EXPECT_EQ(idx.find("rs1"), scpx::io::id_index::npos); // empty table
    EXPECT_EQ(idx.insert("rs1"), 0u);
    EXPECT_EQ(idx.insert("rs22"), 1u);
    EXPECT_EQ(idx.insert("rs1"), 0u); // existing
    EXPECT_EQ(idx.insert(""), 2u);    // the empty id is an id like any other
    EXPECT_EQ(idx.size(), 3u);
    EXPECT_EQ(idx.find("rs22"), 1);
    EXPECT_EQ(idx.find("rs2"), scpx::io::id_index::npos); // prefix is not a match
    EXPECT_EQ(idx.find(""), 2);
    EXPECT_EQ(idx.id(1), "rs22");
    idx.clear();
    EXPECT_TRUE(idx.empty());
    EXPECT_FALSE(idx.contains("rs1"));
    EXPECT_EQ(idx.insert("x"), 0u);
}

TEST(IdIndex, AgreesWithUnorderedMapThroughRehashes) {
    scpx::io::id_index idx; // starts without slots: grows from 16 through many rehashes
    std::unordered_map<std::string, std::uint32_t> ref;
    for (int i = 0; i < 50000; ++i) {
        const std::string id = "rs" + std::to_string((i * 7919) % 30011) + (i % 3 ? "" : "_b38");
        const auto k = idx.insert(id);
        auto r = ref.emplace(id, static_cast<std::uint32_t>(ref.size()));
        ASSERT_EQ(k, r.first->second) << id;
    }
    ASSERT_EQ(idx.size(), ref.size());
    for (const auto& [id, k] : ref) {
        ASSERT_EQ(idx.find(id), static_cast<std::int64_t>(k));
        ASSERT_EQ(idx.id(k), id);
    }
    EXPECT_EQ(idx.find("rs30012"), scpx::io::id_index::npos);
}

} // namespace
