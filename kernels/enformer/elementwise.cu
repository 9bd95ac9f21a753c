// Bandwidth-bound elementwise passes of the Enformer GPU path (contracts in elementwise.cuh).
// Every kernel is a grid-stride loop with 64-bit indices (the stem's activations of a batch of 8
// hold 8 × 196,608 × 768 ≈ 1.2·10⁹ elements, and byte offsets pass 2³¹ much earlier), and moves 4
// elements per thread with one vector access where size and alignment allow it.
#include "elementwise.cuh"

#include "common.cuh"

#include <algorithm>

namespace scpx::cuda {

namespace {

constexpr int kThreads = 256;
/// Grid cap for the grid-stride loops: enough resident blocks to saturate HBM on any current
/// GPU (132 SMs × 8 blocks of 256 threads on an H100) without a huge grid of tiny blocks.
constexpr std::int64_t kMaxBlocks = 8192;

unsigned grid_for(std::int64_t work_items) { return grid_stride_blocks(work_items, kThreads, kMaxBlocks); }

bool aligned(const void* p, std::size_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

template <activation A> __device__ __forceinline__ float apply(float v) {
    if constexpr (A == activation::RELU) return fmaxf(v, 0.0f);
    else if constexpr (A == activation::GELU) return gelu_sigmoid(v);
    else if constexpr (A == activation::SOFTPLUS) return softplus_torch(v);
    else return v;
}

/// y = act(x·scale[c] + shift[c]) over a [rows, cols] matrix; scale and/or shift may be null.
/// VEC = 4 requires cols % 4 == 0 and 4-element alignment of x and y (checked by the launcher),
/// so one vector never straddles two rows. x and y may alias (same element type): every element
/// is read and then written by the same thread.
template <class TI, class TO, activation A, int VEC>
__global__ void __launch_bounds__(kThreads)
    affine_act_kernel(std::int64_t total, std::int64_t cols, const TI* x, const float* scale, const float* shift, TO* y) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x * VEC;
    for (std::int64_t i = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * VEC; i < total;
         i += stride) {
        const std::int64_t c = i % cols;
        if constexpr (VEC == 4) {
            const vec4<TI> in = *reinterpret_cast<const vec4<TI>*>(x + i);
            vec4<TO> out;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float v = to_f32(in.v[e]);
                if (scale) v *= scale[c + e];
                if (shift) v += shift[c + e];
                out.v[e] = from_f32<TO>(apply<A>(v));
            }
            *reinterpret_cast<vec4<TO>*>(y + i) = out;
        } else {
            float v = to_f32(x[i]);
            if (scale) v *= scale[c];
            if (shift) v += shift[c];
            y[i] = from_f32<TO>(apply<A>(v));
        }
    }
}

template <class TI, class TO, activation A>
void launch_affine(std::int64_t rows, std::int64_t cols, const void* x, const float* scale, const float* shift,
                   void* y, cudaStream_t stream) {
    const std::int64_t total = rows * cols;
    if (total == 0) return;
    const auto* xi = static_cast<const TI*>(x);
    auto* yo = static_cast<TO*>(y);
    if (cols % 4 == 0 && aligned(x, 4 * sizeof(TI)) && aligned(y, 4 * sizeof(TO))) {
        SCPX_LAUNCH(grid_for(total / 4), kThreads, 0, stream, affine_act_kernel<TI, TO, A, 4>)(total, cols, xi, scale, shift, yo);
    } else {
        SCPX_LAUNCH(grid_for(total), kThreads, 0, stream, affine_act_kernel<TI, TO, A, 1>)(total, cols, xi, scale, shift, yo);
    }
    SCPX_CUDA_CHECK_LAUNCH();
}

template <class TI, class TO>
void dispatch_act(activation act, std::int64_t rows, std::int64_t cols, const void* x, const float* scale,
                  const float* shift, void* y, cudaStream_t stream) {
    switch (act) {
    case activation::NONE: launch_affine<TI, TO, activation::NONE>(rows, cols, x, scale, shift, y, stream); break;
    case activation::RELU: launch_affine<TI, TO, activation::RELU>(rows, cols, x, scale, shift, y, stream); break;
    case activation::GELU: launch_affine<TI, TO, activation::GELU>(rows, cols, x, scale, shift, y, stream); break;
    case activation::SOFTPLUS:
        launch_affine<TI, TO, activation::SOFTPLUS>(rows, cols, x, scale, shift, y, stream);
        break;
    }
}

template <class TI, class TO>
__global__ void __launch_bounds__(kThreads) convert_kernel(std::int64_t n, const TI* x, TO* y) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    const std::int64_t n4 = n / 4;
    // Vector body (the launcher guarantees alignment of both pointers), then the scalar tail.
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n4; i += stride) {
        const vec4<TI> in = reinterpret_cast<const vec4<TI>*>(x)[i];
        vec4<TO> out;
#pragma unroll
        for (int e = 0; e < 4; ++e) out.v[e] = from_f32<TO>(to_f32(in.v[e]));
        reinterpret_cast<vec4<TO>*>(y)[i] = out;
    }
    for (std::int64_t i = n4 * 4 + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += stride)
        y[i] = from_f32<TO>(to_f32(x[i]));
}

