// Cross-tests of the Enformer LayerNorm and elementwise kernels (kernels/enformer/layer_norm.cu,
// elementwise.cu) against ops::layer_norm_ref and host formulas, in every precision, with guard
// bands around every output, in-place use, shapes that defeat the vector paths (odd column
// counts, misaligned pointers) and one tensor beyond 2³¹ elements (64-bit indexing).
// Tolerances (relative to max(1, |reference|), reference computed from the same rounded inputs):
//   LayerNorm  FP32/TF32 5e-6 (fp32 two-pass statistics on pivot-shifted values against the
//              reference's double ones: a host model of the kernel's summation order gives
//              ≤ 5e-7 on these cases, mean 100 ± 1 included), BF16 8e-3 (bf16 output: 2^-8)
//   bias_act / bn_gelu  FP32 2e-6 (__expf in GELU/softplus), BF16 8e-3 (bf16 output)
//   conversions and copies: exact.
#include "enformer/elementwise.cuh"
#include "guarded_buffer.cuh"
#include "enformer/layer_norm.cuh"
#include "enformer/onehot.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/layer_norm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using scpx::gpu::precision;
using scpx::test::guarded_buffer;
namespace cu = scpx::cuda;

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

const precision kAll[] = {precision::FP32, precision::TF32, precision::BF16};

double tol_for(precision p, double fp32_tol) { return p == precision::BF16 ? 8e-3 : fp32_tol; }

/// Largest |got − ref| / max(1, |ref|), with the index where it occurs.
std::pair<double, std::size_t> worst_error(const std::vector<float>& got, const std::vector<float>& ref) {
    double worst = 0.0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const double e = std::abs(static_cast<double>(got[i]) - ref[i]) / std::max(1.0, std::abs(static_cast<double>(ref[i])));
        if (!(e <= worst)) { // NaN counts as the worst
            worst = std::isnan(e) ? INFINITY : e;
            at = i;
        }
    }
    return {worst, at};
}

// ---- LayerNorm --------------------------------------------------------------------------------

struct ln_case {
    std::int64_t rows, channels;
    float mean, spread; ///< x = mean + spread·U(−1, 1)
};

void check_layer_norm(const ln_case& c, precision p, bool in_place, unsigned seed) {
    const std::string what = "rows=" + std::to_string(c.rows) + " C=" + std::to_string(c.channels) + " mean=" +
                             std::to_string(c.mean) + " spread=" + std::to_string(c.spread) + " " +
                             scpx::test::name(p) + (in_place ? " in place" : "");
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const auto N = static_cast<size_t>(c.rows * c.channels);
    std::vector<float> x(N), gamma(static_cast<size_t>(c.channels)), beta(static_cast<size_t>(c.channels));
    for (auto& v : x) v = c.mean + c.spread * unit(rng);
    for (auto& v : gamma) v = 1.0f + 0.5f * unit(rng);
    for (auto& v : beta) v = 0.3f * unit(rng);
    scpx::test::round_all(p, x);
    std::vector<float> ref(N);
    scpx::ops::layer_norm_params rp;
    rp.rows = c.rows;
    rp.channels = c.channels;
    rp.x = x.data();
    rp.gamma = gamma.data();
    rp.beta = beta.data();
    rp.y = ref.data();
    scpx::ops::layer_norm_ref(rp);

    guarded_buffer dx(N, p), dy(N, p), dg(gamma.size(), 4), db(beta.size(), 4);
    dx.upload(x);
    dg.upload(gamma);
    db.upload(beta);
    cu::layer_norm_args a;
    a.rows = c.rows;
    a.channels = c.channels;
    a.x = dx.data();
    a.gamma = dg.as<float>();
    a.beta = db.as<float>();
    a.y = in_place ? dx.data() : dy.data();
    a.prec = p;
    cu::layer_norm(a, nullptr);
    SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    guarded_buffer& out = in_place ? dx : dy;
    EXPECT_EQ(out.damaged_guard_bytes(), 0u) << what;
    const auto got = out.download();
    const auto [err, at] = worst_error(got, ref);
    EXPECT_LE(err, tol_for(p, 5e-6)) << what << ": element " << at << " got " << got[at] << " want " << ref[at];
}

