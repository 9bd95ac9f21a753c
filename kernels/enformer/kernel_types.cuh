#pragma once
/// @file kernel_types.cuh
/// Element types shared by the Enformer kernels. Activations and weights are stored as `float`
/// in FP32/TF32 mode and as `__nv_bfloat16` in BF16 mode; accumulation is always fp32, and the
/// per-channel parameters (bias, folded batch-norm scale/shift, LayerNorm gamma/beta) are always
/// fp32. Launchers therefore take `void*` activations plus the precision that says their type.
///
/// Every tensor is row-major NLC: [batch, length, channels], channels contiguous.

#include "scpx/core/device.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace scpx::cuda {

using gpu::precision;

/// Bytes per stored activation/weight element in precision p.
inline std::size_t element_bytes(precision p) { return p == precision::BF16 ? 2 : 4; }

/// Device-side conversions used by every kernel template (T = float or __nv_bfloat16).
template <class T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

/// Four elements moved with one access (16 B for float, 8 B for bf16); the pointer must be
/// aligned to 4 elements.
template <class T> struct alignas(4 * sizeof(T)) vec4 {
    T v[4];
};

/// Enformer's GELU: x · sigmoid(1.702 x) (the sigmoid approximation of both reference codes).
__device__ __forceinline__ float gelu_sigmoid(float x) { return x / (1.0f + __expf(-1.702f * x)); }

/// torch Softplus(beta 1, threshold 20).
__device__ __forceinline__ float softplus_torch(float x) { return x > 20.0f ? x : log1pf(__expf(x)); }

} // namespace scpx::cuda
