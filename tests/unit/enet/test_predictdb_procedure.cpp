// The PredictDB per-gene procedure: statistics against direct computations, statuses, fold ids,
// SNP QC helpers.
#include "scpx/enet/genotype_panel.hpp"
#include "scpx/enet/predictdb.hpp"

#include "scpx/core/error.hpp"
#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <array>
#include <random>
#include <set>
#include <string>

using namespace scpx;
using namespace scpx::enet;
using namespace scpx::test;

namespace {

// Dosage-like X (0..2) and y = Xb + noise.
void make_gene(int n, int p, double signal, unsigned seed, Eigen::MatrixXd& x, Eigen::VectorXd& y) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> af(0.1, 0.5);
    std::normal_distribution<double> nd(0, 1);
    x.resize(n, p);
    for (int j = 0; j < p; ++j) {
        std::binomial_distribution<int> b(2, af(rng));
        for (int i = 0; i < n; ++i) x(i, j) = b(rng);
    }
    Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
    for (int j = 0; j < p; j += 7) beta[j] = signal * (j % 2 ? 1 : -1);
    y = x * beta;
    for (int i = 0; i < n; ++i) y[i] += nd(rng);
    const double m = y.mean();
    const double sd = std::sqrt((y.array() - m).square().sum() / (n - 1));
    y = (y.array() - m) / sd;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
    ma /= a.size();
    mb /= b.size();
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

} // namespace

TEST(PredictdbStats, CorTestPvalueMatchesR) {
    // R: cor.test(c(1,2,3,4,5,6), c(2,1,4,3,7,5))$p.value = 0.06051140336275671 (scipy pearsonr equal)
    EXPECT_NEAR(cor_test_pvalue(0.7917946548886294, 6), 0.06051140336275671, 1e-12);
    // 2 * pt(-2.4494897, 18) = 0.024769558804109703  (r = 0.5, n = 20)
    EXPECT_NEAR(cor_test_pvalue(0.5, 20), 0.024769558804109703, 1e-12);
    EXPECT_NEAR(cor_test_pvalue(-0.5, 20), 0.024769558804109703, 1e-12);
    EXPECT_DOUBLE_EQ(cor_test_pvalue(0.0, 50), 1.0);
}

TEST(PredictdbStats, FoldStatsDirect) {
    const std::vector<double> y = {0.5, -1.2, 0.3, 2.0, -0.7, 1.1, -0.4};
    const std::vector<double> p = {0.2, -0.9, 0.1, 1.2, -0.1, 0.8, 0.3};
    fold_stats s = compute_fold_stats(y, p);
    double rss = 0, yy = 0;
    for (size_t i = 0; i < y.size(); ++i) rss += (y[i] - p[i]) * (y[i] - p[i]), yy += y[i] * y[i];
    EXPECT_EQ(s.n, 7);
    EXPECT_NEAR(s.r2, 1 - rss / yy, 1e-14);
    const double r = pearson(p, y);
    EXPECT_NEAR(s.rho, r, 1e-14);
    EXPECT_NEAR(s.z, std::atanh(r) * 2.0, 1e-13); // sqrt(7 - 3)
    EXPECT_NEAR(s.pval, cor_test_pvalue(r, 7), 1e-15);

    // Constant prediction: rho 0, p 1 (fast_elasticnet.R), R2 still defined.
    fold_stats c = compute_fold_stats(y, std::vector<double>(y.size(), 0.1));
    EXPECT_EQ(c.rho, 0);
    EXPECT_EQ(c.pval, 1);
    EXPECT_EQ(c.z, 0);
    EXPECT_LT(c.r2, 1);
}

