#pragma once
/// @file conv1d.cuh
/// Custom 1-D convolution (stride 1, odd kernel, 'SAME' zero padding) as an implicit GEMM on
/// tensor cores (TF32 / BF16 mma) or fp32 FMA (FP32), with Enformer's ConvBlock input transform
/// fused into the operand load and the bias / GELU / residual fused into the epilogue.
/// Semantics are exactly those of ops::conv1d_ref (include/scpx/ops/conv1d.hpp), which is its
/// cross-test reference (tests/cuda/test_enformer_conv_cuda.cu).

#include "kernel_types.cuh"

namespace scpx::cuda {

/// y[b,l,o] = act_out( bias[o] + Σ_{t,i} w[t·cin+i, o] · a(x[b, l+t−k/2, i]) ) + residual[b,l,o]
/// with a(v) = gelu(v·in_scale[i] + in_shift[i]) (either part optional) and out-of-range
/// positions contributing zero AFTER the transform (as torch/TF pad the BN-GELU output).
struct conv1d_args {
    std::int64_t batch = 1;          ///< B
    std::int64_t length = 0;         ///< L (output length = input length)
    std::int64_t cin = 0;            ///< input channels
    std::int64_t cout = 0;           ///< output channels
    std::int64_t kernel = 1;         ///< odd width k (1, 5, 15 in Enformer)
    const void* x = nullptr;         ///< [B, L, cin] activations (precision's type)
    const void* w = nullptr;         ///< [k·cin, cout] row-major (row t·cin + i), precision's type
    const float* bias = nullptr;     ///< [cout] or null
    /// Optional bf16 copy of bias made once by the caller: the pointwise-GEMM route passes it to
    /// cuBLASLt's bf16 bias epilogue (gemm_args::bias_bf16); the other routes read `bias`.
    const __nv_bfloat16* bias_bf16 = nullptr;
    const float* in_scale = nullptr; ///< [cin] folded BN scale, or null (no BN)
    const float* in_shift = nullptr; ///< [cin] folded BN shift (with in_scale)
    bool in_gelu = false;            ///< GELU on the (normalised) input
    bool out_gelu = false;           ///< GELU on the output, before the residual add
    const void* residual = nullptr;  ///< [B, L, cout] or null; may equal y (in-place residual)
    void* y = nullptr;               ///< [B, L, cout]; must not overlap x
    precision prec = precision::FP32;
    /// conv_gemm only: output rows per transform/im2col + GEMM step (0: the whole sequence). A
    /// chunk whose transformed rows fit in L2 saves their trip through device memory; it depends on
    /// nothing but this value and L, so a sequence's result stays independent of its batch.
    std::int64_t gemm_chunk_rows = 0;
    /// conv_gemm, kernel 1 with gemm_chunk_rows 0 only: steps may cover several sequences (the
    /// batch's B·L rows taken as one matrix), as many rows per step as the scratch given holds —
    /// fewer, fuller GEMMs for the short late-tower sequences, whose per-sequence GEMMs leave SMs
    /// idle in their last wave. A sequence's result may then depend on its batch (cuBLASLt picks
    /// its algorithm per M), so only for the throughput mode.
    bool span_batch = false;
};

/// Launches the custom convolution on `stream`. No allocation, no synchronisation.
/// @throws usage_error on inconsistent sizes (even kernel, missing pointers, channels that the
///         kernel's tiling cannot handle: cin and cout must be multiples of 8 except the stem's
///         cin = 4, which the kernel pads in shared memory)
void conv1d(const conv1d_args& a, cudaStream_t stream);

} // namespace scpx::cuda
