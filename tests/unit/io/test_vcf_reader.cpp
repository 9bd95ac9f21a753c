#include "scpx/core/error.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "scpx/seq/fasta.hpp"

#include "../test_support.hpp"
#include "hts_test_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

using scpx::io::vcf_options;
using scpx::io::vcf_reader;
using scpx::io::vcf_record;
using ::testing::HasSubstr;

const char* kHeader =
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=20,length=1000>\n"
    "##contig=<ID=21,length=1000>\n"
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
    "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"ALT dosage\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n";

// Ten records on 20 and one on 21, one of each kind the reader must classify.
const char* kBody =
    "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:0.9\t1|1:1.8\t0|0:0.1\n"
    "20\t20\trs2\tC\tT\t.\tPASS\t.\tGT:DS\t1|0:1.1\t0|1:.\t0|0:0\n"
    "20\t30\trs3\tG\tA,C\t.\tPASS\t.\tGT:DS\t0|1:1,0\t0|2:0,1\t0|0:0,0\n"
    "20\t40\trs4\tT\tTA\t.\tPASS\t.\tGT:DS\t0|1:1\t0|0:0\t0|0:0\n"
    "20\t50\trs5\tAC\tGT\t.\tPASS\t.\tGT:DS\t0|1:1\t0|0:0\t0|0:0\n"
    "20\t60\trs6\tG\t<DEL>\t.\tPASS\t.\tGT:DS\t0|1:1\t0|0:0\t0|0:0\n"
    "20\t70\trs7\tA\t.\t.\tPASS\t.\tGT\t0|0\t0|0\t0|0\n"
    "20\t80\trs8\tT\tC\t.\tPASS\t.\tGT:DS\t.|.:.\t0|1:1\t1|1:2\n"
    "20\t90\trs9\tG\tA\t.\tPASS\t.\tGT:DS\t0|1:1\t0|0:0\t0|0:0\n"
    "20\t95\t.\tN\tA\t.\tPASS\t.\tGT:DS\t0|1:1\t0|0:0\t0|0:0\n"
    "21\t10\trs10\tA\tT\t.\tPASS\t.\tGT:DS\t1|0:1\t0|0:0\t0|0:0\n";

std::string vcf_text() { return std::string(kHeader) + kBody; }

// FASTA whose chromosome is "chr20" (VCF says "20") with REF bases of rs1..rs8 in place and a
// 'C' where rs9 claims 'G'.
std::string write_ref_fasta(const std::string& name) {
    std::string seq(100, 'A');
    seq[19] = 'C';
    seq[39] = 'T';
    seq[50] = 'C'; // rs5 AC at 50..51 (skipped as MNP before the check)
    seq[59] = 'G';
    seq[79] = 'T';
    seq[89] = 'C';
    const auto path = scpx::test::scratch_path(name);
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, ">chr20\n" + seq + "\n>chr21\n" + seq + "\n");
    return path;
}

std::vector<vcf_record> read_all(vcf_reader& r) {
    std::vector<vcf_record> out;
    vcf_record rec;
    while (r.next(rec)) out.push_back(rec);
    return out;
}

std::vector<std::string> ids(const std::vector<vcf_record>& recs) {
    std::vector<std::string> out;
    for (const auto& r : recs) out.push_back(r.id);
    return out;
}

TEST(VcfReader, RegionQueryReturnsSnvsAndCountsEachSkipReason) {
    const auto path = scpx::test::make_indexed_vcf("vcf_basic.vcf.gz", vcf_text());
    vcf_reader r(path);
    EXPECT_TRUE(r.has_index());
    EXPECT_EQ(r.samples(), (std::vector<std::string>{"S1", "S2", "S3"}));
    ASSERT_TRUE(r.query("chr20", 1, 1000));
    const auto recs = read_all(r);
    EXPECT_EQ(ids(recs), (std::vector<std::string>{"rs1", "rs2", "rs8", "rs9"}));
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs[0].chrom, "20");
    EXPECT_EQ(recs[0].pos, 10);
    EXPECT_EQ(recs[0].ref, "A");
    EXPECT_EQ(recs[0].alts, (std::vector<std::string>{"G"}));
    const auto& s = r.stats();
    EXPECT_EQ(s.records_read, 10u);
    EXPECT_EQ(s.records_returned, 4u);
    EXPECT_EQ(s.skipped_multiallelic, 1u);
    EXPECT_EQ(s.skipped_indel, 1u);
    EXPECT_EQ(s.skipped_mnp, 1u);
    EXPECT_EQ(s.skipped_symbolic, 1u);
    EXPECT_EQ(s.skipped_no_alt, 1u);
    EXPECT_EQ(s.skipped_non_acgt, 1u);
    EXPECT_EQ(s.skipped(), 6u);
    EXPECT_THAT(s.summary(), HasSubstr("skipped multi-allelic: 1"));
    EXPECT_THAT(s.summary(), HasSubstr("skipped indel: 1"));
}

