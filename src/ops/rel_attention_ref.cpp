#include "scpx/ops/rel_attention.hpp"

#include "ops_internal.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/linear.hpp"
#include "scpx/ops/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace scpx::ops {

void rel_attention_ref(const rel_attention_params& p) {
    if (!p.x || !p.w_qkv || !p.rel_k || !p.content_bias || !p.pos_bias || !p.w_out || !p.y)
        throw usage_error("relative attention: missing tensor");
    if (p.n < 1 || p.heads < 1 || p.key < 1 || p.value < 1 || p.dim < 1)
        throw usage_error("relative attention: empty shape");
    const std::int64_t B = p.batch, n = p.n, H = p.heads, K = p.key, V = p.value, d = p.dim;
    const std::int64_t HK = H * K, width = 2 * HK + H * V, nr = 2 * n - 1;

    // [B·n, 2HK + HV]: q | k | v for every position.
    std::vector<float> qkv(static_cast<size_t>(B * n * width));
    linear_params proj;
    proj.rows = B * n; proj.in = d; proj.out = width; proj.x = p.x; proj.w = p.w_qkv; proj.y = qkv.data();
    proj.segment = n;
    linear_ref(proj);

    std::vector<float> heads_out(static_cast<size_t>(B * n * H * V));  // [B·n, H·V]
    const float scale = 1.0f / std::sqrt(static_cast<float>(K));
    // Query rows are processed in fixed blocks of kRows: a block needs only the band of
    // relative keys its rows can reach (distances −(i1−1) … n−1−i0, i.e. n + m − 1 rows of
    // relk instead of 2n − 1), and its logits ([m, n]) stay in cache through the shift,
    // softmax and A·v. Fixed blocks also keep every row's arithmetic independent of B.
    constexpr std::int64_t kRows = 128;
    parallel_for(B * H, 1, [&](std::int64_t lo, std::int64_t hi) {
        detail::row_matrix qu, qw, logits, rel, rel_full;
        for (std::int64_t task = lo; task < hi; ++task) {
            const std::int64_t b = task / H, h = task % H;
            const float* base = qkv.data() + b * n * width;
            const auto q = detail::view(base + h * K, n, K, width);
            const auto k = detail::view(base + HK + h * K, n, K, width);
            const auto v = detail::view(base + 2 * HK + h * V, n, V, width);
            const auto relk = detail::view(p.rel_k + h * K, nr, K, HK);
            const Eigen::Map<const Eigen::RowVectorXf> u(p.content_bias + h * K, K), w(p.pos_bias + h * K, K);
            const bool dbg = b == 0;
            if (dbg && p.debug.k) detail::view(p.debug.k + h * n * K, n, K, K) = k;
            if (dbg && p.debug.v) detail::view(p.debug.v + h * n * V, n, V, V) = v;
            if (dbg && p.debug.rel_unshifted) {
                rel_full.noalias() = (q * scale).rowwise() + w;
                detail::view(p.debug.rel_unshifted + h * n * nr, n, nr, nr).noalias() = rel_full * relk.transpose();
            }
            for (std::int64_t i0 = 0; i0 < n; i0 += kRows) {
                const std::int64_t m = std::min(kRows, n - i0);
                // Scale before adding the biases, as both implementations do.
                qu = q.middleRows(i0, m) * scale;
                if (dbg && p.debug.q_scaled) detail::view(p.debug.q_scaled + (h * n + i0) * K, m, K, K) = qu;
                qw = qu.rowwise() + w;
                qu.rowwise() += u;
                logits.noalias() = qu * k.transpose();  // [m, n]
                if (dbg && p.debug.content_logits)
                    detail::view(p.debug.content_logits + (h * n + i0) * n, m, n, n) = logits;
                // Band of relative keys for rows i0 … i0+m−1: relk rows c0 … c0 + n + m − 2.
                const std::int64_t c0 = n - i0 - m, band = n + m - 1;
                rel.noalias() = qw * relk.middleRows(c0, band).transpose();  // [m, n + m − 1]
                for (std::int64_t r = 0; r < m; ++r) {
                    // Relative shift: logits column j takes distance j − i, i.e. relk row
                    // j − i + n − 1, which is band column j + (m − 1 − r).
                    const float* src = rel.data() + r * band + (m - 1 - r);
                    const std::int64_t i = i0 + r;
                    if (dbg && p.debug.rel_logits) std::copy(src, src + n, p.debug.rel_logits + (h * n + i) * n);
                    auto row = logits.row(r).array();
                    row += Eigen::Map<const Eigen::ArrayXf>(src, n).transpose();
                    row = (row - row.maxCoeff()).exp();
                    row /= row.sum();
                }
                if (dbg && p.debug.attn_weights)
                    detail::view(p.debug.attn_weights + (h * n + i0) * n, m, n, n) = logits;
                detail::view(heads_out.data() + (b * n + i0) * H * V + h * V, m, V, H * V).noalias() = logits * v;
            }
        }
    });
    if (p.debug.attn_heads)
        std::copy(heads_out.begin(), heads_out.begin() + n * H * V, p.debug.attn_heads);

    linear_params out;
    out.rows = B * n; out.in = H * V; out.out = d; out.x = heads_out.data(); out.w = p.w_out;
    out.bias = p.b_out; out.residual = p.residual; out.y = p.y; out.segment = n;
    linear_ref(out);
}

} // namespace scpx::ops
