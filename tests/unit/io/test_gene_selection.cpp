#include "scpx/core/error.hpp"
#include "scpx/io/gene_selection.hpp"

#include "../test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using scpx::io::gene_record;
using scpx::io::gene_selection;
using ::testing::HasSubstr;

gene_record gene(const std::string& id, const std::string& chrom, const std::string& name = "") {
    gene_record g;
    g.gene_id = id;
    g.chrom = chrom;
    g.gene_name = name;
    return g;
}

std::string list_file(const std::string& name, const std::string& text) {
    const std::string path = scpx::test::scratch_path(name);
    scpx::test::write_text(path, text);
    return path;
}

TEST(GeneList, SkipsBlanksAndCommentsAndRefusesRepeats) {
    const auto ok = list_file("genes_ok.txt", "# models of GTEx v8\n ENSG1.4 \n\nENSG2\n");
    EXPECT_EQ(scpx::io::read_gene_list(ok), (std::vector<std::string>{"ENSG1.4", "ENSG2"}));
    const auto twice = list_file("genes_twice.txt", "ENSG1\nENSG2\nENSG1\n");
    try {
        scpx::io::read_gene_list(twice);
        FAIL() << "a repeated gene was accepted";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("lines 1 and 3"));
    }
    EXPECT_THROW(scpx::io::read_gene_list(list_file("genes_empty.txt", "# nothing\n\n")), scpx::input_error);
    // A spreadsheet export's byte-order mark is not part of the first id; CRLF ends lines.
    EXPECT_EQ(scpx::io::read_gene_list(list_file("genes_bom.txt", "\xEF\xBB\xBF"
                                                                  "ENSG1\r\nENSG2\r\n")),
              (std::vector<std::string>{"ENSG1", "ENSG2"}));
}

TEST(GeneList, TakesTheFirstFieldOfATableAndSkipsItsHeader) {
    // A table exported with names beside the ids: the id column is the first.
    EXPECT_EQ(scpx::io::read_gene_list(
                  list_file("genes_table.tsv", "gene_id\tgene_name\nENSG1.4\tTP53\nENSG2 CD4\n")),
              (std::vector<std::string>{"ENSG1.4", "ENSG2"}));
    EXPECT_EQ(scpx::io::read_gene_list(list_file("genes_table.csv", "Gene,name\nENSG1,TP53\n")),
              (std::vector<std::string>{"ENSG1"}));
    // scanpy's column name; R's write.csv quotes.
    EXPECT_EQ(scpx::io::read_gene_list(
                  list_file("genes_quoted.csv", "\"gene_ids\",\"name\"\n\"ENSG1\",\"TP53\"\n")),
              (std::vector<std::string>{"ENSG1"}));
    // Only the first line can be a header.
    EXPECT_EQ(scpx::io::read_gene_list(list_file("genes_late.txt", "ENSG1\ngene\n")),
              (std::vector<std::string>{"ENSG1", "gene"}));
}

TEST(GeneSelection, ChromosomesMatchWithOrWithoutChrPrefix) {
    gene_selection s("", {"20", "chrX"});
    EXPECT_FALSE(s.selects_all());
    EXPECT_TRUE(s.keeps(gene("A", "chr20")));
    EXPECT_TRUE(s.keeps(gene("B", "20")));
    EXPECT_TRUE(s.keeps(gene("C", "X")));
    EXPECT_FALSE(s.keeps(gene("D", "chr2")));
    EXPECT_FALSE(s.keeps(gene("E", "chr200")));
    EXPECT_NO_THROW(s.report("genes.gtf"));
    EXPECT_EQ(scpx::io::chromosome_key("Chr7"), "7");
    EXPECT_EQ(scpx::io::chromosome_key("chr"), "chr"); // not a prefix of nothing
    EXPECT_EQ(scpx::io::chromosome_key("chrM"), "MT"); // UCSC and Ensembl names of the mitochondrion
    EXPECT_EQ(scpx::io::chromosome_key("MT"), "MT");
    EXPECT_EQ(scpx::io::chromosome_key("M"), "MT");
}

