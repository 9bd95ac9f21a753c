// CUDA backend of the ctPred MLP: the same semantics as src/ctpred/mlp_cpu.cpp (the reference),
// with cuBLAS GEMMs in pedantic math mode (no TF32: the fixture's float32 tolerances need full
// fp32 products) and small kernels for gather, bias+ReLU+dropout, head+loss, column sums and
// Adam. Everything stays on the device; the host only sends row indices and reads losses.
//
// Layout: every matrix is row-major as on the CPU. cuBLAS is column-major, so a row-major
// C[M×N] = op(A)·op(B) is computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (gemm_rm below).
#include "common.cuh"
#include "scpx/ctpred/dropout_hash.hpp"
#include "scpx/ctpred/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace scpx::ctpred {

namespace {

constexpr int kThreads = 256;

// ---------------------------------------------------------------------------------------------
// cuBLAS wrappers

cublasStatus_t gemm_cm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                       const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                       float* c, int ldc) {
    return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
cublasStatus_t gemm_cm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                       const double* alpha, const double* a, int lda, const double* b, int ldb, const double* beta,
                       double* c, int ldc) {
    return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// Row-major C[M×N] = alpha·op(A)·op(B) + beta·C, where A is stored [M×K] (or [K×M] when
/// trans_a) with row length lda, B [K×N] (or [N×K] when trans_b) with row length ldb.
template <class T>
void gemm_rm(cublasHandle_t h, bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda,
             const T* b, int ldb, T beta, T* c, int ldc) {
    SCPX_CUBLAS_CHECK(gemm_cm(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                              &alpha, b, ldb, a, lda, &beta, c, ldc));
}

// ---------------------------------------------------------------------------------------------
// Kernels

/// xb[i, :] = x[rows[i], :]   x: [n_rows, d], xb: [n, d]
template <class T>
__global__ void gather_rows_kernel(const T* __restrict__ x, const std::int64_t* __restrict__ rows, std::int64_t n,
                                   std::int64_t d, T* __restrict__ xb) {
    const std::int64_t i = blockIdx.y;
    const std::int64_t src = rows[i];
    for (std::int64_t j = blockIdx.x * blockDim.x + threadIdx.x; j < d; j += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
        xb[i * d + j] = x[src * d + j];
}

/// a = a + b (bias); h = relu(a)·mask; a := dh/da (mask · [a > 0]).   a, h: [n, hdim]
template <class T>
__global__ void bias_relu_dropout_kernel(T* __restrict__ a, T* __restrict__ hout, const T* __restrict__ bias,
                                         std::int64_t n, std::int64_t hdim, bool drop, std::uint64_t seed,
                                         std::int64_t step, int layer, std::uint64_t threshold, T scale) {
    const std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n * hdim) return;
    const std::int64_t i = idx / hdim, j = idx % hdim;
    const T av = a[idx] + bias[j];
    T factor = av > T(0) ? T(1) : T(0);
    if (drop && !dropout_keep(seed, step, layer, i, j, threshold)) factor = T(0);
    else if (drop) factor *= scale;
    hout[idx] = av > T(0) ? av * factor : T(0);
    a[idx] = factor;
}

template <class T>
__device__ T softplus_dev(T x) {
    return x > T(20) ? x : log1p(exp(x));
}

/// Per row: z = h·wo + bo, out = head(z); with y given, the squared error is summed into
/// *loss_sum and dz = 2(out − y)/n · head'(z).   h: [n, hdim]
template <class T>
__global__ void head_kernel(const T* __restrict__ h, const T* __restrict__ wo, const T* __restrict__ bo,
                            std::int64_t n, std::int64_t hdim, bool bounded, const T* __restrict__ y,
                            const std::int64_t* __restrict__ rows, T* __restrict__ out, T* __restrict__ dz,
                            double* __restrict__ loss_sum) {
    __shared__ double partial[kThreads];
    const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    double sq = 0;
    if (i < n) {
        T z = T(0);
        for (std::int64_t j = 0; j < hdim; ++j) z += h[i * hdim + j] * wo[j];
        z += bo[0];
        T o = z, deriv = T(1);
        if (bounded) {
            const T r = z > T(0) ? z : T(0);
            const T sp = softplus_dev(r - T(1));
            o = r / (T(1) + sp);
            if (z <= T(0)) {
                deriv = T(0);
            } else {
                const T sig = T(1) / (T(1) + exp(-(z - T(1))));
                deriv = (T(1) + sp - z * sig) / ((T(1) + sp) * (T(1) + sp));
            }
        }
        if (out) out[i] = o;
        if (y) {
            const T e = o - y[rows[i]];
            sq = static_cast<double>(e) * static_cast<double>(e);
            if (dz) dz[i] = (T(2) / static_cast<T>(n)) * e * deriv;
        }
    }
    partial[threadIdx.x] = sq;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0 && loss_sum) atomicAdd(loss_sum, partial[0]);
}

