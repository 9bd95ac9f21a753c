// cv.glmnet (gaussian, type.measure = "mse", given fold ids) as in glmnet 4.1-6, and the
// PredictDb-nextflow k-repeat lambda choice built on it.
//
// Points that change the numbers (elastic_net.md §0.3, §2): each fold computes its OWN lambda path
// (cv.glmnet.raw no longer passes the full-data lambdas to the folds), held-out predictions at the
// full-data lambdas come from linear interpolation in lambda between the fold's solutions
// (lambda.interp, clamped), and cvm / cvsd weight the per-fold mean squared errors by fold size.
#include "scpx/enet/glmnet.hpp"

#include "scpx/core/error.hpp"
#include "scpx/ops/parallel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>

namespace scpx::enet {

lambda_weight lambda_interp(const std::vector<double>& lambda, double s) {
    lambda_weight out;
    const int k = static_cast<int>(lambda.size());
    if (k <= 1) return out; // degenerate: left = right = 0, frac = 1
    // Same arithmetic as R: normalise to [0, 1], clamp, then approx(lambda, seq(lambda), sfrac).
    const double l1 = lambda[0], lk = lambda[static_cast<size_t>(k - 1)];
    double sfrac = (l1 - s) / (l1 - lk);
    auto norm = [&](int i) { return (l1 - lambda[static_cast<size_t>(i)]) / (l1 - lk); };
    double lo = norm(0), hi = norm(0);
    for (int i = 1; i < k; ++i) {
        lo = std::min(lo, norm(i));
        hi = std::max(hi, norm(i));
    }
    sfrac = std::min(std::max(sfrac, lo), hi);
    // R's approx1 (x increasing, y = 1..k): bisection, exact hits return the node.
    int i = 0, j = k - 1;
    double coord;
    if (sfrac < norm(i) || sfrac > norm(j)) {
        coord = std::numeric_limits<double>::quiet_NaN(); // cannot happen after clamping
    } else {
        while (i < j - 1) {
            int ij = (i + j) / 2;
            if (sfrac < norm(ij)) j = ij;
            else i = ij;
        }
        if (sfrac == norm(j)) coord = j + 1;
        else if (sfrac == norm(i)) coord = i + 1;
        else coord = (i + 1) + 1.0 * ((sfrac - norm(i)) / (norm(j) - norm(i)));
    }
    int left = static_cast<int>(std::floor(coord));
    int right = static_cast<int>(std::ceil(coord));
    double lam_l = norm(left - 1), lam_r = norm(right - 1);
    double frac = (sfrac - lam_r) / (lam_l - lam_r);
    if (left == right) frac = 1.0;
    if (std::abs(lam_l - lam_r) < std::numeric_limits<double>::epsilon()) frac = 1.0;
    out.left = left - 1;
    out.right = right - 1;
    out.frac = frac;
    return out;
}

namespace {

/// Out-of-fold predictions of `f` for the rows `test` at each lambda in `s` (predict.glmnet with s).
void predict_interp(const path_fit& f, const Eigen::Ref<const Eigen::MatrixXd>& x, const std::vector<int>& test,
                    const std::vector<double>& s, Eigen::MatrixXd& predmat) {
    const auto na = static_cast<Eigen::Index>(f.vars.size());
    // The test rows' dosages of the path's variables, one contiguous row per sample (x itself is
    // column-major: walking a sample's variables there strides across the whole matrix).
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> xt(static_cast<Eigen::Index>(test.size()), na);
    for (Eigen::Index r = 0; r < na; ++r) {
        const double* c = x.col(f.vars[static_cast<size_t>(r)]).data();
        for (size_t t = 0; t < test.size(); ++t) xt(static_cast<Eigen::Index>(t), r) = c[test[t]];
    }
    Eigen::VectorXd b(na);
    std::vector<Eigen::Index> nz;
    nz.reserve(static_cast<size_t>(na));
    for (size_t l = 0; l < s.size(); ++l) {
        lambda_weight lw = lambda_interp(f.lambda, s[l]);
        double a0 = f.a0[static_cast<size_t>(lw.left)] * lw.frac +
                    f.a0[static_cast<size_t>(lw.right)] * (1.0 - lw.frac);
        nz.clear();
        for (Eigen::Index r = 0; r < na; ++r) {
            b(r) = f.coef(r, lw.left) * lw.frac + f.coef(r, lw.right) * (1.0 - lw.frac);
            if (b(r) != 0.0) nz.push_back(r);
        }
        for (size_t t = 0; t < test.size(); ++t) {
            const double* row = xt.row(static_cast<Eigen::Index>(t)).data();
            double acc = a0; // summed in variable order, as predict.glmnet's sparse product
            for (Eigen::Index r : nz) acc += row[r] * b(r);
            predmat(test[t], static_cast<Eigen::Index>(l)) = acc;
        }
    }
}

struct fold_layout {
    int nfolds = 0;
    std::vector<std::vector<int>> test;  // per fold (index f-1)
    std::vector<std::vector<int>> train;
};

fold_layout layout_folds(const std::vector<int>& foldid, int n) {
    if (static_cast<int>(foldid.size()) != n)
        throw usage_error(fmt::format("enet::cv_glmnet: {} fold ids for {} samples", foldid.size(), n));
    fold_layout fl;
    for (int f : foldid) {
        if (f < 1) throw usage_error(fmt::format("enet::cv_glmnet: fold ids must be 1..K (got {})", f));
        fl.nfolds = std::max(fl.nfolds, f);
    }
    if (fl.nfolds < 3) throw usage_error("enet::cv_glmnet: nfolds must be at least 3 (glmnet's rule)");
    if (fl.nfolds > n)
        throw usage_error(fmt::format("enet::cv_glmnet: fold id {} exceeds the number of samples ({})", fl.nfolds, n));
    fl.test.resize(static_cast<size_t>(fl.nfolds));
    fl.train.resize(static_cast<size_t>(fl.nfolds));
    for (int i = 0; i < n; ++i)
        for (int f = 1; f <= fl.nfolds; ++f)
            (foldid[static_cast<size_t>(i)] == f ? fl.test : fl.train)[static_cast<size_t>(f - 1)].push_back(i);
    return fl;
}

/// cvcompute + cvstats: per-fold mean squared error, then fold-size weighted mean and sd.
void cv_stats(const Eigen::VectorXd& y, const Eigen::MatrixXd& predmat, const fold_layout& fl,
              std::vector<double>& cvm, std::vector<double>& cvsd) {
    const auto nl = predmat.cols();
    cvm.assign(static_cast<size_t>(nl), 0.0);
    cvsd.assign(static_cast<size_t>(nl), 0.0);
    std::vector<double> fm(static_cast<size_t>(fl.nfolds));
    std::vector<double> fw(static_cast<size_t>(fl.nfolds));
    for (Eigen::Index l = 0; l < nl; ++l) {
        int used = 0;
        long double sw = 0, swm = 0;
        for (int f = 0; f < fl.nfolds; ++f) {
            const auto& t = fl.test[static_cast<size_t>(f)];
            if (t.empty()) continue;
            long double s = 0;
            for (int i : t) {
                double e = y(i) - predmat(i, l);
                s += static_cast<long double>(e * e);
            }
            fm[static_cast<size_t>(used)] = static_cast<double>(s / static_cast<long double>(t.size()));
            fw[static_cast<size_t>(used)] = static_cast<double>(t.size());
            swm += static_cast<long double>(fm[static_cast<size_t>(used)]) * fw[static_cast<size_t>(used)];
            sw += fw[static_cast<size_t>(used)];
            ++used;
        }
        double m = static_cast<double>(swm / sw);
        long double ss = 0;
        for (int f = 0; f < used; ++f) {
            double d = fm[static_cast<size_t>(f)] - m;
            ss += static_cast<long double>(d * d) * fw[static_cast<size_t>(f)];
        }
        cvm[static_cast<size_t>(l)] = m;
        cvsd[static_cast<size_t>(l)] = std::sqrt(static_cast<double>(ss / sw) / (used - 1));
    }
}

/// Runs tasks on up to `threads` threads (0: hardware concurrency). Each task writes only its own
/// slot, so results do not depend on the thread count. The first exception is rethrown.
void run_tasks(const std::vector<std::function<void()>>& tasks, int threads) {
    if (threads <= 0) threads = ops::available_cpus();
    const int nt = std::min<int>(threads, static_cast<int>(tasks.size()));
    if (nt <= 1) {
        for (const auto& t : tasks) t();
        return;
    }
    std::atomic<size_t> next{0};
    std::exception_ptr first;
    std::mutex mu;
    auto worker = [&] {
        for (size_t i = next++; i < tasks.size(); i = next++) {
            try {
                tasks[i]();
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!first) first = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < nt; ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    if (first) std::rethrow_exception(first);
}

/// Fold fits → out-of-fold predictions at `s`, in fold order. Returns false (status/message set)
/// when a fold fit failed the way glmnet errors; a fold that hit maxit only sets the status.
bool predict_folds(const Eigen::Ref<const Eigen::MatrixXd>& x, const fold_layout& fl,
                   const std::vector<path_fit>& fits, const std::vector<double>& s, Eigen::MatrixXd& predmat,
                   fit_status& status, std::string& message) {
    predmat.resize(x.rows(), static_cast<Eigen::Index>(s.size()));
    for (int f = 0; f < fl.nfolds; ++f) {
        const auto& test = fl.test[static_cast<size_t>(f)];
        if (test.empty()) continue;
        const path_fit& pf = fits[static_cast<size_t>(f)];
        if (pf.status == fit_status::no_convergence && status == fit_status::ok) {
            status = pf.status;
            message = fmt::format("fold {}: {}", f + 1, pf.message);
        }
        if (pf.size() == 0 || (pf.status != fit_status::ok && pf.status != fit_status::no_convergence)) {
            status = pf.status == fit_status::ok ? fit_status::no_convergence : pf.status;
            message = fmt::format("fold {}: {}", f + 1, pf.message);
            return false;
        }
        predict_interp(pf, x, test, s, predmat);
    }
    return true;
}

/// Tasks fitting every non-empty fold of `fl` into fits[f].
void add_fold_tasks(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                    const fold_layout& fl, const path_options& opt, std::vector<path_fit>& fits,
                    std::vector<std::function<void()>>& tasks) {
    fits.assign(static_cast<size_t>(fl.nfolds), path_fit{});
    for (int f = 0; f < fl.nfolds; ++f) {
        if (fl.test[static_cast<size_t>(f)].empty()) continue;
        tasks.emplace_back([&x, &y, &fl, &opt, &fits, f] {
            fits[static_cast<size_t>(f)] = fit_path_rows(x, y, fl.train[static_cast<size_t>(f)], opt);
        });
    }
}

/// cvm / cvsd / lambda.min / lambda.1se of a cv_fit whose fit and fold fits are done.
void finish_cv(cv_fit& out, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
               const fold_layout& fl, const std::vector<path_fit>& fits, bool keep) {
    out.status = out.fit.status;
    out.message = out.fit.message;
    if (out.fit.size() == 0 ||
        (out.fit.status != fit_status::ok && out.fit.status != fit_status::no_convergence)) {
        if (out.status == fit_status::ok) out.status = fit_status::no_convergence;
        return;
    }
    out.lambda = out.fit.lambda;
    out.nzero = out.fit.df;

    Eigen::MatrixXd predmat;
    if (!predict_folds(x, fl, fits, out.lambda, predmat, out.status, out.message)) return;
    cv_stats(Eigen::VectorXd(y), predmat, fl, out.cvm, out.cvsd);

    // getOptcv.glmnet: the largest lambda attaining the minimum, then the 1-se rule.
    double cvmin = *std::min_element(out.cvm.begin(), out.cvm.end());
    for (size_t l = 0; l < out.cvm.size(); ++l)
        if (out.cvm[l] <= cvmin) {
            out.index_min = static_cast<int>(l);
            break;
        }
    double semin = out.cvm[static_cast<size_t>(out.index_min)] + out.cvsd[static_cast<size_t>(out.index_min)];
    for (size_t l = 0; l < out.cvm.size(); ++l)
        if (out.cvm[l] <= semin) {
            out.index_1se = static_cast<int>(l);
            break;
        }
    out.lambda_min = out.lambda[static_cast<size_t>(out.index_min)];
    out.lambda_1se = out.lambda[static_cast<size_t>(out.index_1se)];
    if (keep) out.fit_preval = std::move(predmat);
}

} // namespace

cv_fit cv_glmnet(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                 const std::vector<int>& foldid, const path_options& opt, bool keep, int threads) {
    cv_fit out;
    const fold_layout fl = layout_folds(foldid, static_cast<int>(x.rows()));
    out.nfolds = fl.nfolds;
    // The full-data fit and the fold fits are independent (folds compute their own lambdas).
    std::vector<path_fit> fits;
    std::vector<std::function<void()>> tasks;
    tasks.emplace_back([&] { out.fit = fit_path(x, y, opt); });
    add_fold_tasks(x, y, fl, opt, fits, tasks);
    run_tasks(tasks, threads);
    finish_cv(out, x, y, fl, fits, keep);
    return out;
}

repeated_cv_fit repeated_cv(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::VectorXd>& y,
                            const std::vector<std::vector<int>>& foldids, const path_options& opt, bool keep,
                            int threads) {
    repeated_cv_fit out;
    if (foldids.empty()) throw usage_error("enet::repeated_cv: no fold assignment given");
    std::vector<fold_layout> layouts;
    for (const auto& f : foldids) layouts.push_back(layout_folds(f, static_cast<int>(x.rows())));

    out.first = cv_glmnet(x, y, foldids[0], opt, keep, threads);
    out.status = out.first.status;
    out.message = out.first.message;
    if (out.first.cvm.empty()) return out;
    out.cvm.push_back(out.first.cvm);

    // Repeats 2..k: cv.glmnet(lambda = lambda_seq), all their fold fits at once. Only the fold
    // fits matter for cvm, so the full-data refit R also does (used only for nzero) is skipped.
    const std::vector<double>& lambda_seq = out.first.lambda;
    path_options ropt = opt;
    ropt.lambda = lambda_seq;
    std::vector<std::vector<path_fit>> fits(foldids.size());
    std::vector<std::function<void()>> tasks;
    for (size_t r = 1; r < foldids.size(); ++r) add_fold_tasks(x, y, layouts[r], ropt, fits[r], tasks);
    run_tasks(tasks, threads);
    for (size_t r = 1; r < foldids.size(); ++r) {
        Eigen::MatrixXd predmat;
        fit_status st = fit_status::ok;
        std::string msg;
        if (!predict_folds(x, layouts[r], fits[r], lambda_seq, predmat, st, msg)) {
            out.status = st;
            out.message = fmt::format("repeat {}, {}", r + 1, msg);
            return out;
        }
        if (st != fit_status::ok && out.status == fit_status::ok) {
            out.status = st;
            out.message = fmt::format("repeat {}, {}", r + 1, msg);
        }
        std::vector<double> cvm, cvsd;
        cv_stats(Eigen::VectorXd(y), predmat, layouts[r], cvm, cvsd);
        out.cvm.push_back(std::move(cvm));
    }
    const size_t nl = lambda_seq.size();
    out.cvm_mean.assign(nl, 0.0);
    for (size_t l = 0; l < nl; ++l) {
        double sum = 0;
        for (const auto& c : out.cvm) sum += c[l];
        out.cvm_mean[l] = sum / static_cast<double>(out.cvm.size());
    }
    // which.min: first minimum.
    out.best_index =
        static_cast<int>(std::min_element(out.cvm_mean.begin(), out.cvm_mean.end()) - out.cvm_mean.begin());
    out.best_lambda = lambda_seq[static_cast<size_t>(out.best_index)];
    out.weights = out.first.fit.nonzero(out.best_index);
    return out;
}

} // namespace scpx::enet
