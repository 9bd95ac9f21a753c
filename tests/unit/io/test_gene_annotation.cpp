#include "scpx/core/error.hpp"
#include "scpx/io/gene_annotation.hpp"

#include "../test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

namespace {

using scpx::io::annotation_format;
using scpx::io::annotation_options;
using scpx::io::gene_record;
using scpx::io::read_gene_annotation;
using ::testing::HasSubstr;

// GENCODE-style GTF: two genes (+ and -), with transcript/exon lines that must be ignored.
const char* kGtf =
    "##description: test\n"
    "chr1\tHAVANA\tgene\t11869\t14409\t.\t+\t.\tgene_id \"ENSG00000223972.5\"; gene_type "
    "\"transcribed_unprocessed_pseudogene\"; gene_name \"DDX11L1\"; level 2;\n"
    "chr1\tHAVANA\ttranscript\t11869\t14409\t.\t+\t.\tgene_id \"ENSG00000223972.5\"; "
    "transcript_id \"ENST00000456328.2\"; gene_type \"transcribed_unprocessed_pseudogene\";\n"
    "chr1\tHAVANA\texon\t11869\t12227\t.\t+\t.\tgene_id \"ENSG00000223972.5\";\n"
    "chr17\tHAVANA\tgene\t7661779\t7687538\t.\t-\t.\tgene_id \"ENSG00000141510.17\"; gene_type "
    "\"protein_coding\"; gene_name \"TP53\"; tag \"a;b\";\n";

std::string write(const std::string& name, const std::string& text, bool gz = false) {
    const auto path = scpx::test::scratch_path(name);
    if (gz) {
        scpx::test::write_gzip(path, text);
    } else {
        scpx::test::write_text(path, text);
    }
    return path;
}

// Asserts `f` throws input_error naming the file, `where` and `field`.
template <class F>
void expect_input_error(F f, const std::string& path, const std::string& where,
                        const std::string& field) {
    try {
        f();
        FAIL() << "expected input_error for " << path;
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        if (!where.empty()) {
            EXPECT_THAT(e.what(), HasSubstr(where));
        }
        EXPECT_EQ(e.field(), field) << e.what();
    }
}

TEST(GeneAnnotation, GtfGenesWithStrandAwareTss) {
    for (bool gz : {false, true}) {
        const auto path = write(gz ? "ann.gtf.gz" : "ann.gtf", kGtf, gz);
        EXPECT_EQ(scpx::io::detect_annotation_format(path), annotation_format::GTF);
        const auto genes = read_gene_annotation(path);
        ASSERT_EQ(genes.size(), 2u);
        EXPECT_EQ(genes[0].gene_id, "ENSG00000223972.5");
        EXPECT_EQ(genes[0].gene_name, "DDX11L1");
        EXPECT_EQ(genes[0].gene_type, "transcribed_unprocessed_pseudogene");
        EXPECT_EQ(genes[0].chrom, "chr1");
        EXPECT_EQ(genes[0].start, 11869);
        EXPECT_EQ(genes[0].end, 14409);
        EXPECT_EQ(genes[0].strand, '+');
        EXPECT_EQ(genes[0].tss, 11869);
        EXPECT_EQ(genes[1].gene_name, "TP53");
        EXPECT_EQ(genes[1].strand, '-');
        EXPECT_EQ(genes[1].tss, 7687538);
    }
}

TEST(GeneAnnotation, GeneTypeFilter) {
    const auto path = write("ann_filter.gtf", kGtf);
    annotation_options o;
    o.gene_types = {"protein_coding"};
    const auto genes = read_gene_annotation(path, o);
    ASSERT_EQ(genes.size(), 1u);
    EXPECT_EQ(genes[0].gene_name, "TP53");
    o.gene_types = {"lincRNA"};
    try {
        read_gene_annotation(path, o);
        FAIL() << "expected usage_error";
    } catch (const scpx::usage_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("protein_coding"));
        EXPECT_THAT(e.what(), HasSubstr(path));
    }
}