/// delta[i, j] = dz[i] · wo[j] · factor[i, j]
template <class T>
__global__ void output_delta_kernel(const T* __restrict__ dz, const T* __restrict__ wo, const T* __restrict__ factor,
                                    std::int64_t n, std::int64_t hdim, T* __restrict__ delta) {
    const std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n * hdim) return;
    delta[idx] = dz[idx / hdim] * wo[idx % hdim] * factor[idx];
}

/// x[i] *= f[i]
template <class T>
__global__ void scale_kernel(T* __restrict__ x, const T* __restrict__ f, std::int64_t n) {
    const std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx < n) x[idx] *= f[idx];
}

/// out[j] += Σ_i m[i, j] (one block per column; rows strided over the block).   m: [n, cols]
template <class T>
__global__ void colsum_add_kernel(const T* __restrict__ m, std::int64_t n, std::int64_t cols, T* __restrict__ out) {
    __shared__ T partial[kThreads];
    const std::int64_t j = blockIdx.x;
    T s = T(0);
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) s += m[i * cols + j];
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) partial[threadIdx.x] += partial[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[j] += partial[0];
}

/// torch.optim.Adam with coupled weight decay; scalar factors computed in double on the host.
template <class T>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                            std::int64_t n, T wd, T b1, T b2, T one_minus_b1, T one_minus_b2, T step_size, T bc2_sqrt,
                            T eps) {
    const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const T gi = g[i] + wd * p[i];
    const T mi = b1 * m[i] + one_minus_b1 * gi;
    const T vi = b2 * v[i] + one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const T denom = sqrt(vi) / bc2_sqrt + eps;
    p[i] -= step_size * (mi / denom);
}

// ---------------------------------------------------------------------------------------------

/// Owning device buffer.
template <class T>
class dbuf {
public:
    dbuf() = default;
    explicit dbuf(std::int64_t n) { resize(n); }
    ~dbuf() {
        if (p_) cudaFree(p_);
    }
    dbuf(const dbuf&) = delete;
    dbuf& operator=(const dbuf&) = delete;
    void resize(std::int64_t n) {
        if (p_) cudaFree(p_);
        p_ = nullptr;
        n_ = n;
        if (n > 0) SCPX_CUDA_CHECK(cudaMalloc(&p_, static_cast<size_t>(n) * sizeof(T)));
    }
    T* get() const { return p_; }
    std::int64_t size() const { return n_; }

private:
    T* p_ = nullptr;
    std::int64_t n_ = 0;
};

int grid_for(std::int64_t n) { return cuda::div_up(n, kThreads); }

