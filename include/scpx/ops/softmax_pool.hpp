#pragma once
/// @file softmax_pool.hpp
/// Enformer's softmax (attention) pooling by 2 over NLC activations.

#include <cstdint>

namespace scpx::ops {

/// Arguments of softmax_pool_ref.
///
/// For each output row r and channel c, with the two input rows x0 = x[2r], x1 = x[2r+1]:
/// logits_p = x_p · w (a full C×C matmul per position, no bias), s = softmax over p of
/// logits_p[c] (per channel), y[r, c] = s_0 x0[c] + s_1 x1[c].
struct softmax_pool_params {
    std::int64_t batch = 1;     ///< B
    std::int64_t length = 0;    ///< input length (even); output length is length / 2
    std::int64_t channels = 0;  ///< C
    const float* x = nullptr;   ///< [B, length, C]
    const float* w = nullptr;   ///< [C, C] with logits = x · w, i.e. w[i·C + o] = torch weight[o, i, 0, 0]
    float* y = nullptr;         ///< [B, length / 2, C]; must not overlap x
};

/// CPU softmax pooling: the logit GEMM per block of row pairs, then the per-channel 2-way
/// softmax and weighted sum in the same block (the logits never leave the thread's buffer).
/// Fixed blocks per sequence: bit-identical for any thread count and batch composition.
/// @throws usage_error for an odd length (the torch port's masked padding is not supported:
///         valid Enformer lengths are multiples of 128)
void softmax_pool_ref(const softmax_pool_params& p);

} // namespace scpx::ops