TEST(GeneAnnotation, EnsemblGtfBiotypeAndContentDetection) {
    const std::string text =
        "1\tensembl\tgene\t100\t200\t.\t-\t.\tgene_id \"ENSG1\"; gene_biotype \"protein_coding\";\n";
    const auto path = write("ann_ensembl.txt", text); // no telling extension
    EXPECT_EQ(scpx::io::detect_annotation_format(path), annotation_format::GTF);
    const auto genes = read_gene_annotation(path);
    ASSERT_EQ(genes.size(), 1u);
    EXPECT_EQ(genes[0].gene_type, "protein_coding");
    EXPECT_EQ(genes[0].gene_name, "");
    EXPECT_EQ(genes[0].tss, 200);
}

TEST(GeneAnnotation, Gff3EnsemblAndGencodeAttributes) {
    const std::string text =
        "##gff-version 3\n"
        "1\tensembl_havana\tgene\t65419\t71585\t.\t+\t.\tID=gene:ENSG00000186092;Name=OR4F5;"
        "biotype=protein_coding;version=7\n"
        "1\tensembl_havana\tmRNA\t65419\t71585\t.\t+\t.\tID=transcript:ENST1;Parent=gene:ENSG00000186092\n"
        "chr1\tHAVANA\tgene\t1000\t2000\t.\t-\t.\tID=ENSG2.3;gene_id=ENSG2.3;gene_type=lncRNA;"
        "gene_name=A%3BB\n"
        "##FASTA\n>junk\nACGT\n";
    const auto path = write("ann.data", text);
    EXPECT_EQ(scpx::io::detect_annotation_format(path), annotation_format::GFF3);
    const auto genes = read_gene_annotation(path);
    ASSERT_EQ(genes.size(), 2u);
    EXPECT_EQ(genes[0].gene_id, "ENSG00000186092");
    EXPECT_EQ(genes[0].gene_name, "OR4F5");
    EXPECT_EQ(genes[0].gene_type, "protein_coding");
    EXPECT_EQ(genes[0].tss, 65419);
    EXPECT_EQ(genes[1].gene_id, "ENSG2.3");
    EXPECT_EQ(genes[1].gene_name, "A;B");
    EXPECT_EQ(genes[1].tss, 2000);
}

TEST(GeneAnnotation, PredictDbTable) {
    const std::string text = "chr\tgene_id\tgene_name\tstart\tend\tgene_type\n"
                             "chr1\tENSG00000186092.4\tOR4F5\t69091\t70008\tprotein_coding\n"
                             "chr1\tENSG00000237683.5\tAL627309.1\t134901\t139379\tlincRNA\n";
    const auto path = write("ann_predictdb.txt", text);
    EXPECT_EQ(scpx::io::detect_annotation_format(path), annotation_format::TABLE);
    annotation_options o;
    o.gene_types = {"protein_coding"};
    const auto genes = read_gene_annotation(path, o);
    ASSERT_EQ(genes.size(), 1u);
    EXPECT_EQ(genes[0].gene_id, "ENSG00000186092.4");
    EXPECT_EQ(genes[0].gene_name, "OR4F5");
    EXPECT_EQ(genes[0].start, 69091);
    EXPECT_EQ(genes[0].end, 70008);
    EXPECT_EQ(genes[0].strand, '.');
    EXPECT_EQ(genes[0].tss, 69091); // no strand column: start
}

TEST(GeneAnnotation, TssTablesCommaWhitespaceAndHeaderless) {
    const auto csv = write("ann_tss.csv", "gene_id,chrom,tss,strand,gene_name\n"
                                          "ENSG1,chr2,5000,-,ABC\n"
                                          "ENSG2,chr2,7000,+,NA\n");
    auto g = read_gene_annotation(csv);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].tss, 5000);
    EXPECT_EQ(g[0].start, 5000);
    EXPECT_EQ(g[0].end, 5000);
    EXPECT_EQ(g[0].strand, '-');
    EXPECT_EQ(g[0].gene_name, "ABC");
    EXPECT_EQ(g[1].gene_name, "");

    const auto ws = write("ann_tss_ws.txt.gz", "#chrom  gene  TSS\n  3   ENSG3   42  \n", true);
    g = read_gene_annotation(ws);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].gene_id, "ENSG3");
    EXPECT_EQ(g[0].chrom, "3");
    EXPECT_EQ(g[0].tss, 42);

    const auto bare = write("ann_tss_bare.tsv", "ENSG4\t4\t100\t-\nENSG5\t5\t200\t+\n");
    g = read_gene_annotation(bare);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].gene_id, "ENSG4");
    EXPECT_EQ(g[1].tss, 200);
    EXPECT_EQ(g[1].strand, '+');
}

