#include "scpx/ops/crop.hpp"

#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>

namespace scpx::ops {

void crop_ref(const crop_params& p) {
    if (p.target > p.length || (p.length - p.target) % 2 != 0)
        throw usage_error("crop: cannot crop " + std::to_string(p.length) + " positions to " +
                          std::to_string(p.target) + " (need target <= length and an even difference)");
    const std::int64_t trim = (p.length - p.target) / 2, C = p.channels;
    for (std::int64_t b = 0; b < p.batch; ++b) {
        const float* src = p.x + (b * p.length + trim) * C;
        std::copy(src, src + p.target * C, p.y + b * p.target * C);
    }
}

} // namespace scpx::ops
