#include "scpx/ops/conv1d.hpp"

#include "ops_internal.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/parallel.hpp"

#include <algorithm>
#include <vector>

namespace scpx::ops {

void conv1d_ref(const conv1d_params& p) {
    if (p.kernel < 1 || p.kernel % 2 == 0) throw usage_error("conv1d: kernel width must be odd");
    if (!p.x || !p.w || !p.y || p.cin < 1 || p.cout < 1 || p.length < 1 || p.batch < 1)
        throw usage_error("conv1d: missing tensor or empty shape");
    if ((p.in_scale == nullptr) != (p.in_shift == nullptr))
        throw usage_error("conv1d: batch-norm scale and shift go together");
    const std::int64_t L = p.length, cin = p.cin, cout = p.cout, k = p.kernel, pad = k / 2;
    const bool transform = p.in_scale != nullptr || p.in_gelu;
    const auto w = detail::view(p.w, k * cin, cout, cout);

    for (std::int64_t b = 0; b < p.batch; ++b) {
        const float* x = p.x + b * L * cin;   // [L, cin]
        float* y = p.y + b * L * cout;        // [L, cout]
        const float* res = p.residual ? p.residual + b * L * cout : nullptr;
        detail::for_row_blocks(L, 0, detail::kBlockRows, [&](std::int64_t lo, std::int64_t hi) {
            const std::int64_t m = hi - lo;
            const float* a = nullptr;
            thread_local std::vector<float> act;
            if (!transform && k == 1) {
                a = x + lo * cin;  // the input rows themselves are the im2col matrix
            } else {
                // [m + k − 1, cin]: input rows lo − pad … hi − 1 + pad, transformed, zero outside.
                act.resize(static_cast<size_t>((m + k - 1) * cin));
                for (std::int64_t r = 0; r < m + k - 1; ++r) {
                    const std::int64_t l = lo - pad + r;
                    float* dst = act.data() + r * cin;
                    if (l < 0 || l >= L) {
                        std::fill(dst, dst + cin, 0.0f);
                        continue;
                    }
                    Eigen::Map<Eigen::ArrayXf> v(dst, cin);
                    v = Eigen::Map<const Eigen::ArrayXf>(x + l * cin, cin);
                    if (p.in_scale)
                        detail::assign_aligned(v, v * Eigen::Map<const Eigen::ArrayXf>(p.in_scale, cin) +
                                                      Eigen::Map<const Eigen::ArrayXf>(p.in_shift, cin));
                    if (p.in_gelu) detail::gelu_inplace(v);
                }
                a = act.data();
            }
            auto out = detail::view(y + lo * cout, m, cout, cout);
            out.noalias() = detail::view(a, m, k * cin, cin) * w;
            for (std::int64_t r = 0; r < m; ++r) {
                Eigen::Map<Eigen::ArrayXf> row(y + (lo + r) * cout, cout);
                if (p.bias) row += Eigen::Map<const Eigen::ArrayXf>(p.bias, cout);
                if (p.out_gelu) detail::gelu_inplace(row);
                if (res) row += Eigen::Map<const Eigen::ArrayXf>(res + (lo + r) * cout, cout);
            }
        });
    }
}

} // namespace scpx::ops