TEST(GeneAnnotation, GtfBadLinesNameFileLineAndField) {
    const std::string head = "chr1\tX\tgene\t";
    const std::string attr = "\tgene_id \"G1\";\n";
    const auto nonnum = write("bad_start.gtf", "#c\n" + head + "12a\t200\t.\t+\t." + attr);
    expect_input_error([&] { read_gene_annotation(nonnum); }, nonnum, "line 2", "start");
    const auto rev = write("bad_rev.gtf", head + "300\t200\t.\t+\t." + attr);
    expect_input_error([&] { read_gene_annotation(rev); }, rev, "line 1", "end");
    const auto strand = write("bad_strand.gtf", head + "100\t200\t.\tx\t." + attr);
    expect_input_error([&] { read_gene_annotation(strand); }, strand, "line 1", "strand");
    const auto cols = write("bad_cols.gtf", head + "100\t200\t.\t+\n");
    expect_input_error([&] { read_gene_annotation(cols); }, cols, "line 1", "");
    const auto noid = write("bad_noid.gtf", head + "100\t200\t.\t+\t.\tgene_name \"A\";\n");
    expect_input_error([&] { read_gene_annotation(noid); }, noid, "line 1", "gene_id");
    const auto nogene = write("bad_nogene.gtf", "chr1\tX\texon\t1\t2\t.\t+\t.\tgene_id \"G\";\n");
    expect_input_error([&] { read_gene_annotation(nogene); }, nogene, "", "feature");
}

TEST(GeneAnnotation, DuplicateGeneIdNamesBothLines) {
    const std::string gene = "chr1\tX\tgene\t100\t200\t.\t+\t.\t";
    const auto gtf = write("dup.gtf", gene + "gene_id \"G1\";\n" + gene + "gene_id \"G2\";\n" +
                                          gene + "gene_id \"G1\";\n");
    expect_input_error([&] { read_gene_annotation(gtf); }, gtf, "line 3", "gene_id");
    EXPECT_THAT(scpx::test::message_of<scpx::input_error>([&] { read_gene_annotation(gtf); }),
                HasSubstr("'G1' appears a second time (first at line 1)"));
    const auto gff = write("dup.gff3", "##gff-version 3\n" + gene + "ID=gene:G1\n" + gene + "ID=G1\n");
    expect_input_error([&] { read_gene_annotation(gff); }, gff, "line 3", "ID");
    const auto tbl = write("dup.tsv", "gene_id\tchr\ttss\nG1\t1\t5\nG2\t1\t9\nG1\t2\t7\n");
    expect_input_error([&] { read_gene_annotation(tbl); }, tbl, "line 4", "gene_id");
}

