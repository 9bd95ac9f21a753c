// glmnet 4.1-6 reference fixture (shared/fixtures/enet/case2_p2000, R 4.2.2): the path, the user
// lambda path, cv.glmnet on fixed folds and the weights at lambda.min. The solver follows glmnet's
// algorithm operation by operation, so agreement is expected at ~1e-10 or better (README).
#include "scpx/core/text.hpp"
#include "scpx/enet/glmnet.hpp"
#include "scpx/io/predictdb_text.hpp"
#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace scpx::enet {
namespace {

std::string case_dir() { return test::shared_fixture("enet/case2_p2000"); }

/// Rows of a tab-separated table (without its header line when `header`), as strings.
std::vector<std::vector<std::string>> read_table(const std::string& path, bool header = true) {
    line_reader in(path);
    std::string line;
    std::vector<std::string_view> f;
    std::vector<std::vector<std::string>> rows;
    while (in.next(line)) {
        if (header) {
            header = false;
            continue;
        }
        if (trim(line).empty()) continue;
        split_fields(line, delimiter::TAB, f);
        rows.emplace_back(f.begin(), f.end());
    }
    return rows;
}

double d(const std::string& s) { return std::stod(s); }

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

struct fixture_data {
    io::sample_matrix geno;
    Eigen::VectorXd y;
    std::vector<int> foldid;
};

const fixture_data& data() {
    static std::unique_ptr<fixture_data> cached;
    if (cached) return *cached;
    auto fd = std::make_unique<fixture_data>();
    const std::string dir = case_dir();
    fd->geno = io::read_genotype_dosages(dir + "/genotype.tsv.gz");
    std::map<std::string, double> y;
    for (const auto& r : read_table(dir + "/y_adj.tsv")) y[r[0]] = d(r[1]);
    std::map<std::string, int> f;
    for (const auto& r : read_table(dir + "/foldid.tsv")) f[r[0]] = std::stoi(r[1]);
    const auto n = fd->geno.n_samples();
    fd->y.resize(static_cast<Eigen::Index>(n));
    for (size_t i = 0; i < n; ++i) {
        fd->y(static_cast<Eigen::Index>(i)) = y.at(fd->geno.sample_ids[i]);
        fd->foldid.push_back(f.at(fd->geno.sample_ids[i]));
    }
    cached = std::move(fd);
    return *cached;
}

#define SKIP_WITHOUT_FIXTURE()                                                                     \
    if (case_dir().empty()) GTEST_SKIP() << "shared fixture enet/case2_p2000 not found"

/// Compares a fit with a `*_path.tsv` (step lambda a0 df dev_ratio) and a long-format beta file.
void expect_path_matches(const path_fit& pf, const std::string& path_tsv, const std::string& beta_tsv,
                         double tol) {
    auto rows = read_table(path_tsv);
    ASSERT_EQ(pf.size(), static_cast<int>(rows.size()));
    double max_lam = 0, max_a0 = 0, max_dev = 0;
    for (size_t l = 0; l < rows.size(); ++l) {
        max_lam = std::max(max_lam, rel(pf.lambda[l], d(rows[l][1])));
        max_a0 = std::max(max_a0, std::abs(pf.a0[l] - d(rows[l][2])));
        EXPECT_EQ(pf.df[l], std::stoi(rows[l][3])) << "step " << l + 1;
        max_dev = std::max(max_dev, std::abs(pf.dev_ratio[l] - d(rows[l][4])));
    }
    EXPECT_LT(max_lam, 1e-13);
    EXPECT_LT(max_a0, tol);
    EXPECT_LT(max_dev, tol);
    if (beta_tsv.empty()) return;
    // step snp_index varID beta (non-zero only)
    std::map<std::pair<int, int>, double> ref;
    for (const auto& r : read_table(beta_tsv)) ref[{std::stoi(r[0]) - 1, std::stoi(r[1]) - 1}] = d(r[3]);
    size_t n_mine = 0;
    double max_b = 0;
    for (int l = 0; l < pf.size(); ++l)
        for (const auto& [j, b] : pf.nonzero(l)) {
            ++n_mine;
            auto it = ref.find({l, j});
            ASSERT_TRUE(it != ref.end()) << "step " << l + 1 << " SNP " << j + 1 << " non-zero only here";
            max_b = std::max(max_b, std::abs(b - it->second));
        }
    EXPECT_EQ(n_mine, ref.size());
    EXPECT_LT(max_b, tol);
}

TEST(EnetFixture, LambdaMaxFormula) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    double lm = lambda_max(fd.geno.matrix(), fd.y, 0.5);
    line_reader in(case_dir() + "/ref/lambda_max_formula.txt");
    std::string s;
    ASSERT_TRUE(in.next(s));
    EXPECT_LT(rel(lm, d(s)), 1e-13);
    auto path = read_table(case_dir() + "/ref/default_path.tsv");
    EXPECT_LT(rel(lm, d(path[0][1])), 1e-13);
}