TEST(PredictdbProcedure, StatisticsMatchDirectComputation) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_gene(200, 60, 0.4, 7, x, y);
    const auto folds = draw_fold_ids(200, 10, 3, 42, "GENE1");
    gene_fit g = fit_gene(x, y, folds);
    ASSERT_EQ(g.status, gene_status::ok) << g.message;
    EXPECT_EQ(g.n_snps_in_window, 60);

    // Lambda choice and weights from the glmnet core directly.
    repeated_cv_fit r = repeated_cv(x, y, folds, path_options{}, true, 1);
    ASSERT_EQ(r.best_index, g.lambda_index);
    EXPECT_EQ(g.lambda_min, r.best_lambda);
    ASSERT_EQ(g.weights.size(), r.weights.size());
    // cvm averaged over the 3 repeats; lambda_index is the first minimum.
    for (size_t l = 0; l < g.cvm.size(); ++l) {
        const double m = (r.cvm[0][l] + r.cvm[1][l] + r.cvm[2][l]) / 3;
        EXPECT_NEAR(g.cvm[l], m, 1e-15);
        if (static_cast<int>(l) < g.lambda_index) EXPECT_GT(g.cvm[l], g.cv_mse);
        else EXPECT_GE(g.cvm[l], g.cv_mse);
    }

    // Per-fold statistics from repeat 1's out-of-fold predictions at the chosen lambda.
    std::vector<double> r2, rho;
    double zsum = 0, logp = 0;
    int k = 0;
    for (int f = 1; f <= 10; ++f) {
        std::vector<double> yf, pf;
        for (int i = 0; i < 200; ++i)
            if (folds[0][i] == f) yf.push_back(y[i]), pf.push_back(r.first.fit_preval(i, r.best_index));
        if (yf.empty()) continue;
        double rss = 0, yy = 0;
        for (size_t i = 0; i < yf.size(); ++i) rss += (yf[i] - pf[i]) * (yf[i] - pf[i]), yy += yf[i] * yf[i];
        r2.push_back(1 - rss / yy);
        const double c = pearson(pf, yf);
        rho.push_back(c);
        zsum += std::atanh(c) * std::sqrt(yf.size() - 3.0);
        logp += std::log(cor_test_pvalue(c, static_cast<int>(yf.size())));
        ++k;
    }
    ASSERT_EQ(static_cast<int>(g.folds.size()), k);
    double m = 0;
    for (double v : rho) m += v;
    m /= k;
    double sd = 0;
    for (double v : rho) sd += (v - m) * (v - m);
    sd = std::sqrt(sd / (k - 1));
    EXPECT_NEAR(g.rho_avg, m, 1e-13);
    EXPECT_NEAR(g.rho_se, sd, 1e-13);
    double m2 = 0;
    for (double v : r2) m2 += v;
    EXPECT_NEAR(g.cv_r2_avg, m2 / k, 1e-13);
    EXPECT_NEAR(g.rho_zscore, zsum / std::sqrt(k), 1e-12);
    EXPECT_NEAR(g.zscore_pval, std::erfc(std::fabs(zsum / std::sqrt(k)) / std::sqrt(2.0)), 1e-15);
    EXPECT_DOUBLE_EQ(g.pred_perf_r2(), g.rho_avg * g.rho_avg);
    // Fisher: P(chi2_{2k} > -2 sum log p); with k = 10 closed form e^{-h} sum h^i/i!.
    const double h = -logp;
    double term = 1, ssum = 1;
    for (int i = 1; i < k; ++i) term *= h / i, ssum += term;
    EXPECT_NEAR(g.cv_fisher_pval, std::exp(-h) * ssum, 1e-12 + 1e-9 * g.cv_fisher_pval);

    // In-sample R2 of the full-data fit at lambda_min, uncentred denominator.
    Eigen::VectorXd pred = Eigen::VectorXd::Constant(200, r.first.fit.a0[r.best_index]) +
                           x * r.first.fit.beta(r.best_index);
    EXPECT_NEAR(g.in_sample_r2, 1 - (y - pred).squaredNorm() / y.squaredNorm(), 1e-12);

    // Strong signal: passes the filter.
    EXPECT_GT(g.rho_avg, 0.3);
    EXPECT_TRUE(g.included);
    EXPECT_GT(g.n_snps_in_model(), 0);
}