TEST(VcfReader, SubRegionsAndOtherContigs) {
    const auto path = scpx::test::make_indexed_vcf("vcf_region.vcf.gz", vcf_text());
    vcf_reader r(path);
    ASSERT_TRUE(r.query("20", 15, 35));
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs2"}));
    ASSERT_TRUE(r.query("20", 80, 80));
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs8"}));
    ASSERT_TRUE(r.query("chr21", 1, 100));
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs10"}));
    ASSERT_TRUE(r.query("20", -100, 9));
    EXPECT_TRUE(read_all(r).empty());
    EXPECT_FALSE(r.query("chr22", 1, 100)); // not in the file: no records, no error
    vcf_record rec;
    EXPECT_FALSE(r.next(rec));
    EXPECT_THROW(r.query("20", 50, 10), scpx::usage_error);
}

TEST(VcfReader, PhasedHaplotypesAndMissingAllelesAsRef) {
    const auto path = scpx::test::make_indexed_vcf("vcf_haps.vcf.gz", vcf_text());
    vcf_reader r(path);
    ASSERT_TRUE(r.query("20", 1, 100));
    const auto recs = read_all(r);
    ASSERT_EQ(recs.size(), 4u);
    EXPECT_EQ(recs[0].haplotypes, (std::vector<std::int16_t>{0, 1, 1, 1, 0, 0}));
    EXPECT_EQ(recs[1].haplotypes, (std::vector<std::int16_t>{1, 0, 0, 1, 0, 0}));
    EXPECT_EQ(recs[2].haplotypes, (std::vector<std::int16_t>{0, 0, 0, 1, 1, 1})); // .|. -> REF
    EXPECT_EQ(r.stats().missing_alleles, 2u);
    EXPECT_TRUE(recs[0].dosages.empty()); // not requested
}

TEST(VcfReader, DosagesFromDsWithGtFallbackOrFromGt) {
    const auto path = scpx::test::make_indexed_vcf("vcf_ds.vcf.gz", vcf_text());
    vcf_options o;
    o.want_dosages = true;
    o.want_haplotypes = false;
    {
        vcf_reader r(path, o); // AUTO -> DS (the header defines it)
        EXPECT_TRUE(r.dosage_from_ds());
        ASSERT_TRUE(r.query("20", 1, 100));
        const auto recs = read_all(r);
        ASSERT_EQ(recs.size(), 4u);
        EXPECT_FLOAT_EQ(recs[0].dosages[0], 0.9f);
        EXPECT_FLOAT_EQ(recs[0].dosages[1], 1.8f);
        EXPECT_FLOAT_EQ(recs[0].dosages[2], 0.1f);
        EXPECT_FLOAT_EQ(recs[1].dosages[1], 1.0f); // DS '.' -> GT 0|1
        EXPECT_TRUE(std::isnan(recs[2].dosages[0])); // no DS and GT .|.
        EXPECT_FLOAT_EQ(recs[2].dosages[2], 2.0f);
        EXPECT_EQ(r.stats().ds_missing_used_gt, 1u);
        EXPECT_EQ(r.stats().missing_dosage, 1u);
        EXPECT_TRUE(recs[0].haplotypes.empty());
    }
    o.dosage = scpx::io::dosage_source::GT;
    {
        vcf_reader r(path, o);
        EXPECT_FALSE(r.dosage_from_ds());
        ASSERT_TRUE(r.query("20", 1, 100));
        const auto recs = read_all(r);
        ASSERT_EQ(recs.size(), 4u);
        EXPECT_EQ(recs[0].dosages, (std::vector<float>{1, 2, 0}));
        EXPECT_EQ(recs[1].dosages, (std::vector<float>{1, 1, 0}));
        EXPECT_TRUE(std::isnan(recs[2].dosages[0]));
        EXPECT_EQ(r.stats().missing_dosage, 1u);
        EXPECT_EQ(r.stats().ds_missing_used_gt, 0u);
    }
}

TEST(VcfReader, DsRequestedButUndefinedNamesFileAndField) {
    std::string text = vcf_text();
    text.erase(text.find("##FORMAT=<ID=DS"), text.find("#CHROM") - text.find("##FORMAT=<ID=DS"));
    // Records still carry DS: htslib would warn; only the header decides the source.
    const auto path = scpx::test::make_indexed_vcf("vcf_nods.vcf.gz", text);
    vcf_options o;
    o.want_dosages = true;
    o.dosage = scpx::io::dosage_source::DS;
    try {
        vcf_reader r(path, o);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_EQ(e.field(), "DS");
    }
}

TEST(VcfReader, KeepOptionsReturnMultiallelicAndNonSnvRecords) {
    const auto path = scpx::test::make_indexed_vcf("vcf_keep.vcf.gz", vcf_text());
    vcf_options o;
    o.keep_multiallelic = true;
    o.want_dosages = true;
    o.dosage = scpx::io::dosage_source::GT;
    {
        vcf_reader r(path, o);
        ASSERT_TRUE(r.query("20", 1, 100));
        const auto recs = read_all(r);
        EXPECT_EQ(ids(recs), (std::vector<std::string>{"rs1", "rs2", "rs3", "rs8", "rs9"}));
        ASSERT_EQ(recs.size(), 5u);
        EXPECT_EQ(recs[2].alts, (std::vector<std::string>{"A", "C"}));
        EXPECT_EQ(recs[2].haplotypes, (std::vector<std::int16_t>{0, 1, 0, 2, 0, 0}));
        EXPECT_EQ(recs[2].dosages, (std::vector<float>{1, 1, 0})); // non-REF allele count
    }
    o.keep_non_snv = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    EXPECT_EQ(read_all(r).size(), 10u);
    EXPECT_EQ(r.stats().skipped(), 0u);
}

