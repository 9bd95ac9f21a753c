#include "scpx/io/predictdb_model.hpp"

#include "io_test_util.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <dirent.h>
#include <set>
#include <stdexcept>

namespace {

using scpx::io::db_number;
using scpx::io::predictdb_extra;
using scpx::io::predictdb_model;
using scpx::io::read_predictdb_model;

// Creates a fresh SQLite file and runs `sql` in it.
void make_db(const std::string& path, const std::string& sql) {
    std::remove(path.c_str());
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("test: open " + path);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    if (rc != SQLITE_OK) throw std::runtime_error("test: " + msg);
}

// Runs one query and returns all cells of all rows joined by '|' and rows by '\n'.
std::string query(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(s); ++i) {
                const auto* t = sqlite3_column_text(s, i);
                out += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
            }
            out += "\n";
        }
    } else {
        out = std::string("ERROR: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

const char* kV6Schema =
    "CREATE TABLE extra (gene TEXT, genename TEXT, `pred.perf.R2` REAL, `n.snps.in.model` INTEGER,"
    " `pred.perf.pval` REAL, `pred.perf.qval` REAL);"
    "CREATE TABLE weights (rsid TEXT, gene TEXT, weight REAL, ref_allele TEXT, eff_allele TEXT);";

TEST(PredictdbModel, ReadsGroupedWeightsAndExtraInOrder) {
    const auto path = scpx::test::scratch_path("model_small.db");
    // n.snps.in.model untyped, so each value keeps its storage class: a REAL one is printed
    // "2.0" by MetaXcan, an INTEGER one "2".
    make_db(path,
            "CREATE TABLE extra (gene TEXT, genename TEXT, `pred.perf.R2` REAL, `n.snps.in.model`,"
            " `pred.perf.pval` REAL, `pred.perf.qval` REAL);"
            "CREATE TABLE weights (rsid TEXT, gene TEXT, weight REAL, ref_allele TEXT, eff_allele TEXT);"
            "INSERT INTO weights VALUES ('rs3','GB',0.3,'A','G'),('rs1','GA',-0.1,'C','T'),"
            "('rs2','GB',0.2,'T','C'),('rs4','GA',0.4,'G','A');"
            "INSERT INTO extra VALUES ('GB','nameB',0.2,CAST(2 AS INTEGER),0.01,NULL),"
            "('GA','nameA',0.1,2.0,0.02,0.5);");
    const auto m = read_predictdb_model(path);
    ASSERT_EQ(m.genes, (std::vector<std::string>{"GA", "GB"}));
    ASSERT_EQ(m.gene_begin, (std::vector<std::size_t>{0, 2, 4}));
    // Storage order within a gene.
    EXPECT_EQ(m.rsid, (std::vector<std::string>{"rs1", "rs4", "rs3", "rs2"}));
    EXPECT_EQ(m.weight, (std::vector<double>{-0.1, 0.4, 0.3, 0.2}));
    EXPECT_EQ(m.eff_allele[0], "T");
    EXPECT_EQ(m.ref_allele[0], "C");
    EXPECT_FALSE(m.has_varid);
    EXPECT_FALSE(m.has_phi);
    ASSERT_EQ(m.extra.size(), 2u);
    EXPECT_EQ(m.extra[0].gene, "GA"); // ORDER BY gene
    EXPECT_EQ(m.extra[0].genename, "nameA");
    EXPECT_FALSE(m.extra[0].n_snps_in_model.is_integer); // stored REAL 2.0 → MetaXcan prints 2.0
    EXPECT_TRUE(m.extra[1].n_snps_in_model.is_integer);
    EXPECT_EQ(m.extra[1].n_snps_in_model.value, 2.0);
    EXPECT_TRUE(m.extra[1].pred_perf_qval.is_null);
    EXPECT_EQ(m.extra[0].pred_perf_qval.value, 0.5);
    EXPECT_TRUE(m.extra[0].cv_mse.is_null); // not in a v6p table
    EXPECT_EQ(m.find_gene("GB"), 1u);
    EXPECT_EQ(m.find_gene("GC"), predictdb_model::npos);
    EXPECT_EQ(m.find_extra("GA"), 0u);
}

TEST(PredictdbModel, DuplicatedWeightKeepsLastValueAtFirstPosition) {
    const auto path = scpx::test::scratch_path("model_dup.db");
    make_db(path, std::string(kV6Schema) +
                      "INSERT INTO weights VALUES ('rs1','G',0.1,'A','G'),('rs2','G',0.2,'A','G'),"
                      "('rs1','G',0.9,'G','A'),('rs1','H',0.5,'A','G');"
                      "INSERT INTO extra VALUES ('G','g',0.1,2,0.01,0.01);");
    const auto m = read_predictdb_model(path);
    ASSERT_EQ(m.n_weights(), 3u);
    EXPECT_EQ(m.n_duplicate_weights, 1u);
    EXPECT_EQ(m.rsid[0], "rs1");
    EXPECT_EQ(m.weight[0], 0.9);
    EXPECT_EQ(m.eff_allele[0], "A");
    EXPECT_EQ(m.rsid[1], "rs2");
    EXPECT_EQ(m.genes[1], "H"); // same rsid in another gene is not a duplicate
}

TEST(PredictdbModel, VarIdKeyAndNextflowColumns) {
    const auto path = scpx::test::scratch_path("model_nf.db");
    make_db(
        path,
        "CREATE TABLE weights (gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, eff_allele TEXT, weight "
        "REAL);"
        "CREATE TABLE extra (gene TEXT, genename TEXT, gene_type TEXT, alpha REAL, n_snps_in_window INTEGER,"
        " cv_mse REAL, lambda_iteration INTEGER, lambda_min REAL, `n.snps.in.model` INTEGER, cv_R2_avg REAL,"
        " cv_R2_sd REAL, in_sample_R2 REAL, cv_fisher_pval REAL, rho_avg REAL, rho_se REAL, rho_zscore REAL,"
        " `pred.perf.R2` REAL, `pred.perf.pval` REAL, `pred.perf.qval` REAL, phi REAL);"
        "INSERT INTO weights VALUES ('G','rs1','chr1_10_A_G_b38','A','G',0.5),"
        "('G','rs1','chr1_11_C_T_b38','C','T',0.25);"
        "INSERT INTO extra VALUES ('G','g','protein_coding',0.5,120,0.9,37,0.0123,2,0.1,0.01,0.2,1e-5,"
        " 0.3,0.02,5.5,0.09,1e-6,NULL,-0.5);");
    scpx::io::predictdb_read_options o;
    o.snp_key = "varID";
    const auto m = read_predictdb_model(path, o);
    EXPECT_TRUE(m.has_varid);
    EXPECT_TRUE(m.has_phi);
    ASSERT_EQ(m.n_weights(), 2u); // same rsid, different varID: not duplicates under varID key
    EXPECT_EQ(m.varid[1], "chr1_11_C_T_b38");
    const auto& e = m.extra.at(0);
    EXPECT_EQ(e.gene_type, "protein_coding");
    EXPECT_EQ(e.lambda_iteration.value, 37);
    EXPECT_EQ(e.rho_zscore.value, 5.5);
    EXPECT_EQ(e.phi.value, -0.5);
    EXPECT_TRUE(e.pred_perf_qval.is_null);
    // Under the rsid key the two rows are one SNP: the last wins.
    const auto m2 = read_predictdb_model(path);
    EXPECT_EQ(m2.n_weights(), 1u);
    EXPECT_EQ(m2.weight[0], 0.25);
}

predictdb_model sample_model() {
    predictdb_model m;
    m.add_gene("ENSG2", {"rs5", "rs3"}, {"chr1_5_A_G_b38", "chr1_3_C_T_b38"}, {"A", "C"}, {"G", "T"},
               {0.125, -1.0 / 3.0});
    m.add_gene("ENSG1", {"rs1"}, {"chr1_1_G_A_b38"}, {"G"}, {"A"}, {1e-300});
    predictdb_extra e1;
    e1.gene = "ENSG1";
    e1.genename = "ONE";
    e1.gene_type = "lincRNA";
    e1.n_snps_in_model = db_number::integer(1);
    e1.pred_perf_r2 = db_number::real(0.04);
    e1.pred_perf_pval = db_number::real(1e-9);
    e1.alpha = db_number::real(0.5);
    e1.lambda_iteration = db_number::integer(12);
    e1.phi = db_number::real(0.75);
    predictdb_extra e2 = e1;
    e2.gene = "ENSG2";
    e2.genename = "TWO";
    e2.n_snps_in_model = db_number::integer(2);
    e2.rho_avg = db_number::real(0.2);
    m.extra = {e2, e1};
    m.has_phi = true;
    scpx::io::predictdb_sample_info si;
    si.n_samples = db_number::integer(462);
    si.population = "EUR";
    m.sample_info = {si};
    scpx::io::predictdb_construction c;
    c.chromosome = db_number::integer(2);
    c.cv_seed = db_number::integer(12345);
    m.construction = {c};
    m.sort_by_gene();
    return m;
}

TEST(PredictdbModel, WriterRoundTripsWithNextflowSchemaAndIndices) {
    const auto path = scpx::test::scratch_path("model_written.db");
    const auto m = sample_model();
    ASSERT_EQ(m.genes, (std::vector<std::string>{"ENSG1", "ENSG2"}));
    scpx::io::write_predictdb_model(path, m);

    scpx::io::predictdb_read_options o;
    o.snp_key = "varID";
    const auto r = read_predictdb_model(path, o);
    EXPECT_EQ(r.genes, m.genes);
    EXPECT_EQ(r.gene_begin, m.gene_begin);
    EXPECT_EQ(r.rsid, m.rsid);
    EXPECT_EQ(r.varid, m.varid);
    EXPECT_EQ(r.ref_allele, m.ref_allele);
    EXPECT_EQ(r.eff_allele, m.eff_allele);
    EXPECT_EQ(r.weight, m.weight); // REAL is a double: exact
    EXPECT_TRUE(r.has_phi);
    ASSERT_EQ(r.extra.size(), 2u);
    EXPECT_EQ(r.extra[1].genename, "TWO");
    EXPECT_EQ(r.extra[1].rho_avg.value, 0.2);
    EXPECT_TRUE(r.extra[0].rho_avg.is_null);
    EXPECT_TRUE(r.extra[0].n_snps_in_model.is_integer);
    EXPECT_EQ(r.extra[0].lambda_iteration.value, 12);
    EXPECT_EQ(r.extra[0].phi.value, 0.75);
    ASSERT_EQ(r.sample_info.size(), 1u);
    EXPECT_EQ(r.sample_info[0].n_samples.value, 462);
    EXPECT_EQ(r.sample_info[0].population, "EUR");
    ASSERT_EQ(r.construction.size(), 1u);
    EXPECT_EQ(r.construction[0].cv_seed.value, 12345);

    EXPECT_EQ(query(path, "SELECT name FROM sqlite_master WHERE type='index' ORDER BY name"),
              "gene_model_summary\nweights_gene\nweights_rsid\nweights_rsid_gene\n");
    EXPECT_EQ(query(path, "SELECT group_concat(name, ',') FROM pragma_table_info('weights')"),
              "gene,rsid,varID,ref_allele,eff_allele,weight\n");
    EXPECT_EQ(query(path, "SELECT group_concat(name, ',') FROM pragma_table_info('extra')"),
              "gene,genename,gene_type,alpha,n_snps_in_window,cv_mse,lambda_iteration,lambda_min,"
              "n.snps.in.model,cv_R2_avg,cv_R2_sd,in_sample_R2,cv_fisher_pval,rho_avg,rho_se,rho_zscore,"
              "pred.perf.R2,pred.perf.pval,pred.perf.qval,phi\n");
    // What MetaXcan runs must work on our output.
    EXPECT_EQ(query(path, "SELECT gene, genename, `n.snps.in.model`, `pred.perf.R2`, `pred.perf.pval`, "
                          "`pred.perf.qval` FROM extra order by gene"),
              "ENSG1|ONE|1|0.04|1.0e-09|NULL\nENSG2|TWO|2|0.04|1.0e-09|NULL\n");
    // No temporary or journal left next to it.
    EXPECT_FALSE(scpx::test::exists(std::string(SCPX_TEST_SCRATCH_DIR) + "/.model_written.db.scpx-tmp"));
}

TEST(PredictdbModel, WriterRefusesOverwriteAndLeavesNoPartialFile) {
    const auto m = sample_model();
    const auto path = scpx::test::scratch_path("model_exists.db");
    scpx::test::write_text(path, "precious");
    EXPECT_THROW(scpx::io::write_predictdb_model(path, m, /*overwrite=*/false), scpx::usage_error);
    EXPECT_EQ(scpx::test::read_text(path), "precious");

    const std::string bad = scpx::test::scratch_path("no_such_model_dir") + "/x/model.db";
    EXPECT_THROW(scpx::io::write_predictdb_model(bad, m), scpx::io_error);
    EXPECT_FALSE(scpx::test::exists(bad));
}

TEST(PredictdbModel, MissingExtraTableNamesTheFile) {
    const auto path = scpx::test::scratch_path("model_noextra.db");
    make_db(path,
            "CREATE TABLE weights (rsid TEXT, gene TEXT, weight REAL, ref_allele TEXT, eff_allele TEXT);");
    scpx::test::expect_error_with([&] { read_predictdb_model(path); }, {path, "'extra'", "not found"});
}

TEST(PredictdbModel, MissingWeightsColumnListsTheColumns) {
    const auto path = scpx::test::scratch_path("model_nocol.db");
    make_db(path, "CREATE TABLE weights (rsid TEXT, gene TEXT, beta REAL, ref_allele TEXT, eff_allele TEXT);"
                  "CREATE TABLE extra (gene TEXT);");
    scpx::test::expect_error_with(
        [&] { read_predictdb_model(path); },
        {path, "field 'weight'", "'rsid', 'gene', 'beta', 'ref_allele', 'eff_allele'"});
}

TEST(PredictdbModel, NullOrTextWeightNamesRowAndField) {
    const auto path = scpx::test::scratch_path("model_nullw.db");
    make_db(path, std::string(kV6Schema) +
                      "INSERT INTO weights VALUES ('rs1','G',0.1,'A','G'),('rs2','G',NULL,'A','G');"
                      "INSERT INTO extra VALUES ('G','g',0.1,2,0.01,0.01);");
    scpx::test::expect_error_with([&] { read_predictdb_model(path); },
                                  {path, "table weights, row 2", "field 'weight'"});
    const auto path2 = scpx::test::scratch_path("model_textw.db");
    make_db(path2, std::string(kV6Schema) +
                       "INSERT INTO weights VALUES ('rs1','G','0.5','A','G'),('rs2','G','oops','A','G');"
                       "INSERT INTO extra VALUES ('G','g',0.1,2,0.01,0.01);");
    scpx::test::expect_error_with([&] { read_predictdb_model(path2); },
                                  {path2, "row 2", "field 'weight'", "oops"});
}

TEST(PredictdbModel, NotADatabaseOrMissingFile) {
    const auto path = scpx::test::scratch_path("model_text.db");
    scpx::test::write_text(path, "this is not sqlite, just some text that is long enough to be a header\n");
    scpx::test::expect_error_with([&] { read_predictdb_model(path); }, {path, "not a valid SQLite"});
    const auto none = scpx::test::scratch_path("model_absent.db");
    scpx::test::expect_error_with<scpx::missing_file_error>([&] { read_predictdb_model(none); }, {none});
    EXPECT_FALSE(scpx::test::exists(none)); // the reader must not create it
}

TEST(PredictdbModel, ReadsEveryFixtureModel) {
    const auto dir = scpx::test::shared_fixture("spredixcan/models");
    if (dir.empty()) GTEST_SKIP() << "shared fixtures not available";
    DIR* d = opendir(dir.c_str());
    ASSERT_NE(d, nullptr);
    std::vector<std::string> files;
    while (auto* ent = readdir(d)) {
        const std::string n = ent->d_name;
        if (n.size() > 3 && n.substr(n.size() - 3) == ".db") files.push_back(n);
    }
    closedir(d);
    ASSERT_EQ(files.size(), 46u);
    for (const auto& f : files) {
        SCOPED_TRACE(f);
        const auto m = read_predictdb_model(dir + "/" + f);
        EXPECT_EQ(m.has_phi, f == "TW_Whole_Blood_phi.db");
        EXPECT_EQ(m.n_duplicate_weights, 0u);
        EXPECT_EQ(m.gene_begin.size(), m.genes.size() + 1);
        EXPECT_EQ(m.gene_begin.back(), m.n_weights());
        EXPECT_TRUE(std::is_sorted(m.genes.begin(), m.genes.end()));
        if (f == "TW_Pituitary_0.5.db") {
            EXPECT_EQ(m.n_weights(), 0u);
            continue;
        }
        EXPECT_GT(m.n_weights(), 0u);
        if (f == "edge_WB.db") continue;
        // Real GTEx models: the weights of each gene match n.snps.in.model.
        for (const auto& e : m.extra) {
            const auto g = m.find_gene(e.gene);
            if (g == predictdb_model::npos) continue; // Esophagus_Muscularis: extra-only gene
            EXPECT_EQ(static_cast<double>(m.gene_begin[g + 1] - m.gene_begin[g]), e.n_snps_in_model.value)
                << e.gene;
            EXPECT_TRUE(e.n_snps_in_model.is_integer);
            EXPECT_FALSE(e.pred_perf_r2.is_null);
        }
    }
    const auto wb = read_predictdb_model(dir + "/TW_Whole_Blood_0.5.db");
    EXPECT_EQ(wb.n_weights(), 113u);
    ASSERT_EQ(wb.extra.size(), 3u);
    EXPECT_EQ(wb.extra[0].genename, "GTPBP4");
    EXPECT_EQ(wb.rsid[wb.gene_begin[0]], "rs11253273");
    EXPECT_EQ(wb.weight[wb.gene_begin[0]], -0.25005474);
    const auto esm = read_predictdb_model(dir + "/TW_Esophagus_Muscularis_0.5.db");
    EXPECT_GT(esm.extra.size(), esm.genes.size());
}

} // namespace