TEST(CudaLayerNorm, MatchesReferenceInEveryPrecision) {
    SKIP_WITHOUT_GPU();
    const ln_case cases[] = {
        {37, 1536, 0.0f, 2.0f},   // Enformer's width
        {5, 13, 0.5f, 1.0f},      // fewer channels than a warp, odd
        {300, 96, -3.0f, 0.5f},   // many rows (grid-stride over warps)
        {17, 1536, 100.0f, 1.0f}, // large mean against the spread: needs the shift and centring
        {9, 200, 0.0f, 1e-3f},    // variance ~3e-7 < eps: eps inside the root must be right
    };
    unsigned seed = 1;
    for (const auto& c : cases)
        for (const auto p : kAll) {
            check_layer_norm(c, p, false, ++seed);
            check_layer_norm(c, p, true, ++seed);
        }
}

// ---- bias_act and bn_gelu ---------------------------------------------------------------------

float host_act(cu::activation a, float v) {
    switch (a) {
    case cu::activation::NONE: return v;
    case cu::activation::RELU: return std::max(v, 0.0f);
    case cu::activation::GELU: return v / (1.0f + std::exp(-1.702f * v));
    case cu::activation::SOFTPLUS: return v > 20.0f ? v : std::log1p(std::exp(v));
    }
    return v;
}

const cu::activation kActs[] = {cu::activation::NONE, cu::activation::RELU, cu::activation::GELU,
                                cu::activation::SOFTPLUS};

TEST(CudaElementwise, BiasActMatchesHost) {
    SKIP_WITHOUT_GPU();
    struct shape {
        std::int64_t rows, cols;
    };
    // cols 64: vector path; cols 13: scalar path (a vector would straddle rows).
    const shape shapes[] = {{33, 64}, {19, 13}, {1, 5}};
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (const auto s : shapes)
        for (const auto p : {precision::FP32, precision::BF16})
            for (const auto act : kActs)
                for (const bool with_bias : {true, false})
                    for (const bool y_f32 : {false, true})
                        for (const bool in_place : {false, true}) {
                            const bool bf16_to_f32 = p == precision::BF16 && y_f32;
                            if (in_place && bf16_to_f32) continue; // rejected, tested below
                            const auto N = static_cast<size_t>(s.rows * s.cols);
                            std::vector<float> x(N), bias(static_cast<size_t>(s.cols));
                            // Up to ±25 so softplus passes its threshold of 20.
                            for (auto& v : x) v = 25.0f * unit(rng);
                            for (auto& v : bias) v = unit(rng);
                            scpx::test::round_all(p, x);
                            const precision out_p = y_f32 ? precision::FP32 : p;
                            std::vector<float> ref(N);
                            for (std::int64_t r = 0; r < s.rows; ++r)
                                for (std::int64_t c = 0; c < s.cols; ++c) {
                                    const auto i = static_cast<size_t>(r * s.cols + c);
                                    ref[i] = host_act(act, x[i] + (with_bias ? bias[static_cast<size_t>(c)] : 0.0f));
                                }
                            guarded_buffer dx(N, p), dy(N, out_p), db(bias.size(), 4);
                            dx.upload(x);
                            db.upload(bias);
                            cu::bias_act_args a;
                            a.rows = s.rows;
                            a.cols = s.cols;
                            a.x = dx.data();
                            a.bias = with_bias ? db.as<float>() : nullptr;
                            a.act = act;
                            a.y = in_place ? dx.data() : dy.data();
                            a.y_f32 = y_f32;
                            a.prec = p;
                            cu::bias_act(a, nullptr);
                            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
                            guarded_buffer& out = in_place ? dx : dy;
                            const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " " +
                                                     scpx::test::name(p) + " act " +
                                                     std::to_string(static_cast<int>(act)) +
                                                     (with_bias ? " bias" : "") + (y_f32 ? " y_f32" : "") +
                                                     (in_place ? " in place" : "");
                            EXPECT_EQ(out.damaged_guard_bytes(), 0u) << what;
                            const auto got = out.download();
                            const auto [err, at] = worst_error(got, ref);
                            EXPECT_LE(err, tol_for(out_p, 2e-6))
                                << what << ": element " << at << " got " << got[at] << " want " << ref[at];
                        }
}

