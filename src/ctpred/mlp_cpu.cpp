// CPU backend of the ctPred MLP: Eigen GEMMs, rows (forward) or feature columns (dW0) split over
// a few std::threads. This file is the ground truth the CUDA backend is cross-tested against, and
// it is compiled into the GPU test binary too, so it depends only on Eigen and scpx_base.
#include "scpx/core/error.hpp"
#include "scpx/ctpred/dropout_hash.hpp"
#include "scpx/ctpred/mlp.hpp"
#include "scpx/ops/parallel.hpp"

// GCC 12 reports false -Wmaybe-uninitialized inside its own AVX-512 intrinsics when Eigen is
// built for x86-64-v4; the warnings point into avx512fintrin.h, not at this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>
#include <vector>

namespace scpx::ctpred {

namespace {

/// Rows of a batch (forward) and feature columns (the first layer's weight gradient) per call of
/// the work function. Eigen's GEMM rounds an element differently when its row or column falls in
/// a remainder block, so the cut must not follow the thread count: with fixed chunks every
/// result is the same for any --threads (and so any node or SLURM -c).
constexpr std::int64_t row_chunk = 64;
constexpr std::int64_t column_chunk = 256;
/// Below this many multiply-adds a GEMM runs on the caller's thread: starting threads would cost
/// more (batches of a few genes). Results do not depend on it (the chunks decide them).
constexpr std::int64_t min_threaded_work = std::int64_t{1} << 22;

/// Runs fn(lo, hi) on every chunk [c·chunk, min(n, (c+1)·chunk)) of [0, n), the chunks shared
/// out in `nt` contiguous runs on nt threads (the caller's thread runs the first). Neither the
/// chunks nor anything computed in them depends on nt or on scheduling.
template <class Fn>
void parallel_chunks(int nt, std::int64_t n, std::int64_t chunk, const Fn& fn) {
    if (n <= 0) return;
    const std::int64_t chunks = (n + chunk - 1) / chunk;
    const auto run = [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t c = c0; c < c1; ++c)
            fn(c * chunk, std::min(n, (c + 1) * chunk));
    };
    nt = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(nt, chunks)));
    if (nt == 1) {
        run(0, chunks);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(nt));
    auto part = [&](int k) {
        try {
            run(chunks * k / nt, chunks * (k + 1) / nt);
        } catch (...) {
            errors[static_cast<size_t>(k)] = std::current_exception();
        }
    };
    for (int k = 1; k < nt; ++k) pool.emplace_back(part, k);
    part(0);
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

int resolve_threads(int requested) {
    return requested > 0 ? requested : ops::available_cpus();
}

template <class T>
T softplus(T x) {
    // log1p(exp(x)) overflows for large x, where it equals x to working precision.
    return x > T(20) ? x : std::log1p(std::exp(x));
}

template <class T>
class cpu_backend final : public mlp_backend<T> {
    using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using cmap = Eigen::Map<const mat>;
    using map = Eigen::Map<mat>;
    using rvec = Eigen::Matrix<T, 1, Eigen::Dynamic>;

public:
    cpu_backend(const mlp_layout& layout, const mlp_data<T>& data, const train_options& opts)
        : lay_(layout), data_(data), opts_(opts), nt_(resolve_threads(opts.threads)) {
        if (data.n_rows <= 0 || data.x == nullptr || data.y == nullptr)
            throw usage_error("ctPred: no feature rows to train on");
        const auto np = static_cast<size_t>(lay_.n_params);
        p_.assign(np, T(0));
        g_.assign(np, T(0));
        m_.assign(np, T(0));
        v_.assign(np, T(0));
        best_.assign(np, T(0));
        bmax_ = std::max<std::int64_t>(1, opts.batch_size);
        const std::int64_t h = lay_.shape.hidden;
        xb_.resize(bmax_, lay_.shape.d_in);
        a_.assign(static_cast<size_t>(lay_.n_hidden_layers()), mat(bmax_, h));
        h_.assign(static_cast<size_t>(lay_.n_hidden_layers()), mat(bmax_, h));
        z_.resize(bmax_);
        out_.resize(bmax_);
        delta_.resize(bmax_, h);
        delta_prev_.resize(bmax_, h);
        keep_threshold_ = dropout_threshold(opts.dropout);
    }

