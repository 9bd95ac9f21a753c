// The inflation factor phi (enet/phi.hpp): the LD score of the predicted expression against a
// direct computation, its bias correction, and the closed form's meaning — the variance of the
// S-PrediXcan z of a gene without effect under a simulated polygenic trait.
#include "scpx/enet/phi.hpp"

#include "scpx/core/error.hpp"

#include <Eigen/Cholesky>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

using namespace scpx;
using namespace scpx::enet;

namespace {

// Dosages 0..2 of `p` SNPs in LD: each SNP's haplotype copies its left neighbour's with
// probability `copy` (a crude LD block), else draws a fresh allele at its own frequency.
Eigen::MatrixXd dosages_with_ld(int n, int p, double copy, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> af(0.1, 0.5), u(0, 1);
    std::vector<double> freq(static_cast<std::size_t>(p));
    for (double& f : freq)
        f = af(rng);
    Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, p);
    for (int i = 0; i < n; ++i)
        for (int h = 0; h < 2; ++h) {
            int allele = 0;
            for (int j = 0; j < p; ++j) {
                if (j == 0 || u(rng) >= copy) allele = u(rng) < freq[static_cast<std::size_t>(j)] ? 1 : 0;
                x(i, j) += allele;
            }
        }
    return x;
}

// Pearson correlation written out, independently of phi.cpp's centring shortcut.
double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    const double ma = a.mean(), mb = b.mean();
    double sab = 0, saa = 0, sbb = 0;
    for (Eigen::Index i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

Eigen::VectorXd predicted(const Eigen::MatrixXd& x, const std::vector<std::pair<int, double>>& w) {
    Eigen::VectorXd g = Eigen::VectorXd::Zero(x.rows());
    for (const auto& [j, wj] : w)
        g += wj * x.col(j);
    return g;
}

} // namespace

TEST(InflationPhi, LdScoreIsTheSumOfUnbiasedSquaredCorrelations) {
    const Eigen::MatrixXd x = dosages_with_ld(200, 30, 0.7, 11);
    const std::vector<std::pair<int, double>> w = {{3, 0.4}, {10, -0.25}, {22, 0.1}};
    const Eigen::VectorXd g = predicted(x, w);
    double raw = 0, unbiased = 0;
    for (int k = 0; k < x.cols(); ++k) {
        const double r = pearson(g, x.col(k));
        raw += r * r;
        unbiased += r * r - (1 - r * r) / (200 - 2);
    }
    EXPECT_NEAR(predicted_expression_ld_score(x, w, true), unbiased, 1e-10 * std::abs(unbiased));
    EXPECT_NEAR(predicted_expression_ld_score(x, w, false), raw, 1e-10 * raw);
    // The model SNPs' own correlation with g is part of it: with LD, ℓ exceeds 1.
    EXPECT_GT(raw, 1.0);
}

TEST(InflationPhi, ConstantColumnsAddNothingAndDegenerateModelsAreNan) {
    Eigen::MatrixXd x = dosages_with_ld(50, 6, 0.5, 3);
    const std::vector<std::pair<int, double>> w = {{1, 1.0}};
    const double before = predicted_expression_ld_score(x, w);
    Eigen::MatrixXd wider(50, 7);
    wider << x, Eigen::VectorXd::Constant(50, 2.0);
    EXPECT_DOUBLE_EQ(predicted_expression_ld_score(wider, w), before);

    EXPECT_TRUE(std::isnan(predicted_expression_ld_score(x, {})));             // no weights
    EXPECT_TRUE(std::isnan(predicted_expression_ld_score(x.topRows(2), w)));   // n < 3
    EXPECT_TRUE(std::isnan(predicted_expression_ld_score(wider, {{6, 0.3}}))); // g constant
    EXPECT_THROW(predicted_expression_ld_score(x, {{6, 1.0}}), usage_error);   // outside the window
}

