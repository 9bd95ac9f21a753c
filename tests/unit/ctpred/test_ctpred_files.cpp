// ctPred on files: targets from pseudobulk CSVs and from a tiny .h5ad (CSR and dense, written
// here with the HDF5 layer in AnnData's layout), train → predict round trips, and bad input
// (missing obs columns, too few donors, NaN features, barely overlapping genes, width mismatch),
// each with one clear error and no output left behind.
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/ctpred/ctpred.hpp"
#include "scpx/io/h5.hpp"
#include "../test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace ct = scpx::ctpred;
namespace io = scpx::io;
using scpx::test::exists;
using scpx::test::read_text;
using scpx::test::scratch_path;
using scpx::test::write_text;

namespace {

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const scpx::error& e) {
        return e.what();
    }
    return "(no error)";
}

// Donor counts for cell type A (genes g1..g4, donors d1..d3).
const char* kCsvA = "gene_id,d1,d2,d3\ng1,10,0,5\ng2,30,20,5\ng3,60,80,10\ng4,0,0,0\n";

/// Writes a tiny AnnData file: 6 cells x 4 genes; cells 0-2 type A (donors d1, d2, d3), 3-5 type B.
void write_h5ad(const std::string& path, bool csr, bool with_donor = true,
                std::vector<std::string> var = {"g1", "g2", "g3", "g4"},
                std::vector<std::int32_t> celltype_codes = {0, 0, 0, 1, 1, 1}) {
    // Per cell counts chosen so the type-A sums per donor equal kCsvA's columns.
    const std::vector<std::vector<double>> x = {
        {10, 30, 60, 0}, {0, 20, 80, 0}, {5, 5, 10, 0}, {1, 0, 0, 7}, {2, 1, 0, 3}, {0, 4, 4, 4}};
    auto f = io::h5_create_file(path);
    if (csr) {
        std::vector<float> data;
        std::vector<std::int32_t> indices, indptr{0};
        for (const auto& row : x) {
            for (std::int32_t g = 0; g < 4; ++g)
                if (row[static_cast<size_t>(g)] != 0) {
                    data.push_back(static_cast<float>(row[static_cast<size_t>(g)]));
                    indices.push_back(g);
                }
            indptr.push_back(static_cast<std::int32_t>(data.size()));
        }
        io::h5_write(f.id(), "/X/data", data);
        io::h5_write(f.id(), "/X/indices", indices);
        io::h5_write(f.id(), "/X/indptr", indptr);
        auto g = io::h5_open_object(f.id(), "/X");
        io::h5_write_attr(g.id(), "encoding-type", std::string("csr_matrix"));
    } else {
        std::vector<float> dense;
        for (const auto& row : x)
            for (double v : row) dense.push_back(static_cast<float>(v));
        io::h5_write<float>(f.id(), "/X", {6, 4}, dense.data());
    }
    io::h5_write_strings(f.id(), "/obs/_index", {"c0", "c1", "c2", "c3", "c4", "c5"});
    io::h5_write_strings(f.id(), "/obs/cell_type/categories", {"A", "B"});
    io::h5_write(f.id(), "/obs/cell_type/codes", celltype_codes);
    if (with_donor) io::h5_write_strings(f.id(), "/obs/donor_id", {"d1", "d2", "d3", "d1", "d2", "d3"});
    io::h5_write_strings(f.id(), "/obs/batch", {"b", "b", "b", "b", "b", "b"});
    io::h5_write_strings(f.id(), "/var/_index", var);
    auto obs = io::h5_open_object(f.id(), "/obs");
    io::h5_write_attr(obs.id(), "_index", std::string("_index"));
    f.close();
}

std::vector<double> expected_type_a(bool log1p) {
    const double c[4][3] = {{10, 0, 5}, {30, 20, 5}, {60, 80, 10}, {0, 0, 0}};
    const double tot[3] = {100, 100, 20};
    std::vector<double> mean(4, 0.0);
    for (int g = 0; g < 4; ++g)
        for (int d = 0; d < 3; ++d) {
            double v = c[g][d] / tot[d] * 1e6;
            mean[static_cast<size_t>(g)] += (log1p ? std::log1p(v) : v) / 3;
        }
    return ct::percentile_ranks(mean);
}

