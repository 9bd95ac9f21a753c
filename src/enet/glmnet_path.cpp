// glmnet 4.1-6 gaussian elastic-net path (dense x, unit weights, standardize = TRUE,
// intercept = TRUE, penalty factors 1, no coefficient limits).
//
// The structure mirrors glmnetpp (ElnetDriver<gaussian> → ElnetPath<gaussian, cov|naive> →
// ElnetPoint) operation by operation, because glmnet's output is only defined up to its stopping
// rule: reproducing it needs the same update order, the same convergence tests and the same
// floating-point reductions (dot_e in glmnet_reductions.hpp = Eigen's SSE2 dot, as glmnetpp runs
// in R). With those, the case2 fixture (path, user-lambda path, fold path, cv10) agrees with R bit
// for bit, in both an SSE2 and an AVX2 build. Because standardize = TRUE, every included column
// has xv = 1, so the "xv" factors of glmnet's formulas are dropped (multiplying by 1.0 is exact).
//
// Speed without changing a single bit: element-wise updates are vectorised (any width gives the
// same numbers), independent dot products run four at a time (dot4_e), the naive residual update
// is fused with the next gradient (axpy_dot_e), covariance mode keeps the active rows of its
// gram cache contiguous (cact_), and a path's x̃ is built in one cache-blocked pass over the
// caller's matrix (prepare_columns: row gather for cv folds, finiteness, chkvars, Standardize1).
//
// Naive mode also skips gradients whose outcome is already known (screening with a proof, not a
// heuristic). Outside the strong set glmnet uses |<r, x̃_j>| only in comparisons: against λα in
// the KKT check and against the strong-rule threshold, both evaluated at a "sync point" (r up to
// date). Between two sync points any |<r, x̃_j>| moves by at most ‖r − r_snap‖·‖x̃_j‖ =
// ‖r − r_snap‖ (Cauchy–Schwarz; ‖x̃_j‖ = 1 after standardisation), so |g_j| when last computed
// plus the sum of those norms since then (the sync clock, rounded up) bounds it. When that bound
// already settles the comparison, the dot product is skipped; otherwise it is computed exactly as
// before. The columns the bound leaves open get a cheap estimate first: <r, x̃_j> from a
// half-precision copy of x̃ (a quarter of the bytes; the scans are memory-bound), whose error is
// bounded by ~5e-4·‖r‖; only columns whose estimate lies within that error of the threshold get the
// exact dot (0.1–0.5 % of them on the benchmark genes). The decisions, and hence every output bit,
// are those of the unscreened code (EnetFixture.ScreeningChangesNoBit*). (A bound on zero
// coordinates inside CD passes, from Σ|Δβ̃| since their last gradient, was tried and removed: on the
// case2 fixture it skipped 5.5 thousand of 8.4 million updates. So were float re-associated dots
// and gram-based active-set updates, which change bits: the active-set passes are bound by
// streaming the active columns through the caches, not by arithmetic, and the ever-active set is
// as large as n — docs/PERFORMANCE.md.)
#include "scpx/enet/glmnet.hpp"

#include "glmnet_reductions.hpp"

#include "scpx/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace scpx::enet {

std::string_view to_string(fit_status s) {
    switch (s) {
    case fit_status::ok: return "ok";
    case fit_status::too_few_snps: return "too_few_snps";
    case fit_status::constant_expression: return "constant_expression";
    case fit_status::no_convergence: return "no_convergence";
    }
    return "unknown";
}

Eigen::VectorXd path_fit::beta(int l) const {
    Eigen::VectorXd b = Eigen::VectorXd::Zero(nvars);
    for (size_t r = 0; r < vars.size(); ++r) b(vars[r]) = coef(static_cast<Eigen::Index>(r), l);
    return b;
}

