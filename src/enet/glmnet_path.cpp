// glmnet 4.1-6 gaussian elastic-net path (dense x, unit weights, standardize = TRUE,
// intercept = TRUE, penalty factors 1, no coefficient limits).
//
// The structure mirrors glmnetpp (ElnetDriver<gaussian> → ElnetPath<gaussian, cov|naive> →
// ElnetPoint) operation by operation, because glmnet's output is only defined up to its stopping
// rule: reproducing it needs the same update order, the same convergence tests and the same
// floating-point reductions (dot_e below = Eigen's SSE2 dot, as glmnetpp runs in R). With those,
// the case2 fixture (path, user-lambda path, fold path, cv10) agrees with R bit for bit, in both
// an SSE2 and an AVX2 build. Because standardize = TRUE, every included column has xv = 1, so the
// "xv" factors of glmnet's formulas are dropped (multiplying by 1.0 is exact).
//
// Speed without changing a single bit: element-wise updates are vectorised (any width gives the
// same numbers), independent dot products run four at a time (dot4_e), the naive residual update
// is fused with the next gradient (axpy_dot_e), and covariance mode keeps the active rows of its
// gram cache contiguous (cact_).
//
// Naive mode also skips gradients whose outcome is already known (screening with a proof, not a
// heuristic). Outside the strong set glmnet uses |<r, x̃_j>| only in comparisons: against λα in
// the KKT check and against the strong-rule threshold, both evaluated at a "sync point" (r up to
// date). Between two sync points any |<r, x̃_j>| moves by at most ‖r − r_snap‖·‖x̃_j‖ =
// ‖r − r_snap‖ (Cauchy–Schwarz; ‖x̃_j‖ = 1 after standardisation), so |g_j| when last computed
// plus the sum of those norms since then (the sync clock, rounded up) bounds it. When that bound
// already settles the comparison, the dot product is skipped; otherwise it is computed exactly as
// before. The decisions, and hence every output bit, are those of the unscreened code. (A bound on
// zero coordinates inside CD passes, from Σ|Δβ̃| since their last gradient, was tried and removed:
// on the case2 fixture it skipped 5.5 thousand of 8.4 million updates.)
#include "scpx/enet/glmnet.hpp"

#include "scpx/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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

// Reductions in the exact order of Eigen's SSE2 redux, which is what glmnetpp runs inside R
// (CRAN builds have no -mavx): products in pairs, two 2-lane accumulators over blocks of four
// elements, one leftover pair, lane sum, then the scalar tail. Written out by hand (internal
// linkage, compiled with -ffp-contract=off) so the result does not depend on this build's
// -march or on which TU's Eigen instantiation the linker keeps. This is what makes the port
// agree with glmnet bit for bit instead of to ~1e-12 (see tests/unit/enet).
using cvec_map = Eigen::Map<const Eigen::VectorXd>;

inline double dot_e(const double* a, const double* b, int n) {
    if (n < 2) return n == 1 ? a[0] * b[0] : 0.0;
    const int aligned = n & ~1;           // elements covered by whole 2-lane packets
    const int aligned2 = n & ~3;          // ... by whole blocks of two packets
    double p0 = a[0] * b[0], p1 = a[1] * b[1];
    if (aligned > 2) {
        double q0 = a[2] * b[2], q1 = a[3] * b[3];
        for (int i = 4; i < aligned2; i += 4) {
            p0 = p0 + a[i] * b[i];
            p1 = p1 + a[i + 1] * b[i + 1];
            q0 = q0 + a[i + 2] * b[i + 2];
            q1 = q1 + a[i + 3] * b[i + 3];
        }
        p0 = p0 + q0;
        p1 = p1 + q1;
        if (aligned > aligned2) {
            p0 = p0 + a[aligned2] * b[aligned2];
            p1 = p1 + a[aligned2 + 1] * b[aligned2 + 1];
        }
    }
    double res = p0 + p1;
    for (int i = aligned; i < n; ++i) res = res + a[i] * b[i];
    return res;
}