/// Small training set: genes on chr1..chr22 (so every split has genes), features and targets
/// in one file with gene ids.
void write_train_set(const std::string& path, std::int64_t genes, std::int64_t d, bool nan_feature = false,
                     std::int64_t dup_id_row = -1) {
    std::mt19937 rng(2);
    std::gamma_distribution<float> gam(0.5f, 1.0f);
    std::vector<float> x(static_cast<size_t>(genes * d));
    for (auto& v : x) v = gam(rng);
    if (nan_feature) x[static_cast<size_t>(7 * d + 3)] = std::nanf("");
    std::vector<double> y(static_cast<size_t>(genes));
    std::vector<std::string> ids, chrom;
    for (std::int64_t i = 0; i < genes; ++i) {
        y[static_cast<size_t>(i)] = (static_cast<double>((i * 37) % genes) + 1) / static_cast<double>(genes);
        ids.push_back("ENSG" + std::to_string(1000 + i));
        chrom.push_back("chr" + std::to_string(i % 22 + 1));
    }
    if (dup_id_row >= 0) ids[static_cast<size_t>(dup_id_row)] = ids[0];
    auto f = io::h5_create_file(path);
    io::h5_write<float>(f.id(), "/X", {static_cast<hsize_t>(genes), static_cast<hsize_t>(d)}, x.data());
    io::h5_write(f.id(), "/y", y);
    io::h5_write_strings(f.id(), "/gene_id", ids);
    io::h5_write_strings(f.id(), "/gene_chrom", chrom);
    f.close();
}

ct::train_job small_job(const std::string& data, const std::string& out) {
    ct::train_job j;
    j.features = data + ":/X";
    j.targets = data + ":/y";
    j.gene_chrom = data + ":/gene_chrom";
    j.out = out;
    j.opts.epochs = 3;
    j.opts.batch_size = 50;
    j.opts.threads = 1;
    j.shape.hidden = 8;
    return j;
}

} // namespace

TEST(CtpredTargets, PseudobulkCsvCpmMeanPercentile) {
    const auto a = scratch_path("ct_targets_A.csv");
    write_text(a, kCsvA);
    const auto b = scratch_path("ct_targets_B.csv");
    write_text(b, "gene_id,x1,x2,x3\ng2,1,2,3\ng5,4,4,4\ng1,0,0,9\n");
    const auto genes = scratch_path("ct_targets_genes.txt");
    write_text(genes, "g1\ng2\ng3\ng4\ng5\ng6\n");
    ct::targets_job j;
    j.pseudobulk = {a, "Bcells=" + b};
    j.genes = genes;
    j.out = scratch_path("ct_targets.h5");
    ct::run_targets(j);
    auto f = io::h5_open_file(j.out);
    EXPECT_EQ(io::h5_read_strings(f.id(), "/cell_type"), (std::vector<std::string>{"ct_targets_A", "Bcells"}));
    EXPECT_EQ(io::h5_read_strings(f.id(), "/gene_id").size(), 6u);
    const auto y = io::h5_read<double>(f.id(), "/y", 2);
    ASSERT_EQ(y.shape, (std::vector<hsize_t>{6, 2}));
    // Type A over 6 genes: g5, g6 absent → 0, tied with g4 (0 counts).
    const double c[4][3] = {{10, 0, 5}, {30, 20, 5}, {60, 80, 10}, {0, 0, 0}};
    std::vector<double> mean(6, 0.0);
    for (int g = 0; g < 4; ++g)
        for (int d = 0; d < 3; ++d) mean[static_cast<size_t>(g)] += c[g][d] / (d == 2 ? 20.0 : 100.0) * 1e6 / 3;
    const auto want = ct::percentile_ranks(mean);
    for (size_t g = 0; g < 6; ++g) EXPECT_DOUBLE_EQ(y.data[g * 2], want[g]) << g;
    EXPECT_DOUBLE_EQ(y.data[3 * 2], 2.0 / 6); // three genes tied at 0: ranks 1..3 → 2/6
    EXPECT_DOUBLE_EQ(y.data[2 * 2], 1.0);     // g3 highest
}