std::vector<std::pair<int, double>> path_fit::nonzero(int l) const {
    std::vector<std::pair<int, double>> out;
    for (size_t r = 0; r < vars.size(); ++r) {
        double v = coef(static_cast<Eigen::Index>(r), l);
        if (v != 0.0) out.emplace_back(vars[r], v);
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

/// glmnet's Standardize1 of the listed columns of x, in place: x̄_j = <x_j, w>, then
/// x_j ← sqrt(w)(x_j − x̄_j), sd_j = sqrt(<x_j, x_j>), x_j ← x_j / sd_j (the same operations as
/// glmnetpp, column by column; four columns' reductions run side by side).
void standardize_columns(Eigen::MatrixXd& x, const int* cols, int ncols, const Eigen::VectorXd& w,
                         Eigen::VectorXd& xm, Eigen::VectorXd& xs) {
    const int n = static_cast<int>(x.rows());
    const double v = std::sqrt(w(0));
    for (int t = 0; t < ncols; t += 4) {
        const int m = std::min(4, ncols - t);
        double* c[4];
        const double* wc[4];
        for (int k = 0; k < 4; ++k) {
            c[k] = x.col(cols[t + std::min(k, m - 1)]).data();
            wc[k] = w.data();
        }
        double mean[4], ss[4];
        if (m == 4) {
            dot4_pairs_e(c, wc, n, mean);
        } else {
            for (int k = 0; k < m; ++k) mean[k] = dot_e(c[k], w.data(), n);
        }
        for (int k = 0; k < m; ++k)
            for (int i = 0; i < n; ++i) c[k][i] = v * (c[k][i] - mean[k]);
        if (m == 4) {
            dot4_pairs_e(c, c, n, ss);
        } else {
            for (int k = 0; k < m; ++k) ss[k] = dot_e(c[k], c[k], n);
        }
        for (int k = 0; k < m; ++k) {
            const int j = cols[t + k];
            const double sd = std::sqrt(ss[k]);
            for (int i = 0; i < n; ++i) c[k][i] = c[k][i] / sd;
            xm(j) = mean[k];
            xs(j) = sd;
        }
    }
}

/// Where a path's x comes from: the caller's matrix, of which the path uses the rows `rows` (a
/// fold's training samples) or, without them, all rows.
struct x_source {
    const Eigen::Ref<const Eigen::MatrixXd>& x;
    const std::vector<int>* rows = nullptr;

    int nobs() const { return static_cast<int>(rows != nullptr ? static_cast<Eigen::Index>(rows->size()) : x.rows()); }
    int nvars() const { return static_cast<int>(x.cols()); }
};

/// What prepare_columns found: any non-finite value, and glmnet's chkvars (ju: columns that vary).
struct prepared_columns {
    bool finite = true;
    int n_used = 0;
};

/// Builds the standardized x̃ of one path in xs (n × p), block by block while each block of
/// columns is in cache: copy (or gather) the rows, check finiteness, chkvars, Standardize1. One
/// pass over the caller's matrix instead of a copy, a finiteness scan and a standardisation scan.
prepared_columns prepare_columns(const x_source& src, Eigen::MatrixXd& xs, std::vector<char>& ju,
                                 const Eigen::VectorXd& w, Eigen::VectorXd& xm, Eigen::VectorXd& xsd) {
    prepared_columns out;
    const auto n = static_cast<int>(xs.rows());
    const auto p = static_cast<int>(xs.cols());
    constexpr int kBlock = 8; // 8 columns of a few hundred samples stay in L1
    int cols[kBlock];
    for (int j0 = 0; j0 < p; j0 += kBlock) {
        int ncols = 0;
        for (int j = j0; j < std::min(p, j0 + kBlock); ++j) {
            double* c = xs.col(j).data();
            const double* from = src.x.col(j).data();
            if (src.rows != nullptr) {
                const int* r = src.rows->data();
                for (int i = 0; i < n; ++i) c[i] = from[r[i]];
            } else {
                std::copy(from, from + n, c);
            }
            if (!all_finite(c, n)) out.finite = false;
            for (int i = 1; i < n; ++i)
                if (c[i] != c[0]) {
                    ju[static_cast<size_t>(j)] = 1;
                    cols[ncols++] = j;
                    break;
                }
        }
        out.n_used += ncols;
        if (out.finite) standardize_columns(xs, cols, ncols, w, xm, xsd);
    }
    return out;
}

/// Coordinate-descent state for one path: the standardized problem of glmnetpp's ElnetPoint.
/// All buffers are sized once per path; the CD loops never allocate.
class engine {
public:
    enum class rc { ok, maxit, max_active };

    engine(const Eigen::MatrixXd& xs, const std::vector<char>& ju, bool cov, double thr, int maxit,
           int nx, Eigen::VectorXd& r_or_g, bool screening)
        : x_(xs), ju_(ju), cov_(cov), thr_(thr), maxit_(maxit), nx_(nx),
          n_(static_cast<int>(xs.rows())), p_(static_cast<int>(xs.cols())),
          margin_(screening ? kBoundMargin : std::numeric_limits<double>::infinity()),
          a_(static_cast<size_t>(p_), 0.0), mm_(static_cast<size_t>(p_), 0) {
        ia_.reserve(static_cast<size_t>(std::max(nx_, 0)) + 1);
        if (cov_) {
            g_ = &r_or_g;
            // The gram cache is p × nx, filled one column per newly active variable (lazily).
            // Zero-filled so the gradient updates can run over all rows without branching on
            // excluded (constant) columns: their rows stay 0 and leave g unchanged.
            c_ = Eigen::MatrixXd::Zero(p_, std::max(nx_, 1));
            const int na = std::max(std::min(nx_, p_), 1);
            cact_.resize(na, na);
            ga_.resize(na);
            da_.resize(na);
            tmp_.resize(p_);
            todo_.assign(static_cast<size_t>(p_), 0);
        } else {
            r_ = &r_or_g;
            gabs_.assign(static_cast<size_t>(p_), 0.0);
            gstamp_.assign(static_cast<size_t>(p_), 0.0);
            gexact_.assign(static_cast<size_t>(p_), 0);
            gkey_.assign(static_cast<size_t>(p_), -std::numeric_limits<double>::infinity());
            undecided_.assign(static_cast<size_t>(p_), 0);
#if defined(SCPX_ENET_HALF_SCREEN)
            if (screening) {
                ldh_ = (n_ + 15) / 16 * 16;
                to_half(x_, ldh_, xh_);
                rf_.assign(static_cast<size_t>(ldh_), 0.0f);
            }
#endif
            rsnap_ = *r_;
            strong_.assign(static_cast<size_t>(p_), 0);
            todo_.assign(static_cast<size_t>(p_), 0);
            int m = 0;
            for (int j = 0; j < p_; ++j)
                if (ju_[static_cast<size_t>(j)]) todo_[static_cast<size_t>(m++)] = j;
            abs_grads(m);
        }
    }

    /// |gradient| used for lambda_max at the second path step.
    double grad_abs(int j) {
        if (cov_) return std::abs((*g_)(j));
        refresh_if_stale(j);
        return gabs_[static_cast<size_t>(j)];
    }

    /// ElnetPointGaussianBase::fit for one lambda (l1 = ab, l2 = dem, previous lambda alm0).
    rc fit_point(double alpha, double alm, double alm0, double ab, double dem) {
        ab_ = ab;
        dem_ = dem;
        rsq_prev_ = rsq_;
        if (!cov_) {
            double tlam = alpha * (2.0 * alm - alm0);
            sync();
            const int m = collect_undecided(tlam);
            abs_grads(m, tlam);
            for (int t = 0; t < m; ++t) {
                const int k = todo_[static_cast<size_t>(t)];
                if (gabs_[static_cast<size_t>(k)] > tlam) make_strong(k);
            }
        }
        if (iz_) {
            rc e = partial_fit();
            if (e != rc::ok) return e;
        }
        while (true) {
            if (cov_) {
                bool conv = false;
                rc e = full_pass(conv);
                if (e != rc::ok) return e;
                if (conv) return rc::ok;
            } else {
                // Full passes over the strong set until one converges and the KKT check on the
                // variables outside it passes; a non-converged pass hands over to the active set.
                bool done = false;
                while (true) {
                    if (nlp_ > maxit_) return rc::maxit;
                    bool conv = false;
                    rc e = full_pass(conv);
                    if (e != rc::ok) return e;
                    if (!conv) break;
                    if (kkt_passes()) {
                        done = true;
                        break;
                    }
                }
                if (done) return rc::ok;
            }
            rc e = partial_fit();
            if (e != rc::ok) return e;
        }
    }

    double rsq() const { return rsq_; }
    double rsq_prev() const { return rsq_prev_; }
    int nin() const { return static_cast<int>(ia_.size()); }
    int npasses() const { return nlp_; }
    const std::vector<int>& active() const { return ia_; }
    double beta(int k) const { return a_[static_cast<size_t>(k)]; }

private:
    const double* col(int j) const { return x_.data() + static_cast<std::ptrdiff_t>(j) * n_; }

    // gabs_[j] = |<r, x_j>| for the m columns listed in todo_ (left as it is), four at a time,
    // where the caller only compares it with `thr` (thr < 0: every value is wanted exactly). With
    // screening on, a half-precision estimate first settles the columns that are clearly on one
    // side of thr; gabs_ then holds an upper bound (gexact_ = 0), which keeps the clock bound
    // valid and gives the comparison glmnet's answer. Only columns within the estimate's error of
    // thr get the exact dot.
    void abs_grads(int m, double thr = -1.0) {
        flush();
        const double* r = r_->data();
        const int* list = todo_.data();
        if (thr >= 0.0 && !xh_.empty()) {
            m = screen_grads(m, thr);
            list = undecided_.data();
        }
        int t = 0;
        for (; t + 4 <= m; t += 4) {
            const int* j = &list[t];
            const double* b[4] = {col(j[0]), col(j[1]), col(j[2]), col(j[3])};
            double o[4];
            dot4_e(r, b, n_, o);
            for (int c = 0; c < 4; ++c) record(j[c], o[c]);
        }
        for (; t < m; ++t) {
            const int j = list[t];
            record(j, dot_e(r, col(j), n_));
        }
    }

    // Half-precision estimates for todo_[0..m): columns decided against thr are recorded as
    // bounds; the undecided ones are listed in undecided_ and their count returned.
    int screen_grads(int m, double thr) {
#if defined(SCPX_ENET_HALF_SCREEN)
        const double* r = r_->data();
        for (int i = 0; i < n_; ++i) rf_[static_cast<size_t>(i)] = static_cast<float>(r[i]);
        // |estimate − <x̃_j, r>| for ‖x̃_j‖ = 1, all relative to ‖r‖: x̃ rounded to half (2⁻¹¹ of
        // each value, or 2⁻²⁵ absolute below half's normal range: 2⁻²⁵·√n), r rounded to float
        // (2⁻²⁴), float sums (depth ld/16 + 4, 2⁻²⁴ each); 1 % on top covers the second-order
        // terms and the rounding of ‖r‖. margin_ covers the exact dot's own rounding.
        const double rel = 0x1p-11 + 0x1p-25 * std::sqrt(static_cast<double>(n_)) + 0x1p-24 * (ldh_ / 16.0 + 6.0);
        const double err = r_->norm() * rel * 1.01 + margin_;
        auto colh = [&](int j) { return xh_.data() + static_cast<std::ptrdiff_t>(j) * ldh_; };
        int keep = 0;
        auto settle = [&](int j, double est) {
            const double a = std::abs(est);
            if (a + err <= thr || a - err > thr) {
                gabs_[static_cast<size_t>(j)] = a + err;
                gstamp_[static_cast<size_t>(j)] = clock_;
                gexact_[static_cast<size_t>(j)] = 0;
                set_key(j);
            } else {
                undecided_[static_cast<size_t>(keep++)] = j;
            }
        };
        int t = 0;
        for (; t + 4 <= m; t += 4) {
            int j[4];
            for (int c = 0; c < 4; ++c) j[c] = todo_[static_cast<size_t>(t + c)];
            const std::uint16_t* b[4] = {colh(j[0]), colh(j[1]), colh(j[2]), colh(j[3])};
            double o[4];
            dot4_screen(rf_.data(), b, ldh_, o);
            for (int c = 0; c < 4; ++c) settle(j[c], o[c]);
        }
        for (; t < m; ++t) {
            const int j = todo_[static_cast<size_t>(t)];
            const std::uint16_t* b[4] = {colh(j), colh(j), colh(j), colh(j)};
            double o[4];
            dot4_screen(rf_.data(), b, ldh_, o);
            settle(j, o[0]);
        }
        return keep;
#else
        for (int t = 0; t < m; ++t) undecided_[static_cast<size_t>(t)] = todo_[static_cast<size_t>(t)];
        (void)thr;
        return m;
#endif
    }

    // Stores a gradient computed at the current sync point.
    void record(int j, double g) {
        gabs_[static_cast<size_t>(j)] = std::abs(g);
        gstamp_[static_cast<size_t>(j)] = clock_;
        gexact_[static_cast<size_t>(j)] = 1;
        set_key(j);
    }

    // A sync point (KKT check, strong rule): brings r up to date and advances the clock by
    // ‖r − r_snap‖, rounded up (n·u relative error at most). Between syncs, |g_j| moves by at
    // most the clock's advance.
    void sync() {
        flush();
        clock_ += (*r_ - rsnap_).norm() * (1.0 + 1e-12);
        rsnap_ = *r_;
    }

    // The bound on the |<r, x̃_j>| glmnet computes at this sync point, from the last one computed,
    // is gabs_[j] + (clock − gstamp_[j])·(1 + 1e-12) + margin; the margin covers the rounding of
    // both dot products (≤ n·u·‖r‖·‖x̃_j‖ each, ‖r‖ ≤ ‖ỹ‖ = 1). It is kept split as
    // gkey_[j] = gabs_[j] − gstamp_[j]·(1 + 1e-12) (−∞ for strong and excluded columns) so that
    // the scan over all p columns is one vectorised comparison with a per-sync cutoff.
    static constexpr double kClockSlope = 1.0 + 1e-12;

    void set_key(int j) {
        auto uj = static_cast<size_t>(j);
        gkey_[uj] = strong_[uj] || !ju_[uj] ? -std::numeric_limits<double>::infinity()
                                            : gabs_[uj] - gstamp_[uj] * kClockSlope;
    }

    void make_strong(int j) {
        strong_[static_cast<size_t>(j)] = 1;
        set_key(j);
    }

    // todo_[0..m) = the columns outside the strong set whose bound exceeds thr, in order. The
    // cutoff moves the clock and margin terms to the other side; the extra half margin absorbs the
    // rounding of that rearrangement (~1e-15 against a 1e-11 margin).
    int collect_undecided(double thr) {
        const double cutoff = thr - clock_ * kClockSlope - 1.5 * margin_;
        const double* key = gkey_.data();
        int m = 0, k = 0;
#if defined(__AVX__)
        const __m256d cut = _mm256_set1_pd(cutoff);
        for (; k + 4 <= p_; k += 4) {
            int mask = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(key + k), cut, _CMP_GT_OQ));
            while (mask != 0) {
                todo_[static_cast<size_t>(m++)] = k + __builtin_ctz(static_cast<unsigned>(mask));
                mask &= mask - 1;
            }
        }
#endif
        for (; k < p_; ++k)
            if (key[k] > cutoff) todo_[static_cast<size_t>(m++)] = k;
        return m;
    }

    void refresh_if_stale(int j) {
        sync();
        if (gstamp_[static_cast<size_t>(j)] == clock_ && gexact_[static_cast<size_t>(j)]) return;
        record(j, dot_e(r_->data(), col(j), n_));
    }

    static constexpr double kBoundMargin = 1e-11;

    // One coordinate update (ElnetPointCRTPBase::update + gaussian/naive/cov specifics).
    template <bool Full>
    rc update(int k) {
        auto uk = static_cast<size_t>(k);
        double old = a_[uk];
        double gk = cov_ ? (*g_)(k) : naive_grad(k);
        double u = gk + old;
        double v = std::abs(u) - ab_;
        double nw = 0.0;
        if (v > 0.0) nw = std::copysign(v, u) / (1.0 + dem_);
        a_[uk] = nw;
        if (old == nw) return rc::ok;
        if (Full && mm_[uk] == 0) {
            rc e = activate(k);
            if (e != rc::ok) return e;
        }
        double diff = nw - old;
        dlx_ = std::max(diff * diff, dlx_);
        rsq_ += diff * (2.0 * gk - diff);
        if (!cov_) {
            // r -= Δβ̃_k x̃_k, deferred: applied with the next gradient (naive_grad) or flush().
            pend_k_ = k;
            pend_diff_ = diff;
        } else {
            // g_j -= <x̃_j, x̃_k> Δβ̃_k for every (included) j, element-wise as glmnet.
            g_->noalias() -= diff * c_.col(mm_[uk] - 1);
        }
        return rc::ok;
    }

    // Covariance mode, one pass over the active set (glmnet's update<partial>). The active
    // variables' gradients and gram entries are kept compressed by active position (ga_, cact_),
    // so the per-update gradient loop is contiguous; the arithmetic is glmnet's, entry by entry.
    void cov_partial_pass(int nin) {
        for (int l = 0; l < nin; ++l) {
            auto uk = static_cast<size_t>(ia_[static_cast<size_t>(l)]);
            const double old = a_[uk];
            const double gk = ga_(l);
            const double u = gk + old;
            const double v = std::abs(u) - ab_;
            double nw = 0.0;
            if (v > 0.0) nw = std::copysign(v, u) / (1.0 + dem_);
            a_[uk] = nw;
            if (old == nw) continue;
            const double diff = nw - old;
            dlx_ = std::max(diff * diff, dlx_);
            rsq_ += diff * (2.0 * gk - diff);
            ga_.head(nin).noalias() -= diff * cact_.col(l).head(nin);
        }
    }

    rc activate(int k) {
        auto uk = static_cast<size_t>(k);
        if (static_cast<int>(ia_.size()) + 1 > nx_) return rc::max_active;
        ia_.push_back(k);
        const int pos = static_cast<int>(ia_.size()) - 1;
        mm_[uk] = pos + 1;
        if (cov_) {
            double* cc = c_.col(pos).data();
            int m = 0;
            for (int j = 0; j < p_; ++j) {
                auto uj = static_cast<size_t>(j);
                if (!ju_[uj]) continue;
                if (j == k) {
                    cc[j] = 1.0;
                } else if (mm_[uj] != 0) {
                    cc[j] = c_(k, mm_[uj] - 1); // symmetric entry already computed: reuse it
                } else {
                    todo_[static_cast<size_t>(m++)] = j; // <x̃_j, x̃_k>, computed below
                }
            }
            const double* xk = col(k);
            int t = 0;
            for (; t + 4 <= m; t += 4) {
                const int* j = &todo_[static_cast<size_t>(t)];
                // dot_e(x_j, x_k) = dot_e(x_k, x_j): the products are the same numbers
                const double* b[4] = {col(j[0]), col(j[1]), col(j[2]), col(j[3])};
                double o[4];
                dot4_e(xk, b, n_, o);
                for (int c = 0; c < 4; ++c) cc[j[c]] = o[c];
            }
            for (; t < m; ++t) cc[todo_[static_cast<size_t>(t)]] = dot_e(col(todo_[static_cast<size_t>(t)]), xk, n_);
            // Compressed copy for the partial passes: cact_(l, m) = C(ia[l], m).
            for (int l = 0; l < pos; ++l) {
                cact_(l, pos) = cc[ia_[static_cast<size_t>(l)]];
                cact_(pos, l) = c_(k, l);
            }
            cact_(pos, pos) = cc[k];
        }
        return rc::ok;
    }

    // <r, x̃_k> after applying the deferred residual update, if any.
    double naive_grad(int k) {
        if (pend_k_ < 0) return dot_e(r_->data(), col(k), n_);
        const int kp = pend_k_;
        pend_k_ = -1;
        return axpy_dot_e(r_->data(), pend_diff_, col(kp), col(k), n_);
    }

    // Applies the deferred residual update (element-wise: glmnet's numbers for any vector width).
    void flush() {
        if (pend_k_ < 0) return;
        r_->noalias() -= pend_diff_ * cvec_map(col(pend_k_), n_);
        pend_k_ = -1;
    }

    rc full_pass(bool& converged) {
        ++nlp_;
        dlx_ = 0.0;
        for (int k = 0; k < p_; ++k) {
            auto uk = static_cast<size_t>(k);
            if (cov_ ? !ju_[uk] : !strong_[uk]) continue;
            rc e = update<true>(k);
            if (e != rc::ok) return e;
        }
        if (!cov_) flush();
        converged = dlx_ < thr_;
        if (!converged && nlp_ > maxit_) return rc::maxit;
        return rc::ok;
    }

    rc partial_fit() {
        iz_ = true;
        const int nin = static_cast<int>(ia_.size());
        double* g = cov_ ? g_->data() : nullptr;
        if (cov_)
            for (int l = 0; l < nin; ++l) {
                const int k = ia_[static_cast<size_t>(l)];
                da_(l) = a_[static_cast<size_t>(k)];
                ga_(l) = g[k];
            }
        rc status = rc::ok;
        while (true) {
            ++nlp_;
            dlx_ = 0.0;
            if (cov_) {
                cov_partial_pass(nin);
            } else {
                for (int l = 0; l < nin; ++l) update<false>(ia_[static_cast<size_t>(l)]);
                flush();
            }
            if (dlx_ < thr_) break;
            if (nlp_ > maxit_) {
                status = rc::maxit;
                break;
            }
        }
        if (cov_ && nin > 0) {
            for (int l = 0; l < nin; ++l) g[ia_[static_cast<size_t>(l)]] = ga_(l);
            if (status != rc::ok) return status;
            // Bring the gradients of the inactive variables up to date in one go:
            // g_j += Σ_l (β̃_old - β̃_new)_l C(j, l), summed over l in order for every j (glmnet's
            // row dot product, evaluated column by column so it vectorises).
            for (int l = 0; l < nin; ++l) da_(l) -= a_[static_cast<size_t>(ia_[static_cast<size_t>(l)])];
            tmp_.noalias() = da_(0) * c_.col(0);
            for (int l = 1; l < nin; ++l) tmp_.noalias() += da_(l) * c_.col(l);
            for (int j = 0; j < p_; ++j) {
                auto uj = static_cast<size_t>(j);
                if (mm_[uj] != 0 || !ju_[uj]) continue;
                g[j] += tmp_(j);
            }
        }
        return status;
    }

    // Naive mode: recompute |g| outside the strong set; variables violating KKT join it.
    bool kkt_passes() {
        bool updated = false;
        sync();
        // Only the undecided: a bound ≤ λα proves |g_k| ≤ λα (no violation).
        const int m = collect_undecided(ab_);
        abs_grads(m, ab_);
        for (int t = 0; t < m; ++t) {
            const int k = todo_[static_cast<size_t>(t)];
            if (gabs_[static_cast<size_t>(k)] > ab_) {
                make_strong(k);
                updated = true;
            }
        }
        return !updated;
    }

    const Eigen::MatrixXd& x_;
    const std::vector<char>& ju_;
    const bool cov_;
    const double thr_;
    const int maxit_;
    const int nx_;
    const int n_, p_;
    const double margin_;    // kBoundMargin, or +inf to turn screening off (bounds never decide)

    std::vector<double> a_;  // β̃ (uncompressed)
    std::vector<int> mm_;    // 1-based position in ia_, 0 when never active
    std::vector<int> ia_;    // ever-active variables in order of entry
    double rsq_ = 0.0, rsq_prev_ = 0.0, dlx_ = 0.0, ab_ = 0.0, dem_ = 0.0;
    bool iz_ = false;
    int nlp_ = 0;

    // naive
    Eigen::VectorXd* r_ = nullptr;
    int pend_k_ = -1;         // coordinate whose residual update is deferred
    double pend_diff_ = 0.0;
    std::vector<double> gabs_;  // |<r, x̃_j>| at the sync point with clock gstamp_[j]
    std::vector<double> gstamp_;
    std::vector<double> gkey_;  // gabs_ − gstamp_·kClockSlope, −∞ when not screened (set_key)
    std::vector<char> gexact_;  // gabs_[j] is the exact |<r, x_j>| (1) or an upper bound (0)
    std::vector<std::uint16_t> xh_; // x̃ in half precision for screen_grads (empty: no estimates)
    std::vector<float> rf_;     // r rounded to float, ldh_ long (zero tail)
    int ldh_ = 0;
    std::vector<int> undecided_; // scratch of screen_grads: columns that need the exact dot
    double clock_ = 0.0;        // Σ over sync intervals of ‖r change‖, rounded up
    Eigen::VectorXd rsnap_;     // r at the last sync
    std::vector<char> strong_;
    std::vector<int> todo_; // scratch: columns whose |gradient| is due
    // covariance
    Eigen::VectorXd* g_ = nullptr;
    Eigen::MatrixXd c_;     // p × nx: C(j, l) = <x̃_j, x̃_ia[l]>
    Eigen::MatrixXd cact_;  // nx × nx: C(ia[m], l), the active rows of c_, contiguous
    Eigen::VectorXd ga_;    // gradients of the active variables during partial passes
    Eigen::VectorXd da_;
    Eigen::VectorXd tmp_;
};

