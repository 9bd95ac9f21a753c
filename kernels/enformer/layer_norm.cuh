#pragma once
/// @file layer_norm.cuh
/// LayerNorm over channels (eps 1e-5, scale and offset), one warp-per-row kernel with fp32
/// statistics. Reference: ops::layer_norm_ref.

#include "kernel_types.cuh"

namespace scpx::cuda {

struct layer_norm_args {
    std::int64_t rows = 0;        ///< B·n
    std::int64_t channels = 0;    ///< d
    const void* x = nullptr;      ///< [rows, d]
    const float* gamma = nullptr; ///< [d]
    const float* beta = nullptr;  ///< [d]
    float eps = 1e-5f;
    void* y = nullptr;            ///< [rows, d]; may equal x
    precision prec = precision::FP32;
};

void layer_norm(const layer_norm_args& a, cudaStream_t stream);

} // namespace scpx::cuda
