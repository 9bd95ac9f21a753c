// Unit tests of scpx::assoc (S-PrediXcan): number formatting, normal functions, harmonisation
// rules, per-gene maths and MetaXcan's table quirks, on small hand-made inputs.
#include "scpx/assoc/spredixcan.hpp"
#include "scpx/core/error.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scpx::assoc {
namespace {

using scpx::test::scratch_path;
using scpx::test::write_text;
const double NaN = std::numeric_limits<double>::quiet_NaN();

TEST(SpredixcanFormat, PythonFloatRepr) {
    EXPECT_EQ(py_float(0.1), "0.1");
    EXPECT_EQ(py_float(1e-05), "1e-05");
    EXPECT_EQ(py_float(0.0001), "0.0001");
    EXPECT_EQ(py_float(61.0), "61.0");
    EXPECT_EQ(py_float(0.0), "0.0");
    EXPECT_EQ(py_float(-0.0), "-0.0");
    EXPECT_EQ(py_float(1e16), "1e+16");
    EXPECT_EQ(py_float(9999999999999998.0), "9999999999999998.0");
    EXPECT_EQ(py_float(1.5e-10), "1.5e-10");
    EXPECT_EQ(py_float(0.056760788771406015), "0.056760788771406015");
    EXPECT_EQ(py_float(3.07019618112332e-12), "3.07019618112332e-12");
    EXPECT_EQ(py_float(0.000452734985017634), "0.000452734985017634");
    EXPECT_EQ(py_float(-123456.789), "-123456.789");
    EXPECT_EQ(py_float(1e22), "1e+22");
    EXPECT_EQ(py_float(NaN), "NA");
}

TEST(SpredixcanStats, NormalFunctions) {
    // Values from Python's statistics.NormalDist().inv_cdf (AS241): -inv_cdf(p/2).
    EXPECT_NEAR(z_from_two_sided_p(0.05), 1.9599639845400538, 1e-15);
    EXPECT_NEAR(z_from_two_sided_p(1e-10) / 6.466951087240515, 1.0, 1e-15);
    EXPECT_NEAR(z_from_two_sided_p(1e-50) / 14.979477571624331, 1.0, 1e-15);
    EXPECT_EQ(z_from_two_sided_p(1.0), 0.0);
    EXPECT_TRUE(std::isinf(z_from_two_sided_p(0.0)));
    EXPECT_TRUE(std::isnan(z_from_two_sided_p(NaN)));
    for (double p : {0.9, 0.5, 0.1, 1e-3, 1e-8, 1e-20, 1e-100, 1e-300})
        EXPECT_NEAR(two_sided_p(z_from_two_sided_p(p)) / p, 1.0, 1e-13) << p;
    EXPECT_NEAR(two_sided_p(-1.959963984540054), 0.05, 1e-16);
    EXPECT_TRUE(std::isnan(two_sided_p(NaN)));
}

// A model: gene G1 with SNPs rs1 (A/G, eff G), rs2 (C/T, eff T), rs3 (A/C, eff C); gene G2 with rs4.
io::predictdb_model small_model() {
    io::predictdb_model m;
    m.path = "small.db";
    m.add_gene("G1", {"rs1", "rs2", "rs3"}, {}, {"A", "C", "A"}, {"G", "T", "C"}, {0.5, -0.25, 1.0});
    m.add_gene("G2", {"rs4"}, {}, {"A"}, {"G"}, {0.0});
    for (const char* g : {"G1", "G2"}) {
        io::predictdb_extra x;
        x.gene = g;
        x.genename = std::string("N") + g;
        x.n_snps_in_model = io::db_number::integer(g[1] == '1' ? 3 : 1);
        x.pred_perf_r2 = io::db_number::real(0.5);
        m.extra.push_back(x);
    }
    return m;
}

gwas_entry entry(const char* a1, const char* a2, double z, double beta = NaN, double p = NaN) {
    gwas_entry e;
    e.a1 = a1;
    e.a2 = a2;
    e.zscore = z;
    e.beta = beta;
    e.se = NaN;
    e.odds_ratio = NaN;
    e.pvalue = p;
    e.beta_sign = NaN;
    return e;
}

TEST(SpredixcanHarmonise, AllelesSignsDuplicatesAndFloat32) {
    spredixcan_options o;
    o.columns.zscore = "Z";
    o.columns.beta = "B";
    gwas_data g;
    g.source = io::gwas_columns::z_source_kind::ZSCORE;
    g.ids = {"rs1", "rs2", "rs3", "rs3", "rs4", "rs9"};
    g.rows = {entry("G", "A", 1.1, 0.2),   // as the model
              entry("C", "T", 2.0, 0.3),   // swapped: sign flips
              entry("T", "G", 1.0, 0.1),   // strand complement of A/C: dropped
              entry("A", "C", NaN, 0.1),   // NA statistic
              entry("A", "T", 1.0, 0.1),   // wrong pair
              entry("G", "A", 1.0, 0.1)};  // not in the model
    const auto h = harmonise(g, small_model(), o);
    EXPECT_EQ(h.report.model_snps, 4u);
    EXPECT_EQ(h.report.used, 2u);
    EXPECT_EQ(h.report.swapped, 1u);
    EXPECT_EQ(h.report.na_statistic, 1u); // rs3: one complement row, one NA row → NA wins the report
    EXPECT_EQ(h.report.allele_mismatch, 1u);
    EXPECT_EQ(h.report.duplicated, 1u);
    ASSERT_GE(h.keys.find("rs1"), 0);
    EXPECT_EQ(h.z[static_cast<std::size_t>(h.keys.find("rs1"))], static_cast<double>(1.1f)); // float32
    EXPECT_EQ(h.z[static_cast<std::size_t>(h.keys.find("rs2"))], -2.0);
    EXPECT_EQ(h.beta[static_cast<std::size_t>(h.keys.find("rs2"))], -0.3);
    EXPECT_LT(h.keys.find("rs3"), 0);

    // Last finite row wins; an NA row after it does not erase it.
    g.ids = {"rs1", "rs1", "rs1"};
    g.rows = {entry("G", "A", 1.0), entry("A", "G", 3.0), entry("G", "A", NaN)};
    const auto h2 = harmonise(g, small_model(), o);
    EXPECT_EQ(h2.z[static_cast<std::size_t>(h2.keys.find("rs1"))], -3.0);
    EXPECT_TRUE(h2.report.diagnosis.empty()); // 1 of 4 SNPs matched: no "(almost) nothing" diagnosis
}

TEST(SpredixcanHarmonise, PvalueSignAndZeroCap) {
    spredixcan_options o;
    o.columns.zscore.clear();
    o.columns.pvalue = "P";
    o.columns.beta = "B";
    gwas_data g;
    g.source = io::gwas_columns::z_source_kind::PVALUE;
    g.ids = {"rs1", "rs2", "rs3"};
    g.rows = {entry("G", "A", NaN, -0.5, 0.0), entry("T", "C", NaN, 0.0, 0.3), entry("C", "A", NaN, 2.0, 1e-60)};
    const auto h = harmonise(g, small_model(), o);
    // p = 0 → capped at min(smallest non-zero p = 1e-60, 1e-50); sign from beta.
    EXPECT_EQ(h.z[static_cast<std::size_t>(h.keys.find("rs1"))],
              -static_cast<double>(static_cast<float>(z_from_two_sided_p(1e-60))));
    EXPECT_EQ(h.z[static_cast<std::size_t>(h.keys.find("rs2"))], 0.0); // beta 0 → z 0
    EXPECT_GT(h.z[static_cast<std::size_t>(h.keys.find("rs3"))], 16.0);
}

TEST(SpredixcanHarmonise, ZeroCapIsPerFileAndSkipsUnderflowingP) {
    // MetaXcan loads and caps each GWAS file by itself (GWAS._z_from_p): rs1's p = 0 in the first
    // file takes that file's smallest p (1e-60), not the second file's 1e-100.
    spredixcan_options o;
    o.columns.zscore.clear();
    o.columns.pvalue = "P";
    o.columns.beta = "B";
    gwas_data g;
    g.source = io::gwas_columns::z_source_kind::PVALUE;
    g.ids = {"rs1", "rs2", "rs3", "rs4"};
    g.rows = {entry("G", "A", NaN, 0.1, 0.0), entry("C", "T", NaN, 0.1, 1e-60),
              entry("C", "A", NaN, 0.1, 0.0), entry("G", "A", NaN, 0.1, 1e-100)};
    g.file_ends = {2, 4};
    auto z_of = [](const harmonised_gwas& h, const char* id) {
        const std::int64_t k = h.keys.find(id);
        return k < 0 ? NaN : h.z[static_cast<std::size_t>(k)];
    };
    const auto fz = [](double p) { return static_cast<double>(static_cast<float>(z_from_two_sided_p(p))); };
    const auto h = harmonise(g, small_model(), o);
    EXPECT_EQ(z_of(h, "rs1"), fz(1e-60));
    EXPECT_EQ(z_of(h, "rs3"), fz(1e-100));
    // The smallest denormal p has an infinite |z| too (p/2 rounds to 0): it is capped, and it is
    // not the cap — which would make every p = 0 row infinite and drop it.
    g.rows[1].pvalue = 4.9e-324;
    g.file_ends = {4};
    const auto h2 = harmonise(g, small_model(), o);
    EXPECT_EQ(z_of(h2, "rs1"), fz(1e-100));
    EXPECT_EQ(z_of(h2, "rs2"), -fz(1e-100)); // swapped alleles
    EXPECT_TRUE(std::isinf(z_from_two_sided_p(4.9e-324)));
    // Without file_ends (rows built by hand) every row is one file; --input_pvalue_fix 0 drops them.
    g.file_ends.clear();
    g.rows[3].pvalue = 0.01;
    EXPECT_EQ(z_of(harmonise(g, small_model(), o), "rs1"), fz(1e-50));
    o.input_pvalue_fix = 0;
    const auto h3 = harmonise(g, small_model(), o);
    EXPECT_LT(h3.keys.find("rs1"), 0);
    EXPECT_LT(h3.keys.find("rs2"), 0);
    EXPECT_EQ(z_of(h3, "rs4"), fz(0.01));
}

TEST(SpredixcanHarmonise, DiagnosisNamesTwoGenomeBuilds) {
    // A model keyed by b37 varIDs, a GWAS by b38 ones: no flag helps, the builds differ.
    io::predictdb_model m;
    m.path = "b37.db";
    m.add_gene("G1", {"chr1_100_A_G_b37", "chr1_200_C_T_b37"}, {}, {"A", "C"}, {"G", "T"}, {0.5, -0.25});
    spredixcan_options o;
    o.columns.zscore = "Z";
    o.match_by_position = true;
    gwas_data g;
    g.source = io::gwas_columns::z_source_kind::ZSCORE;
    g.summary.sample_ids = {"chr1_150_A_G_b38", "chr1_250_C_T_b38"};
    const auto h = harmonise(g, m, o);
    EXPECT_EQ(h.report.used, 0u);
    EXPECT_NE(h.report.diagnosis.find("the model's ids are positions on b37 and the GWAS's on b38"),
              std::string::npos)
        << h.report.diagnosis;
    // One build, other styles, --match_by_position given and still nothing: not "add the flag".
    g.summary.sample_ids = {"1:150:A:G", "1:250:C:T"};
    const auto h2 = harmonise(g, m, o);
    EXPECT_NE(h2.report.diagnosis.find("check that GWAS and model use one genome build"), std::string::npos)
        << h2.report.diagnosis;
}

TEST(SpredixcanHarmonise, DiagnosisNamesStylesAndFlag) {
    spredixcan_options o;
    o.columns.zscore = "Z";
    gwas_data g;
    g.source = io::gwas_columns::z_source_kind::ZSCORE;
    g.summary.sample_ids = {"chr1_100_A_G_b38", "chr1_200_C_T_b38"};
    const auto h = harmonise(g, small_model(), o);
    EXPECT_EQ(h.report.used, 0u);
    EXPECT_NE(h.report.diagnosis.find("rsid"), std::string::npos) << h.report.diagnosis;
    EXPECT_NE(h.report.diagnosis.find("chr_pos_ref_alt_b38 (with 'chr')"), std::string::npos) << h.report.diagnosis;
    EXPECT_NE(h.report.diagnosis.find("add --match_by_position (the model's varIDs give the positions)"),
              std::string::npos)
        << h.report.diagnosis;
    EXPECT_EQ(id_style("rs123"), "rsid");
    EXPECT_EQ(id_style("1:123:A:G"), "chr:pos:ref:alt (no 'chr')");
    EXPECT_EQ(id_style("chr1_123_A_G_b38"), "chr_pos_ref_alt_b38 (with 'chr')");
    EXPECT_EQ(id_style("foo"), "other");
}

// Covariance for G1: rs1, rs2, rs3 (upper triangle).
const char* kCov = "GENE RSID1 RSID2 VALUE\n"
                   "G1 rs1 rs1 0.4\nG1 rs1 rs2 0.1\nG1 rs1 rs3 0.05\nG1 rs2 rs2 0.3\nG1 rs2 rs3 0.02\nG1 rs3 rs3 0.2\n"
                   "G2 rs4 rs4 0.3\n";

TEST(SpredixcanCompute, ZscoreEffectSizeAndVariance) {
    spredixcan_options o;
    o.columns.zscore = "Z";
    o.columns.beta = "B";
    const auto m = small_model();
    gwas_data g;
    g.ids = {"rs1", "rs2", "rs3", "rs4"};
    g.rows = {entry("G", "A", 1.5, 0.1), entry("T", "C", -0.5, -0.2), entry("C", "A", 2.0, 0.3),
              entry("G", "A", 1.0, 0.1)};
    const auto h = harmonise(g, m, o);
    const std::string cov = scratch_path("spx_cov.txt");
    write_text(cov, kCov);
    const auto genes = genes_to_compute(m, h);
    ASSERT_EQ(genes.size(), 2u);
    model_summary sum;
    auto r = compute_genes(m, h, cov, genes, o, &sum);
    ASSERT_EQ(r.size(), 2u);
    // By hand: w = (.5, -.25, 1), Σ as above.
    const double w[] = {0.5, -0.25, 1.0}, z[] = {1.5, -0.5, 2.0}, b[] = {0.1, -0.2, 0.3};
    const double S[3][3] = {{0.4, 0.1, 0.05}, {0.1, 0.3, 0.02}, {0.05, 0.02, 0.2}};
    double var = 0, nz = 0, nb = 0;
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j)
            var += w[i] * S[i][j] * w[j];
        nz += w[i] * std::sqrt(S[i][i]) * z[i];
        nb += w[i] * S[i][i] * b[i];
    }
    EXPECT_NEAR(r[0].var_g, var, 1e-15);
    EXPECT_NEAR(r[0].zscore, nz / std::sqrt(var), 1e-14);
    EXPECT_NEAR(r[0].effect_size, nb / var, 1e-14);
    EXPECT_EQ(r[0].n_snps_used, 3);
    EXPECT_EQ(r[0].n_snps_in_cov, 3);
    EXPECT_EQ(r[0].status, "ok");
    // G2: weight 0 → var_g 0, z NA, reason given.
    EXPECT_EQ(r[1].var_g, 0.0);
    EXPECT_TRUE(std::isnan(r[1].zscore));
    EXPECT_NE(r[1].status.find("zero variance"), std::string::npos);

    // A missing pair (rs1, rs3) → NA with a reason, not an abort; a gene absent → NA counts.
    write_text(cov, "GENE RSID1 RSID2 VALUE\nG1 rs1 rs1 0.4\nG1 rs1 rs2 0.1\nG1 rs2 rs2 0.3\nG1 rs2 rs3 0.02\n"
                    "G1 rs3 rs3 0.2\n");
    r = compute_genes(m, h, cov, genes, o);
    EXPECT_TRUE(std::isnan(r[0].zscore));
    EXPECT_NE(r[0].status.find("covariance incomplete"), std::string::npos);
    EXPECT_EQ(r[1].n_snps_in_cov, -1);
    EXPECT_NE(r[1].status.find("not in the covariance"), std::string::npos);

    // The table: sorted by p (NA last); n_snps_in_cov prints as float when one is NA.
    o.status_column = true;
    const auto fin = finish_results(r, m, o);
    const std::string csv = format_csv(fin, m, o);
    EXPECT_NE(csv.find("\nG2,NG2,NA,NA,NA,NA,0.5,NA,NA,0,NA,1,gene not in the covariance file\n"), std::string::npos)
        << csv;
}