TEST(CudaElementwise, BiasActRejectsMixedWidthInPlace) {
    // Throws before any CUDA call: runs without a GPU too.
    float dummy[4] = {};
    cu::bias_act_args a;
    a.rows = 1;
    a.cols = 4;
    a.x = a.y = dummy;
    a.y_f32 = true;
    a.prec = precision::BF16;
    EXPECT_THROW(cu::bias_act(a, nullptr), scpx::usage_error);
    a.x = nullptr;
    a.prec = precision::FP32;
    EXPECT_THROW(cu::bias_act(a, nullptr), scpx::usage_error);
}

TEST(CudaElementwise, BnGeluMatchesHost) {
    SKIP_WITHOUT_GPU();
    std::mt19937 rng(21);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (const std::int64_t C : {768, 7})
        for (const auto p : kAll)
            for (const bool gelu : {true, false})
                for (const bool in_place : {false, true}) {
                    const std::int64_t rows = 29;
                    const auto N = static_cast<size_t>(rows * C);
                    std::vector<float> x(N), scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
                    for (auto& v : x) v = 3.0f * unit(rng);
                    for (auto& v : scale) v = 1.0f + 0.5f * unit(rng);
                    for (auto& v : shift) v = 0.5f * unit(rng);
                    scpx::test::round_all(p, x);
                    std::vector<float> ref(N);
                    for (std::int64_t r = 0; r < rows; ++r)
                        for (std::int64_t c = 0; c < C; ++c) {
                            const auto i = static_cast<size_t>(r * C + c);
                            const float v = x[i] * scale[static_cast<size_t>(c)] + shift[static_cast<size_t>(c)];
                            ref[i] = gelu ? host_act(cu::activation::GELU, v) : v;
                        }
                    guarded_buffer dx(N, p), dy(N, p), ds(scale.size(), 4), dt(shift.size(), 4);
                    dx.upload(x);
                    ds.upload(scale);
                    dt.upload(shift);
                    cu::bn_gelu_args a;
                    a.rows = rows;
                    a.channels = C;
                    a.x = dx.data();
                    a.scale = ds.as<float>();
                    a.shift = dt.as<float>();
                    a.gelu = gelu;
                    a.y = in_place ? dx.data() : dy.data();
                    a.prec = p;
                    cu::bn_gelu(a, nullptr);
                    SCPX_CUDA_CHECK(cudaDeviceSynchronize());
                    guarded_buffer& out = in_place ? dx : dy;
                    const std::string what = "C=" + std::to_string(C) + " " + scpx::test::name(p) +
                                             (gelu ? " gelu" : "") + (in_place ? " in place" : "");
                    EXPECT_EQ(out.damaged_guard_bytes(), 0u) << what;
                    const auto got = out.download();
                    const auto [err, at] = worst_error(got, ref);
                    EXPECT_LE(err, tol_for(p, 2e-6)) << what << ": element " << at;
                }
}

// ---- conversions ------------------------------------------------------------------------------

