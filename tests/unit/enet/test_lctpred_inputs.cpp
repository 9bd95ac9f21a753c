// l-ctPred input and output handling: the output set committed together (nothing left by a
// failed run), the overwrite policy checked before any work, PredictDB text dosages (range,
// missing values), VCF dosages (DS '.', GT allele index, header and parse messages), fold-id
// tables, SNP annotation checks, QC counts and the journal's corrupt lines.
#include "scpx/enet/genotype_panel.hpp"
#include "scpx/enet/lctpred.hpp"
#include "scpx/enet/lctpred_journal.hpp"
#include "scpx/enet/output_set.hpp"
#include "scpx/enet/predictdb.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/io/predictdb_text.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "lctpred_test_data.hpp"
#include "../test_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace scpx;
using namespace scpx::enet;
using namespace scpx::test;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::vector<std::string> kSamples = {"A", "B", "C", "D"};

// A 4-sample SNP annotation for the variants v1..v3 (rsids rs1..rs3 unless given).
std::string annotation(const std::string& rs3 = "rs3") {
    return "chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n"
           "1\t100\tv1\tA\tG\trs1\n"
           "1\t200\tv2\tC\tT\trs2\n"
           "1\t300\tv3\tG\tT\t" + rs3 + "\n";
}

genotype_panel load_text(const std::string& tag, const std::string& geno, const std::string& annot,
                         snp_qc_stats& st, snp_qc_options qc = {}) {
    const std::string g = scratch_path(tag + "_geno.tsv"), a = scratch_path(tag + "_annot.tsv");
    write_text(g, geno);
    write_text(a, annot);
    qc.maf = 0;
    return load_predictdb_genotypes(g, a, kSamples, qc, st);
}

std::string vcf_text(const std::string& records, const std::string& samples = "A\tB\tC\tD") {
    return "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
           "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
           "##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"Dosage\">\n"
           "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + samples + "\n" + records;
}

} // namespace

// ------------------------------------------------------------------ outputs

TEST(LctpredOutputs, DirectoryInTheWayFailsBeforeAnyOutput) {
    lctpred_options o = bundled_lctpred_options("lct_dir_h5");
    std::filesystem::create_directories(o.out_h5);
    const std::string e = message_of<io_error>([&] { run_lctpred(o); });
    EXPECT_TRUE(contains(e, o.out_h5) && contains(e, "is a directory")) << e;
    EXPECT_FALSE(exists(o.out_db));
    EXPECT_FALSE(exists(o.out_covariance));
    std::filesystem::remove_all(o.out_h5);
}

TEST(LctpredOutputs, ExistingOutputRefusedBeforeAnyWorkWithoutOverwrite) {
    lctpred_options o = bundled_lctpred_options("lct_exists");
    o.overwrite = false;
    write_text(o.out_h5, "old summary");
    // A broken genotype path would fail the inputs: the refusal comes first.
    o.genotype = scratch_path("lct_exists_no_such_genotype.tsv");
    const std::string e = message_of<usage_error>([&] { run_lctpred(o); });
    EXPECT_TRUE(contains(e, o.out_h5) && contains(e, "--overwrite")) << e;
    EXPECT_EQ(read_text(o.out_h5), "old summary");
    EXPECT_FALSE(exists(o.out_db));
}

TEST(LctpredOutputs, SetCommitsTogetherOrNotAtAll) {
    const std::string a = scratch_path("oset_a.tsv"), b = scratch_path("oset_b.tsv.gz");
    {
        output_set outs(false);
        const std::size_t ia = outs.add(a), ib = outs.add(b);
        EXPECT_TRUE(contains(outs.staged(ib), ".scpx-staged.oset_b.tsv.gz"));
        write_text(outs.staged(ia), "a");
        write_text(outs.staged(ib), "b");
        // Something takes b's name after the checks: the commit renames nothing.
        std::filesystem::create_directories(b);
        EXPECT_TRUE(contains(message_of<io_error>([&] { outs.commit(); }), "is a directory"));
        EXPECT_FALSE(exists(a));
    }
    EXPECT_FALSE(exists(scratch_path(".scpx-staged.oset_a.tsv"))); // staged files removed
    std::filesystem::remove_all(b);
    {
        output_set outs(true);
        write_text(a, "old");
        const std::size_t ia = outs.add(a), ib = outs.add(b);
        write_text(outs.staged(ia), "new a");
        write_text(outs.staged(ib), "new b");
        outs.commit();
        EXPECT_EQ(read_text(a), "new a");
        EXPECT_EQ(read_text(b), "new b");
        EXPECT_FALSE(exists(scratch_path(".scpx-replaced.oset_a.tsv")));
    }
    output_set refuse(false);
    EXPECT_TRUE(contains(message_of<usage_error>([&] { refuse.add(a); }), "--overwrite"));
}