template <class T>
class cuda_backend final : public mlp_backend<T> {
public:
    cuda_backend(const mlp_layout& layout, const mlp_data<T>& data, const train_options& opts)
        : lay_(layout), opts_(opts), n_rows_(data.n_rows) {
        if (data.n_rows <= 0 || data.x == nullptr || data.y == nullptr)
            throw usage_error("ctPred: no feature rows to train on");
        SCPX_CUBLAS_CHECK(cublasCreate(&handle_));
        // Pedantic: no TF32 or other reduced-precision shortcuts inside the GEMMs.
        SCPX_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH));
        SCPX_CUDA_CHECK(cudaStreamCreate(&stream_));
        SCPX_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
        const std::int64_t d = lay_.shape.d_in, h = lay_.shape.hidden;
        bmax_ = std::max<std::int64_t>(1, opts.batch_size);
        x_.resize(n_rows_ * d);
        y_.resize(n_rows_);
        SCPX_CUDA_CHECK(cudaMemcpy(x_.get(), data.x, static_cast<size_t>(n_rows_ * d) * sizeof(T), cudaMemcpyHostToDevice));
        SCPX_CUDA_CHECK(cudaMemcpy(y_.get(), data.y, static_cast<size_t>(n_rows_) * sizeof(T), cudaMemcpyHostToDevice));
        const std::int64_t np = lay_.n_params;
        p_.resize(np);
        g_.resize(np);
        m_.resize(np);
        v_.resize(np);
        best_.resize(np);
        xb_.resize(bmax_ * d);
        const int nl = lay_.n_hidden_layers();
        a_.resize(static_cast<size_t>(nl));
        h_.resize(static_cast<size_t>(nl));
        for (int l = 0; l < nl; ++l) {
            a_[static_cast<size_t>(l)] = std::make_unique<dbuf<T>>(bmax_ * h);
            h_[static_cast<size_t>(l)] = std::make_unique<dbuf<T>>(bmax_ * h);
        }
        out_.resize(bmax_);
        dz_.resize(bmax_);
        delta_.resize(bmax_ * h);
        delta_prev_.resize(bmax_ * h);
        rows_.resize(n_rows_);
        loss_cap_ = std::max<std::int64_t>(n_rows_, 1) + 1;
        losses_.resize(loss_cap_);
        eval_sum_.resize(1);
        keep_threshold_ = dropout_threshold(opts.dropout);
        reset_optimizer();
    }

    ~cuda_backend() override {
        if (handle_) cublasDestroy(handle_);
        if (stream_) cudaStreamDestroy(stream_);
    }

    void set_params(const T* params) override {
        SCPX_CUDA_CHECK(cudaMemcpy(p_.get(), params, bytes(lay_.n_params), cudaMemcpyHostToDevice));
    }
    void get_params(T* params) override {
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        SCPX_CUDA_CHECK(cudaMemcpy(params, p_.get(), bytes(lay_.n_params), cudaMemcpyDeviceToHost));
    }
    void reset_optimizer() override {
        SCPX_CUDA_CHECK(cudaMemsetAsync(m_.get(), 0, bytes(lay_.n_params), stream_));
        SCPX_CUDA_CHECK(cudaMemsetAsync(v_.get(), 0, bytes(lay_.n_params), stream_));
    }
    void save_checkpoint() override {
        SCPX_CUDA_CHECK(cudaMemcpyAsync(best_.get(), p_.get(), bytes(lay_.n_params), cudaMemcpyDeviceToDevice, stream_));
    }
    void get_checkpoint(T* params) override {
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        SCPX_CUDA_CHECK(cudaMemcpy(params, best_.get(), bytes(lay_.n_params), cudaMemcpyDeviceToHost));
    }

    double eval_loss(const std::int64_t* rows, std::int64_t n) override {
        if (n <= 0) return 0.0;
        upload_rows(rows, n);
        SCPX_CUDA_CHECK(cudaMemsetAsync(eval_sum_.get(), 0, sizeof(double), stream_));
        for (std::int64_t s = 0; s < n; s += bmax_) {
            const std::int64_t k = std::min(bmax_, n - s);
            forward(rows_.get() + s, k, 0);
            SCPX_LAUNCH(grid_for(k), kThreads, 0, stream_, head_kernel<T>)(
                h_.back()->get(), p_.get() + lay_.wo, p_.get() + lay_.bo, k, lay_.shape.hidden, bounded(), y_.get(),
                rows_.get() + s, nullptr, nullptr, eval_sum_.get());
            SCPX_CUDA_CHECK_LAUNCH();
        }
        double sum = 0;
        SCPX_CUDA_CHECK(cudaMemcpyAsync(&sum, eval_sum_.get(), sizeof(double), cudaMemcpyDeviceToHost, stream_));
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return sum / static_cast<double>(n);
    }

    void predict(const std::int64_t* rows, std::int64_t n, T* out) override {
        if (n <= 0) return;
        upload_rows(rows, n);
        for (std::int64_t s = 0; s < n; s += bmax_) {
            const std::int64_t k = std::min(bmax_, n - s);
            forward(rows_.get() + s, k, 0);
            SCPX_LAUNCH(grid_for(k), kThreads, 0, stream_, head_kernel<T>)(
                h_.back()->get(), p_.get() + lay_.wo, p_.get() + lay_.bo, k, lay_.shape.hidden, bounded(), nullptr,
                nullptr, out_.get(), nullptr, nullptr);
            SCPX_CUDA_CHECK_LAUNCH();
            SCPX_CUDA_CHECK(cudaMemcpyAsync(out + s, out_.get(), bytes(k), cudaMemcpyDeviceToHost, stream_));
            SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        }
    }

    void train_step(const std::int64_t* rows, std::int64_t n, std::int64_t step) override {
        if (pending_ + 1 > loss_cap_) collect_losses();
        upload_rows(rows, n);
        double* slot = losses_.get() + pending_;
        SCPX_CUDA_CHECK(cudaMemsetAsync(slot, 0, sizeof(double), stream_));
        forward_backward(n, step, slot);
        adam(step);
        ++pending_;
        pending_n_.push_back(n);
    }

    std::vector<double> flush_batch_losses() override {
        collect_losses();
        std::vector<double> r;
        r.swap(collected_);
        return r;
    }

    double loss_and_grad(const std::int64_t* rows, std::int64_t n, std::int64_t step, T* grad) override {
        upload_rows(rows, n);
        SCPX_CUDA_CHECK(cudaMemsetAsync(eval_sum_.get(), 0, sizeof(double), stream_));
        forward_backward(n, step, eval_sum_.get());
        double sum = 0;
        SCPX_CUDA_CHECK(cudaMemcpyAsync(&sum, eval_sum_.get(), sizeof(double), cudaMemcpyDeviceToHost, stream_));
        SCPX_CUDA_CHECK(cudaMemcpyAsync(grad, g_.get(), bytes(lay_.n_params), cudaMemcpyDeviceToHost, stream_));
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return sum / static_cast<double>(n);
    }

