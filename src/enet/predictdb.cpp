// The PredictDb-nextflow per-gene procedure (fast_elasticnet.R do_elastic_net + statistics) on top
// of the glmnet core: repeated CV, lambda choice, weights, fold statistics and the filter.
#include "scpx/enet/predictdb.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/check.hpp"
#include "scpx/core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>

namespace scpx::enet {

std::string_view to_string(gene_status s) {
    switch (s) {
    case gene_status::ok: return "ok";
    case gene_status::too_few_snps: return "too_few_snps";
    case gene_status::constant_expression: return "constant_expression";
    case gene_status::missing_expression: return "missing_expression";
    case gene_status::no_convergence: return "no_convergence";
    case gene_status::not_autosomal: return "not_autosomal";
    }
    return "unknown";
}

namespace {

// Continued fraction of the regularized incomplete beta (Lentz), for the t-test p-value.
double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        const double del = d * c;
        h *= del;
        if (std::fabs(del - 1) < 1e-16) break;
    }
    return h;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return std::exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - std::exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

// P(χ²_{2k} > x) = e^{-x/2} Σ_{i<k} (x/2)^i / i! (even degrees of freedom: closed form).
double chisq_even_sf(double x, int k) {
    if (!(x > 0)) return 1;
    const double h = x / 2;
    double term = 1, sum = 1;
    for (int i = 1; i < k; ++i) {
        term *= h / i;
        sum += term;
    }
    return std::min(1.0, std::exp(-h) * sum);
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::numeric_limits<double>::quiet_NaN() : s / static_cast<double>(v.size());
}

// R's sd(): n - 1 denominator; NA for fewer than 2 values.
double sd_of(const std::vector<double>& v) {
    if (v.size() < 2) return std::numeric_limits<double>::quiet_NaN();
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

} // namespace

double cor_test_pvalue(double r, int n) {
    if (n < 3 || !std::isfinite(r)) return std::numeric_limits<double>::quiet_NaN();
    const double df = n - 2;
    if (std::fabs(r) >= 1) return 0;
    const double t2 = r * r * df / (1 - r * r);
    // Two-sided p of t_df: I_{df/(df+t²)}(df/2, 1/2).
    return incomplete_beta(df / 2, 0.5, df / (df + t2));
}

fold_stats compute_fold_stats(const std::vector<double>& y, const std::vector<double>& pred) {
    SCPX_ASSERT(y.size() == pred.size());
    fold_stats s;
    s.n = static_cast<int>(y.size());
    double rss = 0, tss = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        rss += (y[i] - pred[i]) * (y[i] - pred[i]);
        tss += y[i] * y[i];
    }
    s.r2 = 1 - rss / tss;
    const double my = mean_of(y), mp = mean_of(pred);
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        sxy += (pred[i] - mp) * (y[i] - my);
        sxx += (pred[i] - mp) * (pred[i] - mp);
        syy += (y[i] - my) * (y[i] - my);
    }
    // sd(pred) == 0 (also a single held-out sample): R sets rho = 0 and fast_elasticnet p = 1.
    // R's sd(pred) is exactly 0 for a constant vector (its mean() is exact there); test the
    // values themselves so a rounding residue in our mean cannot make it non-zero.
    const bool constant_pred = std::adjacent_find(pred.begin(), pred.end(), std::not_equal_to<>()) == pred.end();
    if (s.n >= 2 && !constant_pred && sxx > 0 && syy > 0) {
        s.rho = sxy / std::sqrt(sxx * syy);
        s.pval = cor_test_pvalue(s.rho, s.n);
    } else {
        s.rho = 0;
        s.pval = 1;
    }
    s.z = s.n > 3 ? std::atanh(s.rho) * std::sqrt(static_cast<double>(s.n - 3)) : 0.0;
    return s;
}

