#pragma once
/// @file conv_gemm.cuh
/// A convolution (conv1d_args, no output GELU) as one cuBLASLt GEMM per sequence, the third
/// candidate of conv_selector's AUTO choice next to the custom kernel and cuDNN:
/// - k = 1 (the pointwise ConvBlocks): the input transform (folded BN → GELU, or GELU) as an
///   elementwise pass into scratch, then y = T(x)·w + bias + residual;
/// - k > 1 with a short reduction, k·cin ≤ kConvGemmMaxIm2colK (the stem: k 15 × 4 channels =
///   60): an im2col pass writes each output row's k input rows (transformed, zero outside the
///   sequence, padded to a multiple of 8 columns) into scratch, and the weight [k·cin, cout] is
///   copied there with zero rows to match. The GEMM then does what the custom kernel's tiles do
///   with a K of one or two steps, and its output write runs at the library's rate.
/// The bias is in the GEMM's epilogue and the residual its C operand (beta = 1; in place when
/// residual == y). One GEMM per sequence (M = L), or per chunk of conv1d_args::gemm_chunk_rows
/// rows of it: the pass writes a chunk's rows to scratch and the GEMM reads them back while they
/// are still in L2 (at the stem, 8,192 rows × 768 channels is 12.6 MB in bf16, where the whole
/// sequence's 302 MB would go through device memory twice). Chunks never span two sequences, so a
/// sequence's result does not depend on its batch.

#include "conv1d.cuh"
#include "gemm.cuh"

#include <cstddef>
#include <cstdint>

namespace scpx::cuda {

/// Largest k·cin the im2col route takes (beyond it the copy of k input rows per output row costs
/// more than cuDNN's implicit GEMM saves).
constexpr std::int64_t kConvGemmMaxIm2colK = 128;

/// Whether this shape can run as a GEMM: no output GELU, kernel 1 or k·cin ≤ kConvGemmMaxIm2colK,
/// and gemm_chunk_rows ≥ 0.
bool conv_gemm_supports(const conv1d_args& a);

/// Scratch bytes conv_gemm needs: for k = 1 one chunk's transformed input (0 without a
/// transform); for k > 1 the padded weight and one chunk's im2col rows.
std::size_t conv_gemm_scratch_bytes(const conv1d_args& a);

/// Enqueues the convolution on `stream` through `gemm`.
/// @throws usage_error (unsupported shape, small scratch); cuda_error from the library
void conv_gemm(const conv1d_args& a, gemm_engine& gemm, void* scratch, std::size_t scratch_bytes, cudaStream_t stream);

} // namespace scpx::cuda