TEST(LctpredOutputs, StagedFilesAreRemovedBeforeAbortAndNeverReplaceAnInput) {
    const std::string a = scratch_path("oset_abort.tsv");
    {
        output_set outs(true);
        const std::size_t ia = outs.add(a);
        write_text(outs.staged(ia), "partial");
        // What main() does before MPI_Abort, which runs no destructor.
        scpx::detail::remove_live_temporaries();
        EXPECT_FALSE(exists(outs.staged(ia)));
    }
    const std::string input = scratch_path("oset_input.tsv");
    write_text(input, "the user's expression");
    scpx::note_input_file(input, "--expression oset_input.tsv");
    output_set outs(true);
    EXPECT_TRUE(contains(message_of<usage_error>([&] { outs.add(input); }), "--expression oset_input.tsv"));
    scpx::clear_input_files();
    EXPECT_EQ(read_text(input), "the user's expression");
}

// ------------------------------------------------------------------ text dosages

TEST(LctpredTextGenotypes, DosageOutsideZeroTwoNamesFileLineAndSample) {
    for (const char* bad : {"-1", "-0.1", "2.1", "3", "100"}) {
        snp_qc_stats st;
        const std::string geno = std::string("varID\tA\tB\tC\tD\nv1\t0\t1\t2\t1\nv2\t0\t1\t") + bad + "\t1\n";
        const std::string e = message_of<input_error>([&] { load_text("range", geno, annotation(), st); });
        EXPECT_TRUE(contains(e, "range_geno.tsv") && contains(e, "line 3") && contains(e, "'C'") &&
                    contains(e, "outside 0..2"))
            << e;
    }
    // Converted files may hold 2 or 0 rounded as floats: the VCF reader's tolerance.
    snp_qc_stats st;
    EXPECT_EQ(load_text("range_ok", "varID\tA\tB\tC\tD\nv1\t0\t1\t2.0000001\t-0.0000001\n", annotation(), st).n_snps(), 1u);
}

TEST(LctpredTextGenotypes, MissingDosageDropsOrImputesLikeVcf) {
    const std::string geno = "varID\tA\tB\tC\tD\nv1\t0\t1\t2\t1\nv2\t0\tNA\t2\t1\nv3\t1\t\t0\tNaN\n";
    snp_qc_stats st;
    genotype_panel p = load_text("miss", geno, annotation(), st);
    EXPECT_EQ(p.n_snps(), 1u);
    EXPECT_EQ(st.missing_dosage, 2u);
    snp_qc_options q;
    q.max_missing = 0.5;
    snp_qc_stats si;
    genotype_panel pi = load_text("miss_imp", geno, annotation(), si, q);
    ASSERT_EQ(pi.n_snps(), 3u);
    EXPECT_EQ(si.imputed_values, 3u);
    EXPECT_DOUBLE_EQ(pi.snp(1)[1], 1.0); // mean of 0, 2, 1
    // enet cv has no missing-value handling: still an error, saying a number is required.
    const std::string g = scratch_path("miss_required.tsv");
    write_text(g, "varID\tA\tB\nv1\t0\tNaN\n");
    const std::string e = message_of<input_error>([&] { io::read_genotype_dosages(g); });
    EXPECT_TRUE(contains(e, "line 2") && contains(e, "'B'") && contains(e, "where a number is required")) << e;
}

