// line_reader's two gzip paths (libdeflate whole-file, zlib streaming with libdeflate CRC) must
// read the same lines, handle multi-member files (BGZF, concatenated gzip) and name corruption.
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::string& path, bool stream) {
    if (stream) ::setenv("SCPX_GZIP_STREAM", "1", 1);
    else ::unsetenv("SCPX_GZIP_STREAM");
    std::vector<std::string> out;
    try {
        scpx::line_reader r(path);
        std::string line;
        while (r.next(line)) out.push_back(line);
    } catch (...) {
        ::unsetenv("SCPX_GZIP_STREAM");
        throw;
    }
    ::unsetenv("SCPX_GZIP_STREAM");
    return out;
}

std::string numbered(int n, int from = 0) {
    std::string s;
    for (int i = from; i < from + n; ++i) s += "rs" + std::to_string(i) + "\tA\tG\t" + std::to_string(i * 0.25) + "\n";
    return s;
}

TEST(LineReaderGzip, BothPathsReadMultiMemberFiles) {
    // Two members, the first much larger than the last member's ISIZE (which the whole-file
    // path uses as its first guess of the output size).
    const auto a = scpx::test::scratch_path("m1.gz"), b = scpx::test::scratch_path("m2.gz");
    const auto cat = scpx::test::scratch_path("multi.txt.gz");
    scpx::test::write_gzip(a, numbered(60000));
    scpx::test::write_gzip(b, "last\n");
    scpx::test::write_text(cat, scpx::test::read_text(a) + scpx::test::read_text(b));
    const auto whole = lines_of(cat, false), stream = lines_of(cat, true);
    ASSERT_EQ(whole.size(), 60001u);
    EXPECT_EQ(whole.back(), "last");
    EXPECT_EQ(whole[12345], "rs12345\tA\tG\t3086.250000");
    EXPECT_EQ(whole, stream);
}

TEST(LineReaderGzip, CorruptDataIsNamedOnBothPaths) {
    const auto gz = scpx::test::scratch_path("corrupt.txt.gz");
    scpx::test::write_gzip(gz, numbered(20000));
    std::string bytes = scpx::test::read_text(gz);
    bytes[bytes.size() - 6] ^= 0x55; // inside the CRC/ISIZE trailer
    scpx::test::write_text(gz, bytes);
    for (bool stream : {false, true}) {
        try {
            lines_of(gz, stream);
            FAIL() << "corrupt gzip read without error (stream=" << stream << ")";
        } catch (const scpx::input_error& e) {
            EXPECT_EQ(e.file(), gz);
            EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
        }
    }
}

TEST(LineReaderGzip, TruncatedOnTheStreamingPath) {
    const auto gz = scpx::test::scratch_path("trunc_stream.txt.gz");
    scpx::test::write_gzip(gz, numbered(20000));
    const std::string bytes = scpx::test::read_text(gz);
    scpx::test::write_text(gz, bytes.substr(0, bytes.size() - 3));
    try {
        lines_of(gz, true);
        FAIL() << "truncated gzip read without error";
    } catch (const scpx::input_error& e) {
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
}

TEST(LineReaderGzip, PlainAndEmptyFiles) {
    const auto p = scpx::test::scratch_path("plain.txt"), e = scpx::test::scratch_path("empty.txt");
    scpx::test::write_text(p, numbered(70000));
    scpx::test::write_text(e, "");
    EXPECT_EQ(lines_of(p, false).size(), 70000u);
    EXPECT_TRUE(lines_of(e, false).empty());
    const auto eg = scpx::test::scratch_path("empty.txt.gz");
    scpx::test::write_gzip(eg, "");
    EXPECT_TRUE(lines_of(eg, false).empty());
    EXPECT_TRUE(lines_of(eg, true).empty());
}

} // namespace
