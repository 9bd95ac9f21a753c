#pragma once
/// @file conv1d.hpp
/// 1-D convolution over NLC activations with 'SAME' zero padding, stride 1, odd kernel, with an
/// optional batch-norm + GELU applied to its input (Enformer's ConvBlock) and an optional
/// residual add and GELU on its output.

#include <cstdint>

namespace scpx::ops {

/// Arguments of conv1d_ref (a POD of pointers and sizes, passed by value).
///
/// y[b, l, o] = act_out( bias[o] + Σ_{t, i} w[t·cin + i, o] · a(x[b, l + t − k/2, i]) ) + residual[b, l, o]
/// where a(v) = gelu(v·in_scale[i] + in_shift[i]) (or without either part), and positions
/// outside [0, length) contribute zero AFTER the input transform ('SAME' zero padding of the
/// conv input, as torch/TF pad the BN-GELU output).
struct conv1d_params {
    std::int64_t batch = 1;      ///< B
    std::int64_t length = 0;     ///< L (output length = input length)
    std::int64_t cin = 0;        ///< input channels
    std::int64_t cout = 0;       ///< output channels
    std::int64_t kernel = 1;     ///< odd kernel width k (pad k/2 each side)
    const float* x = nullptr;    ///< [B, L, cin]
    const float* w = nullptr;    ///< [k·cin, cout]: row t·cin + i = torch weight[o, i, t]
    const float* bias = nullptr; ///< [cout] or null
    const float* in_scale = nullptr; ///< [cin] folded BN scale γ/√(var+eps), or null (no BN)
    const float* in_shift = nullptr; ///< [cin] folded BN shift β − mean·scale (with in_scale)
    bool in_gelu = false;        ///< GELU on the (normalised) input
    bool out_gelu = false;       ///< GELU on the conv output (before the residual add)
    const float* residual = nullptr; ///< [B, L, cout] added last, or null
    float* y = nullptr;          ///< [B, L, cout]; must not overlap x
};

/// CPU conv1d: one Eigen GEMM per block of output rows on the implicit im2col matrix (the k·cin
/// inputs of output row l are the contiguous input rows l−k/2 … l+k/2, so the im2col matrix is a
/// view with row stride cin over a padded, BN-GELU-transformed copy of the block's input rows;
/// nothing is materialised k times). Fixed 256-row blocks per sequence are spread over
/// ops::num_threads(), so results are bit-identical for any thread count and batch composition.
/// @throws usage_error on inconsistent sizes (even kernel, missing pointers)
void conv1d_ref(const conv1d_params& p);

} // namespace scpx::ops
