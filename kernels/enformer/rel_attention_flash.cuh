#pragma once
/// @file rel_attention_flash.cuh
/// The attention core of rel_attention.cuh (same arguments, same result) as a FlashAttention-2
/// style kernel on register fragments (mma.sync, mma_sm80.cuh): each warp keeps its 16 query rows'
/// output accumulators, running max and sum in registers across the whole key loop, the content
/// logits (q+u)·kᵀ are accumulated in registers, the relative logits (q+w)·relkᵀ over the
/// warp's band of relative keys go through a small per-warp shared-memory tile for the shift
/// (the index gather j − i + n − 1), and the softmax probabilities become the A operand of P·v
/// without leaving registers. Neither the [n, n] logits nor the output accumulators touch
/// memory (the gemm path writes the logits; the fused kernel keeps O in shared memory).
///
/// Tensor-core precisions only: BF16 (m16n8k16) and TF32 (m16n8k8); head sizes K ≤ 64 and
/// V ≤ 192 (Enformer's 64 and 192; smaller ones are zero-padded). FP32 uses the other paths.

#include "kernel_types.cuh"
#include "rel_attention.cuh"

namespace scpx::cuda {

/// Whether rel_attention_flash handles these arguments (precision, head sizes, 64 or 128 query
/// rows per block) on the current device (the blocks' shared memory — 108 KiB in BF16 at V = 192,
/// 148 KiB with 128 rows — within its per-block limit; false without a usable device).
bool rel_attention_flash_supports(const rel_attention_args& a);

/// rel_attention's result through the register-tiled kernel, enqueued on `stream`.
/// @throws usage_error on bad arguments or when rel_attention_flash_supports(a) is false
void rel_attention_flash(const rel_attention_args& a, cudaStream_t stream);

} // namespace scpx::cuda
