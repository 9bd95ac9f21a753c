#pragma once
/// @file predictdb.hpp
/// One gene of the PredictDb-nextflow elastic-net procedure (`fast_elasticnet.R`,
/// /work/shared/docs/elastic_net.md §1.4, §1.6, §1.7, §1.10) on top of the glmnet core:
/// k repeated cv.glmnet runs (alpha 0.5, fold ids drawn with replacement), lambda = first minimum
/// of the averaged cvm, weights from the full-data fit there, the cross-validated statistics from
/// the first repeat's out-of-fold predictions, and the model inclusion filter.
///
/// A gene that cannot be fitted is an ordinary outcome: its gene_status is data in the result
/// (and in every output), never an exception.

#include "scpx/enet/glmnet.hpp"
#include "scpx/enet/r_rng.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scpx::enet {

/// Outcome of one gene.
enum class gene_status {
    ok,                  ///< fitted; statistics computed (the model may still fail the filter)
    too_few_snps,        ///< fewer than 2 usable SNPs in the cis window (or all constant)
    constant_expression, ///< expression has zero variance over the training samples
    missing_expression,  ///< expression has NaN for some training sample
    no_convergence,      ///< glmnet's maxit reached in some fit: no model
    not_autosomal        ///< gene not on chromosomes 1..22 (PredictDB trains autosomes only)
};

/// "ok", "too_few_snps", "constant_expression", "missing_expression", "no_convergence", "not_autosomal".
std::string_view to_string(gene_status s);

/// Settings of the per-gene procedure; defaults are PredictDb-nextflow's.
struct gene_fit_options {
    path_options path;            ///< glmnet settings (alpha 0.5 by default)
    double pval_threshold = 0.05; ///< keep when zscore_pval < this …
    double rho_threshold = 0.1;   ///< … and rho_avg > this and >= 1 SNP in the model
    int threads = 1;              ///< threads of the CV fits (result independent of it)
};

/// Statistics of the held-out predictions of one fold (elastic_net.md §1.6).
struct fold_stats {
    int fold = 0;     ///< fold id (1-based)
    int n = 0;        ///< held-out samples
    double r2 = 0;    ///< 1 - Σ(y-ŷ)²/Σy² (PredictDB's R², uncentred denominator)
    double rho = 0;   ///< Pearson cor(ŷ, y); 0 when sd(ŷ) == 0
    double z = 0;     ///< atanh(rho)·sqrt(n-3) (0 when n <= 3)
    double pval = 1;  ///< cor.test two-sided p; 1 when sd(ŷ) == 0 (fast_elasticnet.R)
};

/// Result of one gene.
struct gene_fit {
    gene_status status = gene_status::ok;
    std::string message;        ///< why, when status != ok
    int n_samples = 0;
    int n_snps_in_window = 0;
    double alpha = 0.5;
    // CV curve (first repeat's lambda sequence; cvm averaged over the repeats)
    std::vector<double> lambda;
    std::vector<double> cvm;    ///< mean over repeats
    std::vector<double> cvsd;   ///< first repeat's cvsd
    std::vector<int> nzero;     ///< full-data df per lambda
    int lambda_index = -1;      ///< 0-based; `lambda_iteration` in the db is this + 1
    double lambda_min = 0;
    double cv_mse = 0;          ///< averaged cvm at lambda_index
    /// (column of X, weight) for the non-zero weights at lambda_index, by column.
    std::vector<std::pair<int, double>> weights;
    std::vector<fold_stats> folds; ///< first repeat, folds 1..K with at least one sample
    double cv_r2_avg = 0, cv_r2_sd = 0, in_sample_r2 = 0;
    double rho_avg = 0, rho_se = 0, rho_zscore = 0;
    double zscore_pval = 1;     ///< 2Φ(-|rho_zscore|) = pred.perf.pval
    double cv_fisher_pval = 1;  ///< P(χ²_{2k} > -2 Σ log p)
    bool included = false;      ///< zscore_pval < 0.05 and rho_avg > 0.1 and >= 1 weight

    int n_snps_in_model() const { return static_cast<int>(weights.size()); }
    double pred_perf_r2() const { return rho_avg * rho_avg; }
};

/// Runs the procedure on one gene.
/// @param x       n × p raw dosages of the cis-window SNPs (training samples)
/// @param y       n expression values
/// @param foldids one fold-id vector (1..K) per repeat, each of length n
/// @throws usage_error on mismatched sizes or bad fold ids (programming errors only)
gene_fit fit_gene(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  const std::vector<std::vector<int>>& foldids, const gene_fit_options& opt = {});

/// The statistics of one fold from its held-out y and predictions.
fold_stats compute_fold_stats(const std::vector<double>& y, const std::vector<double>& pred);

/// Two-sided p-value of Pearson's r over n pairs (R's cor.test: t = r·sqrt((n-2)/(1-r²)), t_{n-2}).
double cor_test_pvalue(double r, int n);

/// Fold ids of `n_repeats` repeats, each `sample(1:nfolds, n, replace = TRUE)` as in
/// fast_elasticnet.R, drawn from scpx's own documented generator (fold_rng::scpx; R's own stream
/// is draw_fold_ids_r): a splitmix64 stream
/// seeded with splitmix64(seed) XOR the FNV-1a 64-bit hash of `key` (the gene id), so a gene's folds
/// depend only on (seed, gene) and not on which rank or in which order it is processed. Each value
/// is 1 + (u mod nfolds) with rejection of the biased top range of u. A repeat in which fewer than
/// 3 distinct folds occur (tiny n) is redrawn, since cv.glmnet needs >= 3 folds.
std::vector<std::vector<int>> draw_fold_ids(int n, int nfolds, int n_repeats, std::uint64_t seed,
                                            std::string_view key);

/// Generator of the fold ids drawn "from --seed" (when no fold-id table is given).
enum class fold_rng {
    r,   ///< R's Mersenne-Twister + sample() in PredictDb-nextflow's order (draw_fold_ids_r)
    scpx ///< scpx's own per-(seed, gene) stream (draw_fold_ids)
};

/// "r" or "scpx".
std::string_view to_string(fold_rng g);

/// Fold ids of one gene exactly as fast_elasticnet.R draws them, continuing `rng`'s stream:
/// `for (j in 1:n_repeats) cv_fold_ids[, j] <- sample(1:nfolds, n, replace = TRUE)`.
/// Unlike draw_fold_ids nothing is redrawn: a repeat may have fewer than 3 distinct folds
/// (then cv.glmnet fails in R; the caller decides what that gene becomes).
/// @throws usage_error for n < 1, nfolds < 1 or n_repeats < 1
std::vector<std::vector<int>> draw_fold_ids_r(r_rng& rng, int n, int nfolds, int n_repeats);

/// Fold-id table: header `sample` + one column per repeat (integers 1..K), tab/space/comma
/// separated. Returns, per repeat, the ids of `samples` in that order.
/// @throws input_error (file, line, field) for non-integers, duplicated samples, a sample of
///         `samples` absent from the table, or a column with fewer than 3 folds.
std::vector<std::vector<int>> read_fold_id_table(const std::string& path, const std::vector<std::string>& samples);

} // namespace scpx::enet
