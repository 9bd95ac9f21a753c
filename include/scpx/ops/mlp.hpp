#pragma once
/// @file mlp.hpp
/// The transformer feed-forward block after its LayerNorm: y = residual + W2·ReLU(W1·x + b1) + b2.

#include <cstdint>

namespace scpx::ops {

/// Arguments of mlp_ref.
struct mlp_params {
    std::int64_t rows = 0;           ///< B·L
    std::int64_t dim = 0;            ///< d
    std::int64_t hidden = 0;         ///< 2d in Enformer
    const float* x = nullptr;        ///< [rows, d] (already layer-normed)
    const float* w1 = nullptr;       ///< [d, hidden]
    const float* b1 = nullptr;       ///< [hidden]
    const float* w2 = nullptr;       ///< [hidden, d]
    const float* b2 = nullptr;       ///< [d]
    const float* residual = nullptr; ///< [rows, d] or null; must not overlap y
    float* y = nullptr;              ///< [rows, d]
    std::int64_t segment = 0;        ///< rows per sequence (0: rows), see linear_params
};

/// CPU MLP (ReLU, not GELU, as in both Sonnet and the torch port); the hidden activations are
/// processed in row blocks so only a block of [rows, hidden] is ever live.
void mlp_ref(const mlp_params& p);

} // namespace scpx::ops
