#include "scpx/io/gwas_reader.hpp"

#include "io_test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <unordered_set>
#include <vector>

namespace {

using scpx::io::gwas_columns;
using scpx::io::gwas_reader;
using scpx::io::gwas_reader_options;
using scpx::io::gwas_row;

// Copy of a row that outlives the reader's buffers.
struct row_copy {
    std::string snp, ea, nea, chr;
    double z, beta, se, odds, p, sign, pos;
    std::uint64_t line;
};

std::vector<row_copy> read_all(const std::string& path, const gwas_reader_options& opt,
                               scpx::io::gwas_read_stats* stats = nullptr) {
    gwas_reader r(path, opt);
    std::vector<row_copy> out;
    gwas_row row{};
    while (r.next(row))
        out.push_back({std::string(row.snp), std::string(row.effect_allele),
                       std::string(row.non_effect_allele), std::string(row.chromosome), row.zscore, row.beta,
                       row.se, row.odds_ratio, row.pvalue, row.beta_sign, row.position, row.line});
    if (stats) *stats = r.stats();
    return out;
}

gwas_reader_options all_columns() {
    gwas_reader_options o;
    o.columns.zscore = "Z";
    o.columns.beta = "BETA";
    o.columns.se = "SE";
    o.columns.odds_ratio = "OR";
    o.columns.pvalue = "P";
    o.columns.beta_sign = "SIGN";
    o.columns.chromosome = "CHR";
    o.columns.position = "BP";
    return o;
}

const char* kTable = "SNP\tCHR\tBP\tA1\tA2\tZ\tBETA\tSE\tOR\tP\tSIGN\n"
                     "rs1\t1\t100\ta\tg\t1.5\t0.1\t0.2\t1.105\t0.13\t+\n"
                     "rs2\t1\t200\tC\tT\tNA\t-0.2\t.\tNA\t0.5\t-\n"
                     "rs3\t2\t300\tG\tA\t\t+0.3\t0.1\t1.35\t0\tNA\n";

TEST(GwasReader, ParsesSelectedColumnsNaAndAlleles) {
    const auto path = scpx::test::scratch_path("gwas_basic.tsv");
    scpx::test::write_text(path, kTable);
    const auto rows = read_all(path, all_columns());
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].snp, "rs1");
    EXPECT_EQ(rows[0].ea, "A"); // upper-cased like MetaXcan
    EXPECT_EQ(rows[0].nea, "G");
    EXPECT_EQ(rows[0].chr, "1");
    EXPECT_DOUBLE_EQ(rows[0].z, 1.5);
    EXPECT_DOUBLE_EQ(rows[0].odds, 1.105);
    EXPECT_DOUBLE_EQ(rows[0].pos, 100);
    EXPECT_EQ(rows[0].sign, 1.0);
    EXPECT_EQ(rows[0].line, 2u);
    EXPECT_TRUE(std::isnan(rows[1].z));
    EXPECT_TRUE(std::isnan(rows[1].se));
    EXPECT_TRUE(std::isnan(rows[1].odds));
    EXPECT_EQ(rows[1].sign, -1.0);
    EXPECT_TRUE(std::isnan(rows[2].z));  // empty field in a TSV → NA
    EXPECT_DOUBLE_EQ(rows[2].beta, 0.3); // leading '+'
    EXPECT_EQ(rows[2].p, 0.0);
    EXPECT_EQ(rows[2].sign, -1.0); // MetaXcan: anything but "+" is −1, NA included
    EXPECT_EQ(rows[2].line, 4u);
}

