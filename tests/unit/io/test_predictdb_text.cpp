#include "scpx/io/predictdb_text.hpp"

#include "io_test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using scpx::io::expression_layout;
using scpx::io::read_expression;
using scpx::io::read_genotype_dosages;
using scpx::io::read_snp_annotation;

TEST(PredictdbText, GenotypeDosagesAreColumnMajorBySample) {
    const auto path = scpx::test::scratch_path("geno_small.tsv.gz");
    scpx::test::write_gzip(path, "varID\tS1\tS2\tS3\n"
                                 "chr1_10_A_G_b38\t0\t1\t2\n"
                                 "chr1_20_C_T_b38\t0.5\t1.25\t1.999\n");
    const auto g = read_genotype_dosages(path);
    ASSERT_EQ(g.n_samples(), 3u);
    ASSERT_EQ(g.n_features(), 2u);
    EXPECT_EQ(g.sample_ids[2], "S3");
    EXPECT_EQ(g.feature_ids[1], "chr1_20_C_T_b38");
    EXPECT_EQ(g.matrix()(1, 0), 1.0);   // sample S2, variant 1
    EXPECT_EQ(g.matrix()(2, 1), 1.999); // sample S3, variant 2
    EXPECT_EQ(g.feature(1)[0], 0.5);    // a variant's dosages are contiguous
}

TEST(PredictdbText, GenotypeSampleSubsetAndVariantFilter) {
    const auto path = scpx::test::scratch_path("geno_subset.tsv");
    scpx::test::write_text(path, "varID\tS1\tS2\tS3\nv1\t0\t1\t2\nv2\tNA\t1\t0\nv3\t2\t2\t1\n");
    scpx::io::genotype_read_options o;
    o.samples = {"S3", "S1"};
    o.variant_filter = [](std::string_view v) { return v != "v2"; }; // its NA is never parsed
    const auto g = read_genotype_dosages(path, o);
    ASSERT_EQ(g.feature_ids, (std::vector<std::string>{"v1", "v3"}));
    EXPECT_EQ(g.sample_ids, (std::vector<std::string>{"S3", "S1"}));
    EXPECT_EQ(g.matrix()(0, 0), 2.0);
    EXPECT_EQ(g.matrix()(1, 1), 2.0);
    o.samples = {"S1", "S9"};
    scpx::test::expect_error_with([&] { read_genotype_dosages(path, o); },
                                  {path, "1 requested sample", "S9"});
    o.samples_from = "the expression table e.tsv";  // the message names where the ids came from
    scpx::test::expect_error_with([&] { read_genotype_dosages(path, o); },
                                  {path, "1 sample(s) of the expression table e.tsv not in the header", "S9"});
}

TEST(PredictdbText, GenotypeMalformedInputs) {
    const auto na = scpx::test::scratch_path("geno_na.tsv");
    scpx::test::write_text(na, "varID\tS1\tS2\nv1\t0\t1\nv2\t1\tNA\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(na); },
                                  {na, "line 3", "field 'S2'", "missing value"});
    const auto bad = scpx::test::scratch_path("geno_bad.tsv");
    scpx::test::write_text(bad, "varID\tS1\tS2\nv1\t0\t1x\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(bad); },
                                  {bad, "line 2", "field 'S2'", "not a number", "1x"});
    const auto dup = scpx::test::scratch_path("geno_dup.tsv");
    scpx::test::write_text(dup, "varID\tS1\tS2\nv1\t0\t1\nv1\t1\t1\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(dup); },
                                  {dup, "line 3", "field 'varID'", "duplicated id 'v1'"});
    const auto dups = scpx::test::scratch_path("geno_dupsample.tsv");
    scpx::test::write_text(dups, "varID\tS1\tS1\nv1\t0\t1\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(dups); },
                                  {dups, "line 1", "field 'S1'", "duplicated"});
    const auto fields = scpx::test::scratch_path("geno_fields.tsv");
    scpx::test::write_text(fields, "varID\tS1\tS2\nv1\t0\t1\nv2\t0\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(fields); },
                                  {fields, "line 3", "expected 3 fields"});
    const auto empty = scpx::test::scratch_path("geno_empty.tsv.gz");
    scpx::test::write_gzip(empty, "");
    scpx::test::expect_error_with([&] { read_genotype_dosages(empty); }, {empty, "empty file"});

    std::string big = "varID";
    for (int s = 0; s < 50; ++s)
        big += "\tS" + std::to_string(s);
    big += "\n";
    for (int v = 0; v < 3000; ++v) {
        big += "chr1_" + std::to_string(1000 + v) + "_A_G_b38";
        for (int s = 0; s < 50; ++s)
            big += "\t" + std::to_string((v * 13 + s * 7) % 201 / 100.0);
        big += "\n";
    }
    const auto trunc = scpx::test::scratch_path("geno_trunc.tsv.gz");
    scpx::test::write_truncated_gzip(trunc, big);
    scpx::test::expect_error_with([&] { read_genotype_dosages(trunc); }, {trunc, "truncated"});
}