gene_fit fit_gene(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  const std::vector<std::vector<int>>& foldids, const gene_fit_options& opt) {
    gene_fit g;
    g.n_samples = static_cast<int>(x.rows());
    g.n_snps_in_window = static_cast<int>(x.cols());
    g.alpha = opt.path.alpha;
    if (y.size() != x.rows())
        throw usage_error(fmt::format("enet::fit_gene: {} expression values for {} samples", y.size(), x.rows()));
    if (foldids.empty()) throw usage_error("enet::fit_gene: no fold assignment given");
    for (const auto& f : foldids)
        if (f.size() != static_cast<size_t>(x.rows()))
            throw usage_error(fmt::format("enet::fit_gene: {} fold ids for {} samples", f.size(), x.rows()));

    for (Eigen::Index i = 0; i < y.size(); ++i)
        if (!std::isfinite(y[i])) {
            g.status = gene_status::missing_expression;
            g.message = fmt::format("expression is missing or not finite for sample {}", i + 1);
            return g;
        }
    if (x.cols() < 2) {
        g.status = gene_status::too_few_snps;
        g.message = fmt::format("{} SNP(s) in the cis window, at least 2 needed", x.cols());
        return g;
    }

    repeated_cv_fit r = repeated_cv(x, y, foldids, opt.path, /*keep=*/true, opt.threads);
    g.message = r.message;
    if (r.status != fit_status::ok || r.cvm_mean.empty()) {
        switch (r.status) {
        case fit_status::too_few_snps: g.status = gene_status::too_few_snps; break;
        case fit_status::constant_expression: g.status = gene_status::constant_expression; break;
        default: g.status = gene_status::no_convergence; break;
        }
        if (g.message.empty()) g.message = std::string(enet::to_string(r.status));
        return g;
    }
    const cv_fit& c = r.first;
    g.lambda = c.lambda;
    g.cvm = r.cvm_mean;
    g.cvsd = c.cvsd;
    g.nzero = c.nzero;
    g.lambda_index = r.best_index;
    g.lambda_min = r.best_lambda;
    g.cv_mse = r.cvm_mean[static_cast<size_t>(r.best_index)];
    g.weights = r.weights;

    // Per-fold statistics from the first repeat's out-of-fold predictions at the chosen lambda.
    const std::vector<int>& f0 = foldids[0];
    const int k = *std::max_element(f0.begin(), f0.end());
    for (int fold = 1; fold <= k; ++fold) {
        std::vector<double> yf, pf;
        for (size_t i = 0; i < f0.size(); ++i)
            if (f0[i] == fold) {
                yf.push_back(y[static_cast<Eigen::Index>(i)]);
                pf.push_back(c.fit_preval(static_cast<Eigen::Index>(i), r.best_index));
            }
        // An empty fold (possible with replacement sampling) has no statistics; R would give NaN.
        if (!yf.empty()) {
            g.folds.push_back(compute_fold_stats(yf, pf));
            g.folds.back().fold = fold;
        }
    }
    if (g.weights.empty()) {
        // No SNP in the model at the chosen lambda: fast_elasticnet.R's evaluate_performance
        // reports every gene-level statistic as NA (an intercept-only model has no prediction
        // performance). The folds' own statistics above stay, as a record of the folds.
        const double na = std::numeric_limits<double>::quiet_NaN();
        g.cv_r2_avg = g.cv_r2_sd = g.in_sample_r2 = na;
        g.rho_avg = g.rho_se = g.rho_zscore = g.zscore_pval = g.cv_fisher_pval = na;
        return g;
    }
    std::vector<double> r2, rho;
    double zsum = 0, logp = 0;
    for (const fold_stats& s : g.folds) {
        r2.push_back(s.r2);
        rho.push_back(s.rho);
        zsum += s.z;
        logp += std::log(s.pval);
    }
    const int nf = static_cast<int>(g.folds.size());
    g.cv_r2_avg = mean_of(r2);
    g.cv_r2_sd = sd_of(r2);
    g.rho_avg = mean_of(rho);
    g.rho_se = sd_of(rho);
    g.rho_zscore = zsum / std::sqrt(static_cast<double>(nf));
    g.zscore_pval = std::erfc(std::fabs(g.rho_zscore) * M_SQRT1_2);
    g.cv_fisher_pval = chisq_even_sf(-2 * logp, nf);

    // In-sample R² of the full-data fit at the chosen lambda (same uncentred denominator).
    const Eigen::Index bi = r.best_index;
    double rss = 0, tss = 0;
    Eigen::VectorXd pred = Eigen::VectorXd::Constant(y.size(), c.fit.a0[static_cast<size_t>(bi)]);
    for (const auto& [j, w] : g.weights) pred += w * x.col(j);
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        rss += (y[i] - pred[i]) * (y[i] - pred[i]);
        tss += y[i] * y[i];
    }
    g.in_sample_r2 = 1 - rss / tss;
    g.included = g.zscore_pval < opt.pval_threshold && g.rho_avg > opt.rho_threshold && !g.weights.empty();
    return g;
}