    void set_params(const T* params) override { std::copy(params, params + lay_.n_params, p_.begin()); }
    void get_params(T* params) override { std::copy(p_.begin(), p_.end(), params); }
    void reset_optimizer() override {
        std::fill(m_.begin(), m_.end(), T(0));
        std::fill(v_.begin(), v_.end(), T(0));
    }
    void save_checkpoint() override { best_ = p_; }
    void get_checkpoint(T* params) override { std::copy(best_.begin(), best_.end(), params); }

    double eval_loss(const std::int64_t* rows, std::int64_t n) override {
        double sum = 0;
        for (std::int64_t s = 0; s < n; s += bmax_) {
            const std::int64_t k = std::min(bmax_, n - s);
            forward(rows + s, k, 0);
            for (std::int64_t i = 0; i < k; ++i) {
                const double d = static_cast<double>(out_[static_cast<size_t>(i)]) -
                                 static_cast<double>(data_.y[rows[s + i]]);
                sum += d * d;
            }
        }
        return n > 0 ? sum / static_cast<double>(n) : 0.0;
    }

    void predict(const std::int64_t* rows, std::int64_t n, T* out) override {
        for (std::int64_t s = 0; s < n; s += bmax_) {
            const std::int64_t k = std::min(bmax_, n - s);
            forward(rows + s, k, 0);
            std::copy(out_.begin(), out_.begin() + k, out + s);
        }
    }

    void train_step(const std::int64_t* rows, std::int64_t n, std::int64_t step) override {
        pending_.push_back(forward_backward(rows, n, step));
        adam(step);
    }

    std::vector<double> flush_batch_losses() override {
        std::vector<double> r;
        r.swap(pending_);
        return r;
    }

    double loss_and_grad(const std::int64_t* rows, std::int64_t n, std::int64_t step, T* grad) override {
        const double loss = forward_backward(rows, n, step);
        std::copy(g_.begin(), g_.end(), grad);
        return loss;
    }

private:
    /// Forward pass of rows[0..n) (n ≤ bmax_). step > 0 with dropout > 0 applies the masks of that
    /// step. Leaves X_b in xb_, h_l in h_[l], dh_l/da_l (mask · [a_l > 0]) in a_[l], z in z_, the
    /// head output in out_.
    void forward(const std::int64_t* rows, std::int64_t n, std::int64_t step) {
        SCPX_ASSERT(n <= bmax_);
        const std::int64_t d = lay_.shape.d_in, h = lay_.shape.hidden;
        const int nl = lay_.n_hidden_layers();
        const bool drop = step > 0 && keep_threshold_ > 0;
        const T scale = drop ? T(1) / (T(1) - static_cast<T>(opts_.dropout)) : T(1);
        const T* p = p_.data();
        const cmap w0(p + lay_.w0, h, d);
        const Eigen::Map<const rvec> b0(p + lay_.b0, h);
        const Eigen::Map<const rvec> wo(p + lay_.wo, h);
        const T bo = p[lay_.bo];
        // Every row's forward is independent, so each thread runs the whole network on its rows.
        parallel_chunks(threads_for(n * d * h), n, row_chunk, [&](std::int64_t lo, std::int64_t hi) {
            const std::int64_t k = hi - lo;
            for (std::int64_t i = lo; i < hi; ++i) {
                const std::int64_t r = rows[i];
                if (r < 0 || r >= data_.n_rows) throw internal_error("ctPred: row index out of range");
                std::copy(data_.x + r * d, data_.x + (r + 1) * d, xb_.row(i).data());
            }
            for (int l = 0; l < nl; ++l) {
                auto a = a_[static_cast<size_t>(l)].middleRows(lo, k);
                auto hl = h_[static_cast<size_t>(l)].middleRows(lo, k);
                if (l == 0) {
                    a.noalias() = xb_.middleRows(lo, k) * w0.transpose();
                    a.rowwise() += b0;
                } else {
                    const cmap w(p + lay_.wh[static_cast<size_t>(l - 1)], h, h);
                    const Eigen::Map<const rvec> b(p + lay_.bh[static_cast<size_t>(l - 1)], h);
                    a.noalias() = h_[static_cast<size_t>(l - 1)].middleRows(lo, k) * w.transpose();
                    a.rowwise() += b;
                }
                for (std::int64_t i = 0; i < k; ++i) {
                    for (std::int64_t j = 0; j < h; ++j) {
                        const T av = a(i, j);
                        T factor = av > T(0) ? T(1) : T(0);
                        if (drop && !dropout_keep(opts_.seed, step, l, lo + i, j, keep_threshold_))
                            factor = T(0);
                        else if (drop)
                            factor *= scale;
                        hl(i, j) = av > T(0) ? av * factor : T(0);
                        a(i, j) = factor;
                    }
                }
            }
            const auto& hlast = h_[static_cast<size_t>(nl - 1)];
            for (std::int64_t i = lo; i < hi; ++i) {
                const T z = hlast.row(i).dot(wo) + bo;
                z_[static_cast<size_t>(i)] = z;
                if (lay_.shape.head == head_kind::LINEAR) {
                    out_[static_cast<size_t>(i)] = z;
                } else {
                    const T r = z > T(0) ? z : T(0);
                    out_[static_cast<size_t>(i)] = r / (T(1) + softplus(r - T(1)));
                }
            }
        });
    }