TEST(PredictdbText, SnpAnnotationWithAliasesAndDuplicates) {
    const auto path = scpx::test::scratch_path("annot.txt");
    scpx::test::write_text(path, "chromosome pos varID refAllele effectAllele rsid extra\n"
                                 "1 100 chr1_100_A_G_b38 A G rs1 x\n"
                                 "1 200 chr1_200_C_T_b38 C T NA x\n"
                                 "1 100 chr1_100_A_G_b38 A G rs1b x\n"
                                 "1 3e+05 chr1_300000_G_A_b38 G A . x\n");
    const auto a = read_snp_annotation(path);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a.n_duplicate_var_ids, 1u);
    EXPECT_EQ(a.rsid[0], "rs1"); // first row of a duplicated varID kept
    EXPECT_EQ(a.rsid[1], "");    // NA rsid
    EXPECT_EQ(a.rsid[2], "");
    EXPECT_EQ(a.position[2], 300000);
    EXPECT_EQ(a.ref_allele[1], "C");
    EXPECT_EQ(a.alt_allele[1], "T");
    EXPECT_EQ(a.chromosome[0], "1");
}

TEST(PredictdbText, SnpAnnotationMalformedInputs) {
    const auto renamed = scpx::test::scratch_path("annot_renamed.txt");
    scpx::test::write_text(renamed, "chr\tpos\tvariant\tref_vcf\talt_vcf\trsid\n1\t1\tv\tA\tG\trs1\n");
    scpx::test::expect_error_with(
        [&] { read_snp_annotation(renamed); },
        {renamed, "'varID'", "column not found", "'chr', 'pos', 'variant', 'ref_vcf', 'alt_vcf', 'rsid'"});
    const auto badpos = scpx::test::scratch_path("annot_badpos.txt");
    scpx::test::write_text(
        badpos, "chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n1\t1\tv1\tA\tG\trs1\n1\t12.5\tv2\tA\tG\trs2\n");
    scpx::test::expect_error_with([&] { read_snp_annotation(badpos); },
                                  {badpos, "line 3", "field 'pos'", "12.5"});
    const auto empty = scpx::test::scratch_path("annot_empty.txt");
    scpx::test::write_text(empty, "\n\n");
    scpx::test::expect_error_with([&] { read_snp_annotation(empty); }, {empty, "empty file"});
}

TEST(PredictdbText, ExpressionBothLayoutsAgree) {
    const auto genes_by_samples = scpx::test::scratch_path("expr_gs.tsv");
    scpx::test::write_text(genes_by_samples, "gene_id\tS1\tS2\tS3\nG1\t1.5\t2.5\tNA\nG2\t-1\t0\t1e-3\n");
    const auto samples_by_genes = scpx::test::scratch_path("expr_sg.csv");
    scpx::test::write_text(samples_by_genes, "NAME,G1,G2\nS1,1.5,-1\nS2,2.5,0\nS3,NA,1e-3\n");
    const auto r_style = scpx::test::scratch_path("expr_r.csv"); // write.table(row.names = TRUE)
    scpx::test::write_text(r_style, "\"G1\",\"G2\"\nS1,1.5,-1\nS2,2.5,0\nS3,NA,1e-3\n");

    const auto a = read_expression(genes_by_samples);
    scpx::io::expression_read_options t;
    t.layout = expression_layout::SAMPLES_BY_FEATURES;
    const auto b = read_expression(samples_by_genes, t);
    ASSERT_EQ(a.feature_ids, (std::vector<std::string>{"G1", "G2"}));
    ASSERT_EQ(a.sample_ids, (std::vector<std::string>{"S1", "S2", "S3"}));
    EXPECT_EQ(b.feature_ids, a.feature_ids);
    EXPECT_EQ(b.sample_ids, a.sample_ids);
    ASSERT_EQ(a.values.size(), b.values.size());
    for (std::size_t k = 0; k < a.values.size(); ++k) {
        if (std::isnan(a.values[k]))
            EXPECT_TRUE(std::isnan(b.values[k]));
        else
            EXPECT_EQ(a.values[k], b.values[k]) << k;
    }
    EXPECT_EQ(a.feature(1)[2], 1e-3);
    // R-style header (no cell above the row names): quotes are kept as written, so ids differ,
    // but the shape is recognised.
    const auto c = read_expression(r_style, t);
    EXPECT_EQ(c.n_samples(), 3u);
    EXPECT_EQ(c.n_features(), 2u);

    scpx::io::expression_read_options strict;
    strict.allow_missing = false;
    scpx::test::expect_error_with([&] { read_expression(genes_by_samples, strict); },
                                  {genes_by_samples, "line 2", "field 'S3'", "missing value"});
}

