// SoftmaxPool2 through cuBLASLt logit differences (contract: softmax_pool_gemm.cuh).
//
// A pair's softmax needs only d = logit(2r) − logit(2r + 1), and the logits are linear in the
// rows: d = (x[2r] − x[2r+1])·w. So each sequence's [L, C] input is processed in chunks of
// min(L/2, kChunkPairs) pairs: one pass writes the row differences (computed in fp32, stored in
// the run's type) to the workspace, one cuBLASLt product with K = C gives d in fp32 — half the
// FLOPs and half the A bytes of computing both logits — and the pairing kernel pools each pair
// (four channels per thread). A chunk's differences (≤ 25 MB in bf16 at C = 768) are read back by the GEMM while
// they are still largely in the H100's 50 MB L2. Rounding: in BF16 the difference is rounded
// once more to bf16 before the product (each row already was a bf16 value); FP32/TF32 round it
// at fp32. Chunks never span two sequences and their size depends on L only, so a sequence's
// result does not depend on the batch it came in (cuBLASLt may pick another algorithm, i.e.
// another summation order, for another M).
#include "softmax_pool_gemm.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>

namespace scpx::cuda {

namespace {

/// Pairs per GEMM: 16384 × C × C is 19 GFLOP at C = 768 (full tensor-core waves), and the
/// fp32 logit differences stay ≤ 100 MB at C = 1536.
constexpr std::int64_t kChunkPairs = std::int64_t{1} << 14;

std::int64_t chunk_pairs(const softmax_pool_args& a) { return std::min(a.length / 2, kChunkPairs); }

/// Bytes of one chunk's row differences at the front of the workspace (256-byte aligned, for
/// the GEMM that reads them and for the fp32 logits after them).
std::size_t row_diff_bytes(const softmax_pool_args& a) {
    const std::size_t b = static_cast<std::size_t>(chunk_pairs(a) * a.channels) * element_bytes(a.prec);
    return (b + 255) / 256 * 256;
}

/// out[r, c] = x[2r, c] − x[2r+1, c] over `pairs` pairs, four channels per access (C % 8 == 0
/// and the arena's alignment keep every vector inside one row and aligned).
template <class T>
__global__ void pair_difference(const T* __restrict__ x, T* __restrict__ out, std::int64_t pairs,
                                std::int64_t channels) {
    const std::int64_t per_row = channels / 4, total = pairs * per_row;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = e / per_row, c = (e % per_row) * 4;
        const vec4<T> a = *reinterpret_cast<const vec4<T>*>(x + 2 * r * channels + c);
        const vec4<T> b = *reinterpret_cast<const vec4<T>*>(x + (2 * r + 1) * channels + c);
        vec4<T> d;
#pragma unroll
        for (int k = 0; k < 4; ++k) d.v[k] = from_f32<T>(to_f32(a.v[k]) - to_f32(b.v[k]));
        *reinterpret_cast<vec4<T>*>(out + r * channels + c) = d;
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
/// r counts output rows of the chunk. Four channels per thread, each operand one vector access
/// (C % 8 == 0 and 4-element alignment of x, y and the workspace, as pair_difference).
template <class T, bool Transform>
__global__ void pool_pairs(const T* __restrict__ x, const float* __restrict__ diff, T* __restrict__ y,
                           std::int64_t out_rows, std::int64_t channels, const out_transform tr) {
    const std::int64_t per_row = channels / 4, total = out_rows * per_row;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = e / per_row, c = (e % per_row) * 4;
        const vec4<T> a = *reinterpret_cast<const vec4<T>*>(x + 2 * r * channels + c);
        const vec4<T> b = *reinterpret_cast<const vec4<T>*>(x + (2 * r + 1) * channels + c);
        const vec4<float> d = *reinterpret_cast<const vec4<float>*>(diff + r * channels + c);
        vec4<T> out;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const float t = expf(-fabsf(d.v[k]));
            const float e0 = d.v[k] >= 0.0f ? 1.0f : t, e1 = d.v[k] >= 0.0f ? t : 1.0f;
            const T pooled = from_f32<T>((to_f32(a.v[k]) * e0 + to_f32(b.v[k]) * e1) / (e0 + e1));
            if constexpr (Transform) {
                float v = to_f32(pooled);
                if (tr.scale) v *= tr.scale[c + k];
                if (tr.shift) v += tr.shift[c + k];
                out.v[k] = from_f32<T>(tr.gelu ? gelu_sigmoid(v) : v);
            } else {
                out.v[k] = pooled;
            }
        }
        *reinterpret_cast<vec4<T>*>(y + r * channels + c) = out;
    }
}

template <class T>
void run(const softmax_pool_args& a, gemm_engine& gemm, unsigned char* workspace, cudaStream_t stream) {
    const std::int64_t C = a.channels, pairs = a.length / 2, chunk = chunk_pairs(a);
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    T* rows = reinterpret_cast<T*>(workspace);
    float* diff = reinterpret_cast<float*>(workspace + row_diff_bytes(a));
    constexpr int kThreads = 256;
    const out_transform tr{a.out_scale, a.out_shift, a.out_gelu};
    const auto pool = a.has_out_transform() ? pool_pairs<T, true> : pool_pairs<T, false>;
    for (std::int64_t seq = 0; seq < a.batch; ++seq) {
        for (std::int64_t r0 = seq * pairs; r0 < (seq + 1) * pairs; r0 += chunk) {
            const std::int64_t m = std::min(chunk, (seq + 1) * pairs - r0);
            const T* x0 = x + r0 * 2 * C;  // pair r0 starts at input row 2·r0
            SCPX_LAUNCH(grid_stride_blocks(m * C / 4, kThreads), kThreads, 0, stream, pair_difference<T>)(x0, rows, m, C);
            SCPX_CUDA_CHECK(cudaGetLastError());
            gemm_args g;
            g.m = m;
            g.n = C;
            g.k = C;
            g.a = rows;
            g.b = a.w;
            g.d = diff;
            g.d_f32 = true;
            g.prec = a.prec;
            gemm.run(g, stream);
            SCPX_LAUNCH(grid_stride_blocks(m * C / 4, kThreads), kThreads, 0, stream, pool)(x0, diff, y + r0 * C, m, C, tr);
            SCPX_CUDA_CHECK(cudaGetLastError());
        }
    }
}

} // namespace

std::size_t softmax_pool_gemm_workspace_bytes(const softmax_pool_args& a) {
    return row_diff_bytes(a) + static_cast<std::size_t>(chunk_pairs(a) * a.channels) * sizeof(float);
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
