#pragma once
/// @file rel_attention_gemm.cuh
/// The attention core of rel_attention.cuh (same arguments, same result) computed through the
/// [n, n] logits instead of the fused flash-style kernel: per sequence, three strided-batched
/// cuBLASLt products over the heads read q, k, v and the relative keys in place —
///   S_h = (q_s + u_h)·k_hᵀ          [n, n]      fp32
///   R_h = (q_s + w_h)·relk_hᵀ       [n, 2n − 1] fp32
///   O_h = P_h·v_h                   [n, V]      written into out's head columns
/// — and one custom kernel between them that applies the relative shift as an index gather
/// (logit[i, j] = S[i, j] + R[i, j − i + n − 1]) and the row softmax, writing P in the
/// precision's type. The tensor-core GEMMs run near the card's rate where the fused kernel's
/// 16 × 16 warp products do not; the price is 4–5 n² values of workspace per head (about
/// 0.3 GB at n = 1536 and 1.2 GB at n = 3072, one sequence at a time).

#include "gemm.cuh"
#include "kernel_types.cuh"
#include "rel_attention.cuh"

#include <cstddef>

namespace scpx::cuda {

/// Device workspace rel_attention_gemm needs for these arguments (pointers are not read).
std::size_t rel_attention_gemm_workspace_bytes(const rel_attention_args& a);

/// rel_attention's result through cuBLASLt (`gemm`, enqueued on `stream`) and the shift-softmax
/// kernel. `workspace` holds at least rel_attention_gemm_workspace_bytes(a), 256-byte aligned.
/// @throws usage_error on a bad shape or too small a workspace; cuda_error from the library
void rel_attention_gemm(const rel_attention_args& a, gemm_engine& gemm, void* workspace, std::size_t workspace_bytes,
                        cudaStream_t stream);

} // namespace scpx::cuda
