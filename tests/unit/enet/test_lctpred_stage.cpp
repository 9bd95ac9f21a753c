// The l-ctPred stage on tests/data/enet/lctpred (make_lctpred_data.py): QC, windows, statuses,
// the .db / covariance / HDF5 outputs, and bad inputs (one clear error, no output left).
#include "scpx/enet/lctpred.hpp"

#include "scpx/core/error.hpp"
#include "scpx/io/covariance.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/predictdb_model.hpp"
#include "scpx/io/predictdb_text.hpp"
#include "lctpred_test_data.hpp"
#include "../test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

using namespace scpx;
using namespace scpx::enet;
using namespace scpx::test;

namespace {

std::string fmt_sample(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "S%03d", i);
    return b;
}

// varID of the first annotation row (an autosomal SNP that passes the annotation QC).
std::string first_var_id() {
    const std::string a = read_text(lctpred_data("snp_annot.tsv"));
    const size_t l2 = a.find('\n') + 1;
    const size_t t1 = a.find('\t', l2) + 1, t2 = a.find('\t', t1) + 1, t3 = a.find('\t', t2);
    return a.substr(t2, t3 - t2);
}

lctpred_options base_options(const std::string& prefix) { return bundled_lctpred_options(prefix); }

bool any_output(const lctpred_options& o) {
    return exists(o.out_db) || exists(o.out_covariance) || exists(o.out_h5);
}