template <class TI, class TO>
__global__ void __launch_bounds__(kThreads) convert_scalar_kernel(std::int64_t n, const TI* x, TO* y) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = from_f32<TO>(to_f32(x[i]));
}

template <class TI, class TO> void launch_convert(const TI* x, TO* y, std::int64_t n, cudaStream_t stream) {
    if (n < 0 || (n > 0 && (!x || !y))) throw usage_error("precision conversion: missing tensor or negative size");
    if (n == 0) return;
    if (aligned(x, 4 * sizeof(TI)) && aligned(y, 4 * sizeof(TO)))
        SCPX_LAUNCH(grid_for(std::max<std::int64_t>(n / 4, 1)), kThreads, 0, stream, convert_kernel<TI, TO>)(n, x, y);
    else
        SCPX_LAUNCH(grid_for(n), kThreads, 0, stream, convert_scalar_kernel<TI, TO>)(n, x, y);
    SCPX_CUDA_CHECK_LAUNCH();
}

/// Row copy in units of U (1, 2, 4, 8 or 16 bytes): the widest unit dividing every byte offset.
template <class U>
__global__ void __launch_bounds__(kThreads)
    copy_rows_kernel(std::int64_t batch, std::int64_t rows, std::int64_t units_per_row, std::int64_t row0,
                     std::int64_t x_row_stride, std::int64_t x_batch_stride, const U* x, U* y) {
    const std::int64_t total = batch * rows * units_per_row;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const std::int64_t u = i % units_per_row, row = i / units_per_row;
        const std::int64_t b = row / rows, r = row % rows;
        y[i] = x[b * x_batch_stride + (row0 + r) * x_row_stride + u];
    }
}

template <class U> void launch_copy(const copy_rows_args& a, std::size_t unit, cudaStream_t stream) {
    const auto to_units = [&](std::int64_t elems) {
        return elems * static_cast<std::int64_t>(a.elem_bytes) / static_cast<std::int64_t>(unit);
    };
    const std::int64_t upr = to_units(a.cols), total = a.batch * a.rows * upr;
    SCPX_LAUNCH(grid_for(total), kThreads, 0, stream, copy_rows_kernel<U>)(
        a.batch, a.rows, upr, a.row0, to_units(a.x_row_stride), to_units(a.x_batch_stride),
        static_cast<const U*>(a.x), static_cast<U*>(a.y));
    SCPX_CUDA_CHECK_LAUNCH();
}

} // namespace