/// r -= d·xp element-wise, then returns dot_e(r, xk, n): one sweep over r instead of two, with
/// exactly the numbers of the separate update and dot (naive mode: the residual update of one
/// coordinate is fused with the gradient of the next).
inline double axpy_dot_e(double* r, double d, const double* xp, const double* xk, int n) {
#if defined(__AVX__)
    if (n >= 8) {
        const int aligned = n & ~1, aligned2 = n & ~3;
        const __m256d dv = _mm256_set1_pd(d);
        __m256d rv = _mm256_sub_pd(_mm256_loadu_pd(r), _mm256_mul_pd(dv, _mm256_loadu_pd(xp)));
        _mm256_storeu_pd(r, rv);
        __m256d acc = _mm256_mul_pd(rv, _mm256_loadu_pd(xk));
        for (int i = 4; i < aligned2; i += 4) {
            rv = _mm256_sub_pd(_mm256_loadu_pd(r + i), _mm256_mul_pd(dv, _mm256_loadu_pd(xp + i)));
            _mm256_storeu_pd(r + i, rv);
            acc = _mm256_add_pd(acc, _mm256_mul_pd(rv, _mm256_loadu_pd(xk + i)));
        }
        for (int i = aligned2; i < n; ++i) r[i] = r[i] - d * xp[i];
        alignas(32) double l[4];
        _mm256_store_pd(l, acc);
        double p0 = l[0] + l[2], p1 = l[1] + l[3];
        if (aligned > aligned2) {
            p0 = p0 + r[aligned2] * xk[aligned2];
            p1 = p1 + r[aligned2 + 1] * xk[aligned2 + 1];
        }
        double res = p0 + p1;
        for (int i = aligned; i < n; ++i) res = res + r[i] * xk[i];
        return res;
    }
#endif
    for (int i = 0; i < n; ++i) r[i] = r[i] - d * xp[i];
    return dot_e(r, xk, n);
}