TEST(EnetFixture, DefaultPathMatchesGlmnet) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    path_fit pf = fit_path(fd.geno.matrix(), fd.y);
    EXPECT_EQ(pf.status, fit_status::ok);
    EXPECT_FALSE(pf.covariance_mode); // p = 2000 >= 500
    expect_path_matches(pf, case_dir() + "/ref/default_path.tsv", case_dir() + "/ref/default_beta.tsv.gz", 1e-10);
    std::map<std::string, double> info;
    for (const auto& r : read_table(case_dir() + "/ref/default_info.tsv", false)) info[r[0]] = d(r[1]);
    EXPECT_DOUBLE_EQ(pf.nulldev, info.at("nulldev"));
    EXPECT_EQ(pf.npasses, static_cast<int>(info.at("npasses")));
}

TEST(EnetFixture, UserLambdaPathMatchesGlmnet) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    path_options opt;
    line_reader in(case_dir() + "/ref/user_lambda.txt");
    std::string s;
    while (in.next(s))
        if (!trim(s).empty()) opt.lambda.push_back(d(s));
    // Given in a scrambled order: glmnet sorts them decreasing.
    std::reverse(opt.lambda.begin(), opt.lambda.end());
    path_fit pf = fit_path(fd.geno.matrix(), fd.y, opt);
    EXPECT_TRUE(pf.user_lambda);
    expect_path_matches(pf, case_dir() + "/ref/userlambda_path.tsv", case_dir() + "/ref/userlambda_beta.tsv.gz",
                        1e-10);
}

TEST(EnetFixture, FoldOwnPathMatchesGlmnet) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    std::vector<int> rows;
    for (size_t i = 0; i < fd.foldid.size(); ++i)
        if (fd.foldid[i] != 1) rows.push_back(static_cast<int>(i));
    Eigen::MatrixXd x = fd.geno.matrix()(rows, Eigen::all);
    Eigen::VectorXd y = fd.y(rows);
    path_fit pf = fit_path(x, y);
    expect_path_matches(pf, case_dir() + "/ref/cv10_fold01_path.tsv", "", 1e-10);
}

TEST(EnetFixture, Cv10MatchesCvGlmnet) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    cv_fit cf = cv_glmnet(fd.geno.matrix(), fd.y, fd.foldid, {}, true);
    ASSERT_EQ(cf.status, fit_status::ok);
    EXPECT_EQ(cf.nfolds, 10);
    auto rows = read_table(case_dir() + "/ref/cv10_cv.tsv");
    ASSERT_EQ(cf.cvm.size(), rows.size());
    double mx_cvm = 0, mx_cvsd = 0;
    for (size_t l = 0; l < rows.size(); ++l) {
        EXPECT_LT(rel(cf.lambda[l], d(rows[l][1])), 1e-13);
        mx_cvm = std::max(mx_cvm, rel(cf.cvm[l], d(rows[l][2])));
        mx_cvsd = std::max(mx_cvsd, rel(cf.cvsd[l], d(rows[l][3])));
        EXPECT_EQ(cf.nzero[l], std::stoi(rows[l][4]));
    }
    EXPECT_LT(mx_cvm, 1e-6);
    EXPECT_LT(mx_cvsd, 1e-6);

    std::map<std::string, double> sum;
    for (const auto& r : read_table(case_dir() + "/ref/cv10_cv_summary.tsv", false)) sum[r[0]] = d(r[1]);
    EXPECT_EQ(cf.index_min + 1, static_cast<int>(sum.at("index.min")));
    EXPECT_EQ(cf.index_1se + 1, static_cast<int>(sum.at("index.1se")));
    EXPECT_LT(rel(cf.lambda_min, sum.at("lambda.min")), 1e-13);
    EXPECT_LT(rel(cf.lambda_1se, sum.at("lambda.1se")), 1e-13);
    EXPECT_EQ(cf.fit_preval.rows(), fd.y.size());

    // Weights at lambda.min: same SNP set, values to 1e-10.
    std::map<std::string, double> ref;
    for (const auto& r : read_table(case_dir() + "/ref/cv10_weights_lambda_min.tsv")) ref[r[0]] = d(r[1]);
    auto w = cf.fit.nonzero(cf.index_min);
    ASSERT_EQ(w.size(), ref.size());
    double mx = 0;
    for (const auto& [j, b] : w) {
        auto it = ref.find(fd.geno.feature_ids[static_cast<size_t>(j)]);
        ASSERT_TRUE(it != ref.end()) << fd.geno.feature_ids[static_cast<size_t>(j)];
        mx = std::max(mx, std::abs(b - it->second));
    }
    EXPECT_LT(mx, 1e-10);
}

