#include "scpx/seq/onehot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using scpx::seq::onehot_n_mode;
using scpx::seq::onehot_ref;

TEST(Onehot, AcgtRowsInOrderAndNZero) {
    const std::vector<float> got = onehot_ref("ACGTN");
    const std::vector<float> want = {1, 0, 0, 0,  // A
                                     0, 1, 0, 0,  // C
                                     0, 0, 1, 0,  // G
                                     0, 0, 0, 1,  // T
                                     0, 0, 0, 0}; // N
    EXPECT_EQ(got, want);
}

TEST(Onehot, LowerCaseLikeUpperCase) {
    EXPECT_EQ(onehot_ref("acgt"), onehot_ref("ACGT"));
}

TEST(Onehot, QuarterModeForNAndOtherLetters) {
    const std::vector<float> got = onehot_ref("NRA-", onehot_n_mode::QUARTER);
    const std::vector<float> want = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f,
                                     1,     0,     0,     0,     0.25f, 0.25f, 0.25f, 0.25f};
    EXPECT_EQ(got, want);
    const std::vector<float> zero = onehot_ref("R-", onehot_n_mode::ZERO);
    EXPECT_EQ(zero, std::vector<float>(8, 0.0f));
}

TEST(Onehot, WritesExactlyFourFloatsPerBase) {
    // Sentinel tail: the encoder must not write past 4 * L floats.
    std::vector<float> buf(4 * 3 + 4, std::nanf(""));
    onehot_ref("GGT", buf.data());
    for (int i = 12; i < 16; ++i) EXPECT_TRUE(std::isnan(buf[static_cast<std::size_t>(i)]));
    EXPECT_EQ(buf[2], 1.0f);
    EXPECT_EQ(buf[11], 1.0f);
    EXPECT_TRUE(onehot_ref("").empty());
}

} // namespace
