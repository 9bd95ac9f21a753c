// `lctpred --fold-rng r`: fold ids drawn from R's stream in PredictDb-nextflow's order
// (set.seed per chromosome, genes in annotation order, only genes with >= 2 window SNPs draw),
// checked through the HDF5 summary's folds/n (per-fold sizes of the first repeat), including
// --split jobs, which must replay the draws of the genes other jobs own.
#include "scpx/enet/lctpred.hpp"
#include "scpx/enet/r_rng.hpp"

#include "scpx/core/error.hpp"
#include "scpx/io/h5.hpp"
#include "lctpred_test_data.hpp"
#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

using namespace scpx;
using namespace scpx::enet;
using namespace scpx::test;

namespace {

lctpred_options options(const std::string& prefix) {
    lctpred_options o = bundled_lctpred_options(prefix);
    o.fit.threads = 1;
    return o;
}

struct summary_rows {
    std::vector<std::string> gene, status;
    std::vector<std::int32_t> chrom, nwin;
    std::vector<std::vector<int>> fold_n; // per gene: held-out samples of folds 1..K
};

summary_rows read_summary(const std::string& h5) {
    io::h5_file f = io::h5_open_file(h5);
    summary_rows s;
    s.gene = io::h5_read_strings(f.id(), "gene_id");
    s.status = io::h5_read_strings(f.id(), "status");
    s.chrom = io::h5_read<std::int32_t>(f.id(), "chromosome", 1).data;
    s.nwin = io::h5_read<std::int32_t>(f.id(), "n_snps_in_window", 1).data;
    auto fn = io::h5_read<std::int32_t>(f.id(), "folds/n", 2);
    for (size_t g = 0; g < fn.shape[0]; ++g)
        s.fold_n.emplace_back(fn.data.begin() + static_cast<std::ptrdiff_t>(g * fn.shape[1]),
                              fn.data.begin() + static_cast<std::ptrdiff_t>((g + 1) * fn.shape[1]));
    return s;
}

// The expression table with its gene rows reversed: R's order must not depend on it.
std::string reversed_expression() {
    std::istringstream in(read_text(lctpred_data("expression.tsv")));
    std::string header, line;
    std::getline(in, header);
    std::vector<std::string> rows;
    while (std::getline(in, line))
        if (!line.empty()) rows.push_back(line);
    std::reverse(rows.begin(), rows.end());
    std::string out = header + "\n";
    for (const auto& r : rows) out += r + "\n";
    const std::string p = scratch_path("lct_rfold_expr_rev.tsv");
    write_text(p, out);
    return p;
}

// (chromosome, gene id) in annotation row order.
std::vector<std::pair<std::string, std::string>> annotation_order() {
    std::istringstream in(read_text(lctpred_data("gene_annot.tsv")));
    std::string line;
    std::getline(in, line);
    std::vector<std::pair<std::string, std::string>> out;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string chr, id;
        f >> chr >> id;
        if (!id.empty()) out.emplace_back(chr, id);
    }
    return out;
}

// Checks folds/n of every fitted gene against an independent replay of fast_elasticnet.R's draws:
// per chromosome set.seed(seed); genes in annotation order; a gene with < 2 window SNPs is skipped
// before its draws; 3 x sample(1:10, n, TRUE) otherwise. Returns the number of genes compared.
int check_against_r(const summary_rows& s, int n, std::int32_t seed) {
    std::map<std::string, size_t> row;
    for (size_t g = 0; g < s.gene.size(); ++g) row[s.gene[g]] = g;
    int checked = 0;
    for (const char* chr : {"1", "2"}) {
        r_rng rng(seed);
        for (const auto& [c, id] : annotation_order()) {
            if (c != chr) continue;
            EXPECT_TRUE(row.count(id)) << id;
            if (!row.count(id)) continue;
            const size_t g = row[id];
            if (s.nwin[g] < 2) continue;
            const auto folds = draw_fold_ids_r(rng, n, 10, 3);
            if (s.status[g] != "ok") continue;
            std::vector<int> count(10, 0);
            for (int v : folds[0]) ++count[static_cast<size_t>(v - 1)];
            EXPECT_EQ(s.fold_n[g], count) << id;
            ++checked;
        }
    }
    return checked;
}

} // namespace

TEST(LctpredRFolds, FirstRepeatFoldSizesFollowRsStream) {
    lctpred_options o = options("lct_rfold");
    o.expression = reversed_expression(); // R's order is the annotation's, not the table's
    ASSERT_EQ(o.fold_generator, fold_rng::r); // the default
    const lctpred_summary sum = run_lctpred(o);
    const summary_rows s = read_summary(o.out_h5);
    // The fixture has several fitted genes on each of chromosomes 1 and 2.
    EXPECT_GE(check_against_r(s, static_cast<int>(sum.samples), 2024), 4);

    // The same run with scpx's own generator gives other folds: the option is in effect.
    lctpred_options p = options("lct_sfold");
    p.expression = o.expression;
    p.fold_generator = fold_rng::scpx;
    run_lctpred(p);
    const summary_rows t = read_summary(p.out_h5);
    int differ = 0;
    for (size_t g = 0; g < s.gene.size(); ++g)
        if (s.status[g] == "ok" && s.fold_n[g] != t.fold_n[g]) ++differ;
    EXPECT_GT(differ, 0);
}

TEST(LctpredRFolds, SplitJobsReplayEarlierGenes) {
    // Each --split job replays the draws of the genes the other job owns.
    summary_rows merged;
    std::size_t samples = 0;
    for (std::size_t job = 0; job < 2; ++job) {
        lctpred_options o = options("lct_rsplit_" + std::to_string(job));
        o.seed = 77;
        o.split = dist::make_split(2, static_cast<long long>(job));
        samples = run_lctpred(o).samples;
        const summary_rows part = read_summary(o.out_h5);
        ASSERT_FALSE(part.gene.empty());
        for (size_t g = 0; g < part.gene.size(); ++g) {
            merged.gene.push_back(part.gene[g]);
            merged.status.push_back(part.status[g]);
            merged.chrom.push_back(part.chrom[g]);
            merged.nwin.push_back(part.nwin[g]);
            merged.fold_n.push_back(part.fold_n[g]);
        }
    }
    EXPECT_GE(check_against_r(merged, static_cast<int>(samples), 77), 4);
}

TEST(LctpredRFolds, SeedMustFitRsInteger) {
    lctpred_options o = options("lct_rseed");
    o.seed = 2147483648ULL;
    try {
        run_lctpred(o);
        ADD_FAILURE() << "no error";
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("2147483647"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(exists(o.out_db) || exists(o.out_h5) || exists(o.out_covariance));
}