// UCSC-style GTFs repeat a gene id on chrUn/_random/_alt contigs; the copy a filter drops is
// no conflict, a repeat among the kept genes still is.
TEST(GeneAnnotation, DuplicateIdOnADroppedContigOrTypeIsNoConflict) {
    const auto gene = [](const std::string& chrom, const std::string& attr) {
        return chrom + "\tX\tgene\t100\t200\t.\t+\t.\t" + attr + "\n";
    };
    const std::string pc = " gene_type \"protein_coding\";";
    const auto gtf = write("dup_dropped.gtf", gene("chr1", "gene_id \"G1\";" + pc) +
                                                  gene("chrUn_KI270302v1", "gene_id \"G1\";" + pc) +
                                                  gene("chr2", "gene_id \"G2\";" + pc));
    // The caller's filter, as features keeps the genes on its FASTA's contigs.
    const auto on = [](std::vector<std::string> contigs) {
        return [contigs](const scpx::io::gene_record& g) {
            return std::find(contigs.begin(), contigs.end(), g.chrom) != contigs.end();
        };
    };
    annotation_options o;
    o.keep = on({"chr1", "chr2"});
    const auto genes = read_gene_annotation(gtf, o);
    ASSERT_EQ(genes.size(), 2u);
    EXPECT_EQ(genes[0].gene_id, "G1");
    EXPECT_EQ(genes[0].chrom, "chr1");
    EXPECT_EQ(genes[1].gene_id, "G2");
    // Both copies kept: still the duplicate error on the second one's line.
    o.keep = on({"chr1", "chrUn_KI270302v1"});
    expect_input_error([&] { read_gene_annotation(gtf, o); }, gtf, "line 2", "gene_id");
    expect_input_error([&] { read_gene_annotation(gtf); }, gtf, "line 2", "gene_id");

    const auto typed = write("dup_dropped_type.gtf", gene("chr1", "gene_id \"G1\";" + pc) +
                                                         gene("chr1", "gene_id \"G1\"; gene_type \"misc_RNA\";"));
    o = {};
    o.gene_types = {"protein_coding"};
    EXPECT_EQ(read_gene_annotation(typed, o).size(), 1u);

    const auto gff = write("dup_dropped.gff3", "##gff-version 3\n" + gene("chr1", "ID=gene:G1") +
                                                   gene("chr1_KI270706v1_random", "ID=G1"));
    o = {};
    o.keep = on({"chr1"});
    EXPECT_EQ(read_gene_annotation(gff, o).size(), 1u);
    expect_input_error([&] { read_gene_annotation(gff); }, gff, "line 3", "ID");

    const auto tbl = write("dup_dropped.tsv", "gene_id\tchr\ttss\nG1\t1\t5\nG1\tUn\t7\n");
    o.keep = on({"1"});
    EXPECT_EQ(read_gene_annotation(tbl, o).size(), 1u);
    expect_input_error([&] { read_gene_annotation(tbl); }, tbl, "line 3", "gene_id");

    // A `keep` that drops everything leaves the explaining to the caller: an empty result.
    o.keep = on({"chr1"});
    EXPECT_TRUE(read_gene_annotation(tbl, o).empty());
    // It sees whole records, the TSS included.
    o.keep = [](const scpx::io::gene_record& g) { return g.tss == 7; };
    ASSERT_EQ(read_gene_annotation(tbl, o).size(), 1u);
    o.keep = [](const scpx::io::gene_record& g) { return g.tss == 200; }; // '+' strand: the TSS is the start, 100
    EXPECT_TRUE(read_gene_annotation(gtf, o).empty());
    o.keep = [](const scpx::io::gene_record& g) { return g.tss == 100 && g.chrom == "chr2"; };
    EXPECT_EQ(read_gene_annotation(gtf, o).size(), 1u);
}

TEST(GeneAnnotation, GtfUnbalancedQuotesAndMissingStrand) {
    const std::string head = "chr1\tX\tgene\t100\t200\t.\t";
    const auto quotes = write("bad_quotes.gtf", head + "+\t.\tgene_id \"G1\";\n" + head +
                                                    "+\t.\tgene_id \"G2; gene_name B gene_type \"protein_coding\n");
    expect_input_error([&] { read_gene_annotation(quotes); }, quotes, "line 2", "attributes");
    const auto inner = write("bad_quotes2.gtf", head + "+\t.\tgene_id \"G2; gene_name \"B\";\n");
    expect_input_error([&] { read_gene_annotation(inner); }, inner, "line 1", "attributes");
    const auto dot = write("bad_dot_strand.gtf", head + ".\t.\tgene_id \"G1\";\n");
    expect_input_error([&] { read_gene_annotation(dot); }, dot, "line 1", "strand");
    const auto gff_dot = write("bad_dot_strand.gff3", head + ".\t.\tID=G1\n");
    expect_input_error([&] { read_gene_annotation(gff_dot); }, gff_dot, "line 1", "strand");
    // Unquoted numbers and ';' inside quotes stay fine.
    const auto ok = write("ok_attr.gtf", head + "+\t.\tgene_id \"G1\"; level 2; tag \"a;b\";\n");
    EXPECT_EQ(read_gene_annotation(ok).at(0).gene_id, "G1");
}

