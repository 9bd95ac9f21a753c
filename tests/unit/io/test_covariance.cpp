#include "scpx/io/covariance.hpp"

#include "io_test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

namespace {

using scpx::io::covariance_block;
using scpx::io::covariance_reader;

std::vector<covariance_block> read_blocks(const std::string& path,
                                          std::function<bool(std::string_view)> filter = {},
                                          scpx::io::covariance_read_stats* stats = nullptr) {
    covariance_reader r(path, std::move(filter));
    std::vector<covariance_block> out;
    covariance_block b;
    while (r.next(b))
        out.push_back(b);
    if (stats) *stats = r.stats();
    return out;
}

std::vector<char> keep_only(const covariance_block& b, std::initializer_list<const char*> ids) {
    std::vector<char> k(b.ids.size(), 0);
    for (const char* id : ids) {
        const int i = b.find(id);
        if (i >= 0) k[static_cast<std::size_t>(i)] = 1;
    }
    return k;
}

TEST(Covariance, WriterRoundTripsDoublesExactly) {
    const auto path = scpx::test::scratch_path("cov_roundtrip.txt.gz");
    Eigen::MatrixXd a(3, 3);
    a << 0.1, 1.0 / 3.0, -2.5e-300, 1.0 / 3.0, 2.0 / 7.0, 12345.678901234567, -2.5e-300, 12345.678901234567,
        0.0;
    Eigen::MatrixXd b(1, 1);
    b << std::nan("");
    {
        scpx::io::covariance_writer w(path);
        w.write_gene("G1", {"rs1", "rs2", "rs3"}, a);
        w.write_gene("G2", {"rs9"}, b);
        w.close();
    }
    const auto blocks = read_blocks(path);
    ASSERT_EQ(blocks.size(), 2u);
    const auto m = blocks[0].to_matrix();
    ASSERT_EQ(m.values.rows(), 3);
    EXPECT_EQ(m.n_missing, 0u);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            EXPECT_EQ(m.values(i, j), a(i, j)) << i << "," << j; // bit-exact
    EXPECT_EQ(blocks[0].entries.size(), 6u);                     // upper triangle with diagonal
    EXPECT_EQ(blocks[1].entries.size(), 1u);
    EXPECT_TRUE(std::isnan(blocks[1].entries[0].value)); // NaN written as NA and read back
    EXPECT_EQ(blocks[1].n_ids_in_cov(), 0u);
}

TEST(Covariance, WriterFormatIsDeterministic) {
    const auto path = scpx::test::scratch_path("cov_format.txt");
    Eigen::MatrixXd a(2, 2);
    a << 0.1, 1e-5, 1e-5, 2.0;
    scpx::io::covariance_writer w(path);
    w.write_gene("G", {"rsA", "rsB"}, a);
    w.close();
    EXPECT_EQ(scpx::test::read_text(path),
              "GENE RSID1 RSID2 VALUE\nG rsA rsA 0.1\nG rsA rsB 1e-05\nG rsB rsB 2\n");
}

TEST(Covariance, RestrictFollowsMetaXcanRules) {
    // Lower-triangle order, an NA row, a SNP that is only ever RSID2, a missing pair.
    const auto path = scpx::test::scratch_path("cov_rules.txt");
    scpx::test::write_text(path,
                           "GENE\tRSID1\tRSID2\tVALUE\n"
                           "G rsB rsB 2.0\n"
                           "G rsB rsA 0.5\n"
                           "G rsA rsA 1.0\n"
                           "G rsA rsC 0.7\n"   // rsC only appears as RSID2
                           "G rsD rsD NA\n"    // NA → rsD not in the matrix
                           "G rsE rsE 3.0\n"); // rsE has no pair with rsA/rsB → missing cells
    const auto blocks = read_blocks(path);
    ASSERT_EQ(blocks.size(), 1u);
    const auto& b = blocks[0];
    EXPECT_EQ(b.n_ids_in_cov(), 3u); // rsB, rsA, rsE (non-NA RSID1)
    const auto all = b.to_matrix();
    ASSERT_EQ(all.snps.size(), 3u);
    EXPECT_EQ(b.ids[all.snps[0]], "rsB"); // order of first appearance as RSID1
    EXPECT_EQ(b.ids[all.snps[1]], "rsA");
    EXPECT_EQ(b.ids[all.snps[2]], "rsE");
    EXPECT_EQ(all.values(0, 1), 0.5);
    EXPECT_EQ(all.values(1, 0), 0.5);
    EXPECT_EQ(all.n_missing, 4u); // (rsE, rsA/rsB) both ways
    const auto sub = b.to_matrix(keep_only(b, {"rsA", "rsC"}));
    ASSERT_EQ(sub.snps.size(), 1u); // rsC never RSID1
    EXPECT_EQ(b.ids[sub.snps[0]], "rsA");
    EXPECT_EQ(sub.values(0, 0), 1.0);
    const auto none = b.to_matrix(keep_only(b, {"rsD"}));
    EXPECT_TRUE(none.snps.empty());
}

TEST(Covariance, GeneFilterSkipsBlocksAndCounts) {
    const auto path = scpx::test::scratch_path("cov_filter.txt.gz");
    scpx::test::write_gzip(path, "GENE RSID1 RSID2 VALUE\n"
                                 "G1 rs1 rs1 1\nG1 rs1 rs2 xx\nG1 rs2 rs2 1\n" // bad value, skipped
                                 "G2 rs3 rs3 4\n"
                                 "G3 rs4 rs4 5\nG3 rs4 rs5 6\nG3 rs5 rs5 7\n");
    scpx::io::covariance_read_stats st;
    const auto blocks = read_blocks(
        path, [](std::string_view g) { return g != "G1"; }, &st);
    ASSERT_EQ(blocks.size(), 2u);
    EXPECT_EQ(blocks[0].gene, "G2");
    EXPECT_EQ(blocks[1].gene, "G3");
    EXPECT_EQ(blocks[1].first_line, 6u);
    EXPECT_EQ(blocks[1].to_matrix().values(1, 1), 7.0);
    EXPECT_EQ(st.rows, 7u);
    EXPECT_EQ(st.rows_skipped, 3u);
    EXPECT_EQ(st.genes_skipped, 1u);
    EXPECT_EQ(st.genes, 2u);

    const auto subset = scpx::io::read_covariance_genes(path, {"G3", "NOT_THERE"});
    ASSERT_EQ(subset.size(), 1u);
    EXPECT_EQ(subset.at("G3").ids.size(), 2u);
}

TEST(Covariance, NonContiguousGeneIsAnError) {
    const auto path = scpx::test::scratch_path("cov_noncontig.txt");
    scpx::test::write_text(path, "GENE RSID1 RSID2 VALUE\nG1 a a 1\nG2 b b 1\nG1 c c 1\n");
    scpx::test::expect_error_with([&] { read_blocks(path); },
                                  {path, "line 4", "field 'GENE'", "not contiguous", "line 2", "sort -s -k1,1"});
}

TEST(Covariance, BothTrianglesAreReadAndAPairTwiceInOneOrientationIsAnError) {
    // Both triangles of the matrix (MetaXcan reads such files): the later row of a pair wins, as
    // in MetaXcan's symmetric fill, and an NA row is skipped; values more than rounding apart are
    // counted for a warning.
    const auto both = scpx::test::scratch_path("cov_both.txt");
    scpx::test::write_text(both,
                           "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b 0.5\nG b a 0.5000000000000001\nG b b 1\n"
                           "G a c NA\nG c a 0.2\nG c c 1\nG b c 0.1\nG c b 0.3\n");
    covariance_reader r(both);
    covariance_block b;
    ASSERT_TRUE(r.next(b));
    EXPECT_EQ(b.entries.size(), 9u);
    const auto m = b.to_matrix({});
    ASSERT_EQ(m.values.rows(), 3);
    EXPECT_EQ(m.values(0, 1), 0.5000000000000001); // later row
    EXPECT_EQ(m.values(0, 2), 0.2);                // the NA row skipped
    EXPECT_EQ(m.values(1, 2), 0.3);                // later row
    EXPECT_EQ(m.n_missing, 0u);
    EXPECT_EQ(r.stats().asymmetric_pairs, 1u); // (b, c): 0.1 against 0.3
    EXPECT_EQ(r.stats().first_asymmetric, "line 9: (b, c) = 0.1, line 10: (c, b) = 0.3");
    // One orientation twice, even with one value.
    const auto dup = scpx::test::scratch_path("cov_dup.txt");
    scpx::test::write_text(dup, "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b 0.5\nG b b 1\nG a b 0.5\n");
    scpx::test::expect_error_with([&] { read_blocks(dup); },
                                  {dup, "line 5", "field 'RSID2'", "duplicated pair", "(a, b)", "line 3"});
    // Also when its mirror stands between the two.
    scpx::test::write_text(dup, "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b 0.5\nG b a 0.5\nG b a 0.5\n");
    scpx::test::expect_error_with([&] { read_blocks(dup); },
                                  {dup, "line 5", "duplicated pair", "(b, a)", "first given at line 4"});
    // The same rules for a block of more than 2,048 SNPs (checked through a hash map).
    std::string big = "GENE RSID1 RSID2 VALUE\n";
    for (int k = 0; k < 2100; ++k)
        big += "G s" + std::to_string(k) + " s" + std::to_string(k) + " 1\n";
    const auto wide = scpx::test::scratch_path("cov_wide.txt");
    scpx::test::write_text(wide, big + "G s1 s2 0.5\nG s2 s1 0.5\n");
    EXPECT_NO_THROW(read_blocks(wide));
    scpx::test::write_text(wide, big + "G s1 s2 0.5\nG s2 s1 0.5\nG s2 s1 0.5\n");
    scpx::test::expect_error_with([&] { read_blocks(wide); }, {"line 2104", "duplicated pair (s2, s1)"});
    scpx::test::write_text(wide, big + "G s1 s1 1\n");
    scpx::test::expect_error_with([&] { read_blocks(wide); }, {"line 2102", "duplicated pair (s1, s1)"});
}

TEST(Covariance, MalformedValueNamesFileLineAndField) {
    const auto path = scpx::test::scratch_path("cov_badvalue.txt");
    scpx::test::write_text(path, "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b 0.5x\n");
    scpx::test::expect_error_with([&] { read_blocks(path); },
                                  {path, "line 3", "field 'VALUE'", "not a number", "0.5x"});
    const auto fields = scpx::test::scratch_path("cov_fields.txt");
    scpx::test::write_text(fields, "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b\n");
    const auto msg = scpx::test::expect_error_with(
        [&] { read_blocks(fields); }, {fields, "line 3", "field 'VALUE': missing", "expected 4 fields", "found 3"});
    EXPECT_EQ(msg.rfind(fields, 0), 0u) << msg; // starts with the file: no "<input>" placeholder
}

TEST(Covariance, InfiniteValueIsAnError) {
    for (const char* v : {"inf", "-inf", "1e400", "Infinity"}) {
        const auto path = scpx::test::scratch_path("cov_inf.txt");
        scpx::test::write_text(path, std::string("GENE RSID1 RSID2 VALUE\nG a a 1\nG a b ") + v + "\nG b b 1\n");
        scpx::test::expect_error_with([&] { read_blocks(path); },
                                      {path, "line 3", "field 'VALUE'", "not a finite number", v});
    }
    const auto na = scpx::test::scratch_path("cov_nan.txt");
    scpx::test::write_text(na, "GENE RSID1 RSID2 VALUE\nG a a 1\nG a b nan\nG b b 1\n");
    scpx::io::covariance_read_stats st;
    read_blocks(na, {}, &st);
    EXPECT_EQ(st.na_values, 1u); // NaN stays NA
}

TEST(Covariance, ByteOrderMarkIsDroppedAndBinaryIsNamed) {
    const auto path = scpx::test::scratch_path("cov_bom.txt");
    scpx::test::write_text(path, "\xEF\xBB\xBFGENE RSID1 RSID2 VALUE\nG a a 1\n");
    const auto blocks = read_blocks(path);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].gene, "G");
    const auto bin = scpx::test::scratch_path("cov_binary.bin");
    scpx::test::write_text(bin, std::string("PK\x03\x04\0\0junk\n", 11));
    scpx::test::expect_error_with([&] { covariance_reader r(bin); }, {bin, "not a text table", "\\x03"});
}

