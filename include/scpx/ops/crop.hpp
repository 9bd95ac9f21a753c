#pragma once
/// @file crop.hpp
/// Target-length crop: keep the central `target` positions of each sequence.

#include <cstdint>

namespace scpx::ops {

/// Arguments of crop_ref: y[b, t] = x[b, t + (length − target) / 2].
struct crop_params {
    std::int64_t batch = 1;    ///< B
    std::int64_t length = 0;   ///< input length n
    std::int64_t target = 0;   ///< output length; n − target must be even and ≥ 0
    std::int64_t channels = 0; ///< C
    const float* x = nullptr;  ///< [B, n, C]
    float* y = nullptr;        ///< [B, target, C]
};

/// CPU crop. An odd n − target is refused: TF (floor) and the torch port (ceil) disagree there,
/// so any choice would silently match only one of them.
/// @throws usage_error when target > n or n − target is odd
void crop_ref(const crop_params& p);

} // namespace scpx::ops
