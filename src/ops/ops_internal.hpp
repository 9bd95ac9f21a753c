#pragma once
// Private helpers of the CPU ops: Eigen views on raw row-major buffers and the activations.

#include <Eigen/Core>

#include <cmath>
#include <cstdint>

namespace scpx::ops::detail {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// A row-major view with an explicit row stride (lets a conv read overlapping rows in place).
using const_view = Eigen::Map<const row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using mut_view = Eigen::Map<row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

inline const_view view(const float* p, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
    return const_view(p, rows, cols, Eigen::OuterStride<>(stride));
}
inline mut_view view(float* p, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
    return mut_view(p, rows, cols, Eigen::OuterStride<>(stride));
}

/// Enformer's GELU: the sigmoid approximation x·σ(1.702x) used by both Sonnet and the torch
/// port (not erf, not tanh).
inline float gelu(float x) { return x / (1.0f + std::exp(-1.702f * x)); }

/// GELU over a contiguous run of values, vectorised through Eigen's exp.
template <class A>
inline void gelu_inplace(A&& v) {
    v = v / (1.0f + (-1.702f * v).exp());
}

/// torch.nn.Softplus (beta 1, threshold 20): x itself above 20, where log1p(exp(x)) == x in fp32.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

/// Row block size for splitting `rows` over `threads` workers: about four blocks per worker so
/// dynamic scheduling evens out, and between 32 and `max_rows` rows so GEMM packing stays cheap.
inline std::int64_t row_grain(std::int64_t rows, int threads, std::int64_t max_rows = 512) {
    std::int64_t g = (rows + 4 * threads - 1) / (4 * static_cast<std::int64_t>(threads));
    if (g < 32) g = 32;
    if (g > max_rows) g = max_rows;
    return g;
}

} // namespace scpx::ops::detail
