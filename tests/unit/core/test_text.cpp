#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::vector<std::string> all_lines(const std::string& path) {
    scpx::line_reader r(path);
    std::vector<std::string> out;
    std::string line;
    while (r.next(line)) out.push_back(line);
    return out;
}

TEST(LineReader, ReadsPlainAndGzipAlike) {
    const std::string content = "a\tb\r\nc\td\n\nlast-without-newline";
    const auto plain = scpx::test::scratch_path("lines.txt");
    const auto gz = scpx::test::scratch_path("lines.txt.gz");
    scpx::test::write_text(plain, content);
    scpx::test::write_gzip(gz, content);
    const std::vector<std::string> expected{"a\tb", "c\td", "", "last-without-newline"};
    EXPECT_EQ(all_lines(plain), expected);
    EXPECT_EQ(all_lines(gz), expected);
}

TEST(LineReader, LongLinesAcrossChunks) {
    std::string big(700000, 'x');
    const auto gz = scpx::test::scratch_path("big.txt.gz");
    scpx::test::write_gzip(gz, "h\n" + big + "\nt\n");
    const auto lines = all_lines(gz);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1].size(), big.size());
    EXPECT_EQ(lines[2], "t");
}

TEST(LineReader, TruncatedGzipIsAnInputErrorNamingTheFile) {
    std::string content;
    for (int i = 0; i < 20000; ++i) content += "rs" + std::to_string(i) + "\tA\tG\t0.5\n";
    const auto gz = scpx::test::scratch_path("trunc.txt.gz");
    scpx::test::write_gzip(gz, content);
    std::string bytes = scpx::test::read_text(gz);
    scpx::test::write_text(gz, bytes.substr(0, bytes.size() / 2));
    try {
        all_lines(gz);
        FAIL() << "a truncated gzip file was read without error";
    } catch (const scpx::input_error& e) {
        EXPECT_EQ(e.file(), gz);
        EXPECT_NE(std::string(e.what()).find("gzip"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
    }
}

TEST(LineReader, MissingFileIsAnIoError) {
    EXPECT_THROW(scpx::line_reader("/nonexistent/file.txt"), scpx::missing_file_error);
}

TEST(Fields, SplitsByEachDelimiter) {
    std::vector<std::string_view> f;
    scpx::split_fields("a\t\tc", scpx::delimiter::TAB, f);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[1], "");
    scpx::split_fields("a,b,c", scpx::delimiter::COMMA, f);
    EXPECT_EQ(f.size(), 3u);
    scpx::split_fields("  a  b\t c  ", scpx::delimiter::WHITESPACE, f);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[2], "c");
    EXPECT_EQ(scpx::detect_delimiter("SNP\tA1"), scpx::delimiter::TAB);
    EXPECT_EQ(scpx::detect_delimiter("SNP,A1"), scpx::delimiter::COMMA);
    EXPECT_EQ(scpx::detect_delimiter("SNP A1"), scpx::delimiter::WHITESPACE);
}

TEST(Numbers, ParseAndReportBadFields) {
    EXPECT_DOUBLE_EQ(scpx::parse_double("1.5e-3", "f", "line 1", "P"), 1.5e-3);
    EXPECT_DOUBLE_EQ(scpx::parse_double("+2", "f", "line 1", "P"), 2.0);
    EXPECT_DOUBLE_EQ(scpx::parse_double(" -0.25 ", "f", "line 1", "P"), -0.25);
    EXPECT_EQ(scpx::parse_int("123", "f", "line 1", "POS"), 123);
    try {
        scpx::parse_double("0.1x", "gwas.tsv", "line 7", "BETA");
        FAIL();
    } catch (const scpx::input_error& e) {
        EXPECT_STREQ(e.what(), "gwas.tsv, line 7, field 'BETA': not a number ('0.1x')");
    }
    EXPECT_THROW(scpx::parse_int("12.5", "f", "line 2", "POS"), scpx::input_error);
    EXPECT_THROW(scpx::parse_double("", "f", "line 2", "P"), scpx::input_error);
    EXPECT_TRUE(scpx::is_missing_token("NA"));
    EXPECT_TRUE(scpx::is_missing_token(""));
    EXPECT_FALSE(scpx::is_missing_token("0"));
}

TEST(TextWriter, WritesAtomicallyPlainAndGzip) {
    for (const std::string name : {"w.txt", "w.txt.gz"}) {
        const auto path = scpx::test::scratch_path(name);
        {
            scpx::text_writer w(path);
            w.write("x\ty\n");
            EXPECT_FALSE(scpx::test::exists(path)) << "visible before close";
            w.close();
        }
        EXPECT_EQ(all_lines(path), std::vector<std::string>{"x\ty"});
    }
}

TEST(TextWriter, AbandonedWriterLeavesNothing) {
    const auto path = scpx::test::scratch_path("abandoned.txt");
    {
        scpx::text_writer w(path);
        w.write("partial");
    }
    EXPECT_FALSE(scpx::test::exists(path));
    EXPECT_FALSE(scpx::test::exists(std::string(SCPX_TEST_SCRATCH_DIR) + "/.abandoned.txt.scpx-tmp"));
}

TEST(TextWriter, UnwritableDirectoryIsAnIoError) {
    EXPECT_THROW(scpx::text_writer("/nonexistent/dir/out.txt"), scpx::io_error);
}

} // namespace