TEST(PredictdbProcedure, NullGeneFailsFilter) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_gene(150, 40, 0.0, 11, x, y);
    gene_fit g = fit_gene(x, y, draw_fold_ids(150, 10, 3, 1, "NULL"));
    ASSERT_EQ(g.status, gene_status::ok);
    // The filter is exactly the rule; a null gene does not pass it.
    EXPECT_EQ(g.included, g.zscore_pval < 0.05 && g.rho_avg > 0.1 && g.n_snps_in_model() >= 1);
    EXPECT_FALSE(g.included);
}

// A model with no SNP at the chosen lambda: every gene-level statistic is NA, as
// fast_elasticnet.R's evaluate_performance writes (found by scripts/check_predictdb_compat.sh:
// scpx used to report an intercept-only model's R² and correlations); the folds stay recorded.
TEST(PredictdbProcedure, ZeroSnpModelHasNaStatistics) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    const std::string gene_seed = "NULL";
    gene_fit g;
    for (unsigned seed = 11; seed < 60; ++seed) {
        make_gene(150, 40, 0.0, seed, x, y);
        g = fit_gene(x, y, draw_fold_ids(150, 10, 3, seed, gene_seed));
        if (g.status == gene_status::ok && g.n_snps_in_model() == 0) break;
    }
    ASSERT_EQ(g.status, gene_status::ok);
    ASSERT_EQ(g.n_snps_in_model(), 0) << "no null gene with an empty model among the seeds tried";
    for (double v : {g.cv_r2_avg, g.cv_r2_sd, g.in_sample_r2, g.rho_avg, g.rho_se, g.rho_zscore, g.zscore_pval,
                     g.cv_fisher_pval})
        EXPECT_TRUE(std::isnan(v));
    EXPECT_FALSE(g.included);
    EXPECT_FALSE(g.folds.empty());
    EXPECT_TRUE(std::isfinite(g.cv_mse));
    EXPECT_TRUE(std::isfinite(g.lambda_min));
}

TEST(PredictdbProcedure, StatusesAreData) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_gene(60, 10, 0.5, 3, x, y);
    const auto folds = draw_fold_ids(60, 10, 3, 5, "G");

    gene_fit c = fit_gene(x, Eigen::VectorXd::Constant(60, 1.5), folds);
    EXPECT_EQ(c.status, gene_status::constant_expression);
    EXPECT_TRUE(c.weights.empty());
    EXPECT_FALSE(c.included);

    Eigen::VectorXd yn = y;
    yn[7] = std::nan("");
    EXPECT_EQ(fit_gene(x, yn, folds).status, gene_status::missing_expression);

    EXPECT_EQ(fit_gene(x.leftCols(1), y, folds).status, gene_status::too_few_snps);
    EXPECT_EQ(fit_gene(x.leftCols(0), y, folds).status, gene_status::too_few_snps);

    Eigen::MatrixXd xc = Eigen::MatrixXd::Constant(60, 5, 1.0);
    EXPECT_EQ(fit_gene(xc, y, folds).status, gene_status::too_few_snps);

    EXPECT_EQ(to_string(gene_status::not_autosomal), "not_autosomal");
    EXPECT_THROW(fit_gene(x, y.head(10), folds), usage_error);
}

