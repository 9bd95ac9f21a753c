// Synthetic checks of the glmnet port that need no R: optimality (KKT) of covariance- and
// naive-mode solutions, agreement of the two modes, statuses for unusable data, constant
// columns, early path termination, maxit, lambda interpolation and fold-id validation.
#include "scpx/core/error.hpp"
#include "scpx/enet/glmnet.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace scpx::enet {
namespace {

/// Genotype-like data: dosages 0..2 with some LD between neighbours, y = sparse signal + noise.
void make_data(int n, int p, unsigned seed, Eigen::MatrixXd& x, Eigen::VectorXd& y, double noise = 1.0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> z(0.0, 1.0);
    x.resize(n, p);
    for (int j = 0; j < p; ++j) {
        double maf = 0.05 + 0.4 * u(rng);
        for (int i = 0; i < n; ++i) {
            if (j > 0 && u(rng) < 0.6) {
                x(i, j) = x(i, j - 1); // LD with the previous SNP
            } else {
                x(i, j) = (u(rng) < maf ? 1.0 : 0.0) + (u(rng) < maf ? 1.0 : 0.0);
            }
        }
    }
    y.resize(n);
    for (int i = 0; i < n; ++i) {
        y(i) = 0.4 * x(i, 3) - 0.3 * x(i, p / 2) + 0.25 * x(i, p - 2) + noise * z(rng);
    }
}

/// Largest violation of the elastic-net optimality conditions of glmnet's standardized problem
/// (x̃, ỹ, λ/ys), evaluated from the original-scale coefficients of path index l.
double kkt_violation(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const path_fit& f, int l, double alpha) {
    const double n = static_cast<double>(x.rows());
    const double ym = y.mean();
    const double ys = std::sqrt((y.array() - ym).square().sum() / n);
    Eigen::VectorXd b = f.beta(l);
    Eigen::VectorXd r = (y.array() - f.a0[static_cast<size_t>(l)]).matrix() - x * b;
    const double lam = f.lambda[static_cast<size_t>(l)] / ys;
    double worst = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double xm = x.col(j).mean();
        const double xs = std::sqrt((x.col(j).array() - xm).square().sum() / n);
        if (xs == 0) continue;
        const double g = ((x.col(j).array() - xm) / xs * r.array() / ys).sum() / n;
        const double bt = b(j) * xs / ys;
        double v;
        if (bt != 0) v = std::abs(g - lam * alpha * (bt > 0 ? 1.0 : -1.0) - lam * (1 - alpha) * bt);
        else v = std::max(0.0, std::abs(g) - lam * alpha);
        worst = std::max(worst, v);
    }
    return worst;
}

// fit_path_rows (the fold fits' entry: rows gathered while standardizing) must equal fit_path on a
// copy of those rows bit for bit, in both modes, and reject rows outside x.
TEST(EnetSmall, RowSubsetFitEqualsFitOnCopiedRows) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(120, 700, 11, x, y);
    std::vector<int> rows;
    for (int i = 0; i < 120; ++i)
        if (i % 7 != 3) rows.push_back(i);
    Eigen::MatrixXd xs(static_cast<Eigen::Index>(rows.size()), x.cols());
    Eigen::VectorXd ys(static_cast<Eigen::Index>(rows.size()));
    for (size_t r = 0; r < rows.size(); ++r) {
        xs.row(static_cast<Eigen::Index>(r)) = x.row(rows[r]);
        ys(static_cast<Eigen::Index>(r)) = y(rows[r]);
    }
    for (gaussian_type t : {gaussian_type::naive, gaussian_type::covariance}) {
        path_options opt;
        opt.type = t;
        path_fit a = fit_path_rows(x, y, rows, opt);
        path_fit b = fit_path(xs, ys, opt);
        ASSERT_EQ(a.status, fit_status::ok);
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(a.vars, b.vars);
        EXPECT_TRUE((a.coef.array() == b.coef.array()).all());
        EXPECT_EQ(a.a0, b.a0);
        EXPECT_EQ(a.lambda, b.lambda);
        EXPECT_EQ(a.npasses, b.npasses);
    }
    std::vector<int> bad = rows;
    bad.back() = 120;
    EXPECT_THROW(fit_path_rows(x, y, bad), usage_error);
    x(rows[5], 9) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(fit_path_rows(x, y, rows), usage_error);
}

TEST(EnetSmall, CovarianceModeSatisfiesKkt) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(150, 60, 1, x, y);
    path_options opt;
    opt.thresh = 1e-16;
    path_fit f = fit_path(x, y, opt);
    ASSERT_EQ(f.status, fit_status::ok);
    EXPECT_TRUE(f.covariance_mode); // p < 500
    ASSERT_GT(f.size(), 10);
    for (int l = 0; l < f.size(); l += 7) EXPECT_LT(kkt_violation(x, y, f, l, 0.5), 1e-8) << "lambda " << l;
    // At glmnet's default threshold the stopping error is visible but bounded.
    path_fit fd = fit_path(x, y);
    for (int l = 0; l < fd.size(); l += 7) EXPECT_LT(kkt_violation(x, y, fd, l, 0.5), 1e-3) << "lambda " << l;
}