TEST(GwasReader, UnselectedColumnsAreNaNAndNeverParsed) {
    const auto path = scpx::test::scratch_path("gwas_unselected.txt");
    scpx::test::write_text(path, "SNP A1 A2 Z JUNK\nrs1 A G 2.0 notanumber\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].z, 2.0);
    EXPECT_TRUE(std::isnan(rows[0].beta));
    EXPECT_TRUE(std::isnan(rows[0].sign));
    EXPECT_TRUE(rows[0].chr.empty());
}

TEST(GwasReader, GzipCommaAndWhitespaceGiveTheSameRows) {
    const auto tsv = scpx::test::scratch_path("gwas_same.tsv.gz");
    const auto csv = scpx::test::scratch_path("gwas_same.csv");
    const auto txt = scpx::test::scratch_path("gwas_same.txt");
    scpx::test::write_gzip(tsv, "SNP\tA1\tA2\tZ\nrs1\tA\tG\t1.25\nrs2\tC\tT\t-3e-2\n");
    scpx::test::write_text(csv, "SNP,A1,A2,Z\nrs1,A,G,1.25\nrs2,C,T,-3e-2\n");
    scpx::test::write_text(txt, "SNP   A1 A2 Z  \n  rs1 A\tG 1.25\nrs2 C   T -3e-2\r\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    for (const auto& p : {tsv, csv, txt}) {
        const auto rows = read_all(p, o);
        ASSERT_EQ(rows.size(), 2u) << p;
        EXPECT_EQ(rows[0].snp, "rs1") << p;
        EXPECT_EQ(rows[1].nea, "T") << p;
        EXPECT_EQ(rows[1].z, -0.03) << p;
    }
    gwas_reader r(csv, o);
    EXPECT_EQ(r.delim(), scpx::delimiter::COMMA);
}

TEST(GwasReader, DecimalCommaIsReadAsMetaXcanDoes) {
    const auto path = scpx::test::scratch_path("gwas_comma.txt");
    scpx::test::write_text(path, "SNP A1 A2 Z\nrs1 A G 1,5\nrs2 A G -0,25e-1\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    scpx::io::gwas_read_stats st;
    const auto rows = read_all(path, o, &st);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].z, 1.5);
    EXPECT_EQ(rows[1].z, -0.025);
    // Not silent: counted, the first one named for the warning.
    EXPECT_EQ(st.decimal_commas, 2u);
    EXPECT_EQ(st.first_decimal_comma, "line 2, field 'Z': '1,5'");
}

TEST(GwasReader, ByteOrderMarkIsDropped) {
    const auto path = scpx::test::scratch_path("gwas_bom.tsv");
    scpx::test::write_text(path, "\xEF\xBB\xBFSNP\tA1\tA2\tZ\nrs1\tA\tG\t1.5\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].snp, "rs1");
    gwas_reader r(path, o);
    EXPECT_EQ(r.header()[0], "SNP");
}

TEST(GwasReader, SkipUntilHeaderStartsTheHeaderAtTheText) {
    const auto path = scpx::test::scratch_path("gwas_preamble.tsv");
    scpx::test::write_text(path, "## a GWAS\n\n# columns: SNP\tA1\tA2\tZ\nrs1\tA\tG\t1.5\nrs2\tC\tT\t-2\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    o.skip_until_header = "SNP";
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].snp, "rs1");
    EXPECT_EQ(rows[0].line, 4u); // line numbers still count the skipped lines
    EXPECT_DOUBLE_EQ(rows[1].z, -2.0);
    gwas_reader r(path, o);
    EXPECT_EQ(r.header(), (std::vector<std::string>{"SNP", "A1", "A2", "Z"}));
}

TEST(GwasReader, SkipUntilHeaderKeepsOnlyTheTextUpToASecondOccurrenceAsMetaXcan) {
    // Python's line.split("SNP")[1]: a column named after the marker ends the header there.
    const auto path = scpx::test::scratch_path("gwas_marker_twice.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tZ\tSNP_B37\nrs1\tA\tG\t1.5\tx\nrs2\tA\tG\t1\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    o.skip_until_header = "SNP";
    o.delim = scpx::delimiter::WHITESPACE; // MetaXcan's default split(): the trailing tab goes
    scpx::io::gwas_read_stats st;
    const auto rows = read_all(path, o, &st);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].snp, "rs2");
    EXPECT_EQ(st.bad_field_count, 1u); // rs1 has 5 fields against the 4 of the header
}

