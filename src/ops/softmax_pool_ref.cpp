#include "scpx/ops/softmax_pool.hpp"

#include "ops_internal.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/parallel.hpp"

#include <vector>

namespace scpx::ops {

void softmax_pool_ref(const softmax_pool_params& p) {
    if (p.length % 2 != 0) throw usage_error("softmax pooling: the input length must be even");
    if (!p.x || !p.w || !p.y || p.channels < 1 || p.batch < 1)
        throw usage_error("softmax pooling: missing tensor or empty shape");
    const std::int64_t L = p.length, C = p.channels, out_len = L / 2;
    const auto w = detail::view(p.w, C, C, C);
    for (std::int64_t b = 0; b < p.batch; ++b) {
        const float* x = p.x + b * L * C;
        float* y = p.y + b * out_len * C;
        detail::for_row_blocks(out_len, 0, detail::kBlockRows / 2, [&](std::int64_t lo, std::int64_t hi) {
            const std::int64_t rows = 2 * (hi - lo);
            thread_local std::vector<float> logits;
            logits.resize(static_cast<size_t>(rows * C));
            detail::view(logits.data(), rows, C, C).noalias() = detail::view(x + 2 * lo * C, rows, C, C) * w;
            for (std::int64_t r = lo; r < hi; ++r) {
                using arr = Eigen::Map<const Eigen::ArrayXf>;
                const arr x0(x + 2 * r * C, C), x1(x + (2 * r + 1) * C, C);
                const arr l0(logits.data() + 2 * (r - lo) * C, C), l1(logits.data() + (2 * (r - lo) + 1) * C, C);
                // Two-way softmax written as a sigmoid of the logit difference: s1 = σ(l1 − l0),
                // which cannot overflow and equals exp(l1−m)/(exp(l0−m)+exp(l1−m)).
                const Eigen::ArrayXf s1 = 1.0f / (1.0f + (l0 - l1).exp());
                detail::assign_aligned(Eigen::Map<Eigen::ArrayXf>(y + r * C, C), x0 + s1 * (x1 - x0));
            }
        });
    }
}

} // namespace scpx::ops