TEST(EnetSmall, NaiveAndCovarianceModesAgreeAtTightThreshold) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(120, 40, 2, x, y);
    path_options a, b;
    a.thresh = b.thresh = 1e-16;
    a.type = gaussian_type::covariance;
    b.type = gaussian_type::naive;
    a.lambda_min_ratio = b.lambda_min_ratio = 0.05; // stay away from the near-OLS end
    path_fit fa = fit_path(x, y, a), fb = fit_path(x, y, b);
    EXPECT_TRUE(fa.covariance_mode);
    EXPECT_FALSE(fb.covariance_mode);
    ASSERT_EQ(fa.size(), fb.size());
    for (int l = 0; l < fa.size(); ++l) {
        EXPECT_NEAR(fa.lambda[static_cast<size_t>(l)], fb.lambda[static_cast<size_t>(l)], 1e-14);
        EXPECT_LT((fa.beta(l) - fb.beta(l)).cwiseAbs().maxCoeff(), 1e-8) << "lambda " << l;
        EXPECT_NEAR(fa.a0[static_cast<size_t>(l)], fb.a0[static_cast<size_t>(l)], 1e-8);
    }
    EXPECT_LT(kkt_violation(x, y, fb, fb.size() - 1, 0.5), 1e-8);
}

TEST(EnetSmall, LambdaMaxIsTheFirstLambdaAndZeroesEverything) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(80, 30, 3, x, y);
    path_fit f = fit_path(x, y);
    EXPECT_NEAR(f.lambda[0] / lambda_max(x, y, 0.5), 1.0, 1e-12);
    EXPECT_EQ(f.df[0], 0);
    EXPECT_NEAR(f.a0[0], y.mean(), 1e-12);
    EXPECT_GT(f.df[1], 0);
    // Geometric sequence with ratio 1e-4^(1/99) (n > p).
    EXPECT_NEAR(f.lambda[2] / f.lambda[1], std::pow(1e-4, 1.0 / 99), 1e-12);
}

TEST(EnetSmall, ConstantExpressionIsAStatus) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(50, 10, 4, x, y);
    y.setConstant(1.5);
    path_fit f = fit_path(x, y);
    EXPECT_EQ(f.status, fit_status::constant_expression);
    EXPECT_EQ(f.size(), 0);
    std::vector<int> folds(50);
    for (int i = 0; i < 50; ++i) folds[static_cast<size_t>(i)] = i % 5 + 1;
    cv_fit c = cv_glmnet(x, y, folds);
    EXPECT_EQ(c.status, fit_status::constant_expression);
    EXPECT_TRUE(c.cvm.empty());
    repeated_cv_fit r = repeated_cv(x, y, {folds});
    EXPECT_EQ(r.status, fit_status::constant_expression);
    EXPECT_TRUE(r.weights.empty());
    EXPECT_EQ(to_string(r.status), "constant_expression");
}

TEST(EnetSmall, TooFewSnpsIsAStatus) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(50, 10, 5, x, y);
    EXPECT_EQ(fit_path(x.leftCols(1), y).status, fit_status::too_few_snps);
    EXPECT_EQ(fit_path(x.leftCols(0), y).status, fit_status::too_few_snps);
    Eigen::MatrixXd c = Eigen::MatrixXd::Constant(50, 4, 1.0);
    path_fit f = fit_path(c, y);
    EXPECT_EQ(f.status, fit_status::too_few_snps);
    EXPECT_NE(f.message.find("zero variance"), std::string::npos);
}

TEST(EnetSmall, ConstantColumnsAreExcludedLikeGlmnet) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(100, 20, 6, x, y);
    Eigen::MatrixXd xc(100, 21);
    xc << x.leftCols(7), Eigen::VectorXd::Constant(100, 2.0), x.rightCols(13);
    path_fit a = fit_path(x, y), b = fit_path(xc, y);
    ASSERT_EQ(a.size(), b.size());
    for (int l = 0; l < a.size(); ++l) {
        EXPECT_EQ(a.lambda[static_cast<size_t>(l)], b.lambda[static_cast<size_t>(l)]);
        Eigen::VectorXd bb = b.beta(l);
        EXPECT_EQ(bb(7), 0.0);
        Eigen::VectorXd without(20);
        without << bb.head(7), bb.tail(13);
        EXPECT_EQ((a.beta(l) - without).cwiseAbs().maxCoeff(), 0.0);
    }
}