    /// Threads for a GEMM of `work` multiply-adds: one when starting more would cost more.
    int threads_for(std::int64_t work) const { return work < min_threaded_work ? 1 : nt_; }

    /// d out / d z of the head at z.
    T head_derivative(T z) const {
        if (lay_.shape.head == head_kind::LINEAR) return T(1);
        if (z <= T(0)) return T(0);
        const T sp = softplus(z - T(1));
        const T sig = T(1) / (T(1) + std::exp(-(z - T(1))));
        return (T(1) + sp - z * sig) / ((T(1) + sp) * (T(1) + sp));
    }

    /// Forward + backward of one batch into g_ (raw loss gradient). Returns the batch loss.
    double forward_backward(const std::int64_t* rows, std::int64_t n, std::int64_t step) {
        if (n <= 0 || n > bmax_) throw internal_error("ctPred: batch size out of range");
        forward(rows, n, step);
        const std::int64_t d = lay_.shape.d_in, h = lay_.shape.hidden;
        const int nl = lay_.n_hidden_layers();
        const T* p = p_.data();
        T* g = g_.data();
        std::fill(g_.begin(), g_.end(), T(0));

        double loss = 0;
        rvec dz(n);
        const T two_over_n = T(2) / static_cast<T>(n);
        for (std::int64_t i = 0; i < n; ++i) {
            const T e = out_[static_cast<size_t>(i)] - data_.y[rows[i]];
            loss += static_cast<double>(e) * static_cast<double>(e);
            dz[i] = two_over_n * e * head_derivative(z_[static_cast<size_t>(i)]);
        }
        loss /= static_cast<double>(n);

        // Output layer: dWo = dzᵀ h_last, dbo = Σ dz; δ_last = (dz ⊗ Wo) ⊙ factor.
        const auto& hlast = h_[static_cast<size_t>(nl - 1)];
        Eigen::Map<rvec> gwo(g + lay_.wo, h);
        gwo.noalias() = dz * hlast.topRows(n);
        g[lay_.bo] = dz.sum();
        const Eigen::Map<const rvec> wo(p + lay_.wo, h);
        mat* cur = &delta_;
        mat* nxt = &delta_prev_;
        cur->topRows(n).noalias() = dz.transpose() * wo;
        cur->topRows(n).array() *= a_[static_cast<size_t>(nl - 1)].topRows(n).array();

        for (int l = nl - 1; l >= 1; --l) {
            const std::int64_t wofs = lay_.wh[static_cast<size_t>(l - 1)];
            const std::int64_t bofs = lay_.bh[static_cast<size_t>(l - 1)];
            map gw(g + wofs, h, h);
            Eigen::Map<rvec> gb(g + bofs, h);
            // Tied: += sums the shared layer's uses in torch's order (last block first).
            gw.noalias() += cur->topRows(n).transpose() * h_[static_cast<size_t>(l - 1)].topRows(n);
            gb += cur->topRows(n).colwise().sum();
            const cmap w(p + wofs, h, h);
            nxt->topRows(n).noalias() = cur->topRows(n) * w;
            nxt->topRows(n).array() *= a_[static_cast<size_t>(l - 1)].topRows(n).array();
            std::swap(cur, nxt);
        }
        // First layer: dW0 = δ_0ᵀ X_b, split over feature columns (the one large GEMM of backward).
        Eigen::Map<rvec> gb0(g + lay_.b0, h);
        gb0 = cur->topRows(n).colwise().sum();
        map gw0(g + lay_.w0, h, d);
        const mat& delta0 = *cur;
        parallel_chunks(threads_for(n * d * h), d, column_chunk, [&](std::int64_t lo, std::int64_t hi) {
            gw0.middleCols(lo, hi - lo).noalias() =
                delta0.topRows(n).transpose() * xb_.topRows(n).middleCols(lo, hi - lo);
        });
        return loss;
    }

