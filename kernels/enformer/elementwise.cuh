#pragma once
/// @file elementwise.cuh
/// Bandwidth-bound passes the GEMM epilogues cannot absorb: bias + activation over a [rows,
/// cols] matrix (the heads' softplus, ReLU/GELU after a plain GEMM), the folded batch-norm + GELU
/// input transform (for the cuDNN yardstick and the central-bins final pointwise), precision
/// conversion, and a strided row copy (crop / central-bin gather).

#include "kernel_types.cuh"

namespace scpx::cuda {

enum class activation { NONE, RELU, GELU, SOFTPLUS };

/// y[r, c] = act(x[r, c] + bias[c]) (bias optional); x and y may be the same buffer; x in the
/// precision's type, y in the precision's type unless y_f32 (then fp32, for outputs).
struct bias_act_args {
    std::int64_t rows = 0, cols = 0;
    const void* x = nullptr;
    const float* bias = nullptr;
    activation act = activation::NONE;
    void* y = nullptr;
    bool y_f32 = false;
    precision prec = precision::FP32;
};
void bias_act(const bias_act_args& a, cudaStream_t stream);

/// y[r, c] = gelu?(x[r, c]·scale[c] + shift[c]) — ConvBlock's BN → GELU as a separate pass.
struct bn_gelu_args {
    std::int64_t rows = 0, channels = 0;
    const void* x = nullptr;
    const float* scale = nullptr;
    const float* shift = nullptr;
    bool gelu = true;
    void* y = nullptr; ///< may equal x
    precision prec = precision::FP32;
};
void bn_gelu(const bn_gelu_args& a, cudaStream_t stream);

/// ConvBlock's input transform as a separate pass, for implementations that cannot fuse it on the
/// input side (cuDNN, the pointwise GEMM): y = gelu?(x·scale + shift) when `scale` is given
/// (folded BN), else y = GELU(x). [rows, channels] in the precision's type.
void conv_input_transform(const float* scale, const float* shift, bool gelu, std::int64_t rows,
                          std::int64_t channels, const void* x, void* y, precision prec, cudaStream_t stream);

/// fp32 → bf16 (round to nearest even), n elements.
void f32_to_bf16(const float* x, __nv_bfloat16* y, std::int64_t n, cudaStream_t stream);
/// bf16 → fp32, n elements.
void bf16_to_f32(const __nv_bfloat16* x, float* y, std::int64_t n, cudaStream_t stream);

/// Copies `rows` rows of `cols` elements from each of `batch` blocks: y[b, r, :] =
/// x[b·x_batch_stride + (row0 + r)·x_row_stride + :] (elements of `elem_bytes`). Used for the crop
/// and the central-bin selection.
struct copy_rows_args {
    std::int64_t batch = 1, rows = 0, cols = 0;
    std::int64_t row0 = 0;
    std::int64_t x_row_stride = 0, x_batch_stride = 0; ///< in elements
    const void* x = nullptr;
    void* y = nullptr; ///< [batch, rows, cols] contiguous
    std::size_t elem_bytes = 4;
};
void copy_rows(const copy_rows_args& a, cudaStream_t stream);

} // namespace scpx::cuda