std::string error_of(const lctpred_options& o) {
    try {
        run_lctpred(o);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(LctpredPanel, QcCountsOnFixture) {
    snp_qc_stats st;
    std::vector<std::string> samples;
    for (int i = 1; i <= 120; ++i) samples.push_back(fmt_sample(i));
    genotype_panel p = load_predictdb_genotypes(lctpred_data("genotype.tsv.gz"), lctpred_data("snp_annot.tsv"), samples, {}, st);
    EXPECT_EQ(st.input, 510u);
    EXPECT_EQ(st.not_autosomal, 10u);
    EXPECT_EQ(st.ambiguous, 2u);
    EXPECT_EQ(st.missing_rsid, 2u);
    EXPECT_GE(st.low_maf, 3u); // the three monomorphic SNPs
    EXPECT_EQ(st.kept, p.n_snps());
    EXPECT_EQ(p.n_snps(), 510u - 10 - 2 - 2 - st.low_maf);
    EXPECT_EQ(p.n_samples(), 120u);
    for (size_t k = 1; k < p.n_snps(); ++k)
        ASSERT_TRUE(p.chrom[k - 1] < p.chrom[k] || (p.chrom[k - 1] == p.chrom[k] && p.pos[k - 1] <= p.pos[k]));
    // Windows are inclusive at both ends.
    auto [b, e] = p.range(p.chrom[10], p.pos[10], p.pos[20]);
    EXPECT_EQ(b, 10u);
    EXPECT_EQ(e, 21u);

    // The same SNPs from the VCF (DS): same panel.
    snp_qc_stats sv;
    genotype_panel v = load_vcf_genotypes(lctpred_data("genotype.vcf.gz"), samples, io::dosage_source::DS, {}, sv);
    ASSERT_EQ(v.n_snps(), p.n_snps());
    EXPECT_EQ(v.rsid, p.rsid);
    for (size_t i = 0; i < p.dosages.size(); ++i) ASSERT_NEAR(v.dosages[i], p.dosages[i], 1e-6);

    // HWE filter (option) removes more, never fewer.
    snp_qc_options hq;
    hq.hwe_p = 0.5;
    snp_qc_stats sh;
    genotype_panel h = load_predictdb_genotypes(lctpred_data("genotype.tsv.gz"), lctpred_data("snp_annot.tsv"), samples, hq, sh);
    EXPECT_GT(sh.hwe, 0u);
    EXPECT_LT(h.n_snps(), p.n_snps());
}

TEST(LctpredPanel, VcfMissingDosagesDroppedOrImputed) {
    const std::string v = scratch_path("lct_missing.vcf");
    write_text(v, "##fileformat=VCFv4.2\n##contig=<ID=1>\n##contig=<ID=X>\n"
                  "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\tD\n"
                  "1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\t0|1\n"
                  "1\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0|1\t./.\t0|0\t1|1\n"
                  "1\t300\trs1\tG\tA\t.\tPASS\t.\tGT\t0|1\t0|1\t0|0\t1|1\n"
                  "1\t400\t.\tG\tA\t.\tPASS\t.\tGT\t0|1\t0|1\t0|0\t1|1\n"
                  "X\t500\trs5\tG\tA\t.\tPASS\t.\tGT\t0|1\t0|1\t0|0\t1|1\n");
    snp_qc_stats a;
    genotype_panel p = load_vcf_genotypes(v, {"A", "B", "C", "D"}, io::dosage_source::GT, {}, a);
    EXPECT_EQ(p.n_snps(), 1u);
    EXPECT_EQ(a.missing_dosage, 1u);
    EXPECT_EQ(a.duplicate_rsid, 1u); // rs1 again
    EXPECT_EQ(a.missing_rsid, 1u);
    EXPECT_EQ(a.not_autosomal, 1u);
    snp_qc_options q;
    q.max_missing = 0.5;
    snp_qc_stats b;
    genotype_panel p2 = load_vcf_genotypes(v, {"A", "B", "C", "D"}, io::dosage_source::GT, q, b);
    ASSERT_EQ(p2.n_snps(), 2u);
    EXPECT_EQ(b.imputed_values, 1u);
    EXPECT_DOUBLE_EQ(p2.snp(1)[1], 1.0); // mean of 1, 0, 2
}

TEST(LctpredStage, WritesDbCovarianceAndSummary) {
    lctpred_options o = base_options("lct_ok");
    lctpred_summary s = run_lctpred(o);
    EXPECT_EQ(s.genes, 11u);
    EXPECT_EQ(s.samples, 120u);
    ASSERT_TRUE(exists(o.out_db));
    ASSERT_TRUE(exists(o.out_covariance));
    ASSERT_TRUE(exists(o.out_h5));

    io::predictdb_model m = io::read_predictdb_model(o.out_db);
    EXPECT_EQ(m.extra.size(), s.included);
    EXPECT_EQ(m.n_weights(), s.weights);
    EXPECT_GE(s.included, 3u); // GA, GB, GD, GF, GH carry signal
    ASSERT_EQ(m.sample_info.size(), 1u);
    EXPECT_EQ(m.sample_info[0].n_samples.value, 120);
    ASSERT_FALSE(m.construction.empty());
    EXPECT_EQ(m.construction[0].cv_seed.value, 2024);
    for (const auto& e : m.extra) {
        EXPECT_LT(e.pred_perf_pval.value, 0.05);
        EXPECT_GT(e.rho_avg.value, 0.1);
        EXPECT_GE(e.n_snps_in_model.value, 1);
        EXPECT_TRUE(e.n_snps_in_model.is_integer);
        EXPECT_NEAR(e.pred_perf_r2.value, e.rho_avg.value * e.rho_avg.value, 1e-15);
        EXPECT_TRUE(e.pred_perf_qval.is_null);
    }

    // Covariance: every model gene, its model SNPs, upper triangle with diagonal, n - 1.
    auto cov = io::read_covariance_genes(o.out_covariance);
    EXPECT_EQ(cov.size(), m.genes.size());
    snp_qc_stats st;
    std::vector<std::string> samples;
    for (int i = 1; i <= 120; ++i) samples.push_back(fmt_sample(i));
    genotype_panel p = load_predictdb_genotypes(lctpred_data("genotype.tsv.gz"), lctpred_data("snp_annot.tsv"), samples, {}, st);
    std::map<std::string, size_t> by_rsid;
    for (size_t k = 0; k < p.n_snps(); ++k) by_rsid[p.rsid[k]] = k;
    for (size_t g = 0; g < m.genes.size(); ++g) {
        const auto& b = cov.at(m.genes[g]);
        const size_t nw = m.gene_begin[g + 1] - m.gene_begin[g];
        EXPECT_EQ(b.entries.size(), nw * (nw + 1) / 2);
        for (const auto& e : b.entries) {
            const double* a = p.snp(by_rsid.at(b.ids[e.i]));
            const double* c = p.snp(by_rsid.at(b.ids[e.j]));
            double ma = 0, mc = 0;
            for (int i = 0; i < 120; ++i) ma += a[i], mc += c[i];
            ma /= 120;
            mc /= 120;
            double v = 0;
            for (int i = 0; i < 120; ++i) v += (a[i] - ma) * (c[i] - mc);
            ASSERT_NEAR(e.value, v / 119, 1e-12);
        }
        // Weight rows refer to the ALT (dosage) allele of the annotation.
        for (size_t r = m.gene_begin[g]; r < m.gene_begin[g + 1]; ++r) {
            const size_t k = by_rsid.at(m.rsid[r]);
            EXPECT_EQ(m.eff_allele[r], p.alt[k]);
            EXPECT_EQ(m.varid[r], p.var_id[k]);
        }
    }

    // HDF5 summary: every gene with its status.
    io::h5_file f = io::h5_open_file(o.out_h5);
    auto status = io::h5_read_strings(f.id(), "status");
    auto ids = io::h5_read_strings(f.id(), "gene_id");
    ASSERT_EQ(status.size(), 11u);
    std::map<std::string, std::string> st_of;
    for (size_t i = 0; i < ids.size(); ++i) st_of[ids[i]] = status[i];
    EXPECT_EQ(st_of["ENSG00000000009.1"], "too_few_snps");
    EXPECT_EQ(st_of["ENSG00000000010.1"], "not_autosomal");
    EXPECT_EQ(st_of["ENSG00000000011.1"], "constant_expression");
    EXPECT_EQ(st_of["ENSG00000000001.1"], "ok");
    auto cvm = io::h5_read<double>(f.id(), "cv/cvm");
    ASSERT_EQ(cvm.shape.size(), 2u);
    EXPECT_EQ(cvm.shape[0], 11u);
    EXPECT_EQ(cvm.shape[1], 100u);
}

TEST(LctpredStage, FoldTableAndVcfGiveModels) {
    lctpred_options o = base_options("lct_vcf");
    o.genotype.clear();
    o.snp_annotation.clear();
    o.vcf = lctpred_data("genotype.vcf.gz");
    o.dosage = io::dosage_source::DS;
    std::string folds = "sample\tr1\tr2\n";
    for (int i = 1; i <= 130; ++i) folds += fmt_sample(i) + "\t" + std::to_string(1 + i % 5) + "\t" + std::to_string(1 + (i * 7) % 5) + "\n";
    o.foldid = scratch_path("lct_folds.tsv");
    write_text(o.foldid, folds);
    lctpred_summary s = run_lctpred(o);
    EXPECT_GE(s.included, 3u);
    io::h5_file f = io::h5_open_file(o.out_h5);
    auto fn = io::h5_read<std::int32_t>(f.id(), "folds/n");
    EXPECT_EQ(fn.shape[1], 5u);
}

TEST(LctpredStage, CtpredHdf5ExpressionEqualsTable) {
    // ctPred predict's layout: /<cell type>/pred [genes, samples], /gene_id, /sample_id.
    io::expression_read_options eo;
    io::sample_matrix e = io::read_expression(lctpred_data("expression.tsv"), eo);
    const std::string h = scratch_path("lct_expr.h5");
    {
        io::h5_file f = io::h5_create_file(h);
        std::vector<double> v(e.values.size());
        for (size_t g = 0; g < e.n_features(); ++g)
            for (size_t s = 0; s < e.n_samples(); ++s) v[g * e.n_samples() + s] = e.feature(g)[s];
        io::h5_write<double>(f.id(), "/T_cells/pred", {static_cast<hsize_t>(e.n_features()), static_cast<hsize_t>(e.n_samples())}, v.data());
        io::h5_write_strings(f.id(), "/gene_id", e.feature_ids);
        io::h5_write_strings(f.id(), "/sample_id", e.sample_ids);
        io::h5_write_strings(f.id(), "/cell_types", {"T_cells"});
    }
    lctpred_options a = base_options("lct_tab");
    // Two genes are enough here (keeps the test fast).
    const std::string ann = read_text(lctpred_data("gene_annot.tsv"));
    size_t cut = 0;
    for (int l = 0; l < 3; ++l) cut = ann.find('\n', cut) + 1;
    a.gene_annotation = scratch_path("lct_two_genes.tsv");
    write_text(a.gene_annotation, ann.substr(0, cut));
    a.skip_unannotated = true;
    lctpred_options b = a;
    b.out_db = scratch_path("lct_h5.db");
    b.out_covariance = scratch_path("lct_h5.covariance.txt.gz");
    b.out_h5 = scratch_path("lct_h5.summary.h5");
    b.expression = h + ":/T_cells/pred";
    EXPECT_EQ(run_lctpred(a).genes, 2u);
    run_lctpred(b);
    EXPECT_EQ(read_text(a.out_covariance), read_text(b.out_covariance));
    io::predictdb_model ma = io::read_predictdb_model(a.out_db), mb = io::read_predictdb_model(b.out_db);
    EXPECT_EQ(ma.weight, mb.weight);
    EXPECT_EQ(ma.rsid, mb.rsid);
    // A cell type the file lacks: the message lists those it holds and a path to give.
    b.expression = h + ":/B_cells/pred";
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] { run_lctpred(b); });
    EXPECT_THAT(msg, ::testing::HasSubstr("holds the cell type(s) T_cells"));
    EXPECT_THAT(msg, ::testing::HasSubstr("--expression " + h + ":/T_cells/pred"));
}

