// Cross-tests of conv_dual (kernels/enformer/conv_dual.cuh): the small-K convolution that also
// writes the next ConvBlock's input, against a float64 host computation on the same bf16-rounded
// operands. Shapes hit the tiling edges: L < k, L not a multiple of the 256-row block, several
// blocks and sequences, the stem's k = 15 × cin = 4 (K = 60 of 64) and another (k, cin) pair,
// column counts that end in a partial 64-column chunk, one chunk, and Enformer's 768. Outputs carry guard bands and start as the sentinel, so
// a stray write or an element left unwritten fails.
//
// Bounds, per element: y = bf16(Σ w·x + bias) differs from the exact sum by its rounding
// (2^-9 relative, taken as 2^-8) plus fp32 accumulation (K·2^-22·Σ|w·x|); y2 is checked against
// gelu(y·scale + shift) computed in double from the kernel's own y (the arithmetic the BN-GELU
// pass would do on the stored y), within its bf16 rounding and the fp32 elementwise error
// (2^-18 of the magnitudes, slope of GELU ≤ 1.1).
#include "common.cuh"
#include "enformer/conv_dual.cuh"
#include "guarded_buffer.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"

#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using scpx::gpu::precision;
using scpx::test::guarded_buffer;

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

struct dual_shape {
    std::int64_t batch, length, cin, kernel, cout;
};

std::string describe(const dual_shape& s) {
    std::ostringstream o;
    o << "B=" << s.batch << " L=" << s.length << " cin=" << s.cin << " k=" << s.kernel << " cout=" << s.cout;
    return o.str();
}

float bf16_round(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

double gelu_sigmoid(double x) { return x / (1.0 + std::exp(-1.702 * x)); }

scpx::cuda::conv1d_args shape_args(const dual_shape& s) {
    scpx::cuda::conv1d_args a;
    a.batch = s.batch;
    a.length = s.length;
    a.cin = s.cin;
    a.cout = s.cout;
    a.kernel = s.kernel;
    a.prec = precision::BF16;
    return a;
}

void check_shape(const dual_shape& s, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n01(0.0f, 1.0f);
    const std::int64_t B = s.batch, L = s.length, cin = s.cin, k = s.kernel, cout = s.cout, K = k * cin;
    std::vector<float> x(static_cast<size_t>(B * L * cin)), w(static_cast<size_t>(K * cout)),
        bias(static_cast<size_t>(cout)), scale(bias.size()), shift(bias.size());
    for (auto& v : x) v = bf16_round(n01(rng));
    for (auto& v : w) v = bf16_round(0.2f * n01(rng));
    for (auto& v : bias) v = 0.3f * n01(rng);
    for (auto& v : scale) v = 1.0f + 0.3f * n01(rng);
    for (auto& v : shift) v = 0.3f * n01(rng);

    guarded_buffer dx(x.size(), precision::BF16), dw(w.size(), precision::BF16), dbias(bias.size(), 4),
        dscale(scale.size(), 4), dshift(shift.size(), 4);
    guarded_buffer dy(static_cast<size_t>(B * L * cout), precision::BF16),
        dy2(static_cast<size_t>(B * L * cout), precision::BF16);
    dx.upload(x);
    dw.upload(w);
    dbias.upload(bias);
    dscale.upload(scale);
    dshift.upload(shift);

    scpx::cuda::conv_dual_args a;
    a.conv = shape_args(s);
    a.conv.x = dx.data();
    a.conv.w = dw.data();
    a.conv.bias = dbias.as<float>();
    a.conv.y = dy.data();
    a.next_scale = dscale.as<float>();
    a.next_shift = dshift.as<float>();
    a.y2 = dy2.data();
    ASSERT_TRUE(scpx::cuda::conv_dual_supports(a.conv)) << describe(s);
    scpx::cuda::conv_dual(a, nullptr);
    SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    EXPECT_EQ(dy.damaged_guard_bytes(), 0u) << "stray writes outside y, " << describe(s);
    EXPECT_EQ(dy2.damaged_guard_bytes(), 0u) << "stray writes outside y2, " << describe(s);
    const auto y = dy.download(), y2 = dy2.download();

    int bad_y = 0, bad_y2 = 0;
    double worst_y = 0.0, worst_y2 = 0.0;
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t l = 0; l < L; ++l)
            for (std::int64_t o = 0; o < cout; ++o) {
                double sum = bias[static_cast<size_t>(o)], mag = 0.0;
                for (std::int64_t tap = 0; tap < k; ++tap) {
                    const std::int64_t pos = l + tap - k / 2;
                    if (pos < 0 || pos >= L) continue;
                    for (std::int64_t i = 0; i < cin; ++i) {
                        const double term = static_cast<double>(w[static_cast<size_t>((tap * cin + i) * cout + o)]) *
                                            x[static_cast<size_t>((b * L + pos) * cin + i)];
                        sum += term;
                        mag += std::fabs(term);
                    }
                }
                const size_t e = static_cast<size_t>((b * L + l) * cout + o);
                const double tol_y = std::fabs(sum) / 256.0 + K * mag / (1 << 22) + 1e-6;
                const double err_y = std::fabs(y[e] - sum);
                worst_y = std::max(worst_y, err_y / tol_y);
                if (!(err_y <= tol_y) && ++bad_y <= 3)
                    ADD_FAILURE() << describe(s) << ": y[" << b << "," << l << "," << o << "] = " << y[e] << ", want "
                                  << sum << " (tolerance " << tol_y << ")";
                const double v = static_cast<double>(y[e]) * scale[static_cast<size_t>(o)] + shift[static_cast<size_t>(o)];
                const double want2 = gelu_sigmoid(v);
                const double tol_y2 = std::fabs(want2) / 256.0 + 1.1 * (std::fabs(v) + 1.0) / (1 << 18) + 1e-6;
                const double err_y2 = std::fabs(y2[e] - want2);
                worst_y2 = std::max(worst_y2, err_y2 / tol_y2);
                if (!(err_y2 <= tol_y2) && ++bad_y2 <= 3)
                    ADD_FAILURE() << describe(s) << ": y2[" << b << "," << l << "," << o << "] = " << y2[e]
                                  << ", want " << want2 << " (tolerance " << tol_y2 << ")";
            }
    EXPECT_EQ(bad_y, 0) << describe(s);
    EXPECT_EQ(bad_y2, 0) << describe(s);
    std::printf("[ conv_dual ] %s: worst error / bound: y %.3g, y2 %.3g\n", describe(s).c_str(), worst_y, worst_y2);
}