path_fit failed(path_fit f, fit_status s, std::string msg) {
    f.status = s;
    f.message = std::move(msg);
    return f;
}

} // namespace

double lambda_max(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  double alpha) {
    const auto n = static_cast<double>(x.rows());
    double ym = y.mean();
    double best = 0.0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
        double xm = x.col(j).mean();
        double ss = (x.col(j).array() - xm).square().sum() / n;
        if (ss <= 0.0) continue;
        double c = ((x.col(j).array() - xm) * (y.array() - ym)).sum();
        best = std::max(best, std::abs(c) / (n * std::sqrt(ss)));
    }
    return best / std::max(alpha, 1e-3);
}

namespace {

/// glmnet() on the rows of x that `src` names; y is already restricted to them.
path_fit fit_path_impl(const x_source& src, const Eigen::Ref<const Eigen::VectorXd>& y, const path_options& opt) {
    path_fit out;
    const int n = src.nobs();
    const int p = src.nvars();
    out.nobs = n;
    out.nvars = p;
    if (y.size() != n)
        throw usage_error(fmt::format("enet::fit_path: x has {} rows but y has {} values", n, y.size()));
    if (!(opt.alpha >= 0.0 && opt.alpha <= 1.0))
        throw usage_error(fmt::format("enet::fit_path: alpha must be in [0, 1] (got {})", opt.alpha));
    if (opt.lambda.empty() && opt.nlambda < 1)
        throw usage_error("enet::fit_path: nlambda must be at least 1");
    for (double l : opt.lambda)
        if (!(l >= 0.0)) throw usage_error("enet::fit_path: lambdas must be non-negative");
    if (n < 2) return failed(std::move(out), fit_status::too_few_snps, "fewer than 2 samples");

    // Standardize1 (w = 1/n, x̃ = sqrt(w)(x - x̄)/xs, Eigen reductions as glmnetpp) with the
    // finiteness check and chkvars (constant columns are excluded, β = 0) in the same pass; the
    // checks are reported below in glmnet's order.
    const Eigen::VectorXd w = Eigen::VectorXd::Ones(n) / static_cast<double>(n);
    Eigen::MatrixXd xs_mat(n, p);
    std::vector<char> ju(static_cast<size_t>(p), 0);
    Eigen::VectorXd xm = Eigen::VectorXd::Zero(p), xs = Eigen::VectorXd::Zero(p);
    const prepared_columns prep = prepare_columns(src, xs_mat, ju, w, xm, xs);
    if (!prep.finite || !y.allFinite())
        throw usage_error("enet::fit_path: x and y must be finite (no missing values)");

    // R's elnet(): null deviance, and the "y is constant" error.
    const double ybar = y.mean();
    out.nulldev = (y.array() - ybar).square().sum();
    if (p < 2) return failed(std::move(out), fit_status::too_few_snps, fmt::format("{} SNP column(s); glmnet needs at least 2", p));
    if (out.nulldev == 0.0) return failed(std::move(out), fit_status::constant_expression, "y is constant");
    if (prep.n_used == 0)
        return failed(std::move(out), fit_status::too_few_snps, "all SNP columns have zero variance");

    const bool cov = opt.type == gaussian_type::covariance ||
                     (opt.type == gaussian_type::automatic && p < 500);
    out.covariance_mode = cov;
    const int ne = opt.dfmax >= 0 ? opt.dfmax : p + 1;
    const int nx = opt.pmax >= 0 ? opt.pmax : std::min(2 * ne + 20, p);

    Eigen::MatrixXd ycol(y); // n × 1: ỹ by the same operations as a column of x
    Eigen::VectorXd ym1(1), ys1(1);
    const int ycols[1] = {0};
    standardize_columns(ycol, ycols, 1, w, ym1, ys1);
    const Eigen::Map<const Eigen::VectorXd> yv(ycol.data(), n);
    const double ym = ym1(0), ys = ys1(0);

    Eigen::VectorXd state; // residual (naive) or gradient (covariance)
    if (cov) {
        state = Eigen::VectorXd::Zero(p);
        for (int j = 0; j < p; ++j)
            if (ju[static_cast<size_t>(j)]) state(j) = dot_e(xs_mat.col(j).data(), yv.data(), n);
    } else {
        state = yv;
    }

    // Lambda sequence control.
    const bool user = !opt.lambda.empty();
    out.user_lambda = user;
    std::vector<double> ulam;
    int nlam = opt.nlambda;
    double flmin = 1.0;
    if (user) {
        ulam = opt.lambda;
        std::sort(ulam.begin(), ulam.end(), std::greater<>());
        nlam = static_cast<int>(ulam.size());
        for (double& l : ulam) l /= ys;
    } else {
        flmin = opt.lambda_min_ratio >= 0 ? opt.lambda_min_ratio : (n < p ? 1e-2 : 1e-4);
        if (flmin >= 1.0) throw usage_error("enet::fit_path: lambda_min_ratio must be below 1");
    }
    double alf = 1.0;
    if (!user) alf = std::pow(std::max(opt.eps, flmin), 1.0 / (nlam - 1.0));
    const double omb = 1.0 - opt.alpha;
    const int mnl = std::min(opt.mnlam, nlam);

    engine eng(xs_mat, ju, cov, opt.thresh, opt.maxit, nx, state, opt.screening);

    std::vector<double> almo, rsqo;
    std::vector<int> kin;
    std::vector<double> store; // compressed β̃ columns (kin[m] values each)
    almo.reserve(static_cast<size_t>(nlam));
    rsqo.reserve(static_cast<size_t>(nlam));
    kin.reserve(static_cast<size_t>(nlam));

    double lmda_curr = 0.0;
    for (int m = 0; m < nlam; ++m) {
        double alm0 = lmda_curr;
        double alm = alm0;
        if (user) {
            alm = ulam[static_cast<size_t>(m)];
        } else if (m > 1) {
            alm *= alf;
        } else if (m == 0) {
            alm = opt.big;
        } else {
            alm0 = 0.0;
            for (int j = 0; j < p; ++j)
                if (ju[static_cast<size_t>(j)]) alm0 = std::max(alm0, eng.grad_abs(j));
            alm0 /= std::max(opt.alpha, 1e-3);
            alm = alm0 * alf;
        }
        lmda_curr = alm;
        const double dem = alm * omb;
        const double ab = alm * opt.alpha;

        auto e = eng.fit_point(opt.alpha, alm, alm0, ab, dem);
        if (e == engine::rc::maxit) {
            out.status = fit_status::no_convergence;
            out.message = fmt::format("convergence for lambda {} not reached after maxit={} passes; "
                                      "solutions for larger lambdas returned", m + 1, opt.maxit);
            break;
        }
        if (e == engine::rc::max_active) {
            out.message = fmt::format("number of non-zero coefficients exceeds pmax={} at lambda {}; "
                                      "solutions for larger lambdas returned", nx, m + 1);
            break;
        }

        const int nin = eng.nin();
        int me = 0;
        for (int l = 0; l < nin; ++l) {
            double b = eng.beta(eng.active()[static_cast<size_t>(l)]);
            store.push_back(b);
            if (b != 0.0) ++me;
        }
        const double rsq = eng.rsq();
        const double rsq0 = eng.rsq_prev();
        rsqo.push_back(rsq);
        kin.push_back(nin);
        almo.push_back(alm);
        const double prop = rsq == 0.0 ? std::numeric_limits<double>::infinity() : (rsq - rsq0) / rsq;
        const int lmu = m + 1;
        if (lmu < mnl || user) continue;
        if (me > ne || prop < opt.fdev || rsq > opt.devmax) break;
    }

    // Back to the original scale (ElnetDriver<gaussian>::fit) and R's post-processing.
    const int lmu = static_cast<int>(almo.size());
    const std::vector<int>& ia = eng.active();
    const int ninmax = lmu > 0 ? *std::max_element(kin.begin(), kin.end()) : 0;
    out.vars.assign(ia.begin(), ia.begin() + ninmax);
    out.coef = Eigen::MatrixXd::Zero(ninmax, lmu);
    out.lambda.resize(static_cast<size_t>(lmu));
    out.a0.resize(static_cast<size_t>(lmu));
    out.df.resize(static_cast<size_t>(lmu));
    out.dev_ratio.assign(rsqo.begin(), rsqo.end());
    size_t off = 0;
    for (int k = 0; k < lmu; ++k) {
        auto uk = static_cast<size_t>(k);
        out.lambda[uk] = almo[uk] * ys;
        const int nk = kin[uk];
        double a0 = 0.0;
        int df = 0;
        for (int l = 0; l < nk; ++l) {
            const int j = ia[static_cast<size_t>(l)];
            double c = store[off + static_cast<size_t>(l)] * (ys / xs(j));
            out.coef(l, k) = c;
            a0 -= c * xm(j);
            if (c != 0.0) ++df;
        }
        off += static_cast<size_t>(nk);
        out.a0[uk] = a0 + ym;
        out.df[uk] = df;
    }
    if (!user && lmu > 2) {
        // fix.lam: R replaces the internal "infinite" first lambda.
        double l2 = std::log(out.lambda[1]), l3 = std::log(out.lambda[2]);
        out.lambda[0] = std::exp(2.0 * l2 - l3);
    }
    out.npasses = eng.npasses();
    return out;
}

} // namespace

path_fit fit_path(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  const path_options& opt) {
    return fit_path_impl(x_source{x}, y, opt);
}

path_fit fit_path_rows(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                       const std::vector<int>& rows, const path_options& opt) {
    if (y.size() != x.rows())
        throw usage_error(fmt::format("enet::fit_path_rows: x has {} rows but y has {} values", x.rows(), y.size()));
    Eigen::VectorXd ysub(static_cast<Eigen::Index>(rows.size()));
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < 0 || rows[i] >= x.rows())
            throw usage_error(fmt::format("enet::fit_path_rows: row {} outside 0..{}", rows[i], x.rows() - 1));
        ysub(static_cast<Eigen::Index>(i)) = y(rows[i]);
    }
    return fit_path_impl(x_source{x, &rows}, ysub, opt);
}

} // namespace scpx::enet