TEST(PredictdbText, ExpressionWithOnlyAHeaderSaysSo) {
    // Found by tests/fuzz/mutate_inputs.py: the stage used to report that no expression gene was
    // in the gene annotation, naming the annotation instead of the empty table.
    const auto gs = scpx::test::scratch_path("expr_header_only.tsv");
    scpx::test::write_text(gs, "gene_id\tS1\tS2\n");
    scpx::test::expect_error_with([&] { read_expression(gs); }, {gs, "header but no gene rows"});
    const auto sg = scpx::test::scratch_path("expr_header_only_t.tsv");
    scpx::test::write_text(sg, "NAME\tG1\tG2\n\n");
    scpx::io::expression_read_options t;
    t.layout = expression_layout::SAMPLES_BY_FEATURES;
    scpx::test::expect_error_with([&] { read_expression(sg, t); }, {sg, "header but no sample rows"});
}

TEST(PredictdbText, NanAndInfinityTokensAreNotValues) {
    // Found by tests/fuzz/mutate_inputs.py: "-nan" and "inf" parse as doubles, so they reached
    // the solver, whose message named neither the file nor the line.
    const auto geno = scpx::test::scratch_path("geno_inf.tsv");
    scpx::test::write_text(geno, "varID\tS1\tS2\nv1\t0\t1\nv2\tinf\t2\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(geno); },
                                  {geno, "line 3", "field 'S1'", "not a finite number ('inf')"});
    scpx::test::write_text(geno, "varID\tS1\tS2\nv1\t0\t-nan\n");
    scpx::test::expect_error_with([&] { read_genotype_dosages(geno); },
                                  {geno, "line 2", "field 'S2'", "missing value"});
    // Expression: NaN stays a missing value where missing values are allowed; infinity never.
    const auto expr = scpx::test::scratch_path("expr_inf.tsv");
    scpx::test::write_text(expr, "gene_id\tS1\tS2\nG1\tnan\t1\n");
    EXPECT_TRUE(std::isnan(read_expression(expr).feature(0)[0]));
    scpx::test::write_text(expr, "gene_id\tS1\tS2\nG1\t1\t-inf\n");
    scpx::test::expect_error_with([&] { read_expression(expr); }, {expr, "line 2", "field 'S2'", "not a finite number"});
}

TEST(PredictdbText, ReadsTheElasticNetFixture) {
    const auto dir = scpx::test::shared_fixture("enet/case2_p2000");
    if (dir.empty()) GTEST_SKIP() << "shared fixtures not available";
    const auto g = read_genotype_dosages(dir + "/genotype.tsv.gz");
    ASSERT_EQ(g.n_features(), 2000u);
    ASSERT_EQ(g.n_samples(), 462u);
    EXPECT_EQ(g.feature_ids[0], "chr2_49000095_G_T_b38");
    EXPECT_EQ(g.sample_ids.back(), "SIM-0462");
    EXPECT_EQ(g.matrix()(0, 1), 0.0);     // variant 2, sample 1
    EXPECT_EQ(g.matrix()(7, 1), 0.842);   // variant 2, sample 8
    EXPECT_EQ(g.matrix()(461, 1), 0.919); // variant 2, last sample
    EXPECT_EQ(g.matrix()(1, 0), 2.0);

    const auto a = read_snp_annotation(dir + "/snp_annot.tsv");
    ASSERT_EQ(a.size(), 2000u);
    EXPECT_EQ(a.var_id.back(), "chr2_50999420_A_G_b38");
    EXPECT_EQ(a.position.back(), 50999420);
    EXPECT_EQ(a.rsid.back(), "rs10101999");
    EXPECT_EQ(a.var_id, g.feature_ids);

    const auto e = read_expression(dir + "/expression.tsv");
    ASSERT_EQ(e.n_features(), 1u);
    EXPECT_EQ(e.feature_ids[0], "ENSGSIM00000002");
    EXPECT_EQ(e.sample_ids, g.sample_ids);
    EXPECT_EQ(e.feature(0)[0], 2.886658);
    EXPECT_EQ(e.feature(0)[461], 5.109058);

    const auto c = read_expression(dir + "/covariates.tsv");
    EXPECT_EQ(c.n_features(), 8u);
    EXPECT_EQ(c.feature_ids[0], "sex");
}

} // namespace
