// Relative-position attention through the [n, n] logits (contract: rel_attention_gemm.cuh).
//
// Workspace, in this order (each region 256-byte aligned):
//   qu, qw  [B, H, n, K]  q·q_scale + u_h and + w_h, the precision's type (A of the logit GEMMs)
//   S       [H, n, n]     content logits of one sequence, fp32
//   R       [H, n, ldr]   relative logits, ldr = 2n − 1 rounded up to 4 (16-byte rows), fp32
//   P       [H, n, n]     softmax probabilities, the precision's type (A of P·v)
// S, R and P are reused sequence after sequence; the stream orders the reuse.
#include "rel_attention_gemm.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"

#include <cmath>
#include <string>

namespace scpx::cuda {

namespace {

std::size_t align256(std::size_t b) { return (b + 255) / 256 * 256; }

struct ws_layout {
    std::int64_t ldr = 0;
    std::size_t qu = 0, qw = 0, s = 0, r = 0, p = 0, total = 0;
};

ws_layout layout_of(const rel_attention_args& a) {
    ws_layout L;
    const std::size_t elem = element_bytes(a.prec);
    const auto z = [](std::int64_t v) { return static_cast<std::size_t>(v); };
    L.ldr = (2 * a.n - 1 + 3) / 4 * 4;
    std::size_t at = 0;
    const auto carve = [&](std::size_t bytes) {
        const std::size_t here = at;
        at = align256(at + bytes);
        return here;
    };
    L.qu = carve(z(a.batch * a.heads * a.n * a.key) * elem);
    L.qw = carve(z(a.batch * a.heads * a.n * a.key) * elem);
    L.s = carve(z(a.heads * a.n * a.n) * 4);
    L.r = carve(z(a.heads * a.n * L.ldr) * 4);
    L.p = carve(z(a.heads * a.n * a.n) * elem);
    L.total = at;
    return L;
}

/// qu[b, h, i, :] = q[b, i, h, :]·q_scale + u[h, :], qw likewise with w (scale before the biases,
/// as the reference). One thread per (b, i, h, k) element.
template <class T>
__global__ void prep_queries(const T* __restrict__ qkv, std::int64_t n, std::int64_t heads, std::int64_t key,
                             std::int64_t width, const float* __restrict__ u, const float* __restrict__ w, float q_scale,
                             T* __restrict__ qu, T* __restrict__ qw, std::int64_t total) {
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t k = e % key, h = (e / key) % heads, i = (e / (key * heads)) % n, b = e / (key * heads * n);
        const float q = to_f32(qkv[(b * n + i) * width + h * key + k]) * q_scale;
        const std::int64_t o = ((b * heads + h) * n + i) * key + k;
        qu[o] = from_f32<T>(q + u[h * key + k]);
        qw[o] = from_f32<T>(q + w[h * key + k]);
    }
}

template <int kThreads>
__device__ __forceinline__ float block_reduce(float v, bool is_max, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) {
        const float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < kThreads / 32 ? scratch[lane] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
        const float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    __syncthreads();  // scratch is reused by the next reduction
    return v;
}

/// One block per (query row i, head h): logits S[i, j] + R[i, j − i + n − 1] over j (the relative
/// shift as a gather), softmax in fp32 with the row max subtracted, P[i, j] in T. Each thread
/// keeps its kPer logits in registers (n ≤ kThreads·kPer).
template <class T, int kThreads, int kPer>
__global__ void __launch_bounds__(kThreads)
    shift_softmax(const float* __restrict__ s, const float* __restrict__ r, std::int64_t n, std::int64_t ldr,
                  T* __restrict__ p) {
    SCPX_DYNAMIC_SHARED(smem);  // kThreads / 32 floats for the block reductions
    float* scratch = reinterpret_cast<float*>(smem);
    const std::int64_t i = blockIdx.x, h = blockIdx.y;
    const float* srow = s + (h * n + i) * n;
    const float* rrow = r + (h * n + i) * ldr + (n - 1 - i);  // rrow[j] = R[i, j − i + n − 1]
    float v[kPer];
    float mx = -INFINITY;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
        const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(t) * kThreads;
        v[t] = j < n ? srow[j] + rrow[j] : -INFINITY;
        mx = fmaxf(mx, v[t]);
    }
    mx = block_reduce<kThreads>(mx, true, scratch);
    float sum = 0.0f;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
        const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(t) * kThreads;
        v[t] = j < n ? expf(v[t] - mx) : 0.0f;
        sum += v[t];
    }
    sum = block_reduce<kThreads>(sum, false, scratch);
    const float inv = 1.0f / sum;
    T* prow = p + (h * n + i) * n;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
        const std::int64_t j = threadIdx.x + static_cast<std::int64_t>(t) * kThreads;
        if (j < n) prow[j] = from_f32<T>(v[t] * inv);
    }
}

