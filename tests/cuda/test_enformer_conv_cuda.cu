// Cross-tests of the custom implicit-GEMM conv1d (and, for k = 1 shapes, the same ConvBlock as a
// cuBLASLt GEMM: conv_gemm) and the softmax pool (fused, and through cuBLASLt logits:
// softmax_pool_gemm)
// against their CPU references (ops::conv1d_ref, ops::softmax_pool_ref) in every precision, on
// random inputs and shapes chosen to hit the tiling edges: k = 1/5/15, the stem's cin = 4
// (K = 60), cin that makes taps straddle K tiles, lengths and channel counts that are not
// multiples of the 128×128 tile, L < k, two sequences sharing an M tile, residual aliasing y.
// Outputs carry guard bands (guarded_buffer.cuh, checked byte for byte); the interior starts as
// the sentinel too (3.4e38), so an element the kernel forgets to write fails the comparison.
//
// Tolerances are per-element worst-case bounds derived from the precision, not fitted:
//   |Δ(Σ w·a)| ≤ (u_a + u_b + K·2^-22)·Σ|w|·|a|
// u_a, u_b = unit roundoff of the operands as the tensor cores see them (0 for FP32; 2^-11 for
// TF32, both operands rounded by cvt.rna; in BF16 the test rounds x, w and the residual to bf16
// before giving them to both sides, so only the BN/GELU-transformed A is rounded, 2^-8, and 0
// without transform). K·2^-22 covers fp32 accumulation on both sides (4 K u_fp32, worst case
// recursive summation, tensor cores truncating). The output GELU multiplies the error by at
// most max|gelu'| = 1.1, bf16 storage adds 2^-8·|y|, and 2^-18 of the magnitudes covers the
// fp32 elementwise ops (__expf vs std::exp, fma vs mul+add). Every comparison also asserts that
// the largest bound stays below 10 % of the output scale, so the test keeps the power to fail.
#include "common.cuh"
#include "enformer/conv1d.cuh"
#include "enformer/elementwise.cuh"
#include "enformer/gemm.cuh"
#include "enformer/conv_gemm.cuh"
#include "enformer/softmax_pool.cuh"
#include "enformer/softmax_pool_gemm.cuh"
#include "guarded_buffer.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/conv1d.hpp"
#include "scpx/ops/softmax_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using scpx::gpu::precision;
using scpx::test::guarded_buffer;

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

constexpr precision kAllPrecisions[] = {precision::FP32, precision::TF32, precision::BF16};

constexpr double kUnitTf32 = 1.0 / 2048.0;          // 2^-11
constexpr double kUnitBf16 = 1.0 / 256.0;           // 2^-8
constexpr double kAccPerK = 1.0 / (1 << 22);        // 4·u_fp32 per accumulated term
constexpr double kElementwise = 1.0 / (1 << 18);    // fp32 elementwise ops
constexpr double kGeluSlope = 1.1;                  // max |d/dx x·σ(1.702x)| = 1.0998

std::vector<float> normal(std::size_t n, double sd, std::mt19937& rng, double mean = 0.0) {
    std::normal_distribution<float> d(static_cast<float>(mean), static_cast<float>(sd));
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

/// Asserts |got − ref| ≤ tol element-wise (NaN fails) and that the bound is meaningful.
void expect_within(const std::vector<float>& got, const std::vector<float>& ref, const std::vector<double>& tol,
                   std::int64_t cols, const std::string& what) {
    ASSERT_EQ(got.size(), ref.size());
    ASSERT_EQ(tol.size(), ref.size());
    std::size_t bad = 0, worst = 0;
    double worst_ratio = -1, max_ref = 0, max_tol = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const double err = std::abs(static_cast<double>(got[i]) - ref[i]);
        const double ratio = std::isnan(err) ? INFINITY : err / tol[i];
        if (!(err <= tol[i])) ++bad;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = i;
        }
        max_ref = std::max(max_ref, std::abs(static_cast<double>(ref[i])));
        max_tol = std::max(max_tol, tol[i]);
    }
    const auto c = static_cast<std::size_t>(cols);
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << ref.size() << " outside the bound; worst at row "
                       << worst / c << ", col " << worst % c << ": got " << got[worst] << ", ref " << ref[worst]
                       << ", bound " << tol[worst];
    EXPECT_GT(max_ref, 0.0) << what;
    EXPECT_LT(max_tol, 0.1 * max_ref) << what << ": the bound is too loose to detect errors";
}

