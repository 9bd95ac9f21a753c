#pragma once
// Private helpers of the CPU ops: Eigen views on raw row-major buffers and the activations.

#include "scpx/ops/parallel.hpp"

#include <Eigen/Core>

#include <algorithm>

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

/// dst = expr, evaluated into an aligned scratch array first. Eigen peels the unaligned head of
/// a destination with scalar code, and GCC contracts scalar a·b + c into an FMA (rounded once)
/// where the packet code may round twice; evaluating into an aligned array makes the result
/// independent of the destination's address (so bit-reproducible across batches and ranks).
template <class Dst, class Expr>
inline void assign_aligned(Dst&& dst, const Expr& expr) {
    thread_local Eigen::ArrayXf tmp;
    tmp = expr;
    dst = tmp;
}

/// GELU over a contiguous run of values, vectorised through Eigen's exp. The exponentials go
/// to an aligned scratch array: evaluated in place on an arbitrary address, Eigen would peel the
/// unaligned head with the scalar std::exp, whose rounding differs from its SIMD exp, making the
/// result depend on where the buffer happened to be allocated. (+ and / round identically.)
template <class A>
inline void gelu_inplace(A&& v) {
    thread_local Eigen::ArrayXf e;
    e = (-1.702f * v).exp();
    v = v / (1.0f + e);
}

/// torch.nn.Softplus (beta 1, threshold 20): x itself above 20, where log1p(exp(x)) == x in fp32.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

/// Rows per GEMM block. Fixed, never derived from the thread count or the batch: Eigen's
/// kernel treats a row differently depending on its position in the block (packet panels vs
/// leftover rows, GEMV for a 1-row block), so only a fixed decomposition, restarted at every
/// sequence, makes each sequence's result bit-identical whatever the batch composition, thread
/// count or MPI rank count (the byte-identical-output promise of the pipeline). 256 rows keep
/// the packing overhead of the [K, N] weight panel below 1 % even at K = 5·1536.
constexpr std::int64_t kBlockRows = 256;

/// Runs fn(lo, hi) over fixed blocks of at most `block` rows that restart at every segment of
/// `segment` rows (0: one segment), spread over the worker threads.
template <class F>
void for_row_blocks(std::int64_t rows, std::int64_t segment, std::int64_t block, F&& fn);

template <class F>
void for_row_blocks(std::int64_t rows, std::int64_t segment, std::int64_t block, F&& fn) {
    if (rows <= 0) return;
    if (segment <= 0 || segment > rows) segment = rows;
    const std::int64_t per_segment = (segment + block - 1) / block;
    const std::int64_t segments = (rows + segment - 1) / segment;
    parallel_for(segments * per_segment, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            const std::int64_t seg = b / per_segment, seg_end = std::min(rows, (seg + 1) * segment);
            const std::int64_t lo = seg * segment + (b % per_segment) * block;
            if (lo < seg_end) fn(lo, std::min(lo + block, seg_end));
        }
    });
}

} // namespace scpx::ops::detail
