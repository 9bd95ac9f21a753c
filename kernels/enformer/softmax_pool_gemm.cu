// SoftmaxPool2 through cuBLASLt logits (contract: softmax_pool_gemm.cuh).
//
// Each sequence's [L, C] input is processed in chunks of min(L, kChunkRows) rows (even, so a pair
// never straddles two chunks): logits = x_chunk · w into the fp32 workspace, then one thread per
// output element pools its pair of rows. Chunks never span two sequences and their size depends
// on L only, so a sequence's result does not depend on the batch it came in (cuBLASLt may pick
// another algorithm, i.e. another summation order, for another M).
#include "softmax_pool_gemm.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>

namespace scpx::cuda {

namespace {

/// Rows per GEMM: large enough for full tensor-core waves (32768 × 768 × 768 is 39 GFLOP), small
/// enough to bound the logits workspace (≤ 200 MB at C = 1536).
constexpr std::int64_t kChunkRows = std::int64_t{1} << 15;

std::int64_t chunk_rows(const softmax_pool_args& a) { return std::min(a.length, kChunkRows); }

/// y[r, c] = Σ_{p∈{0,1}} x[2r+p, c]·e_p / (e_0 + e_1), e_p = exp(logit[2r+p, c] − max); r counts
/// output rows of the chunk.
template <class T>
__global__ void pool_pairs(const T* __restrict__ x, const float* __restrict__ logits, T* __restrict__ y,
                           std::int64_t out_rows, std::int64_t channels) {
    const std::int64_t total = out_rows * channels;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t r = e / channels, c = e % channels;
        const std::int64_t i0 = 2 * r * channels + c, i1 = i0 + channels;
        const float l0 = logits[i0], l1 = logits[i1];
        const float m = fmaxf(l0, l1);
        const float e0 = expf(l0 - m), e1 = expf(l1 - m);
        y[e] = from_f32<T>((to_f32(x[i0]) * e0 + to_f32(x[i1]) * e1) / (e0 + e1));
    }
}

template <class T>
void run(const softmax_pool_args& a, gemm_engine& gemm, float* logits, cudaStream_t stream) {
    const std::int64_t C = a.channels, L = a.length, chunk = chunk_rows(a);
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    for (std::int64_t seq = 0; seq < a.batch; ++seq) {
        for (std::int64_t r0 = seq * L; r0 < (seq + 1) * L; r0 += chunk) {
            const std::int64_t m = std::min(chunk, (seq + 1) * L - r0);
            gemm_args g;
            g.m = m;
            g.n = C;
            g.k = C;
            g.a = x + r0 * C;
            g.b = a.w;
            g.d = logits;
            g.d_f32 = true;
            g.prec = a.prec;
            gemm.run(g, stream);
            const std::int64_t out = m / 2 * C;
            const int threads = 256;
            const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((out + threads - 1) / threads, 1 << 20));
            SCPX_LAUNCH(blocks, threads, 0, stream, pool_pairs<T>)(x + r0 * C, logits, y + r0 / 2 * C, m / 2, C);
            SCPX_CUDA_CHECK(cudaGetLastError());
        }
    }
}

} // namespace

std::size_t softmax_pool_gemm_workspace_bytes(const softmax_pool_args& a) {
    return static_cast<std::size_t>(chunk_rows(a) * a.channels) * sizeof(float);
}

void softmax_pool_gemm(const softmax_pool_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
    softmax_pool_validate(a);
    const std::size_t need = softmax_pool_gemm_workspace_bytes(a);
    if (!workspace || workspace_bytes < need)
        throw usage_error("softmax pooling (GEMM): workspace of " + std::to_string(workspace_bytes) + " bytes, " +
                          std::to_string(need) + " needed");
    float* logits = static_cast<float*>(workspace);
    if (a.prec == precision::BF16) run<__nv_bfloat16>(a, gemm, logits, stream);
    else run<float>(a, gemm, logits, stream);
}

} // namespace scpx::cuda