TEST(VcfReader, KeepIndelsReturnsIndelsAndMnpsOfAcgtOnly) {
    const auto path = scpx::test::make_indexed_vcf("vcf_keep_indels.vcf.gz", vcf_text());
    vcf_options o;
    o.keep_indels = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    // rs4 (an insertion) and rs5 (an MNP) join the SNVs; the multi-allelic, symbolic, no-ALT and
    // non-ACGT records stay skipped and counted.
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs1", "rs2", "rs4", "rs5", "rs8", "rs9"}));
    EXPECT_EQ(r.stats().skipped_indel, 0u);
    EXPECT_EQ(r.stats().skipped_mnp, 0u);
    EXPECT_EQ(r.stats().skipped_multiallelic, 1u);
    EXPECT_EQ(r.stats().skipped_symbolic, 1u);
    EXPECT_EQ(r.stats().skipped_no_alt, 1u);
    EXPECT_EQ(r.stats().skipped_non_acgt, 1u);
    // An indel with an N in it cannot be written into a sequence: skipped as non-ACGT.
    const auto npath = scpx::test::make_indexed_vcf(
        "vcf_keep_indels_n.vcf.gz", std::string(kHeader) + "20\t40\trsN\tT\tTN\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n");
    vcf_reader rn(npath, o);
    ASSERT_TRUE(rn.query("20", 1, 100));
    EXPECT_TRUE(read_all(rn).empty());
    EXPECT_EQ(rn.stats().skipped_non_acgt, 1u);
}

TEST(VcfReader, RecordsStartingBeforeTheRegionOnlyWhenAsked) {
    const auto path = scpx::test::make_indexed_vcf(
        "vcf_straddle.vcf.gz", std::string(kHeader) +
                                   "20\t40\trsD\tTAAAA\tT\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n"
                                   "20\t44\trsS\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n");
    vcf_options o;
    o.keep_indels = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 42, 50)); // the deletion's REF (40..44) reaches into 42..50
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rsS"}));
    EXPECT_EQ(r.stats().outside_region, 1u);
    o.keep_starting_before = true;
    vcf_reader all(path, o);
    ASSERT_TRUE(all.query("20", 42, 50));
    EXPECT_EQ(ids(read_all(all)), (std::vector<std::string>{"rsD", "rsS"}));
    EXPECT_EQ(all.stats().outside_region, 0u);
}

TEST(VcfReader, TabixWithoutContigHeaderLinesResolvesAliases) {
    std::string text = vcf_text();
    const auto a = text.find("##contig");
    text.erase(a, text.find("##FORMAT") - a);
    const auto path = scpx::test::make_indexed_vcf("vcf_nocontig.vcf.gz", text);
    vcf_reader r(path);
    EXPECT_EQ(r.contigs(), (std::vector<std::string>{"20", "21"}));
    ASSERT_TRUE(r.query("chr21", 1, 100));
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs10"}));
    EXPECT_FALSE(r.query("chrX", 1, 100));
}

TEST(VcfReader, SampleSubsetInRequestedOrder) {
    const auto path = scpx::test::make_indexed_vcf("vcf_subset.vcf.gz", vcf_text());
    vcf_options o;
    o.samples = {"S3", "S1"};
    o.want_dosages = true;
    o.dosage = scpx::io::dosage_source::GT;
    vcf_reader r(path, o);
    EXPECT_EQ(r.samples(), (std::vector<std::string>{"S3", "S1"}));
    ASSERT_TRUE(r.query("20", 10, 10));
    vcf_record rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(rec.haplotypes, (std::vector<std::int16_t>{0, 0, 0, 1}));
    EXPECT_EQ(rec.dosages, (std::vector<float>{0, 1}));
}

TEST(VcfReader, AbsentSampleIsNamedWithTheFile) {
    const auto path = scpx::test::make_indexed_vcf("vcf_absent.vcf.gz", vcf_text());
    vcf_options o;
    o.samples = {"S1", "NA12878"};
    try {
        vcf_reader r(path, o);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("'NA12878'"));
        EXPECT_THAT(e.what(), HasSubstr("S1, S2, S3"));
        EXPECT_EQ(e.field(), "samples");
    }
    o.samples = {"S1", "S1"};
    EXPECT_THROW(vcf_reader(path, o), scpx::usage_error);
}

