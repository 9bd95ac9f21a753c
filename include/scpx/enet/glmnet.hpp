#pragma once
/// @file glmnet.hpp
/// Gaussian elastic net equal to R glmnet 4.1-6 (`glmnet(x, y, alpha)` with standardize = TRUE,
/// intercept = TRUE, unit weights and penalty factors), its `cv.glmnet` (type.measure = "mse",
/// given fold ids) and the PredictDb-nextflow k-repeat lambda choice.
///
/// glmnet's default output is not the exact optimum (it stops when max (Δβ̃)² < thresh on the
/// standardized scale), so matching it means copying its algorithm step by step: the same
/// standardization (population sd of x and y), lambda path, coordinate order, active-set cycling,
/// strong rules (naive mode) or cached gram columns (covariance mode), warm starts and stopping
/// rule. See /work/shared/docs/elastic_net.md §2.
///
/// Data problems (constant expression, fewer than 2 usable SNPs, no convergence) are reported as a
/// fit_status in the result, never thrown: a gene that cannot be fitted is an ordinary outcome in
/// a 20,000-gene run. Programming errors (mismatched sizes, bad fold ids) throw scpx::usage_error.

#include <Eigen/Core>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scpx::enet {

/// Outcome of a fit. Only `ok` and `no_convergence` carry coefficients.
enum class fit_status {
    ok,                  ///< path computed
    too_few_snps,        ///< fewer than 2 SNP columns, or all of them constant (glmnet error 7777)
    constant_expression, ///< y has zero variance (glmnet: "y is constant")
    no_convergence       ///< maxit passes reached; the lambdas fitted before that are returned
};

/// "ok", "too_few_snps", "constant_expression", "no_convergence".
std::string_view to_string(fit_status s);

/// glmnet's `type.gaussian`.
enum class gaussian_type {
    automatic,  ///< covariance when nvars < 500, else naive (glmnet's default)
    covariance, ///< cached inner products <x̃_j, x̃_k> of ever-active variables, gradient updates
    naive       ///< residual updates with sequential strong rules
};

/// Settings of one `glmnet()` call; defaults are glmnet's.
struct path_options {
    double alpha = 0.5;            ///< elastic-net mixing (1 = lasso)
    int nlambda = 100;             ///< length of the automatic path
    double lambda_min_ratio = -1;  ///< < 0: 0.01 if nobs < nvars else 1e-4
    std::vector<double> lambda;    ///< user grid (any order, used decreasing); empty: automatic path
    double thresh = 1e-7;          ///< stop a coordinate-descent loop when max (Δβ̃_j)² < thresh
    int maxit = 100000;            ///< total coordinate passes allowed over the whole path
    gaussian_type type = gaussian_type::automatic;
    int dfmax = -1;                ///< < 0: nvars + 1 (stop the automatic path when df exceeds it)
    int pmax = -1;                 ///< < 0: min(2·dfmax + 20, nvars) (max ever-active variables)
    // glmnet.control() internals
    double fdev = 1e-5;            ///< stop the automatic path when the dev-ratio gain is below this
    double devmax = 0.999;         ///< ... or when dev ratio exceeds this
    double eps = 1e-6;             ///< floor of lambda_min_ratio
    double big = 9.9e35;           ///< "infinite" lambda of the first internal step
    int mnlam = 5;                 ///< no early termination before this many lambdas
    /// Naive mode: skip gradients whose comparison a proven bound already decides (same output
    /// bit for bit; false only to measure or verify that).
    bool screening = true;
};

/// One fitted path, coefficients on the original (unstandardized) scale.
struct path_fit {
    fit_status status = fit_status::ok;
    std::string message;               ///< why, when status != ok
    int nobs = 0;
    int nvars = 0;
    bool covariance_mode = false;      ///< which algorithm ran
    bool user_lambda = false;
    std::vector<double> lambda;        ///< decreasing; automatic path: first value as R's fix.lam
    std::vector<double> a0;            ///< intercepts
    std::vector<int> df;               ///< non-zero coefficients per lambda
    std::vector<double> dev_ratio;     ///< 1 - RSS/nulldev on the training data
    double nulldev = 0;                ///< Σ (y - ȳ)²
    int npasses = 0;                   ///< coordinate passes over the whole path
    std::vector<int> vars;             ///< ever-active columns (0-based), in order of entry
    Eigen::MatrixXd coef;              ///< vars.size() × lambda.size(); row r is column vars[r]