std::vector<std::vector<int>> draw_fold_ids(int n, int nfolds, int n_repeats, std::uint64_t seed,
                                            std::string_view key) {
    if (n < 1 || nfolds < 3 || n_repeats < 1)
        throw usage_error(fmt::format("draw_fold_ids: need n >= 1, nfolds >= 3, repeats >= 1 (got {}, {}, {})", n,
                                      nfolds, n_repeats));
    const std::uint64_t h = fnv1a64(key);
    std::uint64_t s0 = seed;
    std::uint64_t state = splitmix64(s0) ^ h;
    const std::uint64_t m = static_cast<std::uint64_t>(nfolds);
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % m;
    std::vector<std::vector<int>> out(static_cast<size_t>(n_repeats), std::vector<int>(static_cast<size_t>(n)));
    for (auto& f : out) {
        for (;;) {
            std::set<int> seen;
            for (int& v : f) {
                std::uint64_t u;
                do u = splitmix64(state);
                while (u >= limit);
                v = 1 + static_cast<int>(u % m);
                seen.insert(v);
            }
            if (seen.size() >= 3 || n < 3) break;
        }
        // cv.glmnet's nfolds is max(foldid): the ids must reach at least 3 (n < 3 cannot).
    }
    return out;
}

std::string_view to_string(fold_rng g) { return g == fold_rng::r ? "r" : "scpx"; }

std::vector<std::vector<int>> draw_fold_ids_r(r_rng& rng, int n, int nfolds, int n_repeats) {
    if (n < 1 || nfolds < 1 || n_repeats < 1)
        throw usage_error(fmt::format("draw_fold_ids_r: need n >= 1, nfolds >= 1, repeats >= 1 (got {}, {}, {})", n,
                                      nfolds, n_repeats));
    // sample(1:nfolds, n, TRUE) = (1:nfolds)[sample.int(nfolds, n, TRUE)]: the values are the indices.
    std::vector<std::vector<int>> out;
    out.reserve(static_cast<size_t>(n_repeats));
    for (int r = 0; r < n_repeats; ++r) out.push_back(rng.sample_replace(nfolds, n));
    return out;
}

std::vector<std::vector<int>> read_fold_id_table(const std::string& path, const std::vector<std::string>& samples) {
    line_reader in(path);
    const std::string header_line(in.header("`sample` and fold-id columns"));
    const delimiter d = detect_delimiter(header_line);
    std::vector<std::string_view> f;
    split_fields(header_line, d, f);
    if (f.size() < 2) throw input_error(path, in.where(), "", "expected a sample column and at least one fold-id column");
    const std::vector<std::string> names(f.begin(), f.end());
    const size_t k = names.size() - 1;
    std::unordered_map<std::string, std::vector<int>> by_sample;
    std::unordered_map<std::string, std::string> line_of; // sample -> "line N", for messages
    std::string line;
    while (in.next(line)) {
        if (trim(line).empty()) continue;
        split_fields(line, d, f);
        if (f.size() != names.size())
            throw input_error(path, in.where(), "", fmt::format("{} fields, the header has {}", f.size(), names.size()));
        std::vector<int> ids(k);
        for (size_t c = 0; c < k; ++c) {
            const std::int64_t v = parse_int(f[c + 1], path, in.where(), names[c + 1]);
            if (v < 1 || v > 1000000)
                throw input_error(path, in.where(), names[c + 1], fmt::format("fold id must be a positive integer (got {})", v));
            ids[c] = static_cast<int>(v);
        }
        std::string s(f[0]);
        if (!by_sample.emplace(s, std::move(ids)).second)
            throw input_error(path, in.where(), names[0], "duplicated sample '" + s + "'");
        line_of.emplace(s, in.where());
    }
    std::vector<std::vector<int>> out(k, std::vector<int>(samples.size()));
    for (size_t i = 0; i < samples.size(); ++i) {
        auto it = by_sample.find(samples[i]);
        if (it == by_sample.end())
            throw input_error(path, "", names[0], "training sample '" + samples[i] + "' has no fold id");
        for (size_t c = 0; c < k; ++c) out[c][i] = it->second[c];
    }
    for (size_t c = 0; c < k; ++c) {
        const auto at = std::max_element(out[c].begin(), out[c].end());
        const int mx = samples.empty() ? 0 : *at;
        if (mx < 3) throw input_error(path, "", names[c + 1], "at least 3 folds are needed (cv.glmnet's rule)");
        // cv.glmnet takes nfolds = max(foldid) and stops when it exceeds the sample count.
        if (static_cast<std::size_t>(mx) > samples.size()) {
            const std::string& s = samples[static_cast<std::size_t>(at - out[c].begin())];
            throw input_error(path, line_of.at(s), names[c + 1],
                              fmt::format("fold id {} of sample '{}' exceeds the number of training samples ({}); "
                                          "fold ids must lie in 1..n",
                                          mx, s, samples.size()));
        }
    }
    return out;
}

} // namespace scpx::enet