TEST(VcfReader, RefCheckAgainstFastaCountsMismatchesWithExamples) {
    const auto path = scpx::test::make_indexed_vcf("vcf_refchk.vcf.gz", vcf_text());
    scpx::seq::fasta_reader fa(write_ref_fasta("vcf_refchk.fa"));
    vcf_options o;
    o.reference = &fa;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs1", "rs2", "rs8"}));
    EXPECT_EQ(r.stats().ref_mismatch, 1u);
    ASSERT_EQ(r.stats().ref_mismatch_examples.size(), 1u);
    EXPECT_EQ(r.stats().ref_mismatch_examples[0], "20:90 REF=G FASTA=C");
    EXPECT_THAT(r.stats().summary(), HasSubstr("REF not matching the FASTA: 1"));
    // Read again (overlapping gene windows): counted again, shown once.
    ASSERT_TRUE(r.query("20", 80, 100));
    read_all(r);
    EXPECT_EQ(r.stats().ref_mismatch, 2u);
    EXPECT_EQ(r.stats().ref_mismatch_examples.size(), 1u);
    scpx::io::vcf_stats merged = r.stats();
    merged.merge(r.stats());
    EXPECT_EQ(merged.ref_mismatch_examples.size(), 1u);
}

TEST(VcfReader, MultiallelicRefMismatchesAreCountedApartWithTheirKind) {
    // The FASTA has A at 10 and C at 20: the multi-allelic record at 10 matches, the one at 20
    // does not (counted as multi-allelic, not as an SNV's mismatch kind), the indel one at 30 matches.
    const auto path = scpx::test::make_indexed_vcf(
        "vcf_multi_ref.vcf.gz", std::string(kHeader) +
                                    "20\t10\trsM\tA\tC,G\t.\tPASS\t.\tGT\t1|2\t0|0\t0|0\n"
                                    "20\t20\trsX\tG\tA,T\t.\tPASS\t.\tGT\t1|0\t0|0\t0|0\n"
                                    "20\t30\trsI\tA\tAT,C\t.\tPASS\t.\tGT\t0|2\t0|0\t0|0\n"
                                    "20\t45\trsJ\tA\tAT,ATT\t.\tPASS\t.\tGT\t0|2\t0|0\t0|0\n");
    scpx::seq::fasta_reader fa(write_ref_fasta("vcf_multi_ref.fa"));
    vcf_options o;
    o.reference = &fa;
    o.keep_multiallelic = true;
    o.keep_indels = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    const auto recs = read_all(r);
    EXPECT_EQ(ids(recs), (std::vector<std::string>{"rsM", "rsI", "rsJ"}));
    EXPECT_EQ(r.stats().ref_mismatch, 1u);
    EXPECT_EQ(r.stats().ref_mismatch_multiallelic, 1u);
    EXPECT_EQ(r.stats().ref_mismatch_multiallelic_examples,
              (std::vector<std::string>{"20:20 REF=G FASTA=C"}));
    EXPECT_TRUE(r.stats().ref_mismatch_examples.empty()); // kept apart from the biallelic ones
    EXPECT_EQ(r.stats().ref_mismatch_indel + r.stats().ref_mismatch_mnp, 0u);
    // Without keep_indels a record is kept for its SNV ALTs (rsI; the caller skips its insertion);
    // one with indel ALTs only is skipped as an indel, before the REF check.
    o.keep_indels = false;
    vcf_reader snv_only(path, o);
    ASSERT_TRUE(snv_only.query("20", 1, 100));
    EXPECT_EQ(ids(read_all(snv_only)), (std::vector<std::string>{"rsM", "rsI"}));
    EXPECT_EQ(snv_only.stats().skipped_indel, 1u);
}

TEST(VcfAlleles, TrimmedAsANormalisedSplitRecordAndWritableByKind) {
    using scpx::io::trim_allele;
    using scpx::io::writable_allele;
    const auto snv = trim_allele("CGTC", "agtc"); // padded to the longest REF of its record
    EXPECT_EQ(snv.shift, 0);
    EXPECT_EQ(snv.ref, "C");
    EXPECT_EQ(snv.alt, "A");
    const auto del = trim_allele("CGTC", "C");
    EXPECT_EQ(del.ref, "CGTC");
    EXPECT_EQ(del.alt, "C");
    const auto ins = trim_allele("CGTC", "CGTCA");
    EXPECT_EQ(ins.shift, 3);
    EXPECT_EQ(ins.ref, "C");
    EXPECT_EQ(ins.alt, "CA");
    const auto inner = trim_allele("CGTC", "CATC"); // G>A one base after POS
    EXPECT_EQ(inner.shift, 1);
    EXPECT_EQ(inner.ref, "G");
    EXPECT_EQ(inner.alt, "A");
    EXPECT_TRUE(writable_allele(snv, false));
    EXPECT_FALSE(writable_allele(del, false));
    EXPECT_TRUE(writable_allele(del, true));
    EXPECT_FALSE(writable_allele(trim_allele("CGTC", "CGTC"), true)); // ALT = REF
    EXPECT_FALSE(writable_allele(trim_allele("C", "*"), true));
    EXPECT_FALSE(writable_allele(trim_allele("C", "<DEL>"), true));
    EXPECT_FALSE(writable_allele(trim_allele("C", "N"), true));
}