TEST(GwasReader, SkipUntilHeaderTextAbsentIsAnError) {
    const auto path = scpx::test::scratch_path("gwas_no_marker.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tZ\nrs1\tA\tG\t1.5\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    o.skip_until_header = "MarkerName";
    try {
        gwas_reader r(path, o);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_NE(std::string(e.what()).find("gwas_no_marker.tsv"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("no line contains the --skip_until_header text 'MarkerName'"),
                  std::string::npos)
            << e.what();
    }
}

TEST(GwasReader, QuotedFieldsAreUnquotedAsPandasDoes) {
    const auto path = scpx::test::scratch_path("gwas_quoted.csv");
    scpx::test::write_text(path, "\"SNP\",\"A1\",\"A2\",\"Z\"\n\"rs1\",\"a\",\"G\",\"1.5\"\n"
                                 "\"rs\"\"2\",C,T,-2\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    o.snp_filter = [](std::string_view id) { return id == "rs1" || id == "rs\"2"; };
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].snp, "rs1");
    EXPECT_EQ(rows[0].ea, "A");
    EXPECT_EQ(rows[0].nea, "G");
    EXPECT_EQ(rows[0].z, 1.5);
    EXPECT_EQ(rows[1].snp, "rs\"2"); // "" is an escaped quote
    // Whitespace-separated: the fast SNP pre-filter sees the unquoted id too.
    const auto ws = scpx::test::scratch_path("gwas_quoted.txt");
    scpx::test::write_text(ws, "SNP A1 A2 Z\n\"rs1\" A G 1.5\n\"rs9\" A G 1\n");
    const auto rows2 = read_all(ws, o);
    ASSERT_EQ(rows2.size(), 1u);
    EXPECT_EQ(rows2[0].snp, "rs1");
}

TEST(GwasReader, NonNumericValueIsNaAndReportedWhenAsked) {
    const auto path = scpx::test::scratch_path("gwas_nonnum.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tZ\nrs1\tA\tG\tabc\nrs2\tA\tG\t2\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    scpx::test::expect_error_with([&] { read_all(path, o); }, {path, "line 2", "field 'Z'", "not a number ('abc')"});
    std::vector<std::string> bad;
    o.bad_number = [&](const std::string& m) { bad.push_back(m); };
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 2u); // the row stays, its value is NA
    EXPECT_TRUE(std::isnan(rows[0].z));
    EXPECT_EQ(rows[1].z, 2.0);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_NE(bad[0].find("line 2, field 'Z': not a number ('abc')"), std::string::npos) << bad[0];
}

TEST(GwasReader, BinaryFileIsNotATextTable) {
    const auto path = scpx::test::scratch_path("gwas_binary.bin");
    scpx::test::write_text(path, std::string("\x7f" "ELF\x02\x01\x01\0\0\0 junk\nmore\n", 20));
    gwas_reader_options o;
    o.columns.zscore = "Z";
    const auto msg = scpx::test::expect_error_with([&] { gwas_reader r(path, o); },
                                                   {path, "line 1", "not a text table", "\\x7f"});
    EXPECT_EQ(msg.find('\0'), std::string::npos);
}

TEST(GwasReader, RepeatedColumnsAndNumericSignsAreWarnedAbout) {
    // MetaXcan reads the first of repeated columns, and any sign but '+' as '-': both said.
    const auto path = scpx::test::scratch_path("gwas_odd_header.tsv");
    scpx::test::write_text(path, "SNP A1 A2 P S P\nrs1 A G 0.01 1 0.5\nrs2 A G 0.02 + 0.5\n");
    gwas_reader_options o;
    o.columns.pvalue = "P";
    o.columns.beta_sign = "S";
    ::testing::internal::CaptureStderr();
    {
        gwas_reader r(path, o);
        gwas_row row{};
        ASSERT_TRUE(r.next(row));
        EXPECT_EQ(row.pvalue, 0.01);
        EXPECT_EQ(row.beta_sign, -1.0);
        ASSERT_TRUE(r.next(row));
        EXPECT_EQ(row.beta_sign, 1.0);
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("the header repeats column(s) 'P'; the first of each is read"), std::string::npos)
        << err;
    EXPECT_NE(
        err.find("1 beta sign(s) other than '+' or '-' count as negative, as MetaXcan reads them (first: "
                 "line 2: '1')"),
        std::string::npos)
        << err;
}

TEST(GwasReader, MissingColumnListsTheColumnsThatExist) {
    const auto path = scpx::test::scratch_path("gwas_missing_col.tsv");
    scpx::test::write_text(path, "MarkerName\tA1\tA2\tZ\nrs1\tA\tG\t1\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    scpx::test::expect_error_with([&] { gwas_reader r(path, o); },
                                  {path, "'SNP'", "column not found", "'MarkerName', 'A1', 'A2', 'Z'"});
    o.columns.snp = "MarkerName";
    o.columns.beta = "Beta";
    scpx::test::expect_error_with([&] { gwas_reader r(path, o); }, {path, "'Beta'", "'MarkerName'"});
    // A comma-separated file split at blanks: one column, and the flag that fixes it.
    const auto csv = scpx::test::scratch_path("gwas_commas.csv");
    scpx::test::write_text(csv, "SNP,A1,A2,Z\nrs1,A,G,1\n");
    o = {};
    o.columns.zscore = "Z";
    o.delim = scpx::delimiter::WHITESPACE;
    scpx::test::expect_error_with([&] { gwas_reader r(csv, o); },
                                  {csv, "the header has 1 column: 'SNP,A1,A2,Z'", "give --separator ,"});
}