TEST(GeneAnnotation, TruncatedGzipGtfNamesTheFile) {
    std::string text;
    for (int i = 1; i <= 20000; ++i) {
        text += "chr1\tX\tgene\t" + std::to_string(i * 100) + "\t" + std::to_string(i * 100 + 50) +
                "\t.\t+\t.\tgene_id \"ENSG" + std::to_string(i) + "\"; gene_type \"protein_coding\";\n";
    }
    const auto full = write("ann_full.gtf.gz", text, true);
    const std::string bytes = scpx::test::read_text(full);
    const auto cut = write("ann_cut.gtf.gz", bytes.substr(0, bytes.size() / 2));
    try {
        read_gene_annotation(cut);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(cut));
        EXPECT_THAT(e.what(), HasSubstr("line "));
    }
}

TEST(GeneAnnotation, TableBadInputNamesFileLineAndColumn) {
    const auto renamed = write("tbl_renamed.tsv", "gene_id\tchromosome_name\ttss\nG\t1\t5\n");
    expect_input_error([&] { read_gene_annotation(renamed); }, renamed, "line 1", "chr");
    const auto nopos = write("tbl_nopos.tsv", "gene_id\tchr\tstart\nG\t1\t5\n");
    expect_input_error([&] { read_gene_annotation(nopos); }, nopos, "line 1", "tss");
    const auto nonnum =
        write("tbl_nonnum.tsv", "chr\tgene_id\tgene_name\tstart\tend\tgene_type\n"
                                "1\tG1\tA\t10\t20\tprotein_coding\n"
                                "1\tG2\tB\tten\t20\tprotein_coding\n");
    expect_input_error([&] { read_gene_annotation(nonnum); }, nonnum, "line 3", "start");
    const auto short_row = write("tbl_short.tsv", "gene_id\tchr\ttss\nG1\t1\n");
    expect_input_error([&] { read_gene_annotation(short_row); }, short_row, "line 2", "");
    const auto zero = write("tbl_zero.csv", "gene_id,chr,TSS\nG1,1,0\n");
    expect_input_error([&] { read_gene_annotation(zero); }, zero, "line 2", "tss");
    const auto badstrand = write("tbl_strand.csv", "gene_id,chr,tss,strand\nG1,1,5,forward\n");
    expect_input_error([&] { read_gene_annotation(badstrand); }, badstrand, "line 2", "strand");
    const auto noid = write("tbl_noid.csv", "gene_id,chr,tss\nNA,1,5\n");
    expect_input_error([&] { read_gene_annotation(noid); }, noid, "line 2", "gene_id");
    const auto header_only = write("tbl_header_only.csv", "gene_id,chr,tss\n");
    expect_input_error([&] { read_gene_annotation(header_only); }, header_only, "", "");
    annotation_options o;
    o.gene_types = {"protein_coding"};
    const auto notype = write("tbl_notype.csv", "gene_id,chr,tss\nG1,1,5\n");
    EXPECT_THROW(read_gene_annotation(notype, o), scpx::usage_error);
}

TEST(GeneAnnotation, EmptyFilesFailClearly) {
    for (const char* name : {"empty.gtf", "empty.tsv", "empty.gff3.gz"}) {
        const auto path = write(name, "", scpx::test::exists("") || std::string(name) == "empty.gff3.gz");
        try {
            read_gene_annotation(path);
            FAIL() << "expected input_error for " << name;
        } catch (const scpx::input_error& e) {
            EXPECT_THAT(e.what(), HasSubstr(path));
            EXPECT_THAT(e.what(), HasSubstr("empty"));
        }
    }
}

TEST(GeneAnnotation, StripGeneVersion) {
    using scpx::io::strip_gene_version;
    EXPECT_EQ(strip_gene_version("ENSG00000141510.17"), "ENSG00000141510");
    EXPECT_EQ(strip_gene_version("ENSG00000141510"), "ENSG00000141510");
    EXPECT_EQ(strip_gene_version("ENSG00000002586.20_PAR_Y"), "ENSG00000002586_PAR_Y");
    EXPECT_EQ(strip_gene_version("AL627309.1"), "AL627309");
    EXPECT_EQ(strip_gene_version("RP11-34P13.x"), "RP11-34P13.x");
    EXPECT_EQ(strip_gene_version(""), "");
}

} // namespace