TEST(VcfReader, ASpanningDeletionAlleleLeavesAMultiallelicRecordItsOtherAlts) {
    // GATK's '*' (haplotypes inside an upstream deletion): the record keeps its SNV ALT; a
    // biallelic '*' record, or one whose other ALT is symbolic, has nothing to apply.
    const auto path = scpx::test::make_indexed_vcf(
        "vcf_star.vcf.gz", std::string(kHeader) + "20\t10\trsS\tA\tC,*\t.\tPASS\t.\tGT\t1|2\t0|0\t0|0\n"
                                                  "20\t11\trsB\tA\t*\t.\tPASS\t.\tGT\t1|0\t0|0\t0|0\n"
                                                  "20\t12\trsD\tA\t<DEL>,*\t.\tPASS\t.\tGT\t1|0\t0|0\t0|0\n"
                                                  "20\t13\trsI\tA\tAT,*\t.\tPASS\t.\tGT\t1|0\t0|0\t0|0\n");
    vcf_options o;
    o.keep_multiallelic = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    const auto recs = read_all(r);
    ASSERT_EQ(ids(recs), (std::vector<std::string>{"rsS"}));
    EXPECT_EQ(recs[0].alts, (std::vector<std::string>{"C", "*"}));
    EXPECT_EQ(recs[0].haplotypes[0], 1);
    EXPECT_EQ(recs[0].haplotypes[1], 2);
    EXPECT_EQ(r.stats().skipped_symbolic, 2u);
    EXPECT_EQ(r.stats().skipped_indel, 1u);
    o.keep_indels = true; // the insertion's record too, its '*' not an unknown letter
    vcf_reader with_indels(path, o);
    ASSERT_TRUE(with_indels.query("20", 1, 100));
    EXPECT_EQ(ids(read_all(with_indels)), (std::vector<std::string>{"rsS", "rsI"}));
}

TEST(VcfReader, AnIndelRunningPastTheContigEndIsAMismatchAndAPositionPastItAnError) {
    // The FASTA's chr20 has 100 bases: a deletion at 99 whose REF needs bases 99..101 cannot
    // match it (counted, skipped); a record at 150 means another genome build (an error).
    const auto path = scpx::test::make_indexed_vcf("vcf_contig_end.vcf.gz",
                                                   std::string(kHeader) +
                                                       "20\t99\trsE\tAAA\tA\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n"
                                                       "20\t150\trsP\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n");
    scpx::seq::fasta_reader fa(write_ref_fasta("vcf_contig_end.fa"));
    vcf_options o;
    o.reference = &fa;
    o.keep_indels = true;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    EXPECT_TRUE(read_all(r).empty());
    EXPECT_EQ(r.stats().ref_mismatch, 1u);
    EXPECT_TRUE(r.stats().ref_mismatch_examples.empty()); // those are of one-base REFs
    ASSERT_EQ(r.stats().ref_mismatch_indel_examples.size(), 1u);
    EXPECT_EQ(r.stats().ref_mismatch_indel_examples[0], "20:99 REF=AAA FASTA=AA-");
    EXPECT_THAT(r.stats().summary(), HasSubstr("REF mismatch examples: 20:99 REF=AAA FASTA=AA-"));
    ASSERT_TRUE(r.query("20", 101, 200));
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] { read_all(r); });
    EXPECT_THAT(msg, HasSubstr("past the end of contig"));
    EXPECT_THAT(msg, HasSubstr("same genome build"));
}

TEST(VcfReader, RefMismatchCanBeAnErrorNamingRecordAndField) {
    const auto path = scpx::test::make_indexed_vcf("vcf_referr.vcf.gz", vcf_text());
    const auto fa_path = write_ref_fasta("vcf_referr.fa");
    scpx::seq::fasta_reader fa(fa_path);
    vcf_options o;
    o.reference = &fa;
    o.ref_mismatch = scpx::io::ref_mismatch_policy::ERROR;
    vcf_reader r(path, o);
    ASSERT_TRUE(r.query("20", 1, 100));
    try {
        read_all(r);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("record 20:90"));
        EXPECT_THAT(e.what(), HasSubstr(fa_path));
        EXPECT_EQ(e.field(), "REF");
    }
}

TEST(VcfReader, BcfWithCsiGivesTheSameRecords) {
    const auto bcf = scpx::test::make_bcf("vcf_same.bcf", vcf_text());
    const auto csi = scpx::test::make_indexed_vcf("vcf_same_csi.vcf.gz", vcf_text(), true);
    vcf_options o;
    o.want_dosages = true;
    for (const auto& path : {bcf, csi}) {
        vcf_reader r(path, o);
        EXPECT_TRUE(r.has_index()) << path;
        ASSERT_TRUE(r.query("chr20", 15, 100)) << path;
        const auto recs = read_all(r);
        EXPECT_EQ(ids(recs), (std::vector<std::string>{"rs2", "rs8", "rs9"})) << path;
        ASSERT_EQ(recs.size(), 3u);
        EXPECT_EQ(recs[0].haplotypes, (std::vector<std::int16_t>{1, 0, 0, 1, 0, 0}));
        EXPECT_FLOAT_EQ(recs[0].dosages[0], 1.1f);
        EXPECT_EQ(r.stats().skipped(), 6u) << path; // rs3..rs7 and the N REF
    }
}