TEST(GwasReader, NonNumericValueNamesFileLineAndField) {
    const auto path = scpx::test::scratch_path("gwas_bad_value.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tBETA\tSE\nrs1\tA\tG\t0.1\t0.2\nrs2\tA\tG\tabc\t0.2\n");
    gwas_reader_options o;
    o.columns.beta = "BETA";
    o.columns.se = "SE";
    scpx::test::expect_error_with([&] { read_all(path, o); },
                                  {path, "line 3", "field 'BETA'", "not a number", "abc"});
}

TEST(GwasReader, FilteredRowsAreNotParsed) {
    // MetaXcan drops non-model SNPs before converting numbers: garbage there is harmless.
    const auto path = scpx::test::scratch_path("gwas_filter.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tBETA\nrs1\tA\tG\tabc\nrs2\tA\tG\t0.5\nrs3\tA\n");
    gwas_reader_options o;
    o.columns.beta = "BETA";
    std::unordered_set<std::string> model = {"rs2"};
    o.snp_filter = [&](std::string_view s) { return model.count(std::string(s)) > 0; };
    scpx::io::gwas_read_stats st;
    const auto rows = read_all(path, o, &st);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].beta, 0.5);
    EXPECT_EQ(st.filtered_out, 2u);
    EXPECT_EQ(st.data_lines, 3u);
}

TEST(GwasReader, LinesWithWrongFieldCountAreSkippedAndCounted) {
    const auto path = scpx::test::scratch_path("gwas_fields.txt");
    scpx::test::write_text(path, "SNP A1 A2 Z\nrs1 A G 1\nrs2 A G\nrs3 A G 3 extra\nrs4 A G 4\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    scpx::io::gwas_read_stats st;
    const auto rows = read_all(path, o, &st);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].snp, "rs4");
    EXPECT_EQ(st.bad_field_count, 2u);
    EXPECT_EQ(st.first_bad_field_line, 3u);
}

TEST(GwasReader, WhitespaceModeReproducesMetaXcanSplitOnEmptyTsvFields) {
    // MetaXcan's default split() collapses the empty field: the row has too few fields → dropped.
    const auto path = scpx::test::scratch_path("gwas_empty_field.tsv");
    scpx::test::write_text(path, "SNP\tA1\tA2\tZ\tFRQ\nrs1\tA\tG\t1\t\nrs2\tA\tG\t2\t0.1\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    EXPECT_EQ(read_all(path, o).size(), 2u);
    o.delim = scpx::delimiter::WHITESPACE;
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].snp, "rs2");
}

TEST(GwasReader, DuplicatedSnpRowsAreAllReturnedInFileOrder) {
    // "last one wins" is applied by the association stage; the reader must keep file order.
    const auto path = scpx::test::scratch_path("gwas_dup.txt");
    scpx::test::write_text(path, "SNP A1 A2 Z Z\nrs1 A G 1 9\nrs1 A G 2 9\n");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    const auto rows = read_all(path, o);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].z, 1.0); // duplicated header name: the first column is used
    EXPECT_EQ(rows[1].z, 2.0);
}

TEST(GwasReader, EmptyFileAndTruncatedGzip) {
    const auto empty = scpx::test::scratch_path("gwas_empty.txt");
    scpx::test::write_text(empty, "");
    gwas_reader_options o;
    o.columns.zscore = "Z";
    scpx::test::expect_error_with([&] { gwas_reader r(empty, o); }, {empty, "empty file"});

    std::string big = "SNP\tA1\tA2\tZ\n";
    for (int i = 0; i < 20000; ++i)
        big += "rs" + std::to_string(i * 7919 % 100003) + "\tA\tG\t" + std::to_string(i * 0.37) + "\n";
    const auto trunc = scpx::test::scratch_path("gwas_trunc.tsv.gz");
    scpx::test::write_truncated_gzip(trunc, big);
    scpx::test::expect_error_with([&] { read_all(trunc, o); }, {trunc, "truncated"});
}

