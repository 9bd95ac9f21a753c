#include "scpx/ops/layer_norm.hpp"

#include "ops_internal.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/parallel.hpp"

namespace scpx::ops {

void layer_norm_ref(const layer_norm_params& p) {
    if (!p.x || !p.gamma || !p.beta || !p.y || p.channels < 1)
        throw usage_error("layer norm: missing tensor or empty shape");
    const std::int64_t C = p.channels;
    parallel_for(p.rows, 64, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r) {
            const float* x = p.x + r * C;
            double mean = 0.0;
            for (std::int64_t c = 0; c < C; ++c) mean += x[c];
            mean /= static_cast<double>(C);
            double var = 0.0;
            for (std::int64_t c = 0; c < C; ++c) var += (x[c] - mean) * (x[c] - mean);
            var /= static_cast<double>(C);
            const double inv = 1.0 / std::sqrt(var + static_cast<double>(p.eps));
            float* y = p.y + r * C;
            for (std::int64_t c = 0; c < C; ++c)
                y[c] = static_cast<float>((x[c] - mean) * inv) * p.gamma[c] + p.beta[c];
        }
    });
}

} // namespace scpx::ops
