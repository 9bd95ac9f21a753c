#pragma once
/// @file softmax_pool.cuh
/// Enformer's SoftmaxPool2, fused: the C×C logit GEMM runs on tensor cores and its epilogue does
/// the per-channel softmax over each pair of rows and the weighted sum, so the [L, C] logits are
/// never written to memory. Reference: ops::softmax_pool_ref (include/scpx/ops/softmax_pool.hpp).

#include "kernel_types.cuh"

namespace scpx::cuda {

/// y[b, l, c] = Σ_{p∈{0,1}} x[b, 2l+p, c] · softmax_p( (x[b, 2l+p, :] · w)[c] )
struct softmax_pool_args {
    std::int64_t batch = 1;     ///< B
    std::int64_t length = 0;    ///< input length L (even); output length L/2
    std::int64_t channels = 0;  ///< C (multiple of 8)
    const void* x = nullptr;    ///< [B, L, C]
    const void* w = nullptr;    ///< [C, C] row-major, logits = x · w
    void* y = nullptr;          ///< [B, L/2, C]; must not overlap x
    precision prec = precision::FP32;
    /// Optional transform of the stored result for the ConvBlock that reads it next (its BN →
    /// GELU hoisted into this pass, so that convolution needs no transform pass of its own):
    /// y = gelu(round(pooled)·out_scale[c] + out_shift[c]), the arithmetic of the separate pass.
    /// softmax_pool_gemm only; the fused kernel refuses it.
    const float* out_scale = nullptr;
    const float* out_shift = nullptr; ///< with out_scale
    bool out_gelu = false;
    /// softmax_pool_gemm only: pairs per chunk (row differences → GEMM → pairing), 0 for one
    /// chunk per sequence (the fastest measured, docs/PERFORMANCE.md). Small chunks keep the
    /// intermediates in L2 between the three passes; large ones give the GEMM more rows and fewer
    /// launches. Depends on nothing but this value and L, so a sequence's result is independent of
    /// its batch.
    std::int64_t chunk_pairs = 0;
    /// softmax_pool_gemm with chunk_pairs 0 only: chunks may cover several sequences (pairs of
    /// the whole batch in order), as many pairs as the workspace given holds; as
    /// conv1d_args::span_batch, a sequence's result may then depend on its batch.
    bool span_batch = false;
    /// softmax_pool_gemm, BF16 only: the logit differences in bf16 instead of fp32 (half their
    /// bytes through memory; ignored in FP32/TF32).
    bool bf16_logits = false;
    /// Whether any part of the output transform is asked for.
    bool has_out_transform() const { return out_scale || out_shift || out_gelu; }
};

/// Launches the fused pool on `stream`. @throws usage_error on odd length / bad sizes.
void softmax_pool(const softmax_pool_args& a, cudaStream_t stream);

/// The argument checks every implementation applies (odd length, channels, alignment, overlap).
/// @throws usage_error
void softmax_pool_validate(const softmax_pool_args& a);

} // namespace scpx::cuda
