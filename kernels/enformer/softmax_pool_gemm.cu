// SoftmaxPool2 through cuBLASLt logit differences (contract: softmax_pool_gemm.cuh).
//
// A pair's softmax needs only d = logit(2r) − logit(2r + 1), and the logits are linear in the
// rows: d = (x[2r] − x[2r+1])·w. So each sequence's [L, C] input is processed in chunks of
// min(L/2, chunk_pairs) pairs: one pass writes the row differences (computed in fp32, stored in
// the run's type) to the workspace, one cuBLASLt product with K = C gives d (fp32, or bf16 with
// bf16_logits) — half the FLOPs and half the A bytes of computing both logits — and the pairing
// kernel pools each pair (four channels per thread). By default a chunk is a whole sequence:
// chunks small enough to keep the intermediates in L2 measured slower on the H100 (bf16,
// 196,608 bp, batch 8: 133.1 seq/s with one chunk per sequence, 131.2 at 32,768 pairs, 131.7 at
// 16,384; with 8,192-row GEMM chunks 121.8 at 16,384, 120.3 at 8,192, 118.5 at 4,096, 112.0 at
// 2,048): the GEMMs lose efficiency and each launch leaves a tail of idle SMs.
// Rounding: in BF16 the difference is rounded once more to bf16 before the product (each row
// already was a bf16 value); FP32/TF32 round it at fp32. With bf16_logits (BF16 only) the GEMM
// stores d in bf16: half the bytes of the largest intermediate, one more rounding of d (relative
// 2⁻⁹). Chunks never span two sequences and their size depends on L only, so a sequence's result
// does not depend on the batch it came in (cuBLASLt may pick another algorithm, i.e. another
// summation order, for another M).
#include "softmax_pool_gemm.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace scpx::cuda {

namespace {

std::int64_t chunk_pairs(const softmax_pool_args& a) {
    return a.chunk_pairs > 0 ? std::min(a.length / 2, a.chunk_pairs) : a.length / 2;
}

/// Bytes of a chunk of `pairs` row differences at the front of the workspace (256-byte aligned,
/// for the GEMM that reads them and for the logit differences after them).
std::size_t row_diff_bytes(const softmax_pool_args& a, std::int64_t pairs) {
    const std::size_t b = static_cast<std::size_t>(pairs * a.channels) * element_bytes(a.prec);
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
template <class T, class D, bool Transform>
__global__ void pool_pairs(const T* __restrict__ x, const D* __restrict__ diff, T* __restrict__ y,
                           std::int64_t out_rows, std::int64_t channels, const out_transform tr) {
    const std::int64_t per_row = channels / 4, total = out_rows * per_row;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = e / per_row, c = (e % per_row) * 4;
        const vec4<T> a = *reinterpret_cast<const vec4<T>*>(x + 2 * r * channels + c);
        const vec4<T> b = *reinterpret_cast<const vec4<T>*>(x + (2 * r + 1) * channels + c);
        const vec4<D> dv = *reinterpret_cast<const vec4<D>*>(diff + r * channels + c);
        vec4<T> out;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const float d = to_f32(dv.v[k]);
            const float t = expf(-fabsf(d));
            const float e0 = d >= 0.0f ? 1.0f : t, e1 = d >= 0.0f ? t : 1.0f;
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

/// Whether the logit differences are stored in bf16 (softmax_pool_args::bf16_logits, BF16 only).
bool bf16_logits(const softmax_pool_args& a) { return a.bf16_logits && a.prec == precision::BF16; }

/// T: the activations' type; D: the logit differences' (fp32, or bf16 with bf16_logits).
template <class T, class D>
void run(const softmax_pool_args& a, gemm_engine& gemm, unsigned char* workspace, std::size_t workspace_bytes,
         cudaStream_t stream) {
    const std::int64_t C = a.channels;
    std::int64_t pairs = a.length / 2, chunk = chunk_pairs(a), batch = a.batch;
    if (a.span_batch && a.chunk_pairs == 0 && a.batch > 1) {
        // Pair r of the flattened batch is rows 2r, 2r+1 whatever its sequence (L is even): chunks
        // of as many pairs as the workspace holds, across sequences. The 256 bytes keep room for
        // the alignment of the differences after the rows.
        batch = 1;
        pairs = a.batch * (a.length / 2);
        const auto fit = static_cast<std::int64_t>((workspace_bytes - std::min<std::size_t>(workspace_bytes, 256)) /
                                                   (static_cast<std::size_t>(C) * (sizeof(T) + sizeof(D))));
        chunk = std::clamp(fit, chunk, pairs);
    }
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    T* rows = reinterpret_cast<T*>(workspace);
    D* diff = reinterpret_cast<D*>(workspace + row_diff_bytes(a, chunk));
    constexpr int kThreads = 256;
    const out_transform tr{a.out_scale, a.out_shift, a.out_gelu};
    const auto pool = a.has_out_transform() ? pool_pairs<T, D, true> : pool_pairs<T, D, false>;
    for (std::int64_t seq = 0; seq < batch; ++seq) {
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
            g.d_f32 = std::is_same_v<D, float>;
            g.prec = a.prec;
            gemm.run(g, stream);
            SCPX_LAUNCH(grid_stride_blocks(m * C / 4, kThreads), kThreads, 0, stream, pool)(x0, diff, y + r0 * C, m, C, tr);
            SCPX_CUDA_CHECK(cudaGetLastError());
        }
    }
}

} // namespace

std::size_t softmax_pool_gemm_workspace_bytes(const softmax_pool_args& a) {
    const std::int64_t chunk = chunk_pairs(a);
    return row_diff_bytes(a, chunk) + static_cast<std::size_t>(chunk * a.channels) * (bf16_logits(a) ? 2 : 4);
}

void softmax_pool_gemm(const softmax_pool_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
    softmax_pool_validate(a);
    if (a.chunk_pairs < 0)
        throw usage_error("softmax pooling (GEMM): chunk of " + std::to_string(a.chunk_pairs) +
                          " pairs (0: one chunk per sequence)");
    const std::size_t need = softmax_pool_gemm_workspace_bytes(a);
    if (!workspace || workspace_bytes < need)
        throw usage_error("softmax pooling (GEMM): workspace of " + std::to_string(workspace_bytes) + " bytes, " +
                          std::to_string(need) + " needed");
    auto* ws = static_cast<unsigned char*>(workspace);
    if (bf16_logits(a)) run<__nv_bfloat16, __nv_bfloat16>(a, gemm, ws, workspace_bytes, stream);
    else if (a.prec == precision::BF16) run<__nv_bfloat16, float>(a, gemm, ws, workspace_bytes, stream);
    else run<float, float>(a, gemm, ws, workspace_bytes, stream);
}

} // namespace scpx::cuda
