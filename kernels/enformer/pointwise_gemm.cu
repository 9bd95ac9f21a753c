// k = 1 ConvBlock through cuBLASLt (contract: pointwise_gemm.cuh).
#include "pointwise_gemm.cuh"

#include "elementwise.cuh"
#include "scpx/core/error.hpp"

#include <string>

namespace scpx::cuda {

bool pointwise_gemm_supports(const conv1d_args& a) { return a.kernel == 1 && !a.out_gelu && a.cin > 0 && a.cout > 0; }

std::size_t pointwise_gemm_scratch_bytes(const conv1d_args& a) {
    if (!a.in_scale && !a.in_gelu) return 0;
    return static_cast<std::size_t>(a.length * a.cin) * element_bytes(a.prec);
}

void pointwise_gemm(const conv1d_args& a, gemm_engine& gemm, void* scratch, std::size_t scratch_bytes,
                    cudaStream_t stream) {
    if (!pointwise_gemm_supports(a))
        throw usage_error("pointwise GEMM: only kernel 1 without an output GELU (got k = " + std::to_string(a.kernel) +
                          (a.out_gelu ? ", output GELU)" : ")"));
    if (a.batch < 1 || a.length < 1 || !a.x || !a.w || !a.y) throw usage_error("pointwise GEMM: empty shape or missing tensor");
    const bool transform = a.in_scale || a.in_gelu;
    if (transform && (!scratch || scratch_bytes < pointwise_gemm_scratch_bytes(a)))
        throw usage_error("pointwise GEMM: scratch of " + std::to_string(scratch_bytes) + " bytes, " +
                          std::to_string(pointwise_gemm_scratch_bytes(a)) + " needed");
    const std::size_t eb = element_bytes(a.prec);
    const std::size_t x_step = static_cast<std::size_t>(a.length * a.cin) * eb;
    const std::size_t y_step = static_cast<std::size_t>(a.length * a.cout) * eb;
    for (std::int64_t b = 0; b < a.batch; ++b) {
        const void* x = static_cast<const char*>(a.x) + static_cast<std::size_t>(b) * x_step;
        if (transform) {
            // The same pass (and so the same rounding) as the cuDNN path's input transform.
            conv_input_transform(a.in_scale, a.in_shift, a.in_gelu, a.length, a.cin, x, scratch, a.prec, stream);
            x = scratch;
        }
        gemm_args g;
        g.m = a.length;
        g.n = a.cout;
        g.k = a.cin;
        g.a = x;
        g.b = a.w;
        g.bias = a.bias;
        g.bias_bf16 = a.bias_bf16;
        g.epilogue = a.bias ? gemm_epilogue::BIAS : gemm_epilogue::NONE;
        g.d = static_cast<char*>(a.y) + static_cast<std::size_t>(b) * y_step;
        if (a.residual) {
            g.beta = 1.0f;
            g.c = static_cast<const char*>(a.residual) + static_cast<std::size_t>(b) * y_step;
        }
        g.prec = a.prec;
        gemm.run(g, stream);
    }
}

} // namespace scpx::cuda
