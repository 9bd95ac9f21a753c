#pragma once
/// @file softmax_pool_gemm.cuh
/// SoftmaxPool2 (same arguments and result as softmax_pool.cuh) as one cuBLASLt GEMM for the
/// logit differences (fp32, or bf16 with softmax_pool_args::bf16_logits) followed by a pairing
/// kernel that does the per-channel softmax over each pair of rows and the weighted sum. A pair's softmax needs only l0 − l1 =
/// (x0 − x1)·w: a pass forms the row differences, and one product with K = C gives them — half
/// the FLOPs of both rows' logits and half the logits written and read back, at the cost of one
/// rounding of the difference to the stored type (bf16 in BF16). The differences pass through
/// memory in chunks, which costs bandwidth the fused kernel saves — but the GEMM runs at the
/// library's tensor-core rate, which the fused kernel's own tiles do not reach at bf16
/// (docs/PERFORMANCE.md).

#include "gemm.cuh"
#include "kernel_types.cuh"
#include "softmax_pool.cuh"

#include <cstddef>

namespace scpx::cuda {

/// Device workspace softmax_pool_gemm needs for these arguments: one chunk of row differences
/// (stored type) and of logit differences (fp32, or bf16 with bf16_logits) — with one chunk per
/// sequence (chunk_pairs 0) and bf16 logits 302 MB at 196,608 bp and C = 768.
std::size_t softmax_pool_gemm_workspace_bytes(const softmax_pool_args& a);

/// softmax_pool's result through `gemm` and the pairing kernel, enqueued on `stream`.
/// @throws usage_error (softmax_pool_validate, or too small a workspace); cuda_error
void softmax_pool_gemm(const softmax_pool_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream);

} // namespace scpx::cuda