TEST(LctpredTextGenotypes, HeaderOnlyFilesAreAnErrorAndCountsAddUp) {
    snp_qc_stats st;
    std::string e = message_of<input_error>([&] { load_text("hdr", "varID\tA\tB\tC\tD\n", annotation(), st); });
    EXPECT_TRUE(contains(e, "hdr_geno.tsv") && contains(e, "no variants")) << e;
    snp_qc_stats sa;
    e = message_of<input_error>(
        [&] { load_text("hdr2", "varID\tA\tB\tC\tD\nv1\t0\t1\t2\t1\n", "chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n", sa); });
    EXPECT_TRUE(contains(e, "hdr2_annot.tsv") && contains(e, "no variants")) << e;
    // "read" counts every dosage row; the annotation's verdicts count dosage rows too.
    snp_qc_stats sc;
    const std::string annot = "chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n"
                              "X\t100\tv1\tA\tG\trs1\n1\t200\tv2\tA\tT\trs2\n1\t300\tv3\tG\tT\tNA\n"
                              "1\t400\tv4\tG\tT\trs4\n1\t500\tv5\tG\tT\trs5\n";
    load_text("counts", "varID\tA\tB\tC\tD\nv2\t0\t1\t2\t1\nv4\t0\t1\t2\t1\nv9\t0\t1\t2\t1\n", annot, sc);
    EXPECT_EQ(sc.input, 3u);
    EXPECT_EQ(sc.not_autosomal, 0u); // v1 has no dosage row
    EXPECT_EQ(sc.ambiguous, 1u);
    EXPECT_EQ(sc.missing_rsid, 0u);
    EXPECT_EQ(sc.not_in_annotation, 1u);
    EXPECT_EQ(sc.kept, 1u);
}

TEST(LctpredTextGenotypes, SecondVariantWithTheSameRsidIsDroppedAndCounted) {
    snp_qc_stats st;
    genotype_panel p = load_text("duprs", "varID\tA\tB\tC\tD\nv1\t0\t1\t2\t1\nv2\t0\t1\t2\t0\nv3\t1\t1\t2\t0\n",
                                 annotation("rs1"), st);
    EXPECT_EQ(p.n_snps(), 2u);
    EXPECT_EQ(st.duplicate_rsid, 1u);
    EXPECT_EQ(p.var_id[0], "v1");
    EXPECT_EQ(p.var_id[1], "v2");
    EXPECT_TRUE(contains(st.summary(), "1 duplicated rsid")) << st.summary();
}

TEST(LctpredTextGenotypes, EmptySampleNameInTheHeaderNamesTheColumn) {
    const std::string e_path = scratch_path("expr_empty_sample.tsv");
    write_text(e_path, "gene_id\tA\t\tC\nG1\t1\t2\t3\n");
    const std::string e = message_of<input_error>([&] { io::read_expression(e_path); });
    EXPECT_TRUE(contains(e, "line 1") && contains(e, "column 3") && contains(e, "empty column name")) << e;
}

TEST(LctpredSnpAnnotation, NonPositivePositionAndBom) {
    for (const char* pos : {"0", "-5"}) {
        const std::string a = scratch_path("annot_pos.tsv");
        write_text(a, std::string("chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n1\t") + pos + "\tv1\tA\tG\trs1\n");
        const std::string e = message_of<input_error>([&] { io::read_snp_annotation(a); });
        EXPECT_TRUE(contains(e, "line 2") && contains(e, "'pos'") && contains(e, "positive")) << e;
    }
    const std::string b = scratch_path("annot_bom.tsv");
    write_text(b, "\xEF\xBB\xBF" + annotation());
    EXPECT_EQ(io::read_snp_annotation(b).size(), 3u);
}

// ------------------------------------------------------------------ VCF

TEST(LctpredVcf, ExplicitDsTreatsDotAsMissingAutoFallsBackToGt) {
    const std::string v = scratch_path("ds_dot.vcf");
    write_text(v, vcf_text("1\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1\t1|1:.\t0|0:0\t0|1:1\n"));
    snp_qc_stats ds;
    EXPECT_EQ(load_vcf_genotypes(v, kSamples, io::dosage_source::DS, {}, ds).n_snps(), 0u);
    EXPECT_EQ(ds.missing_dosage, 1u);
    snp_qc_options q;
    q.max_missing = 0.5;
    snp_qc_stats di;
    genotype_panel p = load_vcf_genotypes(v, kSamples, io::dosage_source::DS, q, di);
    ASSERT_EQ(p.n_snps(), 1u);
    EXPECT_NEAR(p.snp(0)[1], 2.0 / 3.0, 1e-12); // imputed mean, not GT's 2
    snp_qc_stats au;
    genotype_panel pa = load_vcf_genotypes(v, kSamples, io::dosage_source::AUTO, {}, au);
    ASSERT_EQ(pa.n_snps(), 1u);
    EXPECT_EQ(pa.snp(0)[1], 2.0);
}