/// Four dot products a·b[c], each bit-identical to dot_e(a, b[c], n): the four independent
/// accumulator chains hide the add latency that bounds a single dot_e. Used where many columns
/// meet the same vector (KKT checks, new gram columns); each result equals dot_e's bit for bit.
inline void dot4_e(const double* a, const double* const* b, int n, double* out) {
#if defined(__AVX__)
    if (n >= 8) {
        const int aligned = n & ~1, aligned2 = n & ~3;
        __m256d av = _mm256_loadu_pd(a);
        __m256d c0 = _mm256_mul_pd(av, _mm256_loadu_pd(b[0]));
        __m256d c1 = _mm256_mul_pd(av, _mm256_loadu_pd(b[1]));
        __m256d c2 = _mm256_mul_pd(av, _mm256_loadu_pd(b[2]));
        __m256d c3 = _mm256_mul_pd(av, _mm256_loadu_pd(b[3]));
        for (int i = 4; i < aligned2; i += 4) {
            av = _mm256_loadu_pd(a + i);
            c0 = _mm256_add_pd(c0, _mm256_mul_pd(av, _mm256_loadu_pd(b[0] + i)));
            c1 = _mm256_add_pd(c1, _mm256_mul_pd(av, _mm256_loadu_pd(b[1] + i)));
            c2 = _mm256_add_pd(c2, _mm256_mul_pd(av, _mm256_loadu_pd(b[2] + i)));
            c3 = _mm256_add_pd(c3, _mm256_mul_pd(av, _mm256_loadu_pd(b[3] + i)));
        }
        const __m256d cs[4] = {c0, c1, c2, c3};
        for (int c = 0; c < 4; ++c) {
            alignas(32) double l[4];
            _mm256_store_pd(l, cs[c]);
            // lanes 0,1 = Eigen's packet_res0, lanes 2,3 = packet_res1
            double p0 = l[0] + l[2], p1 = l[1] + l[3];
            if (aligned > aligned2) {
                p0 = p0 + a[aligned2] * b[c][aligned2];
                p1 = p1 + a[aligned2 + 1] * b[c][aligned2 + 1];
            }
            double res = p0 + p1;
            for (int i = aligned; i < n; ++i) res = res + a[i] * b[c][i];
            out[c] = res;
        }
        return;
    }
#endif
    for (int c = 0; c < 4; ++c) out[c] = dot_e(a, b[c], n);
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
            int m = 0;
            for (int k = 0; k < p_; ++k) {
                auto uk = static_cast<size_t>(k);
                if (strong_[uk] || !ju_[uk]) continue;
                if (sync_bound(k) > tlam) todo_[static_cast<size_t>(m++)] = k; // undecided: compute
            }
            abs_grads(m);
            for (int t = 0; t < m; ++t) {
                auto uk = static_cast<size_t>(todo_[static_cast<size_t>(t)]);
                if (gabs_[uk] > tlam) strong_[uk] = 1;
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

    // gabs_[j] = |<r, x_j>| for the m columns listed in todo_, four at a time.
    void abs_grads(int m) {
        flush();
        const double* r = r_->data();
        int t = 0;
        for (; t + 4 <= m; t += 4) {
            const int* j = &todo_[static_cast<size_t>(t)];
            const double* b[4] = {col(j[0]), col(j[1]), col(j[2]), col(j[3])};
            double o[4];
            dot4_e(r, b, n_, o);
            for (int c = 0; c < 4; ++c) record(j[c], o[c]);
        }
        for (; t < m; ++t) {
            const int j = todo_[static_cast<size_t>(t)];
            record(j, dot_e(r, col(j), n_));
        }
    }

    // Stores a gradient computed at the current sync point.
    void record(int j, double g) {
        gabs_[static_cast<size_t>(j)] = std::abs(g);
        gstamp_[static_cast<size_t>(j)] = clock_;
    }

    // A sync point (KKT check, strong rule): brings r up to date and advances the clock by
    // ‖r − r_snap‖, rounded up (n·u relative error at most). Between syncs, |g_j| moves by at
    // most the clock's advance.
    void sync() {
        flush();
        clock_ += (*r_ - rsnap_).norm() * (1.0 + 1e-12);
        rsnap_ = *r_;
    }

    // Bound on the |<r, x̃_j>| glmnet computes at this sync point, from the last one computed.
    // The margin covers the rounding of both dot products (≤ n·u·‖r‖·‖x̃_j‖ each, ‖r‖ ≤ ‖ỹ‖ = 1).
    double sync_bound(int j) const {
        auto uj = static_cast<size_t>(j);
        return gabs_[uj] + (clock_ - gstamp_[uj]) * (1.0 + 1e-12) + margin_;
    }

    void refresh_if_stale(int j) {
        sync();
        if (gstamp_[static_cast<size_t>(j)] == clock_) return;
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
        int m = 0;
        for (int k = 0; k < p_; ++k) {
            auto uk = static_cast<size_t>(k);
            // Only the undecided: a bound ≤ λα proves |g_k| ≤ λα (no violation).
            if (!strong_[uk] && ju_[uk] && sync_bound(k) > ab_) todo_[static_cast<size_t>(m++)] = k;
        }
        abs_grads(m);
        for (int t = 0; t < m; ++t) {
            auto uk = static_cast<size_t>(todo_[static_cast<size_t>(t)]);
            if (gabs_[uk] > ab_) {
                strong_[uk] = 1;
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

path_fit fit_path(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                  const path_options& opt) {
    path_fit out;
    const int n = static_cast<int>(x.rows());
    const int p = static_cast<int>(x.cols());
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
    if (!x.allFinite() || !y.allFinite())
        throw usage_error("enet::fit_path: x and y must be finite (no missing values)");

    // R's elnet(): null deviance, and the "y is constant" error.
    const double ybar = y.mean();
    out.nulldev = (y.array() - ybar).square().sum();
    if (p < 2) return failed(std::move(out), fit_status::too_few_snps, fmt::format("{} SNP column(s); glmnet needs at least 2", p));
    if (out.nulldev == 0.0) return failed(std::move(out), fit_status::constant_expression, "y is constant");

    // chkvars: constant columns are excluded (β = 0).
    std::vector<char> ju(static_cast<size_t>(p), 0);
    int n_used = 0;
    for (int j = 0; j < p; ++j) {
        const double* c = x.col(j).data();
        for (int i = 1; i < n; ++i)
            if (c[i] != c[0]) {
                ju[static_cast<size_t>(j)] = 1;
                ++n_used;
                break;
            }
    }
    if (n_used == 0)
        return failed(std::move(out), fit_status::too_few_snps, "all SNP columns have zero variance");

    const bool cov = opt.type == gaussian_type::covariance ||
                     (opt.type == gaussian_type::automatic && p < 500);
    out.covariance_mode = cov;
    const int ne = opt.dfmax >= 0 ? opt.dfmax : p + 1;
    const int nx = opt.pmax >= 0 ? opt.pmax : std::min(2 * ne + 20, p);

    // Standardize1: w = 1/n, x̃ = sqrt(w)(x - x̄)/xs, ỹ = sqrt(w)(y - ȳ)/ys (Eigen reductions as glmnetpp).
    const Eigen::VectorXd w = Eigen::VectorXd::Ones(n) / static_cast<double>(n);
    const double v = std::sqrt(w(0));
    Eigen::MatrixXd xs_mat(x);
    Eigen::VectorXd xm = Eigen::VectorXd::Zero(p), xs = Eigen::VectorXd::Zero(p);
    auto standardize = [&](double* c, double& mean, double& sd) {
        mean = dot_e(c, w.data(), n);
        for (int i = 0; i < n; ++i) c[i] = v * (c[i] - mean);
        sd = std::sqrt(dot_e(c, c, n));
        for (int i = 0; i < n; ++i) c[i] = c[i] / sd;
    };
    for (int j = 0; j < p; ++j)
        if (ju[static_cast<size_t>(j)]) standardize(xs_mat.col(j).data(), xm(j), xs(j));
    Eigen::VectorXd yv(y);
    double ym = 0, ys = 0;
    standardize(yv.data(), ym, ys);

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

} // namespace scpx::enet
