#pragma once
/// @file linear.hpp
/// Dense layer over rows with a fused epilogue (bias, activation, residual): the q/k/v and
/// output projections, the transformer MLP layers and the output heads (softplus).

#include <cstdint>

namespace scpx::ops {

/// Activation applied after the bias add.
enum class activation { none, relu, gelu, softplus };

/// Arguments of linear_ref: y = act(x · w + bias) + residual.
struct linear_params {
    std::int64_t rows = 0;           ///< M (B·L)
    std::int64_t in = 0;             ///< K
    std::int64_t out = 0;            ///< N
    const float* x = nullptr;        ///< [M, K] with row stride x_stride (0: K)
    std::int64_t x_stride = 0;       ///< elements between rows of x
    const float* w = nullptr;        ///< [K, N] (= torch Linear weight transposed)
    const float* bias = nullptr;     ///< [N] or null
    activation act = activation::none;
    const float* residual = nullptr; ///< [M, N] or null; must not overlap y (y is overwritten first)
    float* y = nullptr;              ///< [M, N] with row stride y_stride (0: N); must not overlap x
    std::int64_t y_stride = 0;       ///< elements between rows of y
    /// Rows per sequence (0: rows). GEMM blocks restart at every sequence so a sequence's result
    /// does not depend on the other sequences of the batch.
    std::int64_t segment = 0;
};

/// CPU dense layer: one Eigen GEMM per fixed block of rows, over ops::num_threads(); results
/// are bit-identical for any thread count.
void linear_ref(const linear_params& p);

} // namespace scpx::ops