TEST(SpredixcanCompute, IntFloatQuirkAndSerialisation) {
    spredixcan_options o;
    const auto m = small_model();
    gene_result a;
    a.gene = "G1";
    a.zscore = 1.0;
    a.pvalue = two_sided_p(1.0);
    a.effect_size = a.var_g = 0.5;
    a.best_gwas_p = a.largest_weight = a.phi = a.uncalibrated_pvalue = a.uncalibrated_zscore = NaN;
    a.n_snps_used = 3;
    a.n_snps_in_cov = 61;
    std::vector<gene_result> v{a};
    auto csv = format_csv(finish_results(v, m, o), m, o);
    EXPECT_NE(csv.find(",3,61,3\n"), std::string::npos) << csv;
    gene_result b = a;
    b.gene = "G2";
    b.zscore = b.pvalue = NaN;
    b.n_snps_in_cov = -1;
    v.push_back(b);
    const auto fin = finish_results(v, m, o);
    csv = format_csv(fin, m, o);
    EXPECT_NE(csv.find(",3,61.0,3\n"), std::string::npos) << csv;
    std::vector<gene_result> back;
    deserialize(serialize(fin), back);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(format_csv(back, m, o), csv);
}

TEST(SpredixcanGwas, BadValuesBecomeNaAndMissingColumnIsNamed) {
    const std::string f = scratch_path("spx_gwas.tsv");
    write_text(f, "SNP\tA1\tA2\tBETA\tSE\tP\n"
                  "rs1\tg\ta\t0.1\t0.05\t0.04\n"
                  "rs2\tT\tC\tabc\t0.05\t0.5\n"   // non-numeric
                  "rs3\tC\tA\t0.2\t-1\t0.5\n"     // se <= 0
                  "rs4\tG\tA\t0.2\t0.1\t1.5\n"    // p > 1
                  "chr1:5\tG\tA\t0.2\t0.1\t0.5\n" // non-rsid
                  "rs1\tG\tA\t0.3\t0.1\t0.01\n"); // duplicate: last wins
    spredixcan_options o;
    o.columns.zscore.clear();
    o.columns.beta = "BETA";
    o.columns.se = "SE";
    o.columns.pvalue = "P";
    const auto g = load_gwas({f}, o, {"rs1", "rs2", "rs3", "rs4", "chr1:5"});
    EXPECT_EQ(g.summary.bad_value, 3u) << g.summary.first_bad_value;
    EXPECT_NE(g.summary.first_bad_value.find("BETA"), std::string::npos) << g.summary.first_bad_value;
    EXPECT_EQ(g.summary.non_rsid, 1u);
    ASSERT_EQ(g.rows.size(), 5u); // rs1 twice, rs2 (beta NA, not dropped), rs3, rs4
    EXPECT_EQ(g.rows[0].a1, "G"); // upper-cased
    EXPECT_EQ(g.ids[1], "rs2");
    EXPECT_TRUE(std::isnan(g.rows[1].beta));

    o.columns.zscore = "ZSCORE";
    try {
        load_gwas({f}, o, {"rs1"});
        FAIL() << "no error";
    } catch (const input_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("ZSCORE"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'SNP', 'A1', 'A2', 'BETA', 'SE', 'P'"), std::string::npos) << msg;
    }
}

TEST(SpredixcanGwas, NonNumericStatisticIsNaStatisticNotAbsent) {
    // --zscore_column SNP: every z is an id. The SNPs are there, their statistic is not.
    const std::string f = scratch_path("spx_gwas_zsnp.tsv");
    write_text(f, "SNP\tA1\tA2\tZ\nrs1\tG\tA\t1\nrs2\tC\tT\t2\nrs3\tC\tA\t3\nrs4\tG\tA\t4\n");
    spredixcan_options o;
    o.columns.zscore = "SNP";
    const auto g = load_gwas({f}, o, {"rs1", "rs2", "rs3", "rs4"});
    EXPECT_EQ(g.rows.size(), 4u);
    EXPECT_EQ(g.summary.bad_value, 4u);
    const auto h = harmonise(g, small_model(), o);
    EXPECT_EQ(h.report.absent, 0u);
    EXPECT_EQ(h.report.na_statistic, 4u);
    EXPECT_NE(h.report.diagnosis.find("statistic is NA or not a number"), std::string::npos) << h.report.diagnosis;
    EXPECT_NE(h.report.diagnosis.find("--zscore_column 'SNP'"), std::string::npos) << h.report.diagnosis;
    EXPECT_EQ(h.report.diagnosis.find("--snp_column"), std::string::npos) << h.report.diagnosis;
}

} // namespace
} // namespace scpx::assoc