TEST(CudaConvDual, RefusesWhatItDoesNotImplement) {
    // Shape checks come before any CUDA call: this runs without a GPU too.
    const dual_shape stem{1, 64, 4, 15, 768};
    auto a = shape_args(stem);
    EXPECT_EQ(scpx::cuda::conv_dual_supports(a), scpx::gpu::available());
    auto bad = a;
    bad.prec = precision::FP32;
    EXPECT_FALSE(scpx::cuda::conv_dual_supports(bad));
    bad = a;
    bad.kernel = 17; // K = 68 > 64
    EXPECT_FALSE(scpx::cuda::conv_dual_supports(bad));
    bad = a;
    bad.cout = 88; // not a multiple of 16
    EXPECT_FALSE(scpx::cuda::conv_dual_supports(bad));
    bad = a;
    bad.cin = 3; // odd: a fragment pair would straddle two taps
    EXPECT_FALSE(scpx::cuda::conv_dual_supports(bad));
    bad = a;
    float dummy[4] = {};
    bad.residual = dummy;
    EXPECT_FALSE(scpx::cuda::conv_dual_supports(bad));
    scpx::cuda::conv_dual_args d;
    d.conv = bad;
    d.conv.x = d.conv.w = d.conv.y = d.y2 = dummy;
    d.next_scale = d.next_shift = dummy;
    EXPECT_THROW(scpx::cuda::conv_dual(d, nullptr), scpx::usage_error);
    d.conv.residual = nullptr;
    d.y2 = nullptr;
    EXPECT_THROW(scpx::cuda::conv_dual(d, nullptr), scpx::usage_error); // missing output
}

TEST(CudaConvDual, MatchesDoubleReferenceOnEdgeShapes) {
    SKIP_WITHOUT_GPU();
    const dual_shape shapes[] = {
        {1, 7, 4, 15, 64},    // L < k: every tap of some rows falls outside
        {2, 300, 4, 15, 128}, // two blocks per sequence, the second partial; two sequences
        {1, 513, 4, 15, 768}, // Enformer's stem width, three blocks
        {2, 100, 6, 5, 64},   // another (k, cin): K = 30, taps of 6 channels
        {1, 260, 4, 15, 48},  // one partial chunk of 6 n-tiles (the fixture model's stem width)
        {1, 40, 4, 15, 80},   // a full chunk and one of 2 n-tiles
    };
    unsigned seed = 10;
    for (const auto& s : shapes) check_shape(s, ++seed);
}

} // namespace