TEST(Covariance, RenamedColumnListsTheHeader) {
    const auto path = scpx::test::scratch_path("cov_renamed.txt");
    scpx::test::write_text(path, "GENE SNP1 RSID2 VALUE\nG a a 1\n");
    scpx::test::expect_error_with([&] { covariance_reader r(path); },
                                  {path, "'RSID1'", "column not found", "'GENE', 'SNP1', 'RSID2', 'VALUE'"});
}

TEST(Covariance, EmptyAndTruncatedFiles) {
    const auto empty = scpx::test::scratch_path("cov_empty.txt.gz");
    scpx::test::write_gzip(empty, "");
    scpx::test::expect_error_with([&] { covariance_reader r(empty); }, {empty, "empty file"});
    const auto header_only = scpx::test::scratch_path("cov_header_only.txt");
    scpx::test::write_text(header_only, "GENE RSID1 RSID2 VALUE\n");
    EXPECT_TRUE(read_blocks(header_only).empty());

    std::string big = "GENE RSID1 RSID2 VALUE\n";
    for (int g = 0; g < 400; ++g)
        for (int i = 0; i < 8; ++i)
            for (int j = i; j < 8; ++j)
                big += "G" + std::to_string(g) + " rs" + std::to_string(g * 8 + i) + " rs" +
                       std::to_string(g * 8 + j) + " " + std::to_string((g * 31 + i * 7 + j) % 97 / 13.0) +
                       "\n";
    const auto trunc = scpx::test::scratch_path("cov_trunc.txt.gz");
    scpx::test::write_truncated_gzip(trunc, big);
    scpx::test::expect_error_with([&] { read_blocks(trunc); }, {trunc, "truncated"});
}