    int size() const { return static_cast<int>(lambda.size()); }
    /// Dense coefficient vector (length nvars) at lambda index l.
    Eigen::VectorXd beta(int l) const;
    /// (column, coefficient) pairs with coefficient != 0 at lambda index l, by column.
    std::vector<std::pair<int, double>> nonzero(int l) const;
};

/// glmnet(x, y, alpha, ...): x is nobs × nvars raw dosages (column-major), y the response.
/// @throws usage_error when sizes disagree or options are invalid (not for data problems)
path_fit fit_path(const Eigen::Ref<const Eigen::MatrixXd>& x,
                  const Eigen::Ref<const Eigen::VectorXd>& y, const path_options& opt = {});

/// glmnet(x[rows, ], y[rows], ...): the path on some samples only (a cv.glmnet fold's training
/// rows), taken straight from x without a copy of the sub-matrix.
/// @throws usage_error as fit_path, and for a row index outside x
path_fit fit_path_rows(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                       const std::vector<int>& rows, const path_options& opt = {});

/// The first lambda of the automatic path by its closed formula:
/// max_j |Σ_i (x_ij - x̄_j)(y_i - ȳ)| / (n · sd_pop(x_j) · max(alpha, 1e-3)); constant columns skipped.
double lambda_max(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  double alpha);

/// R glmnet's lambda.interp for a decreasing `lambda` and one value s: the prediction at s is
/// frac · solution[left] + (1 - frac) · solution[right] (0-based indices; clamped at the ends).
struct lambda_weight {
    int left = 0;
    int right = 0;
    double frac = 1;
};
lambda_weight lambda_interp(const std::vector<double>& lambda, double s);

/// Result of one cv.glmnet(x, y, foldid = f, type.measure = "mse").
struct cv_fit {
    fit_status status = fit_status::ok;
    std::string message;
    path_fit fit;                      ///< full-data fit (glmnet.fit)
    std::vector<double> lambda;        ///< = fit.lambda
    std::vector<double> cvm;           ///< fold-size weighted mean squared error
    std::vector<double> cvsd;          ///< its standard error as cv.glmnet computes it
    std::vector<int> nzero;            ///< = fit.df
    int index_min = -1;                ///< 0-based; largest lambda with minimal cvm
    int index_1se = -1;                ///< 0-based; largest lambda with cvm ≤ cvm_min + cvsd_min
    double lambda_min = 0;
    double lambda_1se = 0;
    int nfolds = 0;
    Eigen::MatrixXd fit_preval;        ///< nobs × lambda (out-of-fold predictions), when keep
};

/// cv.glmnet with given fold ids (values 1..K, K ≥ 3, as in R). Each fold fits its own lambda
/// path on its training samples (or opt.lambda when given) and predicts its held-out samples at
/// the full-data lambdas by lambda_interp. A fold without samples is skipped.
/// @param keep    also return fit_preval
/// @param threads fit the full data and the folds on this many threads (≤ 0: all cores); the
///                result does not depend on it
/// @throws usage_error on bad fold ids or sizes
cv_fit cv_glmnet(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                 const std::vector<int>& foldid, const path_options& opt = {}, bool keep = false,
                 int threads = 1);

/// PredictDb-nextflow fast_elasticnet.R do_elastic_net(): the first cv.glmnet (fold ids
/// foldids[0]) fixes the lambda sequence, every other repeat runs cv.glmnet with lambda = that
/// sequence, cvm curves are averaged and the chosen index is the first minimum of the average.
/// Weights are the first repeat's full-data coefficients at that index.
struct repeated_cv_fit {
    fit_status status = fit_status::ok;
    std::string message;
    cv_fit first;                          ///< repeat 1 (its fit, cvsd, nzero, fit_preval)
    std::vector<std::vector<double>> cvm;  ///< cvm of each repeat
    std::vector<double> cvm_mean;          ///< their average
    int best_index = -1;                   ///< 0-based
    double best_lambda = 0;
    std::vector<std::pair<int, double>> weights; ///< non-zero coefficients at best_index
};

/// @param foldids one fold-id vector (values 1..K) per repeat; foldids.size() == 1 is plain
///                cv.glmnet with lambda.min.
/// @param threads as for cv_glmnet (the fold fits of repeats 2..k also run concurrently)
repeated_cv_fit repeated_cv(const Eigen::Ref<const Eigen::MatrixXd>& x,
                            const Eigen::Ref<const Eigen::VectorXd>& y,
                            const std::vector<std::vector<int>>& foldids, const path_options& opt = {},
                            bool keep = false, int threads = 1);

} // namespace scpx::enet