TEST(EnetSmall, EarlyTerminationWhenDevianceSaturates) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(100, 20, 7, x, y, 1e-3); // almost noiseless: dev ratio passes 0.999
    path_fit f = fit_path(x, y);
    ASSERT_EQ(f.status, fit_status::ok);
    EXPECT_LT(f.size(), 100);
    EXPECT_GE(f.size(), 5);
    const double last = f.dev_ratio.back(), prev = f.dev_ratio[f.dev_ratio.size() - 2];
    EXPECT_TRUE(last > 0.999 || (last - prev) / last < 1e-5);
    // A user grid is never cut short.
    path_options u;
    u.lambda = std::vector<double>(f.lambda.begin(), f.lambda.end());
    u.lambda.push_back(f.lambda.back() * 0.5);
    EXPECT_EQ(fit_path(x, y, u).size(), f.size() + 1);
}

TEST(EnetSmall, MaxitGivesNoConvergenceWithTheLambdasBefore) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(100, 30, 8, x, y);
    path_options opt;
    opt.maxit = 20;
    path_fit f = fit_path(x, y, opt);
    EXPECT_EQ(f.status, fit_status::no_convergence);
    EXPECT_LT(f.size(), 100);
    EXPECT_FALSE(f.message.empty());
}

TEST(EnetSmall, LambdaInterpMatchesR) {
    std::vector<double> lam = {1.0, 0.5, 0.25, 0.125};
    lambda_weight w = lambda_interp(lam, 0.5); // exact node
    EXPECT_EQ(w.left, 1);
    EXPECT_EQ(w.right, 1);
    EXPECT_EQ(w.frac, 1.0);
    w = lambda_interp(lam, 0.375); // halfway between nodes 1 and 2
    EXPECT_EQ(w.left, 1);
    EXPECT_EQ(w.right, 2);
    EXPECT_NEAR(w.frac, 0.5, 1e-15);
    w = lambda_interp(lam, 0.3); // prediction = frac * left + (1 - frac) * right
    EXPECT_NEAR(w.frac * 0.5 + (1 - w.frac) * 0.25, 0.3, 1e-15);
    w = lambda_interp(lam, 7.0); // clamped to the first solution
    EXPECT_EQ(w.left, 0);
    EXPECT_EQ(w.frac, 1.0);
    w = lambda_interp(lam, 0.01); // clamped to the last
    EXPECT_EQ(w.right, 3);
    EXPECT_EQ(w.left, 3);
    w = lambda_interp({0.7}, 0.3);
    EXPECT_EQ(w.left, 0);
    EXPECT_EQ(w.right, 0);
}

TEST(EnetSmall, CvFoldIdsAreValidated) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(40, 10, 9, x, y);
    std::vector<int> two(40), bad(40), shortv(39, 1);
    for (int i = 0; i < 40; ++i) {
        two[static_cast<size_t>(i)] = i % 2 + 1;
        bad[static_cast<size_t>(i)] = i % 4; // contains 0
    }
    EXPECT_THROW(cv_glmnet(x, y, two), usage_error);
    EXPECT_THROW(cv_glmnet(x, y, bad), usage_error);
    EXPECT_THROW(cv_glmnet(x, y, shortv), usage_error);
}

TEST(EnetSmall, CvCurveIsFoldSizeWeighted) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(90, 25, 10, x, y);
    std::vector<int> f(90);
    for (int i = 0; i < 90; ++i) f[static_cast<size_t>(i)] = (i < 10) ? 1 : (i < 40 ? 2 : 3 + i % 3);
    cv_fit c = cv_glmnet(x, y, f, {}, true);
    ASSERT_EQ(c.status, fit_status::ok);
    // cvm = overall mean of the out-of-fold squared errors (weights = fold sizes).
    for (size_t l = 0; l < c.cvm.size(); l += 9) {
        double s = (y - c.fit_preval.col(static_cast<Eigen::Index>(l))).squaredNorm() / 90.0;
        EXPECT_NEAR(c.cvm[l], s, 1e-12);
    }
    EXPECT_GE(c.index_1se, 0);
    EXPECT_LE(c.index_1se, c.index_min);
    EXPECT_LE(c.cvm[static_cast<size_t>(c.index_min)], *std::min_element(c.cvm.begin(), c.cvm.end()));
}

TEST(EnetSmall, ThreadsDoNotChangeTheResult) {
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    make_data(120, 30, 11, x, y);
    std::vector<int> f1(120), f2(120);
    for (int i = 0; i < 120; ++i) {
        f1[static_cast<size_t>(i)] = i % 6 + 1;
        f2[static_cast<size_t>(i)] = (i * 7 + 3) % 5 + 1;
    }
    repeated_cv_fit a = repeated_cv(x, y, {f1, f2}, {}, true, 1);
    repeated_cv_fit b = repeated_cv(x, y, {f1, f2}, {}, true, 3);
    ASSERT_EQ(a.status, fit_status::ok);
    EXPECT_EQ(a.cvm, b.cvm);
    EXPECT_EQ(a.first.cvsd, b.first.cvsd);
    EXPECT_EQ(a.best_index, b.best_index);
    EXPECT_EQ(a.weights, b.weights);
    EXPECT_EQ((a.first.fit_preval - b.first.fit_preval).cwiseAbs().maxCoeff(), 0.0);
}

} // namespace
} // namespace scpx::enet