TEST(LctpredStage, BadInputsLeaveNoOutput) {
    {   // non-numeric dosage
        lctpred_options o = base_options("lct_bad1");
        o.genotype = scratch_path("bad_geno.tsv");
        std::string g = "varID";
        for (int i = 1; i <= 130; ++i) g += "\t" + fmt_sample(i);
        g += "\n" + first_var_id();
        for (int i = 1; i <= 130; ++i) g += (i == 7 ? "\tabc" : "\t1");
        g += "\n";
        write_text(o.genotype, g);
        const std::string e = error_of(o);
        EXPECT_NE(e.find("bad_geno.tsv"), std::string::npos) << e;
        EXPECT_NE(e.find("S007"), std::string::npos) << e;
        EXPECT_FALSE(any_output(o));
    }
    {   // gene missing from the annotation
        lctpred_options o = base_options("lct_bad2");
        o.gene_annotation = scratch_path("annot_missing.tsv");
        write_text(o.gene_annotation, "chr\tgene_id\tgene_name\tstart\tend\tgene_type\n"
                                      "1\tENSG00000000001.1\tGA\t2000000\t2020000\tprotein_coding\n");
        const std::string e = error_of(o);
        EXPECT_NE(e.find("not in the gene annotation"), std::string::npos) << e;
        EXPECT_NE(e.find("--skip-unannotated"), std::string::npos) << e;
        EXPECT_FALSE(any_output(o));
        o.skip_unannotated = true; // then only that gene is fitted
        EXPECT_EQ(run_lctpred(o).genes, 1u);
    }
    {   // no sample in common
        lctpred_options o = base_options("lct_bad3");
        o.expression = scratch_path("expr_other.tsv");
        write_text(o.expression, "gene_id\tX1\tX2\tX3\nENSG00000000001.1\t1\t2\t3\n");
        const std::string e = error_of(o);
        EXPECT_NE(e.find("no sample id in common"), std::string::npos) << e;
        EXPECT_FALSE(any_output(o));
    }
    {   // fold table lacks a training sample
        lctpred_options o = base_options("lct_bad4");
        o.foldid = scratch_path("folds_short.tsv");
        write_text(o.foldid, "sample\tr1\nS001\t1\nS002\t2\nS003\t3\n");
        const std::string e = error_of(o);
        EXPECT_NE(e.find("'S004'"), std::string::npos) << e;
        EXPECT_FALSE(any_output(o));
    }
    {   // unwritable output: the parent is a regular file
        lctpred_options o = base_options("lct_bad5");
        const std::string f = scratch_path("lct_plain_file");
        write_text(f, "x");
        o.out_db = f + "/x.db";
        o.out_covariance = f + "/x.covariance.txt.gz";
        o.out_h5 = f + "/x.summary.h5";
        const std::string e = error_of(o);
        EXPECT_NE(e.find("lct_plain_file"), std::string::npos) << e;
    }
}
