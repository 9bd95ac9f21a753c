// Convolutions through cuBLASLt (contract: conv_gemm.cuh).
#include "conv_gemm.cuh"

#include "common.cuh"
#include "elementwise.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <string>

namespace scpx::cuda {

namespace {

bool is_im2col(const conv1d_args& a) { return a.kernel > 1; }

/// Columns of an im2col row: k·cin rounded up to 8, so each row (and the padded weight's rows)
/// keeps the 16-byte alignment cuBLASLt's fast kernels want in bf16.
std::int64_t im2col_k(const conv1d_args& a) { return (a.kernel * a.cin + 7) / 8 * 8; }

std::size_t padded_weight_bytes(const conv1d_args& a) {
    const std::size_t b = static_cast<std::size_t>(im2col_k(a) * a.cout) * element_bytes(a.prec);
    return (b + 255) / 256 * 256;
}

/// Rows of one GEMM step: the whole sequence, or gemm_chunk_rows of it.
std::int64_t chunk_rows(const conv1d_args& a) {
    return a.gemm_chunk_rows > 0 ? std::min(a.gemm_chunk_rows, a.length) : a.length;
}

/// rows[l − row0, t·cin + i] = a(x[l + t − k/2, i]) for output rows l in [row0, row0 + count) and
/// positions inside the sequence, else 0 (the padding comes after the transform, as in
/// conv1d_ref); columns ≥ k·cin are 0. a(v) = gelu(v·scale[i] + shift[i]), each part optional,
/// computed in fp32 and rounded once to T.
template <class T>
__global__ void im2col_rows(const T* __restrict__ x, T* __restrict__ rows, std::int64_t length, std::int64_t row0,
                            std::int64_t count, int cin, int kernel, int cols, const float* __restrict__ scale,
                            const float* __restrict__ shift, bool gelu) {
    const std::int64_t total = count * cols;
    const int used = kernel * cin, half = kernel / 2;
    for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t l = row0 + e / cols;
        const int col = static_cast<int>(e % cols);
        float v = 0.0f;
        if (col < used) {
            const int t = col / cin, i = col % cin;
            const std::int64_t pos = l + t - half;
            if (pos >= 0 && pos < length) {
                v = to_f32(x[pos * cin + i]);
                if (scale) v *= scale[i];
                if (shift) v += shift[i];
                if (gelu) v = gelu_sigmoid(v);
            }
        }
        rows[e] = from_f32<T>(v);
    }
}

template <class T>
void launch_im2col(const conv1d_args& a, const void* x, void* rows, std::int64_t row0, std::int64_t count,
                   cudaStream_t stream) {
    constexpr int kThreads = 256;
    const auto cols = static_cast<int>(im2col_k(a));
    SCPX_LAUNCH(grid_stride_blocks(count * cols, kThreads), kThreads, 0, stream, im2col_rows<T>)(
        static_cast<const T*>(x), static_cast<T*>(rows), a.length, row0, count, static_cast<int>(a.cin),
        static_cast<int>(a.kernel), cols, a.in_scale, a.in_shift, a.in_gelu);
    SCPX_CUDA_CHECK(cudaGetLastError());
}

} // namespace

bool conv_gemm_supports(const conv1d_args& a) {
    return !a.out_gelu && a.cin > 0 && a.cout > 0 && a.gemm_chunk_rows >= 0 &&
           (a.kernel == 1 || (a.kernel > 1 && a.kernel * a.cin <= kConvGemmMaxIm2colK));
}

std::size_t conv_gemm_scratch_bytes(const conv1d_args& a) {
    if (is_im2col(a))
        return padded_weight_bytes(a) + static_cast<std::size_t>(chunk_rows(a) * im2col_k(a)) * element_bytes(a.prec);
    if (!a.in_scale && !a.in_gelu) return 0;
    return static_cast<std::size_t>(chunk_rows(a) * a.cin) * element_bytes(a.prec);
}

