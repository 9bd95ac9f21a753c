#pragma once
/// @file rel_attention.hpp
/// Enformer's multi-head attention with Transformer-XL relative positions (no mask).

#include <cstdint>

namespace scpx::ops {

/// Optional copies of the internals for sequence 0 (all null by default); each points at a
/// caller buffer of the shape given. For tests that localise a mismatch.
struct rel_attention_debug {
    float* q_scaled = nullptr;      ///< [H, n, K] q·K^-0.5, before the biases
    float* k = nullptr;             ///< [H, n, K]
    float* v = nullptr;             ///< [H, n, V]
    float* content_logits = nullptr;///< [H, n, n] (q + u)·kᵀ
    float* rel_unshifted = nullptr; ///< [H, n, 2n−1] (q + w)·relkᵀ
    float* rel_logits = nullptr;    ///< [H, n, n] after the relative shift
    float* attn_weights = nullptr;  ///< [H, n, n] softmax over j
    float* attn_heads = nullptr;    ///< [n, H·V] attention output before the output projection
};

/// Arguments of rel_attention_ref.
///
/// Per head h (channel index h·K + k, head-major):
///   q = x·Wq·K^-0.5, k = x·Wk, v = x·Wv;
///   logits[i, j] = (q_i + u_h)·k_j + (q_i + w_h)·relk_h[j − i + n − 1];
///   out_i = Σ_j softmax_j(logits[i, ·]) v_j;  y = concat_h(out)·Wo + bo + residual.
/// relk (the positional features times Wr) depends on n only, so the caller precomputes it.
struct rel_attention_params {
    std::int64_t batch = 1;              ///< B
    std::int64_t n = 0;                  ///< sequence length
    std::int64_t dim = 0;                ///< d (input and output channels)
    std::int64_t heads = 0;              ///< H
    std::int64_t key = 0;                ///< K (query/key size per head)
    std::int64_t value = 0;              ///< V (value size per head)
    const float* x = nullptr;            ///< [B, n, d], already layer-normed
    const float* w_qkv = nullptr;        ///< [d, 2·H·K + H·V]: columns q | k | v
    const float* rel_k = nullptr;        ///< [2n−1, H·K] relative keys, row i for distance i − (n−1)
    const float* content_bias = nullptr; ///< [H, K] u (r_w_bias / rel_content_bias)
    const float* pos_bias = nullptr;     ///< [H, K] w (r_r_bias / rel_pos_bias)
    const float* w_out = nullptr;        ///< [H·V, d]
    const float* b_out = nullptr;        ///< [d]
    const float* residual = nullptr;     ///< [B, n, d] or null; must not overlap y
    float* y = nullptr;                  ///< [B, n, d]
    rel_attention_debug debug;           ///< optional internals of sequence 0
};

/// CPU relative attention: the q|k|v projection and the output projection as row-blocked
/// GEMMs; the per-(sequence, head) logits, relative-shift gather, softmax and A·v spread over
/// ops::num_threads(). The relative shift is an index gather (column j − i + n − 1 of the
/// unshifted logits), never the padded-reshape of the Python code.
void rel_attention_ref(const rel_attention_params& p);

} // namespace scpx::ops