TEST(VcfReader, StreamsWholeUnindexedFileButRegionQueryNeedsIndex) {
    const auto gz = scpx::test::scratch_path("vcf_noidx.vcf.gz");
    scpx::test::write_bgzf(gz, vcf_text());
    vcf_reader r(gz);
    EXPECT_FALSE(r.has_index());
    EXPECT_EQ(ids(read_all(r)), (std::vector<std::string>{"rs1", "rs2", "rs8", "rs9", "rs10"}));
    try {
        r.query("20", 1, 100);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(gz));
        EXPECT_THAT(e.what(), HasSubstr("tabix -p vcf"));
        EXPECT_THAT(e.what(), HasSubstr("bcftools index"));
    }
    const auto plain = scpx::test::scratch_path("vcf_plain.vcf");
    scpx::test::write_text(plain, vcf_text());
    vcf_reader p(plain);
    try {
        p.query("20", 1, 100);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(plain));
        EXPECT_THAT(e.what(), HasSubstr("bgzip"));
    }
    const auto bcf = scpx::test::make_bcf("vcf_noidx.bcf", vcf_text(), /*index=*/false);
    vcf_reader b(bcf);
    EXPECT_THROW(b.query("20", 1, 100), scpx::input_error);
}

TEST(VcfReader, UnphasedHeterozygoteIsAnErrorOrCounted) {
    std::string text = std::string(kHeader) +
                       "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t1/1\t0|0\t0|1\n"
                       "20\t20\trs2\tC\tT\t.\tPASS\t.\tGT\t0|0\t0/1\t0|0\n";
    const auto path = scpx::test::make_indexed_vcf("vcf_unphased.vcf.gz", text);
    {
        vcf_reader r(path);
        ASSERT_TRUE(r.query("20", 1, 100));
        vcf_record rec;
        ASSERT_TRUE(r.next(rec)); // unphased homozygous 1/1 is unambiguous
        EXPECT_EQ(rec.haplotypes, (std::vector<std::int16_t>{1, 1, 0, 0, 0, 1}));
        try {
            r.next(rec);
            FAIL() << "expected input_error";
        } catch (const scpx::input_error& e) {
            EXPECT_THAT(e.what(), HasSubstr(path));
            EXPECT_THAT(e.what(), HasSubstr("record 20:20"));
            EXPECT_THAT(e.what(), HasSubstr("sample S2"));
            EXPECT_EQ(e.field(), "GT");
        }
    }
    vcf_options o;
    o.unphased = scpx::io::unphased_policy::AS_WRITTEN;
    vcf_reader r(path, o);
    EXPECT_EQ(read_all(r).size(), 2u);
    EXPECT_EQ(r.stats().unphased_het, 1u);
}

TEST(VcfReader, HaploidGenotypesFillBothHaplotypes) {
    std::string text = std::string(kHeader) + "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t1\t0\t0|1\n";
    const auto path = scpx::test::make_indexed_vcf("vcf_haploid.vcf.gz", text);
    vcf_options o;
    o.want_dosages = true;
    vcf_reader r(path, o);
    const auto recs = read_all(r);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].haplotypes, (std::vector<std::int16_t>{1, 1, 0, 0, 0, 1}));
    EXPECT_EQ(recs[0].dosages, (std::vector<float>{1, 0, 1}));
    EXPECT_EQ(r.stats().haploid_gt, 2u);
}

TEST(VcfReader, DosageOutsideRangeNamesRecordAndField) {
    std::string text = std::string(kHeader) + "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:2.7\t0|0:0\t0|0:0\n";
    const auto path = scpx::test::make_indexed_vcf("vcf_badds.vcf.gz", text);
    vcf_options o;
    o.want_dosages = true;
    vcf_reader r(path, o);
    try {
        read_all(r);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("record 20:10"));
        EXPECT_EQ(e.field(), "DS");
    }
}

TEST(VcfReader, NoGtFieldWhenHaplotypesWanted) {
    std::string text = std::string(kHeader) + "20\t10\trs1\tA\tG\t.\tPASS\t.\tDS\t1\t0\t0\n";
    const auto path = scpx::test::make_indexed_vcf("vcf_nogt.vcf.gz", text);
    vcf_reader r(path);
    try {
        read_all(r);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("record 20:10"));
        EXPECT_EQ(e.field(), "GT");
    }
}