void bias_act(const bias_act_args& a, cudaStream_t stream) {
    if (a.rows < 0 || a.cols < 1 || !a.x || !a.y) throw usage_error("bias_act: missing tensor or empty shape");
    const bool bf16_in = a.prec == precision::BF16;
    const bool f32_out = a.y_f32 || !bf16_in;
    // In place only with equal element sizes: a bf16 → fp32 pass over the same buffer would
    // overwrite elements other threads have not read yet.
    if (a.x == a.y && bf16_in && f32_out) throw usage_error("bias_act: bf16 input with fp32 output cannot be in place");
    if (!bf16_in)
        dispatch_act<float, float>(a.act, a.rows, a.cols, a.x, nullptr, a.bias, a.y, stream);
    else if (f32_out)
        dispatch_act<__nv_bfloat16, float>(a.act, a.rows, a.cols, a.x, nullptr, a.bias, a.y, stream);
    else
        dispatch_act<__nv_bfloat16, __nv_bfloat16>(a.act, a.rows, a.cols, a.x, nullptr, a.bias, a.y, stream);
}

void bn_gelu(const bn_gelu_args& a, cudaStream_t stream) {
    if (a.rows < 0 || a.channels < 1 || !a.x || !a.y || !a.scale || !a.shift)
        throw usage_error("bn_gelu: missing tensor or empty shape");
    const activation act = a.gelu ? activation::GELU : activation::NONE;
    if (a.prec == precision::BF16)
        dispatch_act<__nv_bfloat16, __nv_bfloat16>(act, a.rows, a.channels, a.x, a.scale, a.shift, a.y, stream);
    else
        dispatch_act<float, float>(act, a.rows, a.channels, a.x, a.scale, a.shift, a.y, stream);
}

void conv_input_transform(const float* scale, const float* shift, bool gelu, std::int64_t rows,
                          std::int64_t channels, const void* x, void* y, precision prec, cudaStream_t stream) {
    if (scale) {
        bn_gelu_args t;
        t.rows = rows;
        t.channels = channels;
        t.x = x;
        t.scale = scale;
        t.shift = shift;
        t.gelu = gelu;
        t.y = y;
        t.prec = prec;
        bn_gelu(t, stream);
    } else {
        bias_act_args t;
        t.rows = rows;
        t.cols = channels;
        t.x = x;
        t.act = activation::GELU;
        t.y = y;
        t.prec = prec;
        bias_act(t, stream);
    }
}

void f32_to_bf16(const float* x, __nv_bfloat16* y, std::int64_t n, cudaStream_t stream) {
    launch_convert<float, __nv_bfloat16>(x, y, n, stream);
}

void bf16_to_f32(const __nv_bfloat16* x, float* y, std::int64_t n, cudaStream_t stream) {
    launch_convert<__nv_bfloat16, float>(x, y, n, stream);
}

void copy_rows(const copy_rows_args& a, cudaStream_t stream) {
    if (a.batch < 0 || a.rows < 0 || a.cols < 0 || a.row0 < 0 || a.elem_bytes == 0)
        throw usage_error("copy_rows: negative size or zero element size");
    if (a.batch == 0 || a.rows == 0 || a.cols == 0) return;
    if (!a.x || !a.y) throw usage_error("copy_rows: missing tensor");
    // Widest unit that divides the row length, both strides, the first-row offset and both
    // addresses: 16-byte accesses for the usual float/bf16 rows of 768+ channels.
    const auto eb = static_cast<std::int64_t>(a.elem_bytes);
    std::size_t unit = 16;
    const auto fits = [&](std::size_t u) {
        const auto su = static_cast<std::int64_t>(u);
        return (a.cols * eb) % su == 0 && (a.x_row_stride * eb) % su == 0 && (a.x_batch_stride * eb) % su == 0 &&
               aligned(a.x, u) && aligned(a.y, u);
    };
    while (unit > 1 && !fits(unit)) unit /= 2;
    switch (unit) {
    case 16: launch_copy<uint4>(a, unit, stream); break;
    case 8: launch_copy<uint2>(a, unit, stream); break;
    case 4: launch_copy<unsigned>(a, unit, stream); break;
    case 2: launch_copy<unsigned short>(a, unit, stream); break;
    default: launch_copy<unsigned char>(a, unit, stream); break;
    }
}

} // namespace scpx::cuda