// ---------------------------------------------------------------------------------------------
// conv1d

enum class residual_mode { NONE, SEPARATE, IN_PLACE };

struct conv_case {
    std::int64_t batch, length, cin, cout, kernel;
    bool bn, in_gelu, bias, out_gelu;
    residual_mode residual;
};

/// gemm: run the shape through conv_gemm (cuBLASLt; im2col rows for k > 1) instead of the custom
/// kernel, in steps of gemm_chunk rows (0: one per sequence).
/// gemm: through conv_gemm, in steps of gemm_chunk rows (0: a sequence). span_rows >= 0: with
/// conv1d_args::span_batch, and a scratch of at least span_rows transformed rows (steps may then
/// cover several sequences and end inside one).
void check_conv(const conv_case& c, precision prec, unsigned seed, bool gemm = false, std::int64_t gemm_chunk = 0,
                std::int64_t span_rows = -1) {
    std::ostringstream name;
    name << "conv1d B=" << c.batch << " L=" << c.length << " " << c.cin << "->" << c.cout << " k=" << c.kernel
         << (c.bn ? " BN" : "") << (c.in_gelu ? " in-GELU" : "") << (c.out_gelu ? " out-GELU" : "")
         << (c.residual == residual_mode::IN_PLACE ? " residual=y" : c.residual == residual_mode::SEPARATE ? " residual" : "")
         << " " << scpx::test::name(prec) << (gemm_chunk > 0 ? " chunk " + std::to_string(gemm_chunk) : "")
         << (span_rows >= 0 ? " across sequences, scratch of " + std::to_string(span_rows) + " rows" : "");
    SCOPED_TRACE(name.str());
    const std::int64_t K = c.kernel * c.cin;
    const auto n_in = static_cast<std::size_t>(c.batch * c.length * c.cin);
    const auto n_out = static_cast<std::size_t>(c.batch * c.length * c.cout);
    std::mt19937 rng(seed);
    auto x = normal(n_in, 1.0, rng);
    auto w = normal(static_cast<std::size_t>(K * c.cout), 1.0 / std::sqrt(static_cast<double>(K)), rng);
    const auto bias = normal(static_cast<std::size_t>(c.cout), 0.3, rng);
    std::vector<float> scale(static_cast<std::size_t>(c.cin)), shift;
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    for (auto& s : scale) s = u(rng);
    shift = normal(static_cast<std::size_t>(c.cin), 0.5, rng);
    auto res = normal(n_out, 1.0, rng);
    // The bf16 kernel stores these as bf16; give the reference the same values.
    scpx::test::round_all(prec, x);
    scpx::test::round_all(prec, w);
    scpx::test::round_all(prec, res);
    const bool has_res = c.residual != residual_mode::NONE;
    const bool transform = c.bn || c.in_gelu;

    // Reference.
    std::vector<float> ref(n_out);
    scpx::ops::conv1d_params p;
    p.batch = c.batch;
    p.length = c.length;
    p.cin = c.cin;
    p.cout = c.cout;
    p.kernel = c.kernel;
    p.x = x.data();
    p.w = w.data();
    p.bias = c.bias ? bias.data() : nullptr;
    p.in_scale = c.bn ? scale.data() : nullptr;
    p.in_shift = c.bn ? shift.data() : nullptr;
    p.in_gelu = c.in_gelu;
    p.out_gelu = c.out_gelu;
    p.residual = has_res ? res.data() : nullptr;
    p.y = ref.data();
    scpx::ops::conv1d_ref(p);

    // Σ|w|·|a| per output: the same conv on |transformed input| and |w| (padding stays zero).
    std::vector<float> a_abs(n_in), w_abs(w.size()), s_abs(n_out);
    for (std::size_t i = 0; i < n_in; ++i) {
        const auto ch = static_cast<std::size_t>(static_cast<std::int64_t>(i) % c.cin);
        float v = x[i];
        if (c.bn) v = v * scale[ch] + shift[ch];
        if (c.in_gelu) v = v / (1.0f + std::exp(-1.702f * v));
        a_abs[i] = std::abs(v);
    }
    for (std::size_t i = 0; i < w.size(); ++i) w_abs[i] = std::abs(w[i]);
    scpx::ops::conv1d_params pa = p;
    pa.x = a_abs.data();
    pa.w = w_abs.data();
    pa.bias = nullptr;
    pa.in_scale = pa.in_shift = nullptr;
    pa.in_gelu = pa.out_gelu = false;
    pa.residual = nullptr;
    pa.y = s_abs.data();
    scpx::ops::conv1d_ref(pa);

    double u_ab = 0, u_out = 0;
    if (prec == precision::TF32) u_ab = 2 * kUnitTf32;
    if (prec == precision::BF16) {
        u_ab = transform ? kUnitBf16 : 0.0;
        u_out = kUnitBf16;
    }
    const double g = c.out_gelu ? kGeluSlope : 1.0;
    // BF16 through the GEMM: cuBLASLt's epilogue adds the bias's bf16 copy (gemm.cu's bias routes).
    const double u_bias = gemm && prec == precision::BF16 ? kUnitBf16 : 0.0;
    std::vector<double> tol(n_out);
    for (std::size_t i = 0; i < n_out; ++i) {
        const auto o = static_cast<std::size_t>(static_cast<std::int64_t>(i) % c.cout);
        const double s = s_abs[i];
        const double e_gemm = g * (u_ab + kAccPerK * static_cast<double>(K) + (transform ? kElementwise : 0.0)) * s;
        const double mag = g * (s + (c.bias ? std::abs(bias[o]) : 0.0)) + (has_res ? std::abs(res[i]) : 0.0);
        tol[i] = (1 + u_out) * e_gemm + u_out * std::abs(ref[i]) + kElementwise * mag +
                 (c.bias ? u_bias * g * std::abs(bias[o]) : 0.0) + 1e-30;
    }

    // GPU. Unwritten outputs keep the guard sentinel (3.4e38) and fail the comparison.
    auto upload = [](const std::vector<float>& v, precision pr) {
        auto b = std::make_unique<guarded_buffer>(v.size(), pr);
        b->upload(v);
        return b;
    };
    const auto dx = upload(x, prec), dw = upload(w, prec), dres = upload(res, prec);
    const auto db = upload(bias, precision::FP32), dsc = upload(scale, precision::FP32),
               dsh = upload(shift, precision::FP32), db16 = upload(bias, precision::BF16);
    guarded_buffer y(n_out, prec);
    if (c.residual == residual_mode::IN_PLACE) y.upload(res);
    scpx::cuda::conv1d_args a;
    a.batch = c.batch;
    a.length = c.length;
    a.cin = c.cin;
    a.cout = c.cout;
    a.kernel = c.kernel;
    a.x = dx->data();
    a.w = dw->data();
    a.bias = c.bias ? db->as<float>() : nullptr;
    // BF16 through the GEMM: also the caller's bf16 copy of the bias, as the model passes it.
    if (gemm && prec == precision::BF16 && c.bias) a.bias_bf16 = db16->as<__nv_bfloat16>();
    a.in_scale = c.bn ? dsc->as<float>() : nullptr;
    a.in_shift = c.bn ? dsh->as<float>() : nullptr;
    a.in_gelu = c.in_gelu;
    a.out_gelu = c.out_gelu;
    a.residual = c.residual == residual_mode::IN_PLACE ? y.data() : c.residual == residual_mode::SEPARATE ? dres->data() : nullptr;
    a.y = y.data();
    a.prec = prec;
    a.gemm_chunk_rows = gemm_chunk;
    a.span_batch = span_rows >= 0;
    if (!gemm) {
        scpx::cuda::conv1d(a, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    } else {
        const std::size_t span_bytes =
            span_rows > 0 ? static_cast<std::size_t>(span_rows * c.cin) * scpx::cuda::element_bytes(prec) : 0;
        guarded_buffer gemm_ws(32u << 20, 1, 256),
            scratch(std::max(scpx::cuda::conv_gemm_scratch_bytes(a), span_bytes) + 1, 1, 256);
        {
            scpx::cuda::gemm_engine engine(gemm_ws.data(), gemm_ws.size_bytes());
            scpx::cuda::conv_gemm(a, engine, scratch.data(), scratch.size_bytes(), nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        }
        EXPECT_EQ(scratch.damaged_guard_bytes(), 0u) << "writes outside the scratch";
    }
    EXPECT_EQ(y.damaged_guard_bytes(), 0u) << "writes outside the output";
    expect_within(y.download(), ref, tol, c.cout, name.str() + (gemm ? " (GEMM)" : ""));
}

void check_conv_all(const conv_case& c, unsigned seed) {
    for (const precision prec : kAllPrecisions) {
        check_conv(c, prec, seed);
        if (!c.out_gelu && (c.kernel == 1 || c.kernel * c.cin <= scpx::cuda::kConvGemmMaxIm2colK))
            check_conv(c, prec, seed, /*gemm=*/true);
    }
}

TEST(CudaEnformerConv, StemK15Cin4) {
    SKIP_WITHOUT_GPU();
    // K = 60: the second K tile is half padding; L = 203 puts the second sequence's start inside
    // M tile 1; cout = 72 is a partial N tile.
    check_conv_all({2, 203, 4, 72, 15, false, false, true, false, residual_mode::NONE}, 1);
}

TEST(CudaEnformerConv, ShortReductionAsGemmWithTransformAndResidual) {
    SKIP_WITHOUT_GPU();
    // k·cin = 40 (im2col route, padded to 40): BN → GELU before the zero padding at both ends,
    // in-place residual, L = 61 (taps cross each sequence's ends), cout = 40.
    check_conv_all({2, 61, 8, 40, 5, true, true, true, false, residual_mode::IN_PLACE}, 6);
    // k·cin = 28 (padded to 32 columns), no bias, separate residual.
    check_conv_all({1, 37, 4, 16, 7, false, true, false, false, residual_mode::SEPARATE}, 7);
}

TEST(CudaEnformerConv, GemmRouteInChunksOfRows) {
    SKIP_WITHOUT_GPU();
    // The model runs the GEMM route in L2-sized steps of rows (enformer_gpu_options::
    // gemm_chunk_rows): chunks that do not divide L, an im2col window reaching across a chunk
    // boundary, the in-place residual, and a chunk longer than the sequence. The scratch is sized
    // for one chunk (conv_gemm_scratch_bytes), with guard bands around it.
    for (const precision prec : kAllPrecisions) {
        check_conv({2, 130, 64, 64, 1, true, true, true, false, residual_mode::IN_PLACE}, prec, 3, true, 48);
        check_conv({2, 203, 4, 72, 15, false, false, true, false, residual_mode::NONE}, prec, 1, true, 64);
        check_conv({2, 61, 8, 40, 5, true, true, true, false, residual_mode::IN_PLACE}, prec, 6, true, 7);
        check_conv({1, 129, 24, 200, 1, false, true, true, false, residual_mode::SEPARATE}, prec, 8, true, 1000);
    }
}

TEST(CudaEnformerConv, GemmRouteAcrossSequences) {
    SKIP_WITHOUT_GPU();
    // conv1d_args::span_batch (the throughput mode): k = 1 steps over the batch's rows as one
    // matrix, as many as the scratch holds — here 2.4 sequences, so steps end inside a sequence;
    // without a transform, one GEMM over every row; a scratch of exactly one sequence keeps the
    // per-sequence steps; k > 1 (im2col) ignores the flag. Guard bands around scratch and output.
    for (const precision prec : kAllPrecisions) {
        check_conv({3, 130, 64, 64, 1, true, true, true, false, residual_mode::IN_PLACE}, prec, 3, true, 0, 312);
        check_conv({3, 61, 32, 48, 1, false, false, true, false, residual_mode::SEPARATE}, prec, 4, true, 0, 0);
        check_conv({2, 97, 40, 40, 1, true, true, false, false, residual_mode::NONE}, prec, 5, true, 0, 97);
        check_conv({2, 203, 4, 72, 15, false, false, true, false, residual_mode::NONE}, prec, 1, true, 0, 1000);
    }
}

TEST(CudaEnformerConv, TowerK5WithBnGelu) {
    SKIP_WITHOUT_GPU();
    // cin = 40: K tiles of 32 straddle taps; cout = 136 = one full + one partial N tile.
    check_conv_all({2, 157, 40, 136, 5, true, true, true, false, residual_mode::NONE}, 2);
}

TEST(CudaEnformerConv, PointwiseInPlaceResidual) {
    SKIP_WITHOUT_GPU();
    // Enformer's x + ConvBlock(C, C, 1)(x) with residual == y.
    check_conv_all({2, 130, 64, 64, 1, true, true, true, false, residual_mode::IN_PLACE}, 3);
}

TEST(CudaEnformerConv, PointwiseGeluOnlyOutGeluResidual) {
    SKIP_WITHOUT_GPU();
    check_conv_all({1, 129, 24, 200, 1, false, true, true, true, residual_mode::SEPARATE}, 4);
    // Without the output GELU the shape also runs as a pointwise GEMM (separate residual as C).
    check_conv_all({1, 129, 24, 200, 1, false, true, true, false, residual_mode::SEPARATE}, 8);
}

TEST(CudaEnformerConv, WideKernelShorterThanK) {
    SKIP_WITHOUT_GPU();
    // L = 9 < k = 15: every output row sees padding on both sides; two sequences in one M tile.
    check_conv_all({2, 9, 16, 8, 15, true, false, false, false, residual_mode::NONE}, 5);
}

TEST(CudaEnformerConv, SeveralTilesEverything) {
    SKIP_WITHOUT_GPU();
    check_conv_all({2, 300, 128, 256, 5, true, true, true, true, residual_mode::SEPARATE}, 6);
    check_conv_all({1, 77, 32, 32, 15, false, false, false, false, residual_mode::NONE}, 7);
}

TEST(CudaEnformerConv, RejectsBadArguments) {
    // Validation happens before any CUDA call, so this runs without a GPU too. The pointers are
    // fake (never dereferenced): distinct, far apart and aligned unless a case says otherwise.
    auto fake = [](std::uintptr_t v) { return reinterpret_cast<void*>(v); };
    scpx::cuda::conv1d_args good;
    good.batch = 1;
    good.length = 16;
    good.cin = 8;
    good.cout = 8;
    good.kernel = 5;
    good.x = fake(0x10000000);
    good.w = fake(0x20000000);
    good.y = fake(0x30000000);
    auto expect_usage = [](const scpx::cuda::conv1d_args& a, const char* why) {
        EXPECT_THROW(scpx::cuda::conv1d(a, nullptr), scpx::usage_error) << why;
    };
    auto a = good;
    a.kernel = 4;
    expect_usage(a, "even kernel");
    a = good;
    a.cin = 12;
    expect_usage(a, "cin not a multiple of 8");
    a = good;
    a.cout = 12;
    expect_usage(a, "cout not a multiple of 8");
    a = good;
    a.y = nullptr;
    expect_usage(a, "missing y");
    a = good;
    a.in_scale = static_cast<const float*>(fake(0x40000000));
    expect_usage(a, "scale without shift");
    a = good;
    a.y = fake(0x10000000 + 64);
    expect_usage(a, "y overlaps x");
    a = good;
    a.x = fake(0x10000000 + 4);
    expect_usage(a, "x misaligned");
    a = good;
    a.residual = fake(0x30000000 + 32);
    expect_usage(a, "residual partly overlaps y");
    a = good;
    a.length = 0;
    expect_usage(a, "empty");
    // The GEMM route: a negative chunk of rows is not a shape it takes (conv_gemm then throws).
    a = good;
    EXPECT_TRUE(scpx::cuda::conv_gemm_supports(a));
    a.gemm_chunk_rows = -1;
    EXPECT_FALSE(scpx::cuda::conv_gemm_supports(a)) << "negative GEMM chunk";
}

// ---------------------------------------------------------------------------------------------
// softmax pool

struct pool_case {
    std::int64_t batch, length, channels;
    double identity; // w = identity·I + N(0, 1/C): Enformer initialises 2·I, trained weights are full
};

/// Which implementation check_pool runs: the fused kernel or the cuBLASLt logits + pairing kernel.
enum class pool_backend { FUSED, GEMM };

/// chunk_pairs, bf16_logits: softmax_pool_args' fields of the GEMM route (0: one chunk per sequence).
/// span_pairs >= 0 (GEMM pool): softmax_pool_args::span_batch with a workspace of at least
/// span_pairs pairs (chunks may then cover several sequences and end inside one).
void check_pool(const pool_case& c, precision prec, unsigned seed, pool_backend be, std::int64_t chunk_pairs = 0,
                bool bf16_logits = false, std::int64_t span_pairs = -1) {
    std::ostringstream name;
    name << "softmax_pool B=" << c.batch << " L=" << c.length << " C=" << c.channels << " " << scpx::test::name(prec)
         << (be == pool_backend::FUSED ? " fused" : " gemm")
         << (chunk_pairs > 0 ? " chunk " + std::to_string(chunk_pairs) : "") << (bf16_logits ? " bf16 logits" : "")
         << (span_pairs >= 0 ? " across sequences, workspace of " + std::to_string(span_pairs) + " pairs" : "");
    SCOPED_TRACE(name.str());
    const std::int64_t C = c.channels, rows = c.batch * c.length, out_rows = rows / 2;
    std::mt19937 rng(seed);
    auto x = normal(static_cast<std::size_t>(rows * C), 1.0, rng);
    auto w = normal(static_cast<std::size_t>(C * C), 1.0 / std::sqrt(static_cast<double>(C)), rng);
    for (std::int64_t i = 0; i < C; ++i) w[static_cast<std::size_t>(i * C + i)] += static_cast<float>(c.identity);
    scpx::test::round_all(prec, x);
    scpx::test::round_all(prec, w);
    std::vector<float> ref(static_cast<std::size_t>(out_rows * C));
    scpx::ops::softmax_pool_params p;
    p.batch = c.batch;
    p.length = c.length;
    p.channels = C;
    p.x = x.data();
    p.w = w.data();
    p.y = ref.data();
    scpx::ops::softmax_pool_ref(p);

    // The pooled value moves by at most |x1 − x0|·e/4 (σ' ≤ 1/4) for an error e in the logit
    // difference d = l0 − l1. Fused: e ≤ (u_a + u_b + C·2^-22)·Σ_i (|x0_i| + |x1_i|)|w_i,c|, the two
    // logits' errors; in BF16 both operands are exact (pre-rounded), only the fp32 accumulation
    // and the bf16 store remain. GEMM: d = (x0 − x1)·w in one product of C terms, so
    // e ≤ (u_a + u_b + C·2^-22)·Σ_i |x0_i − x1_i||w_i,c|, where in BF16 u_a is the rounding of the
    // difference to bf16 (in TF32, u_a already counts the operand's rounding). With bf16 logits
    // the stored d is rounded once more: u_bf16·|d| ≤ u_bf16·Σ_i |x0_i − x1_i||w_i,c| — one more
    // u_bf16 in the same factor.
    const double u_ab = prec == precision::TF32 ? 2 * kUnitTf32 : 0.0;
    const double u_out = prec == precision::BF16 ? kUnitBf16 : 0.0;
    const bool gemm = be == pool_backend::GEMM;
    const double rel = u_ab + (gemm && prec == precision::BF16 ? kUnitBf16 : 0.0) +
                       (gemm && prec == precision::BF16 && bf16_logits ? kUnitBf16 : 0.0) +
                       kAccPerK * static_cast<double>(C);
    std::vector<double> tol(ref.size());
    std::vector<double> s(static_cast<std::size_t>(C));  // Σ_i a_i |w_i,o|, a as above
    for (std::int64_t r = 0; r < out_rows; ++r) {
        const float* x0 = x.data() + 2 * r * C;
        const float* x1 = x0 + C;
        std::fill(s.begin(), s.end(), 0.0);
        for (std::int64_t i = 0; i < C; ++i) {
            const double a = gemm ? std::abs(static_cast<double>(x0[i]) - x1[i]) : std::abs(x0[i]) + std::abs(x1[i]);
            const float* wr = w.data() + i * C;
            for (std::int64_t o = 0; o < C; ++o) s[static_cast<std::size_t>(o)] += a * std::abs(wr[o]);
        }
        for (std::int64_t o = 0; o < C; ++o) {
            const auto k = static_cast<std::size_t>(o);
            const double dx = std::abs(static_cast<double>(x1[o]) - x0[o]);
            const double e = dx * rel * s[k] / 4 + kElementwise * (std::abs(x0[o]) + std::abs(x1[o]));
            const auto idx = static_cast<std::size_t>(r * C + o);
            tol[idx] = (1 + u_out) * e + u_out * std::abs(ref[idx]) + 1e-30;
        }
    }

    guarded_buffer dx(x.size(), prec), dw(w.size(), prec), y(ref.size(), prec);
    dx.upload(x);
    dw.upload(w);
    scpx::cuda::softmax_pool_args a;
    a.batch = c.batch;
    a.length = c.length;
    a.channels = C;
    a.x = dx.data();
    a.w = dw.data();
    a.y = y.data();
    a.prec = prec;
    a.chunk_pairs = chunk_pairs;
    a.bf16_logits = bf16_logits;
    a.span_batch = span_pairs >= 0;
    if (be == pool_backend::FUSED) {
        scpx::cuda::softmax_pool(a, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    } else {
        // A span's chunk of n pairs: n·C rows (256-byte aligned) + n·C differences.
        const std::size_t row_bytes = scpx::cuda::element_bytes(prec),
                          diff_bytes = prec == precision::BF16 && bf16_logits ? 2 : 4;
        const std::size_t span_bytes =
            span_pairs > 0 ? static_cast<std::size_t>(span_pairs * c.channels) * (row_bytes + diff_bytes) + 256 : 0;
        guarded_buffer gemm_ws(32u << 20, 1, 256),
            logits(std::max(scpx::cuda::softmax_pool_gemm_workspace_bytes(a), span_bytes), 1, 256);
        {
            scpx::cuda::gemm_engine engine(gemm_ws.data(), gemm_ws.size_bytes());
            scpx::cuda::softmax_pool_gemm(a, engine, logits.data(), logits.size_bytes(), nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        }
        EXPECT_EQ(logits.damaged_guard_bytes(), 0u) << "writes outside the logits workspace";
    }
    EXPECT_EQ(y.damaged_guard_bytes(), 0u) << "writes outside the output";
    expect_within(y.download(), ref, tol, C, name.str());
}

void check_pool_all(const pool_case& c, unsigned seed) {
    for (const precision prec : kAllPrecisions) {
        for (const pool_backend be : {pool_backend::FUSED, pool_backend::GEMM}) check_pool(c, prec, seed, be);
        // The model's BF16 default: logit differences stored in bf16 (ignored in FP32/TF32).
        check_pool(c, prec, seed, pool_backend::GEMM, 0, /*bf16_logits=*/true);
    }
}

TEST(CudaEnformerSoftmaxPool, PartialTiles) {
    SKIP_WITHOUT_GPU();
    // M = 516 rows: the last M tile holds 4 rows; C = 72 is a partial N tile (and K tile).
    check_pool_all({2, 258, 72, 0.0}, 11);
}

TEST(CudaEnformerSoftmaxPool, SeveralChannelTiles) {
    SKIP_WITHOUT_GPU();
    check_pool_all({1, 64, 256, 0.0}, 12);
}

TEST(CudaEnformerSoftmaxPool, NearIdentityWeights) {
    SKIP_WITHOUT_GPU();
    // Sequences of 130 rows: the pair at rows 128/129 of sequence 0 and sequence 1's first pairs
    // share M tiles.
    check_pool_all({2, 130, 136, 2.0}, 13);
}

TEST(CudaEnformerSoftmaxPool, GemmChunksSplitLongSequences) {
    SKIP_WITHOUT_GPU();
    // 16386 pairs per sequence: chunks of 16384 pairs leave a 2-pair chunk at each sequence's end
    // (chunks never span sequences); then one chunk per sequence (the default).
    for (const precision prec : kAllPrecisions) {
        check_pool({2, 32772, 16, 0.0}, prec, 14, pool_backend::GEMM, 16384);
        check_pool({2, 32772, 16, 0.0}, prec, 14, pool_backend::GEMM);
    }
}

TEST(CudaEnformerSoftmaxPool, GemmChunksOfAnySize) {
    SKIP_WITHOUT_GPU();
    // 65 pairs per sequence in chunks of 5 (13 chunks), 64 (a 1-pair remainder), 65 (one) and
    // more than a sequence holds (the workspace is sized for the chunk, guard-banded).
    for (const precision prec : kAllPrecisions)
        for (const std::int64_t chunk : {5, 64, 65, 1000})
            check_pool({2, 130, 136, 2.0}, prec, 13, pool_backend::GEMM, chunk, /*bf16_logits=*/chunk == 5);
}

TEST(CudaEnformerSoftmaxPool, GemmChunksAcrossSequences) {
    SKIP_WITHOUT_GPU();
    // softmax_pool_args::span_batch: 3 sequences of 65 pairs in chunks of as many pairs as the
    // workspace holds — 150 (chunks end inside a sequence), every pair at once, and exactly one
    // sequence (the per-sequence chunks); with bf16 logit differences too. Guard bands around the
    // workspace and the output.
    for (const precision prec : kAllPrecisions)
        for (const std::int64_t span : {150, 1000, 0})
            check_pool({3, 130, 136, 2.0}, prec, 17, pool_backend::GEMM, 0, /*bf16_logits=*/span == 150, span);
}

TEST(CudaEnformerSoftmaxPool, GemmAppliesTheNextBlocksBnGelu) {
    SKIP_WITHOUT_GPU();
    // The model hoists the next ConvBlock's BN → GELU into the pool (softmax_pool_args::out_*):
    // the result must be what the separate transform pass (conv_input_transform) makes of the
    // plain pooled output — same arithmetic, so equal up to a few units of the storage type.
    const std::int64_t B = 2, L = 130, C = 136;
    for (const precision prec : kAllPrecisions) {
        SCOPED_TRACE(scpx::test::name(prec));
        std::mt19937 rng(15);
        auto x = normal(static_cast<std::size_t>(B * L * C), 1.0, rng);
        auto w = normal(static_cast<std::size_t>(C * C), 1.0 / std::sqrt(static_cast<double>(C)), rng);
        const auto scale = normal(static_cast<std::size_t>(C), 1.0, rng), shift = normal(static_cast<std::size_t>(C), 0.5, rng);
        scpx::test::round_all(prec, x);
        scpx::test::round_all(prec, w);
        const auto out_n = static_cast<std::size_t>(B * L / 2 * C);
        guarded_buffer dx(x.size(), prec), dw(w.size(), prec), ds(scale.size(), 4), dsh(shift.size(), 4);
        guarded_buffer plain(out_n, prec), separate(out_n, prec), hoisted(out_n, prec);
        dx.upload(x);
        dw.upload(w);
        ds.upload(scale);
        dsh.upload(shift);
        scpx::cuda::softmax_pool_args a;
        a.batch = B;
        a.length = L;
        a.channels = C;
        a.x = dx.data();
        a.w = dw.data();
        a.prec = prec;
        guarded_buffer gemm_ws(32u << 20, 1, 256), ws(scpx::cuda::softmax_pool_gemm_workspace_bytes(a), 1, 256);
        {
            scpx::cuda::gemm_engine engine(gemm_ws.data(), gemm_ws.size_bytes());
            a.y = plain.data();
            scpx::cuda::softmax_pool_gemm(a, engine, ws.data(), ws.size_bytes(), nullptr);
            scpx::cuda::conv_input_transform(ds.as<float>(), dsh.as<float>(), true, B * L / 2, C, plain.data(),
                                             separate.data(), prec, nullptr);
            a.y = hoisted.data();
            a.out_scale = ds.as<float>();
            a.out_shift = dsh.as<float>();
            a.out_gelu = true;
            scpx::cuda::softmax_pool_gemm(a, engine, ws.data(), ws.size_bytes(), nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        }
        EXPECT_EQ(hoisted.damaged_guard_bytes(), 0u);
        const auto want = separate.download(), got = hoisted.download();
        // Four units of the storage type, relative to max(1, |value|): a compiler's choice to fuse
        // the multiply-add or not (and GELU's slope) moves the result by a few ulps of the operands.
        const double unit = prec == precision::BF16 ? 1.0 / 256 : 1.0 / (1 << 23);
        double worst = 0.0;
        for (std::size_t i = 0; i < out_n; ++i)
            worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) /
                                        std::max(1.0, std::abs(static_cast<double>(want[i]))));
        EXPECT_LE(worst, 4 * unit) << "hoisted transform vs the separate pass";
        // The fused kernel refuses the transform rather than ignore it.
        EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error);
    }
}

TEST(CudaEnformerSoftmaxPool, RejectsBadArguments) {
    auto fake = [](std::uintptr_t v) { return reinterpret_cast<void*>(v); };
    scpx::cuda::softmax_pool_args good;
    good.length = 16;
    good.channels = 8;
    good.x = fake(0x10000000);
    good.w = fake(0x20000000);
    good.y = fake(0x30000000);
    auto a = good;
    a.length = 15;
    EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error) << "odd length";
    a = good;
    a.channels = 12;
    EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error) << "channels not a multiple of 8";
    a = good;
    a.y = fake(0x10000000 + 128);
    EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error) << "y overlaps x";
    a = good;
    a.w = fake(0x20000000 + 8);
    a.prec = precision::FP32;
    EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error) << "w misaligned";
    a = good;
    a.x = nullptr;
    EXPECT_THROW(scpx::cuda::softmax_pool(a, nullptr), scpx::usage_error) << "missing x";
}

} // namespace