void conv_gemm(const conv1d_args& a, gemm_engine& gemm, void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
    if (!conv_gemm_supports(a))
        throw usage_error("convolution as a GEMM: only without an output GELU, with kernel 1 or k·cin ≤ " +
                          std::to_string(kConvGemmMaxIm2colK) + " and a chunk of >= 0 rows (got k = " +
                          std::to_string(a.kernel) + ", cin = " + std::to_string(a.cin) + ", chunk " +
                          std::to_string(a.gemm_chunk_rows) + (a.out_gelu ? ", output GELU)" : ")"));
    if (a.batch < 1 || a.length < 1 || !a.x || !a.w || !a.y)
        throw usage_error("convolution as a GEMM: empty shape or missing tensor");
    const bool im2col = is_im2col(a), transform = a.in_scale || a.in_gelu;
    if ((im2col || transform) && (!scratch || scratch_bytes < conv_gemm_scratch_bytes(a)))
        throw usage_error("convolution as a GEMM: scratch of " + std::to_string(scratch_bytes) + " bytes, " +
                          std::to_string(conv_gemm_scratch_bytes(a)) + " needed");
    const std::size_t eb = element_bytes(a.prec);
    const std::size_t x_step = static_cast<std::size_t>(a.length * a.cin) * eb;
    const std::size_t y_step = static_cast<std::size_t>(a.length * a.cout) * eb;
    const void* w = a.w;
    void* rows = scratch;
    std::int64_t k = a.cin;
    if (im2col) {
        // The weight with zero rows up to the padded K, at the front of the scratch.
        k = im2col_k(a);
        const std::size_t used = static_cast<std::size_t>(a.kernel * a.cin * a.cout) * eb;
        SCPX_CUDA_CHECK(cudaMemcpyAsync(scratch, a.w, used, cudaMemcpyDeviceToDevice, stream));
        SCPX_CUDA_CHECK(cudaMemsetAsync(static_cast<char*>(scratch) + used, 0,
                                        static_cast<std::size_t>(k * a.cout) * eb - used, stream));
        w = scratch;
        rows = static_cast<char*>(scratch) + padded_weight_bytes(a);
    }
    std::int64_t chunk = chunk_rows(a);
    std::int64_t batch = a.batch, length = a.length;
    if (a.span_batch && a.kernel == 1 && a.gemm_chunk_rows == 0 && a.batch > 1) {
        // k = 1 rows are independent: the batch is one matrix of B·L rows, in steps of as many
        // rows as the scratch holds (all of them when there is no transform to stage).
        batch = 1;
        length = a.batch * a.length;
        const std::int64_t fit =
            transform ? static_cast<std::int64_t>(scratch_bytes / (static_cast<std::size_t>(a.cin) * eb)) : length;
        chunk = std::clamp(fit, chunk, length);
    }
    for (std::int64_t b = 0; b < batch; ++b) {
        const char* xb = static_cast<const char*>(a.x) + static_cast<std::size_t>(b) * x_step;
        const std::size_t yb = static_cast<std::size_t>(b) * y_step;
        // One step per chunk of rows: its transformed (or im2col) rows are written to scratch and
        // read back by the GEMM at once, so with a chunk of a few MB they stay in L2.
        for (std::int64_t r0 = 0; r0 < length; r0 += chunk) {
            const std::int64_t m = std::min(chunk, length - r0);
            const void* x = xb + static_cast<std::size_t>(r0 * a.cin) * eb;
            if (im2col) {
                if (a.prec == precision::BF16) launch_im2col<__nv_bfloat16>(a, xb, rows, r0, m, stream);
                else launch_im2col<float>(a, xb, rows, r0, m, stream);
                x = rows;
            } else if (transform) {
                // The same pass (and so the same rounding) as the cuDNN path's input transform.
                conv_input_transform(a.in_scale, a.in_shift, a.in_gelu, m, a.cin, x, scratch, a.prec, stream);
                x = scratch;
            }
            const std::size_t y_off = yb + static_cast<std::size_t>(r0 * a.cout) * eb;
            gemm_args g;
            g.m = m;
            g.n = a.cout;
            g.k = k;
            g.a = x;
            g.b = w;
            g.bias = a.bias;
            g.bias_bf16 = a.bias_bf16;
            g.epilogue = a.bias ? gemm_epilogue::BIAS : gemm_epilogue::NONE;
            g.d = static_cast<char*>(a.y) + y_off;
            if (a.residual) {
                g.beta = 1.0f;
                g.c = static_cast<const char*>(a.residual) + y_off;
            }
            g.prec = a.prec;
            gemm.run(g, stream);
        }
    }
}

} // namespace scpx::cuda