TEST(LctpredVcf, GtAlleleBeyondAltsAndMultiallelicCounted) {
    const std::string v = scratch_path("gt_idx.vcf");
    write_text(v, vcf_text("1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|3\t1|1\t0|0\t0|1\n"));
    snp_qc_stats sg;
    const std::string e = message_of<input_error>([&] { load_vcf_genotypes(v, kSamples, io::dosage_source::GT, {}, sg); });
    EXPECT_TRUE(contains(e, "record 1:100") && contains(e, "'GT'") && contains(e, "sample A")) << e;
    const std::string m = scratch_path("multi.vcf");
    write_text(m, vcf_text("1\t100\trs1\tA\tG,T\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\t0|2\n"
                           "1\t200\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\t0|1\n"));
    snp_qc_stats st;
    load_vcf_genotypes(m, kSamples, io::dosage_source::GT, {}, st);
    EXPECT_EQ(st.input, 2u);
    EXPECT_EQ(st.not_snv, 1u);
}

TEST(LctpredVcf, DuplicateSampleAndUnparsableValueAreNamed) {
    const std::string d = scratch_path("dup_sample.vcf");
    write_text(d, vcf_text("", "A\tB\tA\tD"));
    std::string e = message_of<input_error>([&] { io::vcf_reader r(d); });
    EXPECT_TRUE(contains(e, "'A'") && contains(e, "twice") && contains(e, "column 12")) << e;
    const std::string p = scratch_path("ds_abc.vcf");
    write_text(p, vcf_text("1\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1\t1|1:2\t0|0:abc\t0|1:1\n"));
    snp_qc_stats sp;
    e = message_of<input_error>([&] { load_vcf_genotypes(p, kSamples, io::dosage_source::DS, {}, sp); });
    EXPECT_TRUE(contains(e, "record 1:100") && contains(e, "'DS'") && contains(e, "sample C") && contains(e, "abc"))
        << e;
}

// ------------------------------------------------------------------ fold ids

TEST(LctpredFoldTable, FoldIdAboveSampleCountNamesLineAndColumn) {
    const std::string f = scratch_path("folds_big.tsv");
    write_text(f, "sample\tr1\nA\t1\nB\t2\nC\t1000000\nD\t3\n");
    const std::string e = message_of<input_error>([&] { read_fold_id_table(f, kSamples); });
    EXPECT_TRUE(contains(e, "folds_big.tsv") && contains(e, "line 4") && contains(e, "'r1'") &&
                contains(e, "1000000") && contains(e, "exceeds"))
        << e;
}

TEST(LctpredFoldTable, TableDisagreeingWithExplicitNfoldsOrRepeatsIsRefused) {
    lctpred_options o = bundled_lctpred_options("lct_foldopt");
    o.foldid = scratch_path("folds_11.tsv");
    std::string t = "sample\tr1\n";
    for (int i = 1; i <= 130; ++i) t += fmt::format("S{:03d}\t{}\n", i, i % 11 + 1);
    write_text(o.foldid, t);
    o.nfolds_given = true; // --nfolds 10
    std::string e = message_of<usage_error>([&] { run_lctpred(o); });
    EXPECT_TRUE(contains(e, "up to 11") && contains(e, "--nfolds is 10")) << e;
    o.nfolds_given = false;
    o.repeats_given = true; // --repeats 3, one column
    e = message_of<usage_error>([&] { run_lctpred(o); });
    EXPECT_TRUE(contains(e, "1 fold-id column") && contains(e, "--repeats is 3")) << e;
    EXPECT_FALSE(exists(o.out_db));
}

// ------------------------------------------------------------------ journal

TEST(LctpredJournalRead, GarbageLineInTheMiddleIsAnErrorCutLastLineIsNot) {
    const std::string dir = scratch_path("lctpred_journal_garbage");
    std::filesystem::create_directories(dir);
    const std::vector<std::string> fp = {"option=--seed 7"};
    gene_fit g;
    g.status = gene_status::too_few_snps;
    const std::string head = journal_header(fp) + "\n" + format_journal_line(0, "G0", g) + "\n";
    write_text(journal_file(dir, 0), head + "hello world\n" + format_journal_line(1, "G1", g) + "\n");
    const std::string e = message_of<input_error>([&] { read_journal_dir(dir, fp); });
    EXPECT_TRUE(contains(e, "rank0.tsv") && contains(e, "line 3") && contains(e, "corrupt")) << e;
    write_text(journal_file(dir, 0), head + format_journal_line(1, "G1", g).substr(0, 5));
    journal_contents jc = read_journal_dir(dir, fp);
    EXPECT_EQ(jc.complete, 1u);
    EXPECT_EQ(jc.incomplete, 1u);
}
