#pragma once
/// @file positional_features.hpp
/// Enformer's relative positional basis functions (exponential, central mask, gamma; each also
/// multiplied by sign(r)) for relative distances r = −(n−1) … n−1.

#include <cstdint>
#include <vector>

namespace scpx::ops {

/// How the gamma-pdf features are normalised.
enum class gamma_normalization {
    /// Each feature divided by its maximum over all positions r: the official DeepMind model
    /// (post-fix `reduce_max(axis=1)`). What scpx computes.
    per_feature,
    /// Each position divided by its maximum over the features: enformer-pytorch's default
    /// (`amax(dim=-1)`); does not match the official weights. Kept only to test against.
    per_position,
};

/// Arguments of positional_features_ref.
struct positional_features_params {
    std::int64_t n = 0;          ///< transformer length (the basis uses seq_len = n)
    std::int64_t features = 0;   ///< F, a multiple of 6 (F/6 per basis class)
    gamma_normalization gamma = gamma_normalization::per_feature;
    /// Optional [2n−1, F/6] table replacing the computed (normalised) gamma block, e.g. TF's own
    /// float32 output converted from enformer-pytorch's tf_gammas.pt; null to compute.
    const float* gamma_table = nullptr;
};

/// The [2n−1, F] feature table, row i for distance r = i − (n−1), columns
/// [exponential | central mask | gamma | sign(r)·(same three)], computed in double.
/// @throws usage_error when F is not a positive multiple of 6 or n < 1
std::vector<double> positional_features_ref(const positional_features_params& p);

} // namespace scpx::ops
