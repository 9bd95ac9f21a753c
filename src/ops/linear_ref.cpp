#include "scpx/ops/linear.hpp"

#include "ops_internal.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/parallel.hpp"

namespace scpx::ops {

void linear_ref(const linear_params& p) {
    if (!p.x || !p.w || !p.y || p.in < 1 || p.out < 1)
        throw usage_error("linear: missing tensor or empty shape");
    const std::int64_t K = p.in, N = p.out;
    const std::int64_t xs = p.x_stride ? p.x_stride : K, ys = p.y_stride ? p.y_stride : N;
    const auto w = detail::view(p.w, K, N, N);
    detail::for_row_blocks(p.rows, p.segment, detail::kBlockRows, [&](std::int64_t lo, std::int64_t hi) {
        const std::int64_t m = hi - lo;
        auto out = detail::view(p.y + lo * ys, m, N, ys);
        out.noalias() = detail::view(p.x + lo * xs, m, K, xs) * w;
        for (std::int64_t r = lo; r < hi; ++r) {
            Eigen::Map<Eigen::ArrayXf> row(p.y + r * ys, N);
            if (p.bias) row += Eigen::Map<const Eigen::ArrayXf>(p.bias, N);
            switch (p.act) {
            case activation::none: break;
            case activation::relu: row = row.max(0.0f); break;
            case activation::gelu: detail::gelu_inplace(row); break;
            case activation::softplus:
                for (std::int64_t c = 0; c < N; ++c) row[c] = detail::softplus(row[c]);
                break;
            }
            if (p.residual) row += Eigen::Map<const Eigen::ArrayXf>(p.residual + r * N, N);
        }
    });
}

} // namespace scpx::ops
