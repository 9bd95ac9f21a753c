// The lctpred resume journal: exact round trip of a gene_fit (NaN bits, denormals, infinities),
// lines cut by a kill ignored at any byte, malformed complete lines refused with file/line/field,
// fingerprint mismatch refused naming the differing item, append after a cut line.
#include "scpx/enet/lctpred_journal.hpp"

#include "scpx/core/error.hpp"
#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>

using namespace scpx;
using namespace scpx::enet;
using namespace scpx::test;

namespace {

std::uint64_t bits(double v) {
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

double from_bits(std::uint64_t b) {
    double v = 0;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

/// A fit whose numbers are hard to round-trip in text.
gene_fit awkward_fit() {
    gene_fit g;
    g.status = gene_status::ok;
    g.message = "tab\there\nnewline";
    g.n_samples = 120;
    g.n_snps_in_window = 57;
    g.alpha = 0.5;
    g.lambda = {0.1, 1.0 / 3.0, 2.2250738585072014e-308, 4.9406564584124654e-324};
    g.cvm = {std::numeric_limits<double>::infinity(), -0.0, 1e300, 0.30000000000000004};
    g.cvsd = {std::numeric_limits<double>::quiet_NaN(), from_bits(0xfff8000000000000ULL),
              from_bits(0x7ff4000000000123ULL), -1.5};
    g.nzero = {0, 3, -1, 2147483647};
    g.lambda_index = 2;
    g.lambda_min = 1.0 / 3.0;
    g.cv_mse = 0.123456789012345678;
    g.weights = {{0, -0.0123456789}, {17, 1e-17}, {56, 3.0}};
    g.folds = {{1, 12, 0.25, -0.5, from_bits(0xfff8000000000000ULL), 1.0}, {3, 11, 0.1, 0.2, 0.3, 0.04}};
    g.cv_r2_avg = -std::numeric_limits<double>::infinity();
    g.cv_r2_sd = 0.2;
    g.in_sample_r2 = 0.7;
    g.rho_avg = 0.31;
    g.rho_se = 0.01;
    g.rho_zscore = 3.4;
    g.zscore_pval = 6.7e-4;
    g.cv_fisher_pval = 1e-12;
    g.included = true;
    return g;
}

void expect_same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

void expect_same_fit(const gene_fit& a, const gene_fit& b) {
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.n_samples, b.n_samples);
    EXPECT_EQ(a.n_snps_in_window, b.n_snps_in_window);
    EXPECT_EQ(a.lambda_index, b.lambda_index);
    EXPECT_EQ(a.included, b.included);
    for (auto m : {&gene_fit::alpha, &gene_fit::lambda_min, &gene_fit::cv_mse, &gene_fit::cv_r2_avg,
                   &gene_fit::cv_r2_sd, &gene_fit::in_sample_r2, &gene_fit::rho_avg, &gene_fit::rho_se,
                   &gene_fit::rho_zscore, &gene_fit::zscore_pval, &gene_fit::cv_fisher_pval})
        EXPECT_EQ(bits(a.*m), bits(b.*m));
    expect_same_bits(a.lambda, b.lambda);
    expect_same_bits(a.cvm, b.cvm);
    expect_same_bits(a.cvsd, b.cvsd);
    EXPECT_EQ(a.nzero, b.nzero);
    ASSERT_EQ(a.weights.size(), b.weights.size());
    for (std::size_t i = 0; i < a.weights.size(); ++i) {
        EXPECT_EQ(a.weights[i].first, b.weights[i].first);
        EXPECT_EQ(bits(a.weights[i].second), bits(b.weights[i].second));
    }
    ASSERT_EQ(a.folds.size(), b.folds.size());
    for (std::size_t i = 0; i < a.folds.size(); ++i) {
        EXPECT_EQ(a.folds[i].fold, b.folds[i].fold);
        EXPECT_EQ(a.folds[i].n, b.folds[i].n);
        EXPECT_EQ(bits(a.folds[i].r2), bits(b.folds[i].r2));
        EXPECT_EQ(bits(a.folds[i].rho), bits(b.folds[i].rho));
        EXPECT_EQ(bits(a.folds[i].z), bits(b.folds[i].z));
        EXPECT_EQ(bits(a.folds[i].pval), bits(b.folds[i].pval));
    }
}

std::string fresh_dir(const std::string& name) {
    const std::string d = scratch_path(name);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

} // namespace

TEST(LctpredJournal, LineRoundTripIsBitExact) {
    const gene_fit g = awkward_fit();
    const std::string line = format_journal_line(42, "ENSG00000000042.3", g);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    journal_entry e;
    ASSERT_TRUE(parse_journal_line(line, "j.tsv", 2, e));
    EXPECT_EQ(e.row, 42u);
    EXPECT_EQ(e.gene_id, "ENSG00000000042.3");
    EXPECT_EQ(e.fit.message, "tab here newline"); // tabs/newlines cannot be in a line
    expect_same_fit(g, e.fit);
    // Writing the parsed fit again gives the same line.
    EXPECT_EQ(format_journal_line(42, "ENSG00000000042.3", e.fit), line);
}

TEST(LctpredJournal, UnfittedGeneWithEmptyListsRoundTrips) {
    gene_fit g;
    g.status = gene_status::too_few_snps;
    g.message = "";
    g.n_samples = 7;
    journal_entry e;
    ASSERT_TRUE(parse_journal_line(format_journal_line(0, "G", g), "j.tsv", 2, e));
    EXPECT_EQ(e.fit.status, gene_status::too_few_snps);
    EXPECT_TRUE(e.fit.lambda.empty() && e.fit.weights.empty() && e.fit.folds.empty() && e.fit.nzero.empty());
    expect_same_fit(g, e.fit);
}

TEST(LctpredJournal, LineCutAtAnyByteIsIncomplete) {
    const std::string line = format_journal_line(3, "GENE3", awkward_fit());
    for (std::size_t n = 0; n < line.size(); ++n) {
        journal_entry e;
        EXPECT_FALSE(parse_journal_line(std::string_view(line).substr(0, n), "j.tsv", 5, e)) << "cut at " << n;
    }
}

TEST(LctpredJournal, MalformedCompleteLineNamesFileLineAndField) {
    std::string line = format_journal_line(3, "GENE3", awkward_fit());
    // The 15th field (index 13) is rho_avg.
    std::size_t at = 0;
    for (int k = 0; k < 13; ++k) at = line.find('\t', at) + 1;
    const std::size_t end = line.find('\t', at);
    const std::string bad = line.substr(0, at) + "x0.3" + line.substr(end);
    journal_entry e;
    try {
        parse_journal_line(bad, "rank0.tsv", 9, e);
        FAIL() << "no error";
    } catch (const input_error& err) {
        EXPECT_EQ(err.file(), "rank0.tsv");
        EXPECT_EQ(err.where(), "line 9");
        EXPECT_EQ(err.field(), "rho_avg");
    }
    std::string bad_status = line;
    bad_status.replace(bad_status.find("\tok\t"), 4, "\tfine\t");
    EXPECT_THROW(parse_journal_line(bad_status, "rank0.tsv", 9, e), input_error);
    EXPECT_THROW(parse_journal_line(line.substr(0, line.size() - 3) + "x\tEND", "rank0.tsv", 9, e), input_error);
}

TEST(LctpredJournal, WriterReaderSkipCutLinesAndAppendAfterThem) {
    const std::string dir = fresh_dir("lctpred_journal/rw");
    const std::vector<std::string> fp = {"option=--seed 7", "data=genes 3"};
    gene_fit a = awkward_fit(), b;
    b.status = gene_status::constant_expression;
    b.message = "y is constant";
    {
        journal_writer w(dir, 0, journal_header(fp));
        w.append(0, "G0", a);
        w.append(2, "G2", b);
        EXPECT_EQ(w.appended(), 2u);
    }
    // A kill in the middle of the third line.
    const std::string path = journal_file(dir, 0);
    const std::string cut = format_journal_line(1, "G1", a).substr(0, 40);
    write_text(path, read_text(path) + cut);
    journal_contents jc = read_journal_dir(dir, fp);
    ASSERT_EQ(jc.entries.size(), 2u);
    EXPECT_EQ(jc.incomplete, 1u);
    EXPECT_EQ(jc.files, 1u);
    EXPECT_EQ(jc.entries[0].gene_id, "G0");
    expect_same_fit(a, jc.entries[0].fit);
    EXPECT_EQ(jc.entries[1].row, 2u);
    EXPECT_EQ(jc.entries[1].fit.message, "y is constant");

    // The resumed run appends to the same file: the cut line stays a line of its own.
    {
        journal_writer w(dir, 0, journal_header(fp));
        w.append(1, "G1", a);
    }
    // Another rank count: rank1 of the resumed run.
    {
        journal_writer w(dir, 1, journal_header(fp));
    }
    jc = read_journal_dir(dir, fp);
    ASSERT_EQ(jc.entries.size(), 3u);
    EXPECT_EQ(jc.incomplete, 1u);
    EXPECT_EQ(jc.files, 2u);
    EXPECT_EQ(jc.entries[2].gene_id, "G1");
    EXPECT_EQ(jc.complete, 3u);
    // A rank keeps only its block's rows but counts all.
    jc = read_journal_dir(dir, fp, 1, 2);
    ASSERT_EQ(jc.entries.size(), 1u);
    EXPECT_EQ(jc.entries[0].row, 1u);
    EXPECT_EQ(jc.complete, 3u);
    const std::string text = read_text(path);
    EXPECT_NE(text.find(cut + "\n1\tG1\t"), std::string::npos);
}

TEST(LctpredJournal, OtherFingerprintIsRefusedNamingTheItem) {
    const std::string dir = fresh_dir("lctpred_journal/fp");
    { journal_writer w(dir, 0, journal_header({"option=--seed 7", "option=--window 1000000", "data=genes 3"})); }
    try {
        read_journal_dir(dir, {"option=--seed 7", "option=--window 500000", "data=genes 3"});
        FAIL() << "no error";
    } catch (const usage_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("rank0.tsv"), std::string::npos) << m;
        EXPECT_NE(m.find("--window 1000000"), std::string::npos) << m;
        EXPECT_NE(m.find("--window 500000"), std::string::npos) << m;
        EXPECT_NE(m.find("without --resume"), std::string::npos) << m;
    }
    // A writer with another fingerprint starts its file afresh (a fresh run never appends to it).
    { journal_writer w(dir, 0, journal_header({"option=--seed 8"})); }
    EXPECT_EQ(read_journal_dir(dir, {"option=--seed 8"}).files, 1u);
}

TEST(LctpredJournal, MissingFolderEmptyFileCutHeaderAndForeignFile) {
    const std::string dir = fresh_dir("lctpred_journal/misc");
    const std::vector<std::string> fp = {"option=--seed 7"};
    EXPECT_EQ(read_journal_dir(dir + "/absent", fp).files, 0u);
    write_text(journal_file(dir, 0), "");
    write_text(journal_file(dir, 1), journal_header(fp).substr(0, 10)); // killed while writing the header
    journal_contents jc = read_journal_dir(dir, fp);
    EXPECT_EQ(jc.files, 0u);
    EXPECT_TRUE(jc.entries.empty());
    // The writer replaces a cut header.
    {
        journal_writer w(dir, 1, journal_header(fp));
        w.append(0, "G0", awkward_fit());
    }
    EXPECT_EQ(read_journal_dir(dir, fp).entries.size(), 1u);
    write_text(journal_file(dir, 2), "gene\tvalue\nG0\t1\n");
    EXPECT_THROW(read_journal_dir(dir, fp), input_error);
}
