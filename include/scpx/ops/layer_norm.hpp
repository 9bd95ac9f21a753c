#pragma once
/// @file layer_norm.hpp
/// LayerNorm over the channel axis (Sonnet/torch: biased variance, eps inside the square root).

#include <cstdint>

namespace scpx::ops {

/// Arguments of layer_norm_ref: y[r] = (x[r] − mean(x[r])) / √(var(x[r]) + eps) · gamma + beta.
struct layer_norm_params {
    std::int64_t rows = 0;        ///< B·L
    std::int64_t channels = 0;    ///< C
    float eps = 1e-5f;            ///< Sonnet and torch default
    const float* x = nullptr;     ///< [rows, C]
    const float* gamma = nullptr; ///< [C] scale
    const float* beta = nullptr;  ///< [C] offset
    float* y = nullptr;           ///< [rows, C]; may equal x
};

/// CPU LayerNorm; row statistics accumulated in double (two passes) so the result does not
/// depend on the order of the sum.
void layer_norm_ref(const layer_norm_params& p);

} // namespace scpx::ops