TEST(CudaElementwise, PrecisionConversionsAreExact) {
    SKIP_WITHOUT_GPU();
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (const std::int64_t n : {1, 7, 1027, 4096})
        for (const std::size_t offset : {0, 1}) { // offset 1: misaligned pointers → scalar kernel
            std::vector<float> x(static_cast<size_t>(n));
            for (auto& v : x) v = std::ldexp(unit(rng), static_cast<int>(unit(rng) * 60));
            x[0] = INFINITY;
            if (n > 2) x[1] = -0.0f, x[2] = 1e-40f; // a float denormal (flushes to bf16 denormal)
            guarded_buffer f(static_cast<size_t>(n) + offset, 4), b(static_cast<size_t>(n) + offset, 2);
            std::vector<float> xin(static_cast<size_t>(n) + offset, 0.0f);
            std::copy(x.begin(), x.end(), xin.begin() + static_cast<std::ptrdiff_t>(offset));
            f.upload(xin);
            cu::f32_to_bf16(f.as<float>() + offset, b.as<__nv_bfloat16>() + offset, n, nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
            EXPECT_EQ(b.damaged_guard_bytes(), 0u);
            const auto got = b.download(); // bf16 → float on the host: exact
            for (std::int64_t i = 0; i < n; ++i) {
                const float want = scpx::test::round_to(precision::BF16, x[static_cast<size_t>(i)]);
                const float g = got[static_cast<size_t>(i) + offset];
                EXPECT_EQ(std::memcmp(&g, &want, 4), 0) << "f32→bf16 n=" << n << " element " << i << ": " << g
                                                         << " vs " << want;
            }
            // And back: bf16 → f32 must reproduce the bf16 values bit for bit.
            guarded_buffer back(static_cast<size_t>(n) + offset, 4);
            cu::bf16_to_f32(b.as<__nv_bfloat16>() + offset, back.as<float>() + offset, n, nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
            EXPECT_EQ(back.damaged_guard_bytes(), 0u);
            const auto round_trip = back.download();
            for (std::int64_t i = 0; i < n; ++i) {
                const float g = round_trip[static_cast<size_t>(i) + offset], want = got[static_cast<size_t>(i) + offset];
                EXPECT_EQ(std::memcmp(&g, &want, 4), 0) << "bf16→f32 n=" << n << " element " << i;
            }
        }
}

// ---- copy_rows --------------------------------------------------------------------------------

TEST(CudaElementwise, CopyRowsSelectsTheRightBlock) {
    SKIP_WITHOUT_GPU();
    struct shape {
        std::int64_t batch, rows, cols, row0, x_rows;
        std::size_t elem;
    };
    const shape shapes[] = {
        {3, 5, 768, 2, 11, 4},  // float rows: 16-byte units
        {2, 4, 7, 1, 9, 4},     // 28-byte rows: 4-byte units
        {2, 3, 9, 3, 8, 2},     // bf16, 18-byte rows: 2-byte units
        {1, 896, 64, 320, 1536, 2}, // the crop shape (bf16, 128-byte rows)
    };
    for (const auto& s : shapes) {
        // x as raw bytes: [batch, x_rows, cols] elements, every byte distinct-ish.
        const auto xb = static_cast<size_t>(s.batch * s.x_rows * s.cols) * s.elem;
        std::vector<unsigned char> x(xb);
        for (std::size_t i = 0; i < xb; ++i) x[i] = static_cast<unsigned char>((i * 131 + 7) % 251);
        const auto yn = static_cast<size_t>(s.batch * s.rows * s.cols);
        guarded_buffer dx(xb / s.elem, s.elem), dy(yn, s.elem);
        SCPX_CUDA_CHECK(cudaMemcpy(dx.data(), x.data(), xb, cudaMemcpyHostToDevice));
        cu::copy_rows_args a;
        a.batch = s.batch;
        a.rows = s.rows;
        a.cols = s.cols;
        a.row0 = s.row0;
        a.x_row_stride = s.cols;
        a.x_batch_stride = s.x_rows * s.cols;
        a.x = dx.data();
        a.y = dy.data();
        a.elem_bytes = s.elem;
        cu::copy_rows(a, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        EXPECT_EQ(dy.damaged_guard_bytes(), 0u);
        std::vector<unsigned char> got(yn * s.elem);
        SCPX_CUDA_CHECK(cudaMemcpy(got.data(), dy.data(), got.size(), cudaMemcpyDeviceToHost));
        const auto row_bytes = static_cast<size_t>(s.cols) * s.elem;
        for (std::int64_t b = 0; b < s.batch; ++b)
            for (std::int64_t r = 0; r < s.rows; ++r) {
                const unsigned char* want = x.data() + static_cast<size_t>(b * s.x_rows + s.row0 + r) * row_bytes;
                const unsigned char* g = got.data() + static_cast<size_t>(b * s.rows + r) * row_bytes;
                EXPECT_EQ(std::memcmp(g, want, row_bytes), 0) << "batch " << b << " row " << r << " cols " << s.cols;
            }
    }
}

// ---- 64-bit indexing --------------------------------------------------------------------------

TEST(CudaElementwise, OnehotEncodesLettersAsTheReference) {
    SKIP_WITHOUT_GPU();
    // Every byte value, then random letters from a mixed alphabet: A C G T in either case are hot
    // in channel 0..3; everything else (N, IUPAC codes, '-', NUL, bytes ≥ 128) is a row of
    // `other` — seq::onehot_ref's rule, written out here as the oracle.
    std::string bases;
    for (int c = 0; c < 256; ++c) bases.push_back(static_cast<char>(c));
    std::mt19937 rng(21);
    const std::string alphabet = "ACGTacgtNnRYKM-";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int i = 0; i < 5000; ++i) bases.push_back(alphabet[pick(rng)]);
    const auto hot_of = [](char b) {
        switch (b) {
        case 'A': case 'a': return 0;
        case 'C': case 'c': return 1;
        case 'G': case 'g': return 2;
        case 'T': case 't': return 3;
        default: return -1;
        }
    };
    const auto n = static_cast<std::int64_t>(bases.size());
    char* dbases = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&dbases, bases.size()));
    SCPX_CUDA_CHECK(cudaMemcpy(dbases, bases.data(), bases.size(), cudaMemcpyHostToDevice));
    for (const precision p : {precision::FP32, precision::BF16})
        for (const float other : {0.0f, 0.25f}) {
            guarded_buffer out(static_cast<std::size_t>(4 * n), scpx::cuda::element_bytes(p));
            scpx::cuda::onehot_encode(dbases, n, other, out.data(), p, nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
            EXPECT_EQ(out.damaged_guard_bytes(), 0u);
            const auto got = out.download();
            std::int64_t wrong = 0;
            for (std::int64_t i = 0; i < n; ++i) {
                const int hot = hot_of(bases[static_cast<std::size_t>(i)]);
                for (int c = 0; c < 4; ++c) {
                    const float want = hot < 0 ? other : (c == hot ? 1.0f : 0.0f);
                    wrong += got[static_cast<std::size_t>(4 * i + c)] != want;
                }
            }
            EXPECT_EQ(wrong, 0) << scpx::test::name(p) << " other " << other;
        }
    cudaFree(dbases);
    EXPECT_THROW(scpx::cuda::onehot_encode(nullptr, 4, 0.0f, nullptr, precision::FP32, nullptr), scpx::usage_error);
}

TEST(CudaElementwise, BeyondTwoToThe31Elements) {
    SKIP_WITHOUT_GPU();
    // 2^21 + 3 rows of 1024 bf16 = 2.15·10⁹ elements (4.3 GB): flat indices pass 2³¹, so a 32-bit
    // index would wrap and leave the tail untouched (or write before the start).
    const std::int64_t rows = (std::int64_t{1} << 21) + 3, cols = 1024, n = rows * cols;
    void* x = nullptr;
    if (cudaMalloc(&x, static_cast<size_t>(n) * 2) != cudaSuccess) {
        cudaGetLastError();
        GTEST_SKIP() << "not enough device memory for 4.3 GB";
    }
    const std::unique_ptr<void, cudaError_t (*)(void*)> owner(x, cudaFree);
    SCPX_CUDA_CHECK(cudaMemset(x, 0x3F, static_cast<size_t>(n) * 2)); // every element bf16 0x3F3F
    std::vector<float> bias(static_cast<size_t>(cols));
    for (std::int64_t c = 0; c < cols; ++c) bias[static_cast<size_t>(c)] = static_cast<float>(c % 8);
    guarded_buffer db(bias.size(), 4);
    db.upload(bias);
    cu::bias_act_args a;
    a.rows = rows;
    a.cols = cols;
    a.x = a.y = x;
    a.bias = db.as<float>();
    a.prec = precision::BF16;
    cu::bias_act(a, nullptr);
    SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    const std::uint16_t raw_in = 0x3F3F;
    float in_value;
    {
        const std::uint32_t bits = static_cast<std::uint32_t>(raw_in) << 16;
        std::memcpy(&in_value, &bits, 4);
    }
    // Sample the first row, rows around 2^31 / cols, and the last row.
    for (const std::int64_t r : {std::int64_t{0}, (std::int64_t{1} << 21) - 1, std::int64_t{1} << 21, rows - 1}) {
        std::vector<__nv_bfloat16> row(static_cast<size_t>(cols));
        SCPX_CUDA_CHECK(cudaMemcpy(row.data(), static_cast<__nv_bfloat16*>(x) + r * cols, static_cast<size_t>(cols) * 2,
                                   cudaMemcpyDeviceToHost));
        for (std::int64_t c = 0; c < cols; ++c) {
            const float want = scpx::test::round_to(precision::BF16, in_value + bias[static_cast<size_t>(c)]);
            ASSERT_EQ(__bfloat162float(row[static_cast<size_t>(c)]), want) << "row " << r << " col " << c;
        }
    }
}

} // namespace