// Independent SNPs: the truth is ℓ = Σ over the model SNPs of corr(g, x_j)² = 1 (their shares of
// var(g)); each of the other 1,998 SNPs adds ≈ 1/(n − 2) of sampling noise to the plain sum,
// which the unbiased r² removes.
TEST(InflationPhi, UnbiasedSquaredCorrelationsRemoveTheSamplingNoiseOfUnlinkedSnps) {
    const int n = 300, p = 2000;
    const Eigen::MatrixXd x = dosages_with_ld(n, p, 0.0, 5);
    const std::vector<std::pair<int, double>> w = {{100, 0.5}, {1500, 0.3}};
    const double raw = predicted_expression_ld_score(x, w, false);
    const double unbiased = predicted_expression_ld_score(x, w, true);
    EXPECT_NEAR(raw - unbiased, (p - raw) / (n - 2), 1e-9); // Σ (1 − r²)/(n − 2)
    EXPECT_GT(raw, 1.0 + 0.8 * (p - 2) / double(n - 2));    // plain sum: ≈ 1 + 6.7
    EXPECT_NEAR(unbiased, 1.0, 1.0);                        // sd ≈ 0.2 around 1
}

// What phi means: simulate GWAS z-scores of a polygenic trait over these SNPs (the LD of this
// sample is the population's, M = p SNPs carry h2), form the S-PrediXcan z of the model as
// MetaXcan does (weights scaled by the SNPs' sd over the model's sd, covariance n − 1), and
// compare its variance with 1 + N·h2·ℓ/M.
TEST(InflationPhi, ClosedFormGivesTheVarianceOfTheSPrediXcanZUnderAPolygenicTrait) {
    const int n = 400, p = 40;
    const Eigen::MatrixXd x = dosages_with_ld(n, p, 0.8, 21);
    const std::vector<std::pair<int, double>> w = {{5, 0.6}, {6, -0.2}, {20, 0.3}, {33, 0.15}};
    const double ld_score = predicted_expression_ld_score(x, w, false);

    const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
    const Eigen::MatrixXd cov = xc.transpose() * xc / double(n - 1);
    const Eigen::VectorXd sd = cov.diagonal().cwiseSqrt();
    const Eigen::MatrixXd corr = sd.cwiseInverse().asDiagonal() * cov * sd.cwiseInverse().asDiagonal();
    Eigen::VectorXd wv = Eigen::VectorXd::Zero(p);
    for (const auto& [j, wj] : w)
        wv[j] = wj;
    const double sd_g = std::sqrt(wv.dot(cov * wv));
    const Eigen::VectorXd w_hat = wv.cwiseProduct(sd) / sd_g; // S-PrediXcan's per-SNP z weights

    const double gwas_n = 2000, h2 = 0.4, m = p;
    const Eigen::MatrixXd chol = corr.llt().matrixL();
    std::mt19937_64 rng(99);
    std::normal_distribution<double> nd(0, 1);
    const int sims = 40000;
    double sum_z2 = 0;
    Eigen::VectorXd beta(p), e(p);
    for (int s = 0; s < sims; ++s) {
        for (int k = 0; k < p; ++k)
            beta[k] = nd(rng) * std::sqrt(h2 / m);
        for (int k = 0; k < p; ++k)
            e[k] = nd(rng);
        const Eigen::VectorXd z = std::sqrt(gwas_n) * (corr * beta) + chol * e;
        const double zg = w_hat.dot(z);
        sum_z2 += zg * zg;
    }
    const double simulated = sum_z2 / sims;
    const double phi = inflation_phi(ld_score, m);
    const double predicted_variance = 1 + gwas_n * h2 * phi;
    ASSERT_GT(predicted_variance, 5.0); // the test is about a strongly inflated gene
    // Var(z_g²) ≈ 2·Var(z_g)²: 40,000 draws estimate the mean within ≈ 0.7 %.
    EXPECT_NEAR(simulated / predicted_variance, 1.0, 0.03)
        << "simulated " << simulated << ", closed form " << predicted_variance;
}

TEST(InflationPhi, PhiIsTheClippedLdScoreOverM) {
    EXPECT_DOUBLE_EQ(inflation_phi(42.0, 1e6), 42e-6);
    EXPECT_DOUBLE_EQ(inflation_phi(-0.3, 1e6), 0.0);
    EXPECT_TRUE(std::isnan(inflation_phi(std::numeric_limits<double>::quiet_NaN(), 1e6)));
    EXPECT_THROW(inflation_phi(1.0, 0), usage_error);
    EXPECT_THROW(inflation_phi(1.0, -5), usage_error);
}
