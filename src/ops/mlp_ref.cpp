#include "scpx/ops/mlp.hpp"

#include "scpx/core/error.hpp"
#include "scpx/ops/linear.hpp"

#include <algorithm>
#include <vector>

namespace scpx::ops {

void mlp_ref(const mlp_params& p) {
    if (!p.x || !p.w1 || !p.w2 || !p.y || p.dim < 1 || p.hidden < 1)
        throw usage_error("mlp: missing tensor or empty shape");
    // Chunks of whole sequences (about 4096 rows) bound the hidden buffer (4096 × 3072 floats =
    // 48 MB at full size) without moving GEMM block boundaries.
    const std::int64_t seg = p.segment > 0 ? p.segment : std::max<std::int64_t>(p.rows, 1);
    const std::int64_t block = std::max<std::int64_t>(1, 4096 / seg) * seg;
    std::vector<float> h(static_cast<size_t>(std::min(block, p.rows) * p.hidden));
    for (std::int64_t lo = 0; lo < p.rows; lo += block) {
        const std::int64_t m = std::min(block, p.rows - lo);
        linear_params a;
        a.rows = m; a.in = p.dim; a.out = p.hidden;
        a.x = p.x + lo * p.dim; a.w = p.w1; a.bias = p.b1; a.act = activation::relu; a.y = h.data();
        a.segment = p.segment;
        linear_ref(a);
        linear_params b;
        b.rows = m; b.in = p.hidden; b.out = p.dim;
        b.x = h.data(); b.w = p.w2; b.bias = p.b2; b.segment = p.segment;
        b.residual = p.residual ? p.residual + lo * p.dim : nullptr;
        b.y = p.y + lo * p.dim;
        linear_ref(b);
    }
}

} // namespace scpx::ops
