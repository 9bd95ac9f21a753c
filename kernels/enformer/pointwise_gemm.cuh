#pragma once
/// @file pointwise_gemm.cuh
/// A k = 1 ConvBlock (conv1d_args with kernel 1, no output GELU) as one cuBLASLt GEMM per
/// sequence: the input transform (folded BN → GELU, or GELU) as an elementwise pass into
/// scratch, then y = T(x)·w + bias + residual with the bias in the GEMM's epilogue and the
/// residual as its C operand (beta = 1; in place when residual == y). The third candidate of
/// conv_selector's AUTO choice for pointwise shapes, next to the custom kernel and cuDNN.
/// One GEMM per sequence (M = L) keeps a sequence's result independent of its batch.

#include "conv1d.cuh"
#include "gemm.cuh"

#include <cstddef>

namespace scpx::cuda {

/// Whether this shape can run as a pointwise GEMM (kernel 1, no output GELU).
bool pointwise_gemm_supports(const conv1d_args& a);

/// Scratch bytes pointwise_gemm needs: one sequence's transformed input (0 without a transform).
std::size_t pointwise_gemm_scratch_bytes(const conv1d_args& a);

/// Enqueues the pointwise ConvBlock on `stream` through `gemm`.
/// @throws usage_error (unsupported shape, small scratch); cuda_error from the library
void pointwise_gemm(const conv1d_args& a, gemm_engine& gemm, void* scratch, std::size_t scratch_bytes,
                    cudaStream_t stream);

} // namespace scpx::cuda
