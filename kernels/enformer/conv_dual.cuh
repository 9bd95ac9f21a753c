#pragma once
/// @file conv_dual.cuh
/// A convolution with a small reduction (k·cin ≤ 64: Enformer's stem, k = 15 over the 4 one-hot
/// channels) in one tensor-core pass that writes both its output y and the next ConvBlock's input
/// y2 = gelu(y·next_scale + next_shift) — the pointwise block after the stem reads y2 as its GEMM
/// operand and y as its residual, so the separate BN → GELU pass over y (read 302 MB and write
/// 302 MB per 196,608-bp sequence) is not needed. The shape is bound by writing its outputs: the
/// products (K = 64) are a few per output element.
///
/// Arithmetic: y = bf16(Σ w·x + bias) with fp32 accumulation, as the im2col GEMM route rounds its
/// output; y2 = bf16(gelu_sigmoid(float(y)·scale + shift)), as the BN-GELU pass computes it from
/// the stored y. BF16 only (the throughput precision).

#include "conv1d.cuh"
#include "kernel_types.cuh"

namespace scpx::cuda {

struct conv_dual_args {
    /// The convolution: BF16, no input transform, no output GELU, no residual; y is its output.
    conv1d_args conv;
    const float* next_scale = nullptr; ///< [cout] folded BN scale of the next ConvBlock
    const float* next_shift = nullptr; ///< [cout] folded BN shift
    void* y2 = nullptr;                ///< [B, L, cout] bf16: gelu(y·next_scale + next_shift)
};

/// Whether conv_dual handles this convolution: BF16, odd k, even cin, k·cin ≤ 64, cout a multiple
/// of 16, no input transform / output GELU / residual, and the weights' shared-memory copy
/// (64 × cout bf16) within the current device's per-block limit (false without a usable device).
bool conv_dual_supports(const conv1d_args& a);

/// Enqueues the pass on `stream`. No allocation, no synchronisation.
/// @throws usage_error on missing tensors or when conv_dual_supports(a.conv) is false
void conv_dual(const conv_dual_args& a, cudaStream_t stream);

} // namespace scpx::cuda