TEST(EnetFixture, TightThresholdSingleLambdaMatchesGlmnet) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    std::map<std::string, double> sum;
    for (const auto& r : read_table(case_dir() + "/ref/cv10_cv_summary.tsv", false)) sum[r[0]] = d(r[1]);
    // R: glmnet(x, y, alpha = 0.5, lambda = lambda.min, thresh = 1e-14), a single-lambda fit.
    path_options opt;
    opt.thresh = 1e-14;
    opt.lambda = {sum.at("lambda.min")};
    path_fit pf = fit_path(fd.geno.matrix(), fd.y, opt);
    ASSERT_EQ(pf.size(), 1);
    Eigen::VectorXd b = pf.beta(0);
    std::map<std::string, int> col;
    for (size_t j = 0; j < fd.geno.n_features(); ++j) col[fd.geno.feature_ids[j]] = static_cast<int>(j);
    double mx = 0;
    for (const auto& r : read_table(case_dir() + "/ref/tight_beta_lambda_min.tsv"))
        mx = std::max(mx, std::abs(b(col.at(r[0])) - d(r[1])));
    // Same algorithm, same stopping rule: bit-identical here; 1e-10 leaves room for other
    // compilers (README: an exact-optimum solver would only agree to ~1e-7).
    EXPECT_LT(mx, 1e-10);
}

TEST(EnetFixture, RepeatedCvReusesTheFirstLambdaSequence) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    // Two extra fold assignments derived deterministically from the fixture's.
    std::vector<int> f2(fd.foldid.size()), f3(fd.foldid.size());
    for (size_t i = 0; i < fd.foldid.size(); ++i) {
        f2[i] = static_cast<int>((fd.foldid[i] + 3 * i) % 10) + 1;
        f3[i] = static_cast<int>((7 * i + 1) % 10) + 1;
    }
    repeated_cv_fit r = repeated_cv(fd.geno.matrix(), fd.y, {fd.foldid, f2, f3});
    ASSERT_EQ(r.status, fit_status::ok);
    ASSERT_EQ(r.cvm.size(), 3u);
    // Repeat 1 is plain cv.glmnet; repeat 2 is cv.glmnet(lambda = lambda_seq, foldid = f2).
    path_options uopt;
    uopt.lambda = r.first.lambda;
    cv_fit c2 = cv_glmnet(fd.geno.matrix(), fd.y, f2, uopt);
    ASSERT_EQ(c2.cvm.size(), r.cvm[1].size());
    for (size_t l = 0; l < c2.cvm.size(); ++l) EXPECT_EQ(r.cvm[1][l], c2.cvm[l]);
    for (size_t l = 0; l < c2.cvm.size(); ++l)
        EXPECT_NEAR(r.cvm_mean[l], (r.cvm[0][l] + r.cvm[1][l] + r.cvm[2][l]) / 3.0, 1e-15);
    auto best = std::min_element(r.cvm_mean.begin(), r.cvm_mean.end()) - r.cvm_mean.begin();
    EXPECT_EQ(r.best_index, best);
    EXPECT_EQ(r.weights, r.first.fit.nonzero(r.best_index));
    // Repeat 1 alone is cv.glmnet: lambda.min at index 39 (1-based) with 48 SNPs.
    EXPECT_EQ(r.first.index_min, 38);
    EXPECT_EQ(r.first.fit.nonzero(38).size(), 48u);
}

// Gradient screening (naive mode) must not change a single bit: the bounds and the float
// estimates only skip dot products whose comparison they already decide. Checked on the full path
// and on a lasso path (alpha = 1, no ridge shrinkage: the most active-set changes), and on the ten
// fold paths of cv.glmnet (their out-of-fold predictions), against the unscreened run.
TEST(EnetFixture, ScreeningChangesNoBitOnFoldPaths) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    path_options on, off;
    off.screening = false;
    cv_fit a = cv_glmnet(fd.geno.matrix(), fd.y, fd.foldid, on, true);
    cv_fit b = cv_glmnet(fd.geno.matrix(), fd.y, fd.foldid, off, true);
    ASSERT_EQ(a.fit_preval.cols(), b.fit_preval.cols());
    EXPECT_TRUE((a.fit_preval.array() == b.fit_preval.array()).all());
    EXPECT_EQ(a.cvm, b.cvm);
    EXPECT_EQ(a.cvsd, b.cvsd);
}

TEST(EnetFixture, ScreeningChangesNoBit) {
    SKIP_WITHOUT_FIXTURE();
    const auto& fd = data();
    for (double alpha : {0.5, 1.0}) {
        path_options on, off;
        on.alpha = off.alpha = alpha;
        off.screening = false;
        path_fit a = fit_path(fd.geno.matrix(), fd.y, on);
        path_fit b = fit_path(fd.geno.matrix(), fd.y, off);
        ASSERT_EQ(a.size(), b.size()) << "alpha " << alpha;
        EXPECT_EQ(a.npasses, b.npasses);
        EXPECT_EQ(a.vars, b.vars);
        ASSERT_EQ(a.coef.rows(), b.coef.rows());
        EXPECT_TRUE((a.coef.array() == b.coef.array()).all()) << "alpha " << alpha;
        EXPECT_EQ(a.lambda, b.lambda);
        EXPECT_EQ(a.dev_ratio, b.dev_ratio);
    }
}

} // namespace
} // namespace scpx::enet