    void adam(std::int64_t step) {
        const double bc1 = 1.0 - std::pow(opts_.beta1, static_cast<double>(step));
        const double bc2 = 1.0 - std::pow(opts_.beta2, static_cast<double>(step));
        const T step_size = static_cast<T>(opts_.lr / bc1);
        const T bc2_sqrt = static_cast<T>(std::sqrt(bc2));
        const T b1 = static_cast<T>(opts_.beta1), b2 = static_cast<T>(opts_.beta2);
        const T one_minus_b1 = static_cast<T>(1.0 - opts_.beta1), one_minus_b2 = static_cast<T>(1.0 - opts_.beta2);
        const T wd = static_cast<T>(opts_.weight_decay), eps = static_cast<T>(opts_.eps);
        const std::int64_t np = lay_.n_params;
        T *p = p_.data(), *g = g_.data(), *m = m_.data(), *v = v_.data();
        for (std::int64_t i = 0; i < np; ++i) {
            const T gi = g[i] + wd * p[i];
            m[i] = b1 * m[i] + one_minus_b1 * gi;
            v[i] = b2 * v[i] + one_minus_b2 * gi * gi;
            const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
            p[i] -= step_size * (m[i] / denom);
        }
    }

    mlp_layout lay_;
    mlp_data<T> data_;
    train_options opts_;
    int nt_;
    std::int64_t bmax_ = 1000;
    std::uint64_t keep_threshold_ = 0;
    // Aligned like Eigen's own matrices: Eigen peels unaligned heads of vectorised reductions
    // depending on the address, so a heap-dependent alignment would change the rounding
    // from run to run.
    std::vector<T, Eigen::aligned_allocator<T>> p_, g_, m_, v_, best_;
    mat xb_;
    std::vector<mat> a_, h_;
    std::vector<T> z_, out_;
    mat delta_, delta_prev_;
    std::vector<double> pending_;
};

} // namespace

template <class T>
std::unique_ptr<mlp_backend<T>> make_cpu_backend(const mlp_layout& layout, const mlp_data<T>& data,
                                                 const train_options& opts) {
    return std::make_unique<cpu_backend<T>>(layout, data, opts);
}

template std::unique_ptr<mlp_backend<float>> make_cpu_backend(const mlp_layout&, const mlp_data<float>&,
                                                              const train_options&);
template std::unique_ptr<mlp_backend<double>> make_cpu_backend(const mlp_layout&, const mlp_data<double>&,
                                                               const train_options&);

} // namespace scpx::ctpred