TEST(GwasReader, FastWhitespaceSplitAgreesWithTabSplitting) {
    // Tokens of every length 1..19 (across the 8-byte SWAR boundary), blank runs of spaces and
    // tabs, leading/trailing blanks: the whitespace reader must see what the TSV reader sees.
    std::string ws = "SNP A1 A2 Z\n", tsv = "SNP\tA1\tA2\tZ\n";
    const char* blanks[] = {" ", "\t", "  \t ", "\t\t", "       ", "        \t"};
    for (int i = 0; i < 400; ++i) {
        const std::string snp = "rs" + std::string(static_cast<std::size_t>(i % 17), 'x') + std::to_string(i);
        const std::string a1(static_cast<std::size_t>(1 + i % 19), "ACGT"[i % 4]);
        const std::string a2(static_cast<std::size_t>(1 + (i * 7) % 13), "ACGT"[(i + 1) % 4]);
        const std::string z = std::to_string(i * 0.001 - 0.2);
        ws += std::string(i % 3 ? "" : " ") + snp + blanks[i % 6] + a1 + blanks[(i + 1) % 6] + a2 +
              blanks[(i + 2) % 6] + z + (i % 5 ? "" : "\t ") + "\n";
        tsv += snp + "\t" + a1 + "\t" + a2 + "\t" + z + "\n";
    }
    const auto pw = scpx::test::scratch_path("gwas_ws_diff.txt");
    const auto pt = scpx::test::scratch_path("gwas_tab_diff.tsv");
    scpx::test::write_text(pw, ws);
    scpx::test::write_text(pt, tsv);
    gwas_reader_options o;
    o.columns.zscore = "Z";
    const auto a = read_all(pw, o);
    const auto b = read_all(pt, o);
    ASSERT_EQ(a.size(), 400u);
    ASSERT_EQ(b.size(), 400u);
    for (std::size_t k = 0; k < a.size(); ++k) {
        EXPECT_EQ(a[k].snp, b[k].snp) << k;
        EXPECT_EQ(a[k].ea, b[k].ea) << k;
        EXPECT_EQ(a[k].nea, b[k].nea) << k;
        EXPECT_EQ(a[k].z, b[k].z) << k;
    }
}

TEST(GwasReader, ZSourceFollowsMetaXcanPrecedence) {
    using k = gwas_columns::z_source_kind;
    gwas_columns c;
    EXPECT_THROW(c.z_source(), scpx::usage_error);
    c.se = "SE";
    EXPECT_THROW(c.z_source(), scpx::usage_error); // se without beta/or
    c.beta = "BETA";
    EXPECT_EQ(c.z_source(), k::BETA_OVER_SE);
    c.pvalue = "P";
    EXPECT_EQ(c.z_source(), k::PVALUE);
    c.zscore = "Z";
    EXPECT_EQ(c.z_source(), k::ZSCORE);
    gwas_columns p;
    p.pvalue = "P";
    EXPECT_THROW(p.z_source(), scpx::usage_error); // no sign source
    p.beta_sign = "S";
    EXPECT_EQ(p.z_source(), k::PVALUE);
}

TEST(GwasReader, ReadsTheSPrediXcanReferenceGwas) {
    const auto path = scpx::test::shared_fixture("spredixcan/gwas/ref_gwas.txt.gz");
    if (path.empty()) GTEST_SKIP() << "shared fixtures not available";
    gwas_reader_options o;
    o.columns.zscore = "ZSCORE";
    o.columns.beta = "BETA";
    o.columns.se = "SE";
    o.columns.odds_ratio = "OR";
    o.columns.pvalue = "P";
    o.columns.beta_sign = "BETA_SIGN";
    scpx::io::gwas_read_stats st;
    const auto rows = read_all(path, o, &st);
    EXPECT_EQ(rows.size(), 21128u);
    EXPECT_EQ(st.bad_field_count, 0u);
    std::size_t all_na = 0, p_zero = 0, lower = 0;
    for (const auto& r : rows) {
        if (std::isnan(r.z) && std::isnan(r.beta) && std::isnan(r.p)) ++all_na;
        if (r.p == 0.0) ++p_zero;
        for (char ch : r.ea + r.nea)
            lower += (ch >= 'a' && ch <= 'z');
    }
    EXPECT_EQ(all_na, 18u); // ref_gwas_edges.tsv: 18 all_na
    EXPECT_EQ(p_zero, 6u);  // 6 p_zero
    EXPECT_EQ(lower, 0u);   // lower-case alleles were upper-cased
}

} // namespace