TEST(CtpredTargets, H5adCsrAndDenseMatchPseudobulk) {
    for (bool csr : {true, false}) {
        const auto h5ad = scratch_path(csr ? "ct_csr.h5ad" : "ct_dense.h5ad");
        write_h5ad(h5ad, csr);
        ct::targets_job j;
        j.h5ad = h5ad;
        j.log1p = true;
        j.out = scratch_path("ct_targets_h5ad.h5");
        ct::run_targets(j);
        auto f = io::h5_open_file(j.out);
        EXPECT_EQ(io::h5_read_strings(f.id(), "/cell_type"), (std::vector<std::string>{"A", "B"}));
        EXPECT_EQ(io::h5_read<std::int64_t>(f.id(), "/n_donors").data, (std::vector<std::int64_t>{3, 3}));
        const auto y = io::h5_read<double>(f.id(), "/y", 2).data;
        const auto want = expected_type_a(true);
        for (size_t g = 0; g < 4; ++g) EXPECT_DOUBLE_EQ(y[g * 2], want[g]) << (csr ? "csr " : "dense ") << g;
    }
}

TEST(CtpredTargets, MissingObsColumnListsThosePresent) {
    const auto h5ad = scratch_path("ct_nodonor.h5ad");
    write_h5ad(h5ad, true, false);
    ct::targets_job j;
    j.h5ad = h5ad;
    j.out = scratch_path("ct_targets_nodonor.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("no column 'donor_id'"));
    EXPECT_THAT(msg, ::testing::HasSubstr("batch, cell_type"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, TooFewDonorsFails) {
    const auto a = scratch_path("ct_few.csv");
    write_text(a, "gene_id,d1,d2\ng1,1,2\ng2,3,0\n");
    ct::targets_job j;
    j.pseudobulk = {a};
    j.out = scratch_path("ct_targets_few.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("has 2 donors with counts; --min-donors is 3"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, NonNumericCountNamesFileLineAndDonor) {
    const auto a = scratch_path("ct_bad.csv");
    write_text(a, "gene_id,d1,d2,d3\ng1,1,2,3\ng2,3,abc,1\n");
    ct::targets_job j;
    j.pseudobulk = {a};
    j.out = scratch_path("ct_targets_bad.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("line 3"));
    EXPECT_THAT(msg, ::testing::HasSubstr("d2"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTrain, TrainThenPredictReproducesTestPredictions) {
    const auto data = scratch_path("ct_small_train.h5");
    write_train_set(data, 300, 12);
    auto j = small_job(data, scratch_path("ct_small_w.h5"));
    j.zscore = true;
    ct::run_train(j);
    auto f = io::h5_open_file(j.out);
    for (const char* name : {"/net.0.weight", "/net.3.weight", "/net.6.weight", "/net.9.bias", "/net.12.bias",
                             "/best/net.0.weight", "/train_loss", "/test_pred", "/feature_mean"})
        EXPECT_TRUE(io::h5_exists(f.id(), name)) << name;
    const auto test_idx = io::h5_read<std::int64_t>(f.id(), "/test_idx").data;
    const auto test_pred = io::h5_read<double>(f.id(), "/test_pred").data;
    ASSERT_FALSE(test_idx.empty());

    ct::predict_job p;
    p.features = data + ":/X";
    p.weights = j.out;
    p.use_final = true;
    p.out = scratch_path("ct_small_pred");
    ct::run_predict(p);
    auto pf = io::h5_open_file(p.out + ".h5");
    const auto pred = io::h5_read<double>(pf.id(), "/model/pred", 2);
    ASSERT_EQ(pred.shape, (std::vector<hsize_t>{300, 1}));
    for (size_t k = 0; k < test_idx.size(); ++k)
        EXPECT_NEAR(pred.data[static_cast<size_t>(test_idx[k])], test_pred[k], 1e-6) << k;
    const auto tsv = read_text(p.out + ".model.tsv");
    EXPECT_EQ(tsv.substr(0, tsv.find('\n')), "gene_id\treference");
    EXPECT_EQ(tsv.substr(tsv.find('\n') + 1, 9), "ENSG1000\t");
}

TEST(CtpredTrain, PredictThreeDimensionalFeaturesPerIndividual) {
    const auto data = scratch_path("ct_3d_train.h5");
    write_train_set(data, 120, 6);
    auto j = small_job(data, scratch_path("ct_3d_w.h5"));
    ct::run_train(j);
    // Two individuals: the reference features and the features doubled.
    const auto x = io::h5_read<float>(io::h5_ref{data, "/X"}, 2).data;
    std::vector<float> x3(x);
    for (float v : x) x3.push_back(2 * v);
    const auto feat = scratch_path("ct_3d_features.h5");
    {
        auto f = io::h5_create_file(feat);
        io::h5_write<float>(f.id(), "/features/X", {2, 120, 6}, x3.data());
        io::h5_write_strings(f.id(), "/features/sample_id", {"s1", "s2"});
        f.close();
    }
    ct::predict_job p;
    p.features = feat + ":/features/X";
    p.weights = j.out;
    p.out = scratch_path("ct_3d_pred");
    ct::run_predict(p);
    ct::predict_job p2 = p;
    p2.features = data + ":/X";
    p2.out = scratch_path("ct_3d_pred_ref");
    ct::run_predict(p2);
    auto a = io::h5_open_file(p.out + ".h5");
    auto b = io::h5_open_file(p2.out + ".h5");
    const auto pa = io::h5_read<double>(a.id(), "/model/pred", 2);
    const auto pb = io::h5_read<double>(b.id(), "/model/pred", 2).data;
    ASSERT_EQ(pa.shape, (std::vector<hsize_t>{120, 2}));
    double diff = 0;
    for (size_t g = 0; g < 120; ++g) {
        EXPECT_DOUBLE_EQ(pa.data[g * 2], pb[g]);
        diff += std::abs(pa.data[g * 2 + 1] - pb[g]);
    }
    EXPECT_GT(diff, 0); // the second individual's features differ
    EXPECT_EQ(io::h5_read_strings(a.id(), "/sample_id"), (std::vector<std::string>{"s1", "s2"}));
    const auto tsv = read_text(p.out + ".model.tsv");
    EXPECT_EQ(tsv.substr(0, tsv.find('\n')), "gene_id\ts1\ts2");
}

TEST(CtpredTrain, NanFeatureNamesRowGeneAndColumn) {
    const auto data = scratch_path("ct_nan.h5");
    write_train_set(data, 100, 5, true);
    auto j = small_job(data, scratch_path("ct_nan_w.h5"));
    const auto msg = error_of([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("row 7 (ENSG1007)"));
    EXPECT_THAT(msg, ::testing::HasSubstr("feature 3 is not finite"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTrain, BarelyOverlappingGenesFailWithCounts) {
    const auto data = scratch_path("ct_overlap.h5");
    write_train_set(data, 100, 5);
    const auto targets = scratch_path("ct_overlap_y.h5");
    {
        auto f = io::h5_create_file(targets);
        std::vector<std::string> ids;
        for (int i = 0; i < 100; ++i) ids.push_back(i < 10 ? "ENSG" + std::to_string(1000 + i) : "OTHER" + std::to_string(i));
        io::h5_write(f.id(), "/y", std::vector<double>(100, 0.5));
        io::h5_write_strings(f.id(), "/gene_id", ids);
        f.close();
    }
    auto j = small_job(data, scratch_path("ct_overlap_w.h5"));
    j.targets = targets + ":/y";
    const auto msg = error_of([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("share only 10 gene ids (10.0% of the targets"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTrain, FeatureWidthMismatchWithWeights) {
    const auto data = scratch_path("ct_width.h5");
    write_train_set(data, 100, 5);
    auto j = small_job(data, scratch_path("ct_width_w.h5"));
    ct::run_train(j);
    const auto data6 = scratch_path("ct_width6.h5");
    write_train_set(data6, 100, 6);
    auto j2 = small_job(data6, scratch_path("ct_width_w2.h5"));
    j2.init_weights = j.out;
    auto msg = error_of([&] { ct::run_train(j2); });
    EXPECT_THAT(msg, ::testing::HasSubstr("net.0.weight expects 5 features, --features has 6"));
    EXPECT_FALSE(exists(j2.out));
    ct::predict_job p;
    p.features = data6 + ":/X";
    p.weights = j.out;
    p.out = scratch_path("ct_width_pred");
    msg = error_of([&] { ct::run_predict(p); });
    EXPECT_THAT(msg, ::testing::HasSubstr("have 6 columns but model model expects 5"));
    EXPECT_FALSE(exists(p.out + ".h5"));
}

// --- Gene ids, cell-type names and sample ids that would misalign or corrupt the output ---------

TEST(CtpredTrain, DuplicateFeatureGeneIdNamesFileDatasetAndBothRows) {
    const auto data = scratch_path("ct_dupid.h5");
    write_train_set(data, 100, 5, false, 9);
    auto j = small_job(data, scratch_path("ct_dupid_w.h5"));
    const auto msg = error_of([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr(data + ", entries 0 and 9, field '/gene_id': duplicate gene id 'ENSG1000'"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTrain, DuplicateTargetGeneIdIsAnError) {
    const auto data = scratch_path("ct_duptid.h5");
    write_train_set(data, 100, 5);
    const auto targets = scratch_path("ct_duptid_y.h5");
    {
        auto f = io::h5_create_file(targets);
        std::vector<std::string> ids;
        for (int i = 0; i < 100; ++i) ids.push_back("ENSG" + std::to_string(1000 + (i == 42 ? 7 : i)));
        io::h5_write(f.id(), "/y", std::vector<double>(100, 0.5));
        io::h5_write_strings(f.id(), "/gene_id", ids);
        f.close();
    }
    auto j = small_job(data, scratch_path("ct_duptid_w.h5"));
    j.targets = targets + ":/y";
    const auto msg = error_of([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr(targets + ", entries 7 and 42, field '/gene_id': duplicate gene id 'ENSG1007'"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, DuplicateGeneInCsvNamesBothLines) {
    const auto a = scratch_path("ct_dupgene.csv");
    write_text(a, "gene_id,d1,d2,d3\ng1,1,2,3\ng2,3,4,1\n\ng1,5,5,5\n");
    ct::targets_job j;
    j.pseudobulk = {a};
    j.min_donors = 1;
    j.out = scratch_path("ct_targets_dupgene.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr(a + ", lines 2 and 5, field 'gene_id': duplicate gene id 'g1'"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, DuplicateVarIndexInH5adIsAnError) {
    const auto h5ad = scratch_path("ct_dupvar.h5ad");
    write_h5ad(h5ad, true, true, {"g1", "g2", "g3", "g2"});
    ct::targets_job j;
    j.h5ad = h5ad;
    j.out = scratch_path("ct_targets_dupvar.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr(h5ad + ", entries 1 and 3, field '/var/_index': duplicate gene id 'g2'"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, GeneListedTwiceNamesBothLines) {
    const auto a = scratch_path("ct_gl_A.csv");
    write_text(a, kCsvA);
    const auto genes = scratch_path("ct_gl_genes.txt");
    write_text(genes, "g1\ng2\n\ng1\n");
    ct::targets_job j;
    j.pseudobulk = {a};
    j.genes = genes;
    j.out = scratch_path("ct_targets_gl.h5");
    const auto msg = error_of([&] { ct::run_targets(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr(genes + ", lines 1 and 4"));
    EXPECT_THAT(msg, ::testing::HasSubstr("gene 'g1' is listed twice"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTargets, WarnsOnNonIntegerCsvCountsAndCellsWithoutCellType) {
    const auto log = scratch_path("ct_warn.log");
    scpx::log::open_file(log);
    const auto a = scratch_path("ct_frac.csv");
    write_text(a, "gene_id,d1,d2,d3\ng1,1,2,3\ng2,3,4.5,1\n");
    ct::targets_job j;
    j.pseudobulk = {a};
    j.out = scratch_path("ct_targets_frac.h5");
    ct::run_targets(j);
    // Cell 4 (type B) has a missing category (code -1): left out, with a count.
    const auto h5ad = scratch_path("ct_nact.h5ad");
    write_h5ad(h5ad, false, true, {"g1", "g2", "g3", "g4"}, {0, 0, 0, 1, -1, 1});
    ct::targets_job k;
    k.h5ad = h5ad;
    k.min_donors = 1;
    k.out = scratch_path("ct_targets_nact.h5");
    ct::run_targets(k);
    scpx::log::close_file();
    const auto text = read_text(log);
    EXPECT_THAT(text, ::testing::HasSubstr(a + " has non-integer values (first at line 3, donor d2)"));
    EXPECT_THAT(text, ::testing::HasSubstr(h5ad + ": 1 of 6 cells have no cell_type (empty or NaN) and are left out"));
}

TEST(CtpredNames, CellTypeLinkEscapesReversibly) {
    EXPECT_EQ(ct::cell_type_link("Tcell"), "Tcell");
    EXPECT_EQ(ct::cell_type_link("CD4+ T/NK"), "CD4+ T%2FNK");
    EXPECT_EQ(ct::cell_type_link("50%/x"), "50%25%2Fx");
    EXPECT_EQ(ct::cell_type_link("."), "%2E");
    EXPECT_EQ(ct::cell_type_link(".."), "%2E.");
    EXPECT_EQ(ct::cell_type_link("cell_types"), "%63ell_types");
    EXPECT_EQ(ct::cell_type_link("a\tb"), "a%09b");
    for (const std::string n : {"Tcell", "CD4+ T/NK", "50%/x", ".", "..", "cell_types", "gene_id", "a\tb", "%2F", "x%"})
        EXPECT_EQ(ct::cell_type_from_link(ct::cell_type_link(n)), n) << n;
}

namespace {

/// Two-column targets for write_train_set's genes with the given /cell_type names.
std::string write_two_cell_types(const std::string& name, const std::vector<std::string>& cell_types,
                                 std::int64_t genes = 100) {
    const auto path = scratch_path(name);
    std::vector<double> y;
    std::vector<std::string> ids;
    for (std::int64_t i = 0; i < genes; ++i) {
        y.push_back(static_cast<double>((i * 37) % genes + 1) / static_cast<double>(genes));
        y.push_back(static_cast<double>((i * 11) % genes + 1) / static_cast<double>(genes));
        ids.push_back("ENSG" + std::to_string(1000 + i));
    }
    auto f = io::h5_create_file(path);
    io::h5_write<double>(f.id(), "/y", {static_cast<hsize_t>(genes), 2}, y.data());
    io::h5_write_strings(f.id(), "/gene_id", ids);
    if (!cell_types.empty()) io::h5_write_strings(f.id(), "/cell_type", cell_types);
    f.close();
    return path;
}

} // namespace

TEST(CtpredTrain, CellTypeWithSlashOrDotTrainsAndPredictsUnderEscapedName) {
    const auto data = scratch_path("ct_slash.h5");
    write_train_set(data, 100, 5);
    const auto targets = write_two_cell_types("ct_slash_y.h5", {"CD4+ T/NK", "."});
    auto j = small_job(data, scratch_path("ct_slash_w.h5"));
    j.targets = targets + ":/y";
    ct::run_train(j);
    {
        auto f = io::h5_open_file(j.out);
        EXPECT_EQ(io::h5_read_strings(f.id(), "/cell_types"), (std::vector<std::string>{"CD4+ T/NK", "."}));
        EXPECT_TRUE(io::h5_exists(f.id(), "/CD4+ T%2FNK/best/net.0.weight"));
        EXPECT_TRUE(io::h5_exists(f.id(), "/%2E/net.0.weight"));
    }
    ct::predict_job p;
    p.features = data + ":/X";
    p.weights = j.out;
    p.out = scratch_path("ct_slash_pred");
    ct::run_predict(p);
    EXPECT_TRUE(exists(p.out + ".CD4+ T%2FNK.tsv"));
    EXPECT_TRUE(exists(p.out + ".%2E.tsv"));
    auto pf = io::h5_open_file(p.out + ".h5");
    EXPECT_EQ(io::h5_read_strings(pf.id(), "/cell_types"), (std::vector<std::string>{"CD4+ T/NK", "."}));
    EXPECT_TRUE(io::h5_exists(pf.id(), "/CD4+ T%2FNK/pred"));
    // One model picked by its escaped group: named by the decoded cell type.
    ct::predict_job p1 = p;
    p1.weights = j.out + ":/CD4+ T%2FNK";
    p1.out = scratch_path("ct_slash_pred1");
    ct::run_predict(p1);
    auto pf1 = io::h5_open_file(p1.out + ".h5");
    EXPECT_EQ(io::h5_read_strings(pf1.id(), "/cell_types"), (std::vector<std::string>{"CD4+ T/NK"}));
}

TEST(CtpredTrain, RepeatedEmptyOrMiscountedCellTypesFailBeforeTraining) {
    const auto data = scratch_path("ct_ctnames.h5");
    write_train_set(data, 100, 5);
    struct bad_case {
        std::vector<std::string> names;
        std::string want;
    };
    for (const auto& c : {bad_case{{"T", "T"}, "entries 0 and 1, field '/cell_type': cell type 'T' is repeated"},
                          bad_case{{"T", ""}, "entry 1, field '/cell_type': empty cell type name"},
                          bad_case{{"T"}, "field '/cell_type': 1 cell type names for the 2 columns of /y"}}) {
        const auto targets = write_two_cell_types("ct_ctnames_y.h5", c.names);
        auto j = small_job(data, scratch_path("ct_ctnames_w.h5"));
        j.targets = targets + ":/y";
        j.opts.lr = 1e30; // would diverge in epoch 1: the name check must come first
        const auto msg = error_of([&] { ct::run_train(j); });
        EXPECT_THAT(msg, ::testing::HasSubstr(targets + ", " + c.want));
        EXPECT_FALSE(exists(j.out));
    }
}

TEST(CtpredTrain, UnknownOrEmptyCellTypeSelectionIsAUsageError) {
    const auto data = scratch_path("ct_sel.h5");
    write_train_set(data, 100, 5);
    const auto targets = write_two_cell_types("ct_sel_y.h5", {"Tcell", "Bcell"});
    auto j = small_job(data, scratch_path("ct_sel_w.h5"));
    j.targets = targets + ":/y";
    j.cell_types = "Tcell,Nope";
    auto msg = scpx::test::message_of<scpx::usage_error>([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("no cell type 'Nope' in " + targets + ":/y; available: Tcell, Bcell"));
    j.cell_types = ",";
    msg = scpx::test::message_of<scpx::usage_error>([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("names no cell type"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredTrain, NonPositiveOrNonFiniteLrAndWeightDecayAreUsageErrors) {
    const auto data = scratch_path("ct_lr.h5");
    write_train_set(data, 100, 5);
    for (double lr : {-1.0, 0.0, std::nan(""), HUGE_VAL}) {
        auto j = small_job(data, scratch_path("ct_lr_w.h5"));
        j.opts.lr = lr;
        EXPECT_THAT(scpx::test::message_of<scpx::usage_error>([&] { ct::run_train(j); }),
                    ::testing::HasSubstr("--lr must be a finite number > 0"))
            << lr;
        EXPECT_FALSE(exists(j.out));
    }
    for (double wd : {-1e-3, HUGE_VAL, std::nan("")}) {
        auto j = small_job(data, scratch_path("ct_lr_w.h5"));
        j.opts.weight_decay = wd;
        EXPECT_THAT(scpx::test::message_of<scpx::usage_error>([&] { ct::run_train(j); }),
                    ::testing::HasSubstr("--weight-decay must be a finite number >= 0"))
            << wd;
        EXPECT_FALSE(exists(j.out));
    }
}

TEST(CtpredTrain, DivergingRunFailsNamingCellTypeAndEpochAndWritesNothing) {
    const auto data = scratch_path("ct_diverge.h5");
    write_train_set(data, 100, 5);
    const auto targets = write_two_cell_types("ct_diverge_y.h5", {"Tcell", "Bcell"});
    auto j = small_job(data, scratch_path("ct_diverge_w.h5"));
    j.targets = targets + ":/y";
    j.opts.lr = 1e30;
    const auto msg = error_of([&] { ct::run_train(j); });
    EXPECT_THAT(msg, ::testing::HasSubstr("cell type Tcell: training diverged in epoch 1"));
    EXPECT_THAT(msg, ::testing::HasSubstr("nothing written"));
    EXPECT_FALSE(exists(j.out));
}

TEST(CtpredPredict, TabNewlineOrDuplicateIdsAreErrors) {
    const auto data = scratch_path("ct_ids_train.h5");
    write_train_set(data, 60, 4);
    auto j = small_job(data, scratch_path("ct_ids_w.h5"));
    ct::run_train(j);
    const auto x = io::h5_read<float>(io::h5_ref{data, "/X"}, 2).data;
    std::vector<float> x3(x);
    x3.insert(x3.end(), x.begin(), x.end());
    std::vector<std::string> genes;
    for (int i = 0; i < 60; ++i) genes.push_back("G" + std::to_string(i));
    struct bad_case {
        std::vector<std::string> samples, genes;
        std::string want;
    };
    const auto tab_gene = [&] { auto g = genes; g[5] = "G5\tx"; return g; }();
    for (const auto& c : {bad_case{{"s1", "s1"}, genes, "entries 0 and 1, field '/sample_id': duplicate sample id 's1'"},
                          bad_case{{"s1", "s\n2"}, genes, "entry 1, field '/sample_id': sample id contains a tab"},
                          bad_case{{"s1", "s2"}, tab_gene, "entry 5, field '/gene_id': gene id contains a tab"}}) {
        const auto feat = scratch_path("ct_ids_features.h5");
        {
            auto f = io::h5_create_file(feat);
            io::h5_write<float>(f.id(), "/X", {2, 60, 4}, x3.data());
            io::h5_write_strings(f.id(), "/sample_id", c.samples);
            io::h5_write_strings(f.id(), "/gene_id", c.genes);
            f.close();
        }
        ct::predict_job p;
        p.features = feat + ":/X";
        p.weights = j.out;
        p.out = scratch_path("ct_ids_pred");
        for (const char* ext : {".h5", ".model.tsv"}) scratch_path(std::string("ct_ids_pred") + ext);
        const auto msg = error_of([&] { ct::run_predict(p); });
        EXPECT_THAT(msg, ::testing::HasSubstr(feat + ", " + c.want));
        EXPECT_FALSE(exists(p.out + ".h5"));
        EXPECT_FALSE(exists(p.out + ".model.tsv"));
    }
}

TEST(CtpredPredict, NonFiniteWeightNamesFileDatasetAndIndex) {
    const auto data = scratch_path("ct_nanw_train.h5");
    write_train_set(data, 60, 4);
    auto j = small_job(data, scratch_path("ct_nanw_w.h5"));
    ct::run_train(j);
    {
        // Overwrite one element of the checkpoint's first weight with NaN.
        const hid_t f = H5Fopen(j.out.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        ASSERT_GE(f, 0);
        const hid_t ds = H5Dopen2(f, "/best/net.0.weight", H5P_DEFAULT);
        ASSERT_GE(ds, 0);
        std::vector<float> w(8 * 4);
        ASSERT_GE(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data()), 0);
        w[1 * 4 + 2] = std::nanf("");
        ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data()), 0);
        H5Dclose(ds);
        H5Fclose(f);
    }
    ct::predict_job p;
    p.features = data + ":/X";
    p.weights = j.out;
    p.out = scratch_path("ct_nanw_pred");
    for (const char* ext : {".h5", ".model.tsv"}) scratch_path(std::string("ct_nanw_pred") + ext); // clear old runs
    const auto msg = error_of([&] { ct::run_predict(p); });
    EXPECT_THAT(msg, ::testing::HasSubstr(j.out + ", index [1, 2], field '/best/net.0.weight': weight is not finite"));
    EXPECT_FALSE(exists(p.out + ".h5"));
    p.use_final = true; // the final weights are intact
    ct::run_predict(p);
    EXPECT_TRUE(exists(p.out + ".h5"));
}