TEST(VcfReader, TruncatedGzipNamesTheFile) {
    // Enough records for several BGZF blocks; cut the file in the middle of one.
    std::string text = kHeader;
    for (int i = 1; i <= 6000; ++i) {
        text += "20\t" + std::to_string(i * 10) + "\trs" + std::to_string(i) +
                "\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:0.9\t1|1:1.8\t0|0:0.1\n";
    }
    const auto full = scpx::test::scratch_path("vcf_full.vcf.gz");
    scpx::test::write_bgzf(full, text);
    const std::string bytes = scpx::test::read_text(full);
    const auto cut = scpx::test::scratch_path("vcf_cut.vcf.gz");
    scpx::test::write_text(cut, bytes.substr(0, bytes.size() * 2 / 3));
    // Caught when the file is opened (missing BGZF end-of-file marker), before any record is
    // handed out, so a cut that happens to fall on a block boundary is caught too.
    try {
        vcf_reader r(cut);
        read_all(r);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(cut));
        EXPECT_THAT(e.what(), HasSubstr("truncated"));
    }
}

TEST(VcfReader, MalformedRecordNamesFileAndRecord) {
    std::string text = std::string(kHeader) +
                       "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n"
                       "20\tabc\trs2\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n";
    const auto path = scpx::test::scratch_path("vcf_badpos.vcf");
    scpx::test::write_text(path, text);
    vcf_reader r(path);
    try {
        read_all(r);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("record after 20:10"));
        EXPECT_EQ(e.field(), "POS");
    }
}

TEST(VcfReader, ColumnCountOtherThanTheHeadersIsAnError) {
    // Found by tests/fuzz/mutate_inputs.py: htslib drops a sample column beyond the header's
    // silently, so every later sample took its left neighbour's genotype.
    const std::string extra = std::string(kHeader) +
                              "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0\n"
                              "20\t20\trs2\tA\tG\t.\tPASS\t.\tGT\t1\t0|1\t0|0\t0|0\n";
    const std::string fewer = std::string(kHeader) + "20\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\n";
    const auto plain = scpx::test::scratch_path("vcf_extra_column.vcf");
    scpx::test::write_text(plain, extra);
    const auto indexed = scpx::test::make_indexed_vcf("vcf_extra_column.vcf.gz", extra);
    const auto short_row = scpx::test::scratch_path("vcf_short_row.vcf");
    scpx::test::write_text(short_row, fewer);
    for (const auto& [path, region, found] : {std::tuple{plain, false, "found 13"},
                                               std::tuple{indexed, true, "found 13"},
                                               std::tuple{short_row, false, "found 11"}}) {
        vcf_reader r(path);
        if (region) {
            ASSERT_TRUE(r.query("20", 1, 100));
        }
        try {
            read_all(r);
            FAIL() << "expected input_error for " << path;
        } catch (const scpx::input_error& e) {
            EXPECT_THAT(e.what(), HasSubstr(path));
            EXPECT_THAT(e.what(), HasSubstr(std::string(found) == "found 13" ? "record 20:20" : "record 20:10"));
            EXPECT_THAT(e.what(), HasSubstr("expected 12 tab-separated columns"));
            EXPECT_THAT(e.what(), HasSubstr(found));
        }
    }
}

TEST(VcfReader, EmptyAndNonVcfFilesFailClearly) {
    const auto empty = scpx::test::scratch_path("vcf_empty.vcf.gz");
    scpx::test::write_text(empty, "");
    try {
        vcf_reader r(empty);
        FAIL() << "expected an error";
    } catch (const scpx::error& e) {
        EXPECT_THAT(e.what(), HasSubstr(empty));
    }
    const auto text = scpx::test::scratch_path("vcf_not.txt");
    scpx::test::write_text(text, "gene\tweight\nA\t1\n");
    try {
        vcf_reader r(text);
        FAIL() << "expected an error";
    } catch (const scpx::error& e) {
        EXPECT_THAT(e.what(), HasSubstr(text));
    }
    // A BCF gzipped a second time (as Debian ships the shapeit4 examples) is not readable.
    const auto bcf = scpx::test::make_bcf("vcf_double.bcf", vcf_text(), false);
    const auto twice = scpx::test::scratch_path("vcf_double.bcf.gz");
    scpx::test::write_gzip(twice, scpx::test::read_text(bcf));
    EXPECT_THROW(vcf_reader{twice}, scpx::error);
    EXPECT_THROW(vcf_reader{scpx::test::scratch_path("vcf_missing.vcf.gz")}, scpx::missing_file_error);
}

TEST(VcfStats, SummaryHintsAtGenomeBuildAndMerges) {
    scpx::io::vcf_stats a;
    a.records_read = 100;
    a.records_returned = 20;
    a.ref_mismatch = 80;
    a.ref_mismatch_examples = {"1:10 REF=A FASTA=C"};
    a.ref_mismatch_indel_examples = {"1:20 REF=AT FASTA=CT"};
    EXPECT_THAT(a.summary(), HasSubstr("genome build"));
    scpx::io::vcf_stats b;
    b.records_read = 5;
    b.skipped_indel = 2;
    b.merge(a);
    EXPECT_EQ(b.records_read, 105u);
    EXPECT_EQ(b.ref_mismatch, 80u);
    EXPECT_EQ(b.skipped(), 82u);
    EXPECT_EQ(b.ref_mismatch_examples.size(), 1u);
    EXPECT_EQ(b.ref_mismatch_indel_examples.size(), 1u);
    EXPECT_THAT(b.summary(), HasSubstr("REF mismatch examples: 1:10 REF=A FASTA=C, 1:20 REF=AT FASTA=CT"));
}

