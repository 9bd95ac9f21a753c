// LayerNorm over channels, one warp per row (contract in layer_norm.cuh). Two passes over the
// row for the statistics (mean, then the mean of squared deviations), both in fp32, on values
// shifted by the row's first element p: x − p is exact for the typical row (Sterbenz), so a mean
// that is large against the spread costs no accuracy (without the shift, rows of 100 ± 1 lose
// ~3e-5 relative to the double-precision reference; with it ~5e-7), and the centred second pass
// avoids the cancellation of a one-pass Σx² − (Σx)². The row (6 KB at d = 1536) stays in L1
// between the passes, so the kernel reads HBM once and writes once.
#include "layer_norm.cuh"

#include "common.cuh"

#include <algorithm>

namespace scpx::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/// x and y may be the same buffer (no __restrict__): each element is read by the lane that
/// later overwrites it, and only after both statistics passes of its row.
template <class T>
__global__ void __launch_bounds__(kThreads)
    layer_norm_kernel(std::int64_t rows, int channels, const T* x, const float* gamma, const float* beta, float eps,
                      T* y) {
    const int lane = threadIdx.x % 32;
    const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
    const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * kWarps;
    const float inv_c = 1.0f / static_cast<float>(channels);
    for (std::int64_t row = first; row < rows; row += step) {
        const T* xr = x + row * channels;
        const float pivot = to_f32(xr[0]);
        float s = 0.0f;
        for (int c = lane; c < channels; c += 32) s += to_f32(xr[c]) - pivot;
        const float mean = warp_sum(s) * inv_c; // of x − pivot
        float q = 0.0f;
        for (int c = lane; c < channels; c += 32) {
            const float d = (to_f32(xr[c]) - pivot) - mean;
            q = fmaf(d, d, q);
        }
        // Biased variance (divide by C), eps inside the square root: Sonnet and torch.
        const float inv = 1.0f / sqrtf(warp_sum(q) * inv_c + eps);
        T* yr = y + row * channels;
        for (int c = lane; c < channels; c += 32)
            yr[c] = from_f32<T>(fmaf(((to_f32(xr[c]) - pivot) - mean) * inv, gamma[c], beta[c]));
    }
}

} // namespace

void layer_norm(const layer_norm_args& a, cudaStream_t stream) {
    if (!a.x || !a.y || !a.gamma || !a.beta || a.rows < 0 || a.channels < 1)
        throw usage_error("layer_norm: missing tensor or empty shape");
    if (a.channels > (std::int64_t{1} << 30)) throw usage_error("layer_norm: too many channels");
    if (a.rows == 0) return;
    const int grid = static_cast<int>(std::min<std::int64_t>((a.rows + kWarps - 1) / kWarps, 65535));
    const int c = static_cast<int>(a.channels);
    if (a.prec == precision::BF16)
        SCPX_LAUNCH(grid, kThreads, 0, stream, layer_norm_kernel<__nv_bfloat16>)(
            a.rows, c, static_cast<const __nv_bfloat16*>(a.x), a.gamma, a.beta, a.eps,
            static_cast<__nv_bfloat16*>(a.y));
    else
        SCPX_LAUNCH(grid, kThreads, 0, stream, layer_norm_kernel<float>)(a.rows, c, static_cast<const float*>(a.x), a.gamma,
                                                                a.beta, a.eps, static_cast<float*>(a.y));
    SCPX_CUDA_CHECK_LAUNCH();
}

} // namespace scpx::cuda