private:
    static size_t bytes(std::int64_t n) { return static_cast<size_t>(n) * sizeof(T); }
    bool bounded() const { return lay_.shape.head == head_kind::BOUNDED; }

    void upload_rows(const std::int64_t* rows, std::int64_t n) {
        if (n > n_rows_) throw internal_error("ctPred: more rows than the data set has");
        for (std::int64_t i = 0; i < n; ++i)
            if (rows[i] < 0 || rows[i] >= n_rows_) throw internal_error("ctPred: row index out of range");
        // Synchronous copy from pageable memory: the previous users of rows_ have been queued
        // on the same stream, and cudaMemcpy waits for them.
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        SCPX_CUDA_CHECK(cudaMemcpy(rows_.get(), rows, static_cast<size_t>(n) * sizeof(std::int64_t), cudaMemcpyHostToDevice));
    }

    void collect_losses() {
        if (pending_ == 0) return;
        std::vector<double> sums(static_cast<size_t>(pending_));
        SCPX_CUDA_CHECK(cudaMemcpyAsync(sums.data(), losses_.get(), sizeof(double) * sums.size(), cudaMemcpyDeviceToHost, stream_));
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream_));
        for (size_t i = 0; i < sums.size(); ++i) collected_.push_back(sums[i] / static_cast<double>(pending_n_[i]));
        pending_ = 0;
        pending_n_.clear();
    }

    /// Forward of device rows[0..n): h_[l] activations, a_[l] := dh/da factors.
    void forward(const std::int64_t* drows, std::int64_t n, std::int64_t step) {
        const std::int64_t d = lay_.shape.d_in, h = lay_.shape.hidden;
        const int nl = lay_.n_hidden_layers();
        const bool drop = step > 0 && keep_threshold_ > 0;
        const T scale = drop ? T(1) / (T(1) - static_cast<T>(opts_.dropout)) : T(1);
        dim3 ggrid(static_cast<unsigned>(std::min<std::int64_t>(cuda::div_up(d, kThreads), 64)), static_cast<unsigned>(n));
        SCPX_LAUNCH(ggrid, kThreads, 0, stream_, gather_rows_kernel<T>)(x_.get(), drows, n, d, xb_.get());
        SCPX_CUDA_CHECK_LAUNCH();
        const T* p = p_.get();
        for (int l = 0; l < nl; ++l) {
            T* a = a_[static_cast<size_t>(l)]->get();
            if (l == 0)
                gemm_rm<T>(handle_, false, true, static_cast<int>(n), static_cast<int>(h), static_cast<int>(d), T(1),
                           xb_.get(), static_cast<int>(d), p + lay_.w0, static_cast<int>(d), T(0), a, static_cast<int>(h));
            else
                gemm_rm<T>(handle_, false, true, static_cast<int>(n), static_cast<int>(h), static_cast<int>(h), T(1),
                           h_[static_cast<size_t>(l - 1)]->get(), static_cast<int>(h),
                           p + lay_.wh[static_cast<size_t>(l - 1)], static_cast<int>(h), T(0), a, static_cast<int>(h));
            const T* bias = p + (l == 0 ? lay_.b0 : lay_.bh[static_cast<size_t>(l - 1)]);
            SCPX_LAUNCH(grid_for(n * h), kThreads, 0, stream_, bias_relu_dropout_kernel<T>)(
                a, h_[static_cast<size_t>(l)]->get(), bias, n, h, drop, opts_.seed, step, l, keep_threshold_, scale);
            SCPX_CUDA_CHECK_LAUNCH();
        }
    }

    void forward_backward(std::int64_t n, std::int64_t step, double* loss_slot) {
        const std::int64_t d = lay_.shape.d_in, h = lay_.shape.hidden;
        const int nl = lay_.n_hidden_layers();
        const int ni = static_cast<int>(n), hi = static_cast<int>(h), di = static_cast<int>(d);
        forward(rows_.get(), n, step);
        const T* p = p_.get();
        T* g = g_.get();
        SCPX_CUDA_CHECK(cudaMemsetAsync(g, 0, bytes(lay_.n_params), stream_));
        SCPX_LAUNCH(grid_for(n), kThreads, 0, stream_, head_kernel<T>)(h_.back()->get(), p + lay_.wo, p + lay_.bo, n, h,
                                                               bounded(), y_.get(), rows_.get(), nullptr, dz_.get(),
                                                               loss_slot);
        SCPX_CUDA_CHECK_LAUNCH();
        // dWo[1×H] = dzᵀ h_last; dbo = Σ dz.
        gemm_rm<T>(handle_, true, false, 1, hi, ni, T(1), dz_.get(), 1, h_.back()->get(), hi, T(0), g + lay_.wo, hi);
        SCPX_LAUNCH(1, kThreads, 0, stream_, colsum_add_kernel<T>)(dz_.get(), n, 1, g + lay_.bo);
        SCPX_CUDA_CHECK_LAUNCH();
        T* cur = delta_.get();
        T* nxt = delta_prev_.get();
        SCPX_LAUNCH(grid_for(n * h), kThreads, 0, stream_, output_delta_kernel<T>)(dz_.get(), p + lay_.wo,
                                                                           a_.back()->get(), n, h, cur);
        SCPX_CUDA_CHECK_LAUNCH();
        for (int l = nl - 1; l >= 1; --l) {
            const std::int64_t wofs = lay_.wh[static_cast<size_t>(l - 1)];
            const std::int64_t bofs = lay_.bh[static_cast<size_t>(l - 1)];
            // Tied: beta = 1 accumulates the shared layer's uses, last block first (as torch).
            gemm_rm<T>(handle_, true, false, hi, hi, ni, T(1), cur, hi, h_[static_cast<size_t>(l - 1)]->get(), hi, T(1),
                       g + wofs, hi);
            SCPX_LAUNCH(static_cast<unsigned>(h), kThreads, 0, stream_, colsum_add_kernel<T>)(cur, n, h, g + bofs);
            SCPX_CUDA_CHECK_LAUNCH();
            gemm_rm<T>(handle_, false, false, ni, hi, hi, T(1), cur, hi, p + wofs, hi, T(0), nxt, hi);
            SCPX_LAUNCH(grid_for(n * h), kThreads, 0, stream_, scale_kernel<T>)(nxt, a_[static_cast<size_t>(l - 1)]->get(), n * h);
            SCPX_CUDA_CHECK_LAUNCH();
            std::swap(cur, nxt);
        }
        SCPX_LAUNCH(static_cast<unsigned>(h), kThreads, 0, stream_, colsum_add_kernel<T>)(cur, n, h, g + lay_.b0);
        SCPX_CUDA_CHECK_LAUNCH();
        // dW0[H×D] = δ_0ᵀ X_b
        gemm_rm<T>(handle_, true, false, hi, di, ni, T(1), cur, hi, xb_.get(), di, T(0), g + lay_.w0, di);
    }

    void adam(std::int64_t step) {
        const double bc1 = 1.0 - std::pow(opts_.beta1, static_cast<double>(step));
        const double bc2 = 1.0 - std::pow(opts_.beta2, static_cast<double>(step));
        SCPX_LAUNCH(grid_for(lay_.n_params), kThreads, 0, stream_, adam_kernel<T>)(
            p_.get(), g_.get(), m_.get(), v_.get(), lay_.n_params, static_cast<T>(opts_.weight_decay),
            static_cast<T>(opts_.beta1), static_cast<T>(opts_.beta2), static_cast<T>(1.0 - opts_.beta1),
            static_cast<T>(1.0 - opts_.beta2), static_cast<T>(opts_.lr / bc1), static_cast<T>(std::sqrt(bc2)),
            static_cast<T>(opts_.eps));
        SCPX_CUDA_CHECK_LAUNCH();
    }

    mlp_layout lay_;
    train_options opts_;
    std::int64_t n_rows_ = 0;
    std::int64_t bmax_ = 1000;
    std::uint64_t keep_threshold_ = 0;
    cublasHandle_t handle_ = nullptr;
    cudaStream_t stream_ = nullptr;
    dbuf<T> x_, y_, p_, g_, m_, v_, best_, xb_, out_, dz_, delta_, delta_prev_;
    std::vector<std::unique_ptr<dbuf<T>>> a_, h_;
    dbuf<std::int64_t> rows_;
    dbuf<double> losses_, eval_sum_;
    std::int64_t loss_cap_ = 0, pending_ = 0;
    std::vector<std::int64_t> pending_n_;
    std::vector<double> collected_;
};

} // namespace

template <class T>
std::unique_ptr<mlp_backend<T>> make_cuda_backend(const mlp_layout& layout, const mlp_data<T>& data,
                                                  const train_options& opts) {
    return std::make_unique<cuda_backend<T>>(layout, data, opts);
}

template std::unique_ptr<mlp_backend<float>> make_cuda_backend(const mlp_layout&, const mlp_data<float>&,
                                                               const train_options&);
template std::unique_ptr<mlp_backend<double>> make_cuda_backend(const mlp_layout&, const mlp_data<double>&,
                                                                const train_options&);

} // namespace scpx::ctpred