// Real 1000 Genomes haplotypes (b37 chr20, 300 samples) from Debian's shapeit4-example.
TEST(VcfReader, Shapeit4ExampleReferencePanel) {
    const std::string path = "/usr/share/doc/shapeit4/examples/test/reference.vcf.gz";
    if (!std::ifstream(path).good()) GTEST_SKIP() << "package shapeit4-example not installed";
    vcf_options o;
    o.want_dosages = true;
    o.dosage = scpx::io::dosage_source::GT;
    o.samples = {"HG00097", "HG00096"};
    vcf_reader r(path, o);
    ASSERT_TRUE(r.has_index());
    ASSERT_TRUE(r.query("chr20", 1000000, 1100000));
    vcf_record rec;
    std::uint64_t n = 0;
    while (r.next(rec)) {
        ++n;
        ASSERT_EQ(rec.haplotypes.size(), 4u);
        for (std::size_t s = 0; s < 2; ++s) {
            EXPECT_EQ(rec.dosages[s], static_cast<float>(rec.haplotypes[2 * s] + rec.haplotypes[2 * s + 1]));
        }
    }
    // `bcftools view -H -r 20:1000000-1100000 -m2 -M2 -v snps reference.vcf.gz | wc -l`
    EXPECT_EQ(n, 770u);
    EXPECT_EQ(r.stats().records_read, 803u);
}

} // namespace

TEST(VcfReader, IndexedContigsAreThoseWithRecordsWhateverTheHeaderDeclares) {
    // Only chromosome 21's record, under a header declaring 20 and 21 (a per-chromosome file):
    // tabix, CSI and BCF indexes all name 21 alone.
    const std::string text =
        std::string(kHeader) + "21\t10\trs10\tA\tT\t.\tPASS\t.\tGT:DS\t1|0:1\t0|0:0\t0|0:0\n";
    const auto tbi = scpx::test::make_indexed_vcf("vcf_chr21.vcf.gz", text);
    const auto csi = scpx::test::make_indexed_vcf("vcf_chr21_csi.vcf.gz", text, true);
    const auto bcf = scpx::test::make_bcf("vcf_chr21.bcf", text);
    for (const auto& path : {tbi, csi, bcf}) {
        vcf_reader r(path);
        EXPECT_EQ(r.contigs(), (std::vector<std::string>{"20", "21"})) << path;
        EXPECT_EQ(r.indexed_contigs(), (std::vector<std::string>{"21"})) << path;
    }
}

TEST(VcfReader, AFileWithoutRecordsHasNoIndexedContigs) {
    // A header alone (a failed export, a filter that removed everything): no contig holds a
    // record, whatever the header declares, and reading does not start.
    const std::string text(kHeader);
    const auto tbi = scpx::test::make_indexed_vcf("vcf_header_only.vcf.gz", text);
    const auto csi = scpx::test::make_indexed_vcf("vcf_header_only_csi.vcf.gz", text, true);
    const auto bcf = scpx::test::make_bcf("vcf_header_only.bcf", text);
    for (const auto& path : {tbi, csi, bcf}) {
        vcf_reader r(path);
        EXPECT_TRUE(r.indexed_contigs().empty()) << path;
        vcf_record rec;
        EXPECT_FALSE(r.next(rec)) << path;
    }
}

TEST(VcfReader, IndexedContigsLeaveTheReadingPositionAlone) {
    // Listing them probes contigs through a second handle: a stream already started goes on.
    const std::string text = std::string(kHeader) +
                             "20\t10\trs1\tA\tT\t.\tPASS\t.\tGT:DS\t1|0:1\t0|0:0\t0|0:0\n" +
                             "20\t20\trs2\tA\tT\t.\tPASS\t.\tGT:DS\t1|0:1\t0|0:0\t0|0:0\n";
    const auto bcf = scpx::test::make_bcf("vcf_probe.bcf", text);
    vcf_reader r(bcf);
    vcf_record rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(r.indexed_contigs(), (std::vector<std::string>{"20"}));
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(rec.pos, 20);
    EXPECT_FALSE(r.next(rec));
}

TEST(VcfReader, WithoutAnIndexTheMessageSaysHowToMakeOne) {
    const std::string text =
        std::string(kHeader) + "20\t10\trs1\tA\tT\t.\tPASS\t.\tGT:DS\t1|0:1\t0|0:0\t0|0:0\n";
    const std::string plain = scpx::test::scratch_path("vcf_plain_text.vcf");
    scpx::test::write_text(plain, text);
    const vcf_reader r(plain);
    EXPECT_FALSE(r.has_index());
    try {
        r.require_index();
        FAIL() << "no error";
    } catch (const scpx::input_error& e) {
        EXPECT_NE(std::string(e.what()).find("bgzip"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("vcf_plain_text.vcf"), std::string::npos) << e.what();
    }
}
