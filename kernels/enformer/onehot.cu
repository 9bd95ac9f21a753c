// DNA letters → one-hot rows on the device (contract: onehot.cuh). One thread per base, one
// 4-value store per row (16 B in fp32, 8 B in bf16; the arena keeps rows aligned).
#include "onehot.cuh"

#include "common.cuh"
#include "scpx/core/error.hpp"
#include "scpx/seq/onehot.hpp"

#include <cstdint>
#include <string>

namespace scpx::cuda {

namespace {

template <class T>
__global__ void onehot_kernel(const char* __restrict__ bases, std::int64_t count, float other, T* __restrict__ out) {
    for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const int hot = seq::onehot_channel(bases[i]); // seq::onehot_ref's own rule
        vec4<T> row;  // one row, one vector store
#pragma unroll
        for (int c = 0; c < 4; ++c) row.v[c] = from_f32<T>(hot < 0 ? other : (c == hot ? 1.0f : 0.0f));
        reinterpret_cast<vec4<T>*>(out)[i] = row;
    }
}

} // namespace

void onehot_encode(const char* bases, std::int64_t count, float other, void* out, precision prec, cudaStream_t stream) {
    if (count < 0 || (count > 0 && (!bases || !out))) throw usage_error("onehot_encode: missing tensor");
    if (count == 0) return;
    const std::size_t row_bytes = 4 * element_bytes(prec);
    if (reinterpret_cast<std::uintptr_t>(out) % row_bytes != 0)
        throw usage_error("onehot_encode: the output must be aligned to one row (" + std::to_string(row_bytes) +
                          " bytes)");
    constexpr int kThreads = 256;
    const unsigned blocks = grid_stride_blocks(count, kThreads);
    if (prec == precision::BF16)
        SCPX_LAUNCH(blocks, kThreads, 0, stream, onehot_kernel<__nv_bfloat16>)(bases, count, other,
                                                                              static_cast<__nv_bfloat16*>(out));
    else
        SCPX_LAUNCH(blocks, kThreads, 0, stream, onehot_kernel<float>)(bases, count, other, static_cast<float*>(out));
    SCPX_CUDA_CHECK_LAUNCH();
}

} // namespace scpx::cuda