TEST(PredictdbFolds, DeterministicPerGeneAndInRange) {
    auto a = draw_fold_ids(462, 10, 3, 12345, "ENSG1");
    auto b = draw_fold_ids(462, 10, 3, 12345, "ENSG1");
    auto c = draw_fold_ids(462, 10, 3, 12345, "ENSG2");
    auto d = draw_fold_ids(462, 10, 3, 12346, "ENSG1");
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_NE(a[0], a[1]);
    std::vector<int> counts(11, 0);
    for (const auto& f : a) {
        ASSERT_EQ(f.size(), 462u);
        for (int v : f) {
            ASSERT_GE(v, 1);
            ASSERT_LE(v, 10);
            counts[v]++;
        }
    }
    // With replacement: roughly uniform (1386 draws, expected 138.6 each).
    for (int v = 1; v <= 10; ++v) EXPECT_GT(counts[v], 90) << v;
    // Tiny n still gives >= 3 distinct folds.
    for (std::uint64_t s = 0; s < 20; ++s) {
        auto t = draw_fold_ids(4, 10, 1, s, "x");
        EXPECT_GE(std::set<int>(t[0].begin(), t[0].end()).size(), 3u);
    }
    EXPECT_THROW(draw_fold_ids(10, 2, 1, 1, "x"), usage_error);
}

TEST(PredictdbFolds, TableReadAndErrors) {
    const std::string p = scratch_path("folds.tsv");
    write_text(p, "sample\tr1\tr2\nA\t1\t3\nB\t2\t2\nC\t3\t1\nD\t1\t2\n");
    auto f = read_fold_id_table(p, {"D", "A", "C"});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0], (std::vector<int>{1, 1, 3}));
    EXPECT_EQ(f[1], (std::vector<int>{2, 3, 1}));
    try {
        read_fold_id_table(p, {"A", "Z"});
        FAIL();
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("'Z'"), std::string::npos) << e.what();
    }
    write_text(p, "sample\tr1\nA\t1\nB\tx\n");
    try {
        read_fold_id_table(p, {"A"});
        FAIL();
    } catch (const input_error& e) {
        EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
}

TEST(SnpQc, Helpers) {
    EXPECT_EQ(autosome_number("7"), 7);
    EXPECT_EQ(autosome_number("chr22"), 22);
    EXPECT_EQ(autosome_number("chrX"), 0);
    EXPECT_EQ(autosome_number("23"), 0);
    EXPECT_EQ(autosome_number("07"), 0);
    EXPECT_EQ(autosome_number("chr1_random"), 0);
    EXPECT_TRUE(strand_ambiguous("A", "T"));
    EXPECT_TRUE(strand_ambiguous("g", "c"));
    EXPECT_FALSE(strand_ambiguous("A", "G"));
    EXPECT_FALSE(strand_ambiguous("AT", "T"));
}

TEST(SnpQc, HweExactMatchesEnumeration) {
    // Direct: P(het = h | n, rare copies) ∝ n! / (hom_r! het! hom_c!) 2^het; p = Σ P(h') over P(h') <= P(obs).
    auto direct = [](int het, int h1, int h2) {
        const int n = het + h1 + h2;
        const int rare = 2 * std::min(h1, h2) + het;
        std::vector<double> lp;
        double obs = 0;
        for (int h = rare % 2; h <= rare; h += 2) {
            const int hr = (rare - h) / 2, hc = n - h - hr;
            if (hc < 0) continue;
            const double l = std::lgamma(n + 1.0) - std::lgamma(hr + 1.0) - std::lgamma(h + 1.0) -
                             std::lgamma(hc + 1.0) + h * std::log(2.0);
            lp.push_back(l);
            if (h == het) obs = l;
        }
        double tot = 0, pv = 0;
        for (double l : lp) tot += std::exp(l);
        for (double l : lp)
            if (l <= obs + 1e-12) pv += std::exp(l);
        return pv / tot;
    };
    for (auto [a, b, c] : std::vector<std::array<int, 3>>{{50, 25, 25}, {10, 40, 50}, {0, 50, 50}, {57, 14, 29}, {1, 98, 1}}) {
        EXPECT_NEAR(hwe_exact_pvalue(a, b, c), direct(a, b, c), 1e-10) << a << " " << b << " " << c;
    }
    EXPECT_LT(hwe_exact_pvalue(0, 50, 50), 1e-20);
    EXPECT_GT(hwe_exact_pvalue(50, 25, 25), 0.5);
}
