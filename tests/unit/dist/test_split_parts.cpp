// The checks a merge makes of a --split run's parts (dist::order_split_parts) and the provenance
// they rest on (core/provenance: input stamps, gene-list fingerprints).
#include "../test_support.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/provenance.hpp"
#include "scpx/dist/split_parts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using scpx::dist::order_split_parts;
using scpx::dist::split_part;

namespace {

/// Job `job` of a 3-way split of 9 genes, rows 3·job .. 3·job + 3.
split_part part(int job) {
    split_part p;
    p.path = "p" + std::to_string(job) + ".h5";
    p.stage = "lctpred";
    p.split = 3;
    p.job = job;
    p.command_before_split = "scpx lctpred --seed 7";
    p.job_separator = " ";
    p.command_without_job = "scpx lctpred --seed 7 --split 3";
    p.begin = 3 * static_cast<std::uint64_t>(job);
    p.end = p.begin + 3;
    p.total = 9;
    p.gene_list = "9 genes, fnv1a64 00";
    p.input_stamps = "10 100 a.tsv\n20 200 b.tsv\n";
    return p;
}

template <class E>
std::string message_of(const std::vector<split_part>& parts) {
    try {
        order_split_parts(parts, "parts/*.h5");
    } catch (const E& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(SplitParts, OrdersByJobWhateverTheGivenOrder) {
    const std::vector<std::size_t> order = order_split_parts({part(2), part(0), part(1)}, "parts/*.h5");
    EXPECT_EQ(order, (std::vector<std::size_t>{1, 2, 0}));
}

TEST(SplitParts, NamesTheMissingJobs) {
    EXPECT_NE(
        message_of<scpx::usage_error>({part(2)}).find("lack job(s) 0, 1; give every part (e.g. parts/*.h5)"),
        std::string::npos);
}

TEST(SplitParts, RefusesAJobTwice) {
    split_part again = part(1);
    again.path = "copy.h5";
    EXPECT_NE(message_of<scpx::usage_error>({part(0), part(1), again, part(2)})
                  .find("job 1 of --split 3 given twice: p1.h5 and copy.h5"),
              std::string::npos);
}

TEST(SplitParts, RefusesOtherOptionsOrStage) {
    split_part other = part(1);
    other.command_without_job = "scpx lctpred --seed 8 --split 3";
    EXPECT_NE(message_of<scpx::input_error>({part(0), other, part(2)}).find("made with other options"),
              std::string::npos);
    other = part(1);
    other.stage = "features-reference";
    EXPECT_NE(message_of<scpx::input_error>({part(0), other, part(2)}).find("a features-reference output"),
              std::string::npos);
}

TEST(SplitParts, RefusesGapsAndOtherGeneLists) {
    split_part gap = part(1);
    gap.begin = 4;
    EXPECT_NE(message_of<scpx::input_error>({part(0), gap, part(2)})
                  .find("job 1 starts at gene 4, but the jobs before it end at 3"),
              std::string::npos);
    split_part other = part(2);
    other.gene_list = "9 genes, fnv1a64 01";
    EXPECT_NE(message_of<scpx::input_error>({part(0), part(1), other}).find("cut from another gene list"),
              std::string::npos);
    split_part short_end = part(2);
    short_end.total = 8;
    EXPECT_NE(message_of<scpx::input_error>({part(0), part(1), short_end}).find("a part of 8 genes"),
              std::string::npos);
}

TEST(SplitParts, RefusesAnInputOfAnotherSizeOnly) {
    split_part touched = part(1);
    touched.input_stamps = "10 999 a.tsv\n20 200 b.tsv\n"; // another mtime: a warning
    EXPECT_NO_THROW(order_split_parts({part(0), touched, part(2)}, "parts/*.h5"));
    split_part replaced = part(2);
    replaced.input_stamps = "10 100 a.tsv\n21 200 b.tsv\n";
    EXPECT_NE(message_of<scpx::input_error>({part(0), part(1), replaced})
                  .find("input b.tsv was 21 bytes when job 2 ran and 20 bytes when job 0 ran"),
              std::string::npos);
}

TEST(SplitParts, UnsplitCommandKeepsTheLayout) {
    split_part p = part(1);
    p.command_before_split = "scpx lctpred \\\n    --seed 7 \\\n   ";
    p.job_separator = " \\\n    ";
    p.command_after_job = " \\\n    --window 1000";
    EXPECT_EQ(scpx::dist::unsplit_command(p),
              "scpx lctpred \\\n    --seed 7 \\\n    --split 1 \\\n    --job 0 \\\n    --window 1000");
}

TEST(Provenance, StampsFilesAndTheFileOfAnHdf5Spec) {
    const std::string file = scpx::test::scratch_path("stamped.h5");
    scpx::test::write_text(file, "12345");
    const std::string stamps = scpx::input_stamps({file, file + ":/group/data", "", file + ".missing"});
    const auto parsed = scpx::parse_input_stamps(stamps, "x.h5");
    ASSERT_EQ(parsed.size(), 2u); // the empty and the missing input are left out
    EXPECT_EQ(parsed[0].size, 5);
    EXPECT_EQ(parsed[0].path, file);
    EXPECT_EQ(parsed[1].size, 5);
    EXPECT_EQ(parsed[1].path, file + ":/group/data");
    EXPECT_GT(parsed[0].mtime_ns, 0);
    EXPECT_THROW(scpx::parse_input_stamps("12 x.tsv\n", "x.h5"), scpx::input_error);
}

TEST(Provenance, GeneListFingerprintDependsOnOrderAndTss) {
    const auto fp = [](std::vector<std::string> ids, std::vector<std::int64_t> tss) {
        return scpx::gene_list_fingerprint(ids, {"1", "1"}, tss);
    };
    EXPECT_EQ(fp({"A", "B"}, {1, 2}), fp({"A", "B"}, {1, 2}));
    EXPECT_NE(fp({"A", "B"}, {1, 2}), fp({"B", "A"}, {1, 2}));
    EXPECT_NE(fp({"A", "B"}, {1, 2}), fp({"A", "B"}, {1, 3}));
    EXPECT_EQ(fp({"A", "B"}, {1, 2}).rfind("2 genes, fnv1a64 ", 0), 0u);
}

namespace {

scpx::dist::split_gene_list five_genes() {
    scpx::dist::split_gene_list l;
    for (int g = 0; g < 5; ++g)
        l.add("ENSG" + std::to_string(g), g < 3 ? "1" : "2", 1000 * g);
    return l;
}

/// The rows [begin, end) of `l`.
scpx::dist::split_gene_list rows_of(const scpx::dist::split_gene_list& l, std::size_t begin, std::size_t end) {
    scpx::dist::split_gene_list r;
    for (std::size_t g = begin; g < end; ++g)
        r.add(l.ids[g], l.chroms[g], l.tss[g]);
    return r;
}

std::string attr(const std::vector<std::pair<std::string, std::string>>& attrs, const std::string& name) {
    for (const auto& [k, v] : attrs)
        if (k == name) return v;
    return "(missing)";
}

} // namespace

TEST(SplitParts, AttributesAJobRecordsAreTheOnesAMergeRecomputes) {
    const auto whole = five_genes();
    const auto attrs = scpx::dist::split_attributes(whole, {2, 4});
    EXPECT_EQ(attr(attrs, "scpx_split_genes"), "2 4 5");
    EXPECT_EQ(attr(attrs, "scpx_gene_list"), scpx::gene_list_fingerprint(whole.ids, whole.chroms, whole.tss));
    const auto mine = rows_of(whole, 2, 4);
    EXPECT_EQ(attr(attrs, "scpx_part_gene_list"), scpx::gene_list_fingerprint(mine.ids, mine.chroms, mine.tss));
    EXPECT_THROW(scpx::dist::split_attributes(whole, {4, 6}), scpx::internal_error);

    // What the merge checks them by: the job's rows as written, and the jobs' rows joined.
    split_part p = part(1);
    p.gene_list = attr(attrs, "scpx_gene_list");
    p.part_gene_list = attr(attrs, "scpx_part_gene_list");
    EXPECT_NO_THROW(scpx::dist::require_rows_as_written(p, mine, "/gene_id"));
    auto swapped = mine;
    std::swap(swapped.ids[0], swapped.ids[1]);
    try {
        scpx::dist::require_rows_as_written(p, swapped, "/gene_id, /chrom, /tss");
        FAIL() << "swapped rows accepted";
    } catch (const scpx::input_error& e) {
        EXPECT_NE(std::string(e.what()).find("p1.h5, datasets /gene_id, /chrom, /tss: its genes"), std::string::npos)
            << e.what();
    }
    p.part_gene_list.clear(); // a part of an older scpx: nothing to check its rows by
    EXPECT_NO_THROW(scpx::dist::require_rows_as_written(p, swapped, "/gene_id"));

    auto joined = rows_of(whole, 0, 2);
    joined.append(mine);
    joined.append(rows_of(whole, 4, 5));
    EXPECT_NO_THROW(scpx::dist::require_joined_gene_list(p, joined, "/gene_id"));
    joined.tss.back() += 1;
    EXPECT_THROW(scpx::dist::require_joined_gene_list(p, joined, "/gene_id"), scpx::input_error);
}
