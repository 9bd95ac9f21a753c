// SoftmaxPool2 through cuBLASLt logit differences (contract: softmax_pool_gemm.cuh).
//
// Once per call the stacked weight [w; −w] ([2C, C]) is written to the front of the workspace.
// Each sequence's [L, C] input, seen as [L/2, 2C] (pair r = rows 2r and 2r + 1, adjacent in
// memory), is processed in chunks of min(L/2, kChunkPairs) pairs: d = x_pairs · [w; −w] =
// logit(2r) − logit(2r + 1) into the fp32 workspace, then one thread per output element pools its
// pair. Chunks never span two sequences and their size depends on L only, so a sequence's result
// does not depend on the batch it came in (cuBLASLt may pick another algorithm, i.e. another
// summation order, for another M).
#include "softmax_pool_gemm.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>

namespace scpx::cuda {

namespace {

/// Pairs per GEMM: 16384 × 2C × C is 39 GFLOP at C = 768 (full tensor-core waves), and the
/// differences stay ≤ 100 MB at C = 1536.
constexpr std::int64_t kChunkPairs = std::int64_t{1} << 14;

std::int64_t chunk_pairs(const softmax_pool_args& a) { return std::min(a.length / 2, kChunkPairs); }

/// Bytes of the stacked weight at the front of the workspace (256-byte aligned for the GEMM).
std::size_t stacked_bytes(const softmax_pool_args& a) {
    const std::size_t b = static_cast<std::size_t>(2 * a.channels * a.channels) * element_bytes(a.prec);
    return (b + 255) / 256 * 256;
}

/// out[0, C²) = w, out[C², 2C²) = −w (negation is exact in every storage type).
template <class T>
__global__ void stack_negated(const T* __restrict__ w, T* __restrict__ out, std::int64_t count) {
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < count;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const T v = w[e];
        out[e] = v;
        out[count + e] = from_f32<T>(-to_f32(v));
    }
}

/// The optional output transform (softmax_pool_args::out_*), as elementwise.cu's affine pass does it.
struct out_transform {
    const float* scale = nullptr;
    const float* shift = nullptr;
    bool gelu = false;
};

/// y[r, c] = (x[2r, c]·e0 + x[2r+1, c]·e1) / (e0 + e1) with the larger of the two logits as the
/// softmax's max: d = logit(2r) − logit(2r+1) ≥ 0 gives e0 = 1, e1 = exp(−d), else e0 = exp(d),
/// e1 = 1 (NaN propagates); with Transform, then rounded to T, scaled, shifted and GELU'd.
/// r counts output rows of the chunk.
template <class T, bool Transform>
__global__ void pool_pairs(const T* __restrict__ x, const float* __restrict__ diff, T* __restrict__ y,
                           std::int64_t out_rows, std::int64_t channels, const out_transform tr) {
    const std::int64_t total = out_rows * channels;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = e / channels, c = e % channels;
        const std::int64_t i0 = 2 * r * channels + c, i1 = i0 + channels;
        const float d = diff[e];
        const float t = expf(-fabsf(d));
        const float e0 = d >= 0.0f ? 1.0f : t, e1 = d >= 0.0f ? t : 1.0f;
        const T pooled = from_f32<T>((to_f32(x[i0]) * e0 + to_f32(x[i1]) * e1) / (e0 + e1));
        if constexpr (Transform) {
            float v = to_f32(pooled);
            if (tr.scale) v *= tr.scale[c];
            if (tr.shift) v += tr.shift[c];
            y[e] = from_f32<T>(tr.gelu ? gelu_sigmoid(v) : v);
        } else {
            y[e] = pooled;
        }
    }
}

template <class T>
void run(const softmax_pool_args& a, gemm_engine& gemm, unsigned char* workspace, cudaStream_t stream) {
    const std::int64_t C = a.channels, pairs = a.length / 2, chunk = chunk_pairs(a);
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    T* stacked = reinterpret_cast<T*>(workspace);
    float* diff = reinterpret_cast<float*>(workspace + stacked_bytes(a));
    constexpr int kThreads = 256;
    SCPX_LAUNCH(grid_stride_blocks(C * C, kThreads), kThreads, 0, stream, stack_negated<T>)(
        static_cast<const T*>(a.w), stacked, C * C);
    SCPX_CUDA_CHECK(cudaGetLastError());
    const out_transform tr{a.out_scale, a.out_shift, a.out_gelu};
    const auto pool = a.has_out_transform() ? pool_pairs<T, true> : pool_pairs<T, false>;
    for (std::int64_t seq = 0; seq < a.batch; ++seq) {
        for (std::int64_t r0 = seq * pairs; r0 < (seq + 1) * pairs; r0 += chunk) {
            const std::int64_t m = std::min(chunk, (seq + 1) * pairs - r0);
            gemm_args g;
            g.m = m;
            g.n = C;
            g.k = 2 * C;
            g.a = x + r0 * 2 * C; // pair r0 starts at input row 2·r0
            g.b = stacked;
            g.d = diff;
            g.d_f32 = true;
            g.prec = a.prec;
            gemm.run(g, stream);
            SCPX_LAUNCH(grid_stride_blocks(m * C, kThreads), kThreads, 0, stream, pool)(x + r0 * 2 * C, diff,
                                                                                      y + r0 * C, m, C, tr);
            SCPX_CUDA_CHECK(cudaGetLastError());
        }
    }
}

} // namespace

std::size_t softmax_pool_gemm_workspace_bytes(const softmax_pool_args& a) {
    return stacked_bytes(a) + static_cast<std::size_t>(chunk_pairs(a) * a.channels) * sizeof(float);
}

void softmax_pool_gemm(const softmax_pool_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
    softmax_pool_validate(a);
    const std::size_t need = softmax_pool_gemm_workspace_bytes(a);
    if (!workspace || workspace_bytes < need)
        throw usage_error("softmax pooling (GEMM): workspace of " + std::to_string(workspace_bytes) + " bytes, " +
                          std::to_string(need) + " needed");
    auto* ws = static_cast<unsigned char*>(workspace);
    if (a.prec == precision::BF16) run<__nv_bfloat16>(a, gemm, ws, stream);
    else run<float>(a, gemm, ws, stream);
}

} // namespace scpx::cuda
