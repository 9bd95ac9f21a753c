#pragma once
/// @file dropout_hash.hpp
/// Counter-based dropout masks: whether unit `j` of row `i` in hidden layer `l` at Adam step `t`
/// is kept depends only on a hash of (seed, t, l, i, j). The CPU and CUDA backends evaluate the
/// same integer function, so their masks are identical without storing or copying them, and a
/// run is reproducible at any thread count.

#include <cstdint>

#if defined(__CUDACC__)
#define SCPX_HOST_DEVICE __host__ __device__
#else
#define SCPX_HOST_DEVICE
#endif

namespace scpx::ctpred {

/// splitmix64 finaliser: a bijective 64-bit mix with good avalanche.
SCPX_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Keep threshold for drop probability p: a unit is dropped when the top 32 hash bits < threshold.
inline std::uint64_t dropout_threshold(double p) {
    if (p <= 0) return 0;
    if (p >= 1) return 0x100000000ULL;
    return static_cast<std::uint64_t>(p * 4294967296.0);
}

/// True when the unit is kept.
SCPX_HOST_DEVICE inline bool dropout_keep(std::uint64_t seed, std::int64_t step, int layer, std::int64_t row,
                                          std::int64_t unit, std::uint64_t threshold) {
    std::uint64_t h = mix64(seed ^ mix64(static_cast<std::uint64_t>(step) * 0x100000001b3ULL + static_cast<std::uint64_t>(layer)));
    h = mix64(h ^ (static_cast<std::uint64_t>(row) << 20) ^ static_cast<std::uint64_t>(unit));
    return (h >> 32) >= threshold;
}

} // namespace scpx::ctpred