template <class T>
void launch_kernels_and_gemms(const rel_attention_args& a, gemm_engine& gemm, char* ws, const ws_layout& L,
                              cudaStream_t stream) {
    const std::int64_t n = a.n, H = a.heads, K = a.key, V = a.value, width = 2 * H * K + H * V;
    const T* qkv = static_cast<const T*>(a.qkv);
    T* qu = reinterpret_cast<T*>(ws + L.qu);
    T* qw = reinterpret_cast<T*>(ws + L.qw);
    float* s = reinterpret_cast<float*>(ws + L.s);
    float* r = reinterpret_cast<float*>(ws + L.r);
    T* p = reinterpret_cast<T*>(ws + L.p);
    const std::int64_t total = a.batch * n * H * K;
    const int threads = 256;
    const unsigned blocks = grid_stride_blocks(total, threads);
    SCPX_LAUNCH(blocks, threads, 0, stream, prep_queries<T>)(qkv, n, H, K, width, a.content_bias, a.pos_bias, a.q_scale,
                                                              qu, qw, total);
    SCPX_CUDA_CHECK(cudaGetLastError());

    for (std::int64_t b = 0; b < a.batch; ++b) {
        const T* seq = qkv + b * n * width;
        batched_gemm_args g;
        g.prec = a.prec;
        g.batch = H;
        // S_h = qu_h · k_hᵀ: k_h is the [n, K] slice at column (H + h)·K of qkv.
        g.m = n;
        g.n = n;
        g.k = K;
        g.a = qu + b * H * n * K;
        g.lda = K;
        g.stride_a = n * K;
        g.b = seq + H * K;
        g.ldb = width;
        g.stride_b = K;
        g.b_trans = true;
        g.d = s;
        g.ldd = n;
        g.stride_d = n * n;
        g.d_f32 = true;
        gemm.run_batched(g, stream);
        // R_h = qw_h · relk_hᵀ: relk_h is the [2n − 1, K] slice at column h·K of rel_k.
        g.n = 2 * n - 1;
        g.a = qw + b * H * n * K;
        g.b = a.rel_k;
        g.ldb = H * K;
        g.stride_b = K;
        g.d = r;
        g.ldd = L.ldr;
        g.stride_d = n * L.ldr;
        gemm.run_batched(g, stream);

        if (n <= 256 * 16)
            SCPX_LAUNCH(dim3(static_cast<unsigned>(n), static_cast<unsigned>(H)), 256, 256 / 32 * sizeof(float), stream,
                        (shift_softmax<T, 256, 16>))(s, r, n, L.ldr, p);
        else
            SCPX_LAUNCH(dim3(static_cast<unsigned>(n), static_cast<unsigned>(H)), 1024, 1024 / 32 * sizeof(float), stream,
                        (shift_softmax<T, 1024, 16>))(s, r, n, L.ldr, p);
        SCPX_CUDA_CHECK(cudaGetLastError());

        // O_h = P_h · v_h into out's columns h·V of this sequence.
        batched_gemm_args o;
        o.prec = a.prec;
        o.batch = H;
        o.m = n;
        o.n = V;
        o.k = n;
        o.a = p;
        o.lda = n;
        o.stride_a = n * n;
        o.b = seq + 2 * H * K;
        o.ldb = width;
        o.stride_b = V;
        o.d = static_cast<T*>(a.out) + b * n * H * V;
        o.ldd = H * V;
        o.stride_d = V;
        gemm.run_batched(o, stream);
    }
}

} // namespace

std::size_t rel_attention_gemm_workspace_bytes(const rel_attention_args& a) { return layout_of(a).total; }

void rel_attention_gemm(const rel_attention_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                        cudaStream_t stream) {
    if (!a.qkv || !a.rel_k || !a.content_bias || !a.pos_bias || !a.out || !workspace)
        throw usage_error("rel_attention_gemm: missing tensor or workspace");
    if (a.batch < 1 || a.n < 1 || a.heads < 1 || a.key < 1 || a.value < 1)
        throw usage_error("rel_attention_gemm: empty shape");
    if (a.n > 1024 * 16 || a.heads > 65535)
        throw usage_error("rel_attention_gemm: n " + std::to_string(a.n) + " or heads " + std::to_string(a.heads) +
                          " beyond the softmax kernel's limits (n <= 16384)");
    const ws_layout L = layout_of(a);
    if (workspace_bytes < L.total)
        throw usage_error("rel_attention_gemm: workspace of " + std::to_string(workspace_bytes) + " bytes, " +
                          std::to_string(L.total) + " needed");
    char* ws = static_cast<char*>(workspace);
    if (a.prec == precision::BF16) launch_kernels_and_gemms<__nv_bfloat16>(a, gemm, ws, L, stream);
    else launch_kernels_and_gemms<float>(a, gemm, ws, L, stream);
}

} // namespace scpx::cuda