TEST(GeneSelection, IdsMatchAsWrittenOrWithoutVersions) {
    const auto path = list_file("genes_sel.txt", "ENSG1\nENSG2.3\nENSG3.9\nENSG4\n");
    gene_selection s(path, {});
    EXPECT_TRUE(s.keeps(gene("ENSG1.7", "1")));   // unversioned entry, versioned annotation
    EXPECT_TRUE(s.keeps(gene("ENSG2.3", "1")));   // exact
    EXPECT_TRUE(s.keeps(gene("ENSG3.2", "1")));   // another release's version of the same gene
    EXPECT_FALSE(s.keeps(gene("ENSG5.1", "1")));  // not listed
    EXPECT_FALSE(s.keeps(gene("ENSG10.1", "1"))); // a prefix is no match
    EXPECT_NO_THROW(s.report("genes.gtf"));       // ENSG4 missing: a warning, not an error
}

TEST(GeneSelection, TwoVersionsOfOneGeneAreRefused) {
    const auto path = list_file("genes_versions.txt", "ENSG1.1\nENSG1.2\n");
    try {
        gene_selection s(path, {});
        FAIL() << "two versions of one gene were accepted";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("'ENSG1.1' and 'ENSG1.2' are one gene in two versions"));
    }
}

TEST(GeneSelection, NothingSelectedSaysWhyAndSpotsGeneNames) {
    const auto names = list_file("genes_names.txt", "TP53\nBRCA1\n");
    gene_selection s(names, {});
    EXPECT_FALSE(s.keeps(gene("ENSG00000141510.17", "17", "TP53")));
    try {
        s.report("genes.gtf");
        FAIL() << "an empty selection was accepted";
    } catch (const scpx::usage_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("select no gene of genes.gtf"));
        EXPECT_THAT(e.what(), HasSubstr("TP53 is a gene name there"));
    }
    gene_selection on_none("", {"chr99"});
    EXPECT_FALSE(on_none.keeps(gene("A", "chr1")));
    try {
        on_none.report("genes.gtf");
        FAIL() << "an empty selection was accepted";
    } catch (const scpx::usage_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("lies on --chromosomes chr99"));
    }
    EXPECT_THROW(gene_selection("", {" "}), scpx::usage_error);
    EXPECT_THROW(gene_selection("", {","}), scpx::usage_error);
    gene_selection listed("", {"20,,chr21"}); // one command-line argument, commas inside
    EXPECT_TRUE(listed.keeps(gene("A", "chr20")));
    EXPECT_TRUE(listed.keeps(gene("B", "21")));
}

TEST(GeneSelection, SaysWhenAListedGeneHasATypeNotKept) {
    const auto ids = list_file("genes_types.txt", "ENSG1\nENSG2\nENSG3\n");
    gene_selection s(ids, {});
    gene_record lnc = gene("ENSG2.4", "1");
    lnc.gene_type = "lncRNA";
    s.note_dropped_by_type(lnc); // what the annotation reader reports for a type not kept
    EXPECT_TRUE(s.keeps(gene("ENSG1", "1")));
    EXPECT_NO_THROW(s.report("genes.gtf")); // a warning: one gene was found
    gene_selection none(ids, {});
    none.note_dropped_by_type(lnc);
    try {
        none.report("genes.gtf");
        FAIL() << "an empty selection was accepted";
    } catch (const scpx::usage_error& e) {
        EXPECT_THAT(e.what(),
                    HasSubstr("1 of them is there with a gene type --gene-types does not keep (e.g. "
                              "ENSG2.4 (lncRNA)): add the type to --gene-types, or give --gene-types all"));
    }
    gene_selection elsewhere(ids, {"chr2"}); // on another chromosome than asked for: no hint
    elsewhere.note_dropped_by_type(lnc);
    try {
        elsewhere.report("genes.gtf");
        FAIL() << "an empty selection was accepted";
    } catch (const scpx::usage_error& e) {
        EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("does not keep")));
    }
}

} // namespace