TEST(Covariance, UnwritableOutputLeavesNoFile) {
    const std::string path = scpx::test::scratch_path("no_such_dir") + "/sub/cov.txt.gz";
    EXPECT_THROW(scpx::io::covariance_writer w(path), scpx::io_error);
    EXPECT_FALSE(scpx::test::exists(path));

    // Abandoned before close(): nothing under the final name.
    const auto path2 = scpx::test::scratch_path("cov_abandoned.txt");
    {
        scpx::io::covariance_writer w(path2);
        w.write_gene("G", {"a"}, Eigen::MatrixXd::Identity(1, 1));
    }
    EXPECT_FALSE(scpx::test::exists(path2));
}

TEST(Covariance, FixtureCountsMatchMetaXcanNSnpsInCov) {
    const auto path = scpx::test::shared_fixture("spredixcan/cov/edge_WB.txt.gz");
    if (path.empty()) GTEST_SKIP() << "shared fixtures not available";
    // n_snps_in_cov from expected/edge_WB.z.csv (MetaXcan 0.7.5).
    const std::map<std::string, std::size_t> expected = {
        {"ENSG00000107959.11", 61}, {"ENSGEDGE0000006.1", 1},   {"ENSGEDGE0000005.1", 4},
        {"ENSG00000234745.5", 26},  {"ENSG00000107937.14", 26}, {"ENSGEDGE0000001.1", 3}};
    scpx::io::covariance_read_stats st;
    const auto blocks = read_blocks(path, {}, &st);
    EXPECT_EQ(blocks.size(), 7u);
    EXPECT_EQ(st.rows, 2625u);
    std::size_t checked = 0;
    for (const auto& b : blocks) {
        auto it = expected.find(b.gene);
        if (it == expected.end()) continue;
        EXPECT_EQ(b.n_ids_in_cov(), it->second) << b.gene;
        const auto m = b.to_matrix();
        EXPECT_EQ(m.n_missing, 0u) << b.gene;
        EXPECT_EQ(m.snps.size(), it->second) << b.gene;
        ++checked;
    }
    EXPECT_EQ(checked, expected.size());
}

} // namespace
