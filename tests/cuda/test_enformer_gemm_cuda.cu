// Cross-tests of the cuBLASLt GEMM engine (kernels/enformer/gemm.cuh) against a float64 host
// product of the same (precision-rounded) operands: every precision, the epilogues the Enformer
// driver uses (none, bias, ReLU-bias, bias + in-place residual with beta = 1, fp32 output from
// bf16 operands), odd widths like the heads (5313 tracks), lda > k and a row-offset A, and the
// per-shape plan cache (a second call with other pointers), and each way a bias reaches the
// output (cuBLASLt epilogue in fp32 or bf16, or a separate pass: gemm.cu). Skipped without a GPU.
#include "common.cuh"
#include "enformer/gemm.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"

#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using scpx::gpu::precision;
namespace cu = scpx::cuda;

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

float round_to(precision p, float v) {
    if (p == precision::FP32) return v;
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    const int drop = p == precision::BF16 ? 16 : 13;
    u = (u + (1u << (drop - 1)) - 1 + ((u >> drop) & 1u)) & ~((1u << drop) - 1);
    std::memcpy(&v, &u, 4);
    return v;
}

/// Device copy of host fp32 values in the precision's storage type (bf16 or fp32).
struct dbuf {
    void* p = nullptr;
    dbuf(const std::vector<float>& h, bool bf16) {
        if (bf16) {
            std::vector<__nv_bfloat16> b(h.size());
            for (size_t i = 0; i < h.size(); ++i) b[i] = __float2bfloat16_rn(h[i]);
            SCPX_CUDA_CHECK(cudaMalloc(&p, b.size() * 2 + 16));
            SCPX_CUDA_CHECK(cudaMemcpy(p, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
        } else {
            SCPX_CUDA_CHECK(cudaMalloc(&p, h.size() * 4 + 16));
            SCPX_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
        }
    }
    ~dbuf() { cudaFree(p); }
    dbuf(const dbuf&) = delete;
    dbuf& operator=(const dbuf&) = delete;
};

std::vector<float> download(const void* p, size_t n, bool bf16) {
    std::vector<float> out(n);
    if (bf16) {
        std::vector<__nv_bfloat16> b(n);
        SCPX_CUDA_CHECK(cudaMemcpy(b.data(), p, n * 2, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < n; ++i) out[i] = __bfloat162float(b[i]);
    } else {
        SCPX_CUDA_CHECK(cudaMemcpy(out.data(), p, n * 4, cudaMemcpyDeviceToHost));
    }
    return out;
}

struct gemm_case {
    std::int64_t m, n, k, lda, a_row0;
    cu::gemm_epilogue epi;
    bool residual, d_f32;
};

/// Runs one case twice (fresh and from the plan cache; the second time with a caller-made bf16
/// copy of the bias in BF16, gemm_args::bias_bf16) and checks it against float64.
void run_case(cu::gemm_engine& eng, precision prec, const gemm_case& c, std::mt19937& rng) {
    std::normal_distribution<float> N01(0.0f, 1.0f);
    const bool bf16 = prec == precision::BF16;
    const bool out_bf16 = bf16 && !c.d_f32;
    const std::int64_t rows_a = c.a_row0 + c.m;
    std::vector<float> a(static_cast<size_t>(rows_a * c.lda)), b(static_cast<size_t>(c.k * c.n)),
        bias(static_cast<size_t>(c.n)), res(static_cast<size_t>(c.m * c.n));
    for (auto& v : a) v = round_to(prec, N01(rng));
    for (auto& v : b) v = round_to(prec, N01(rng) / std::sqrt(static_cast<float>(c.k)));
    for (auto& v : bias) v = 0.1f * N01(rng);
    for (auto& v : res) v = out_bf16 ? round_to(precision::BF16, N01(rng)) : N01(rng);
    dbuf da(a, bf16), db(b, bf16), dres(res, out_bf16);
    float* dbias = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&dbias, bias.size() * 4));
    SCPX_CUDA_CHECK(cudaMemcpy(dbias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice));
    const dbuf dbias16(bias, true);

    const std::size_t esz = bf16 ? 2 : 4;
    for (int rep = 0; rep < 2; ++rep) {
        dbuf dd(res, out_bf16);  // D starts as the residual: the in-place C == D case
        cu::gemm_args g;
        g.m = c.m;
        g.n = c.n;
        g.k = c.k;
        g.a = static_cast<const char*>(da.p) + c.a_row0 * c.lda * esz;
        g.lda = c.lda;
        g.b = db.p;
        g.bias = c.epi == cu::gemm_epilogue::NONE ? nullptr : dbias;
        if (rep == 1 && bf16 && g.bias) g.bias_bf16 = static_cast<const __nv_bfloat16*>(dbias16.p);
        g.epilogue = c.epi;
        g.beta = c.residual ? 1.0f : 0.0f;
        g.c = c.residual ? dd.p : nullptr;
        g.d = dd.p;
        g.d_f32 = c.d_f32;
        g.prec = prec;
        eng.run(g, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        if (rep == 0 && c.epi != cu::gemm_epilogue::NONE)
            std::printf("[ gemm ] %s %lldx%lldx%lld%s%s: %s\n", scpx::gpu::to_string(prec), static_cast<long long>(c.m),
                        static_cast<long long>(c.n), static_cast<long long>(c.k),
                        c.epi == cu::gemm_epilogue::RELU_BIAS ? " relu" : "", c.d_f32 ? " fp32 out" : "",
                        eng.bias_route_of(g).c_str());
        const auto got = download(dd.p, res.size(), out_bf16);

        // Tolerance relative to Σ|a·b| + |bias| + |c|: fp32 accumulation noise, TF32's own operand
        // rounding when cuBLAS truncates rather than rounds, bf16 rounding of the output.
        const double tol = prec == precision::FP32 ? 1e-5 : (out_bf16 ? 8e-3 : 2e-3);
        double worst = 0.0;
        for (std::int64_t i = 0; i < c.m; ++i)
            for (std::int64_t j = 0; j < c.n; ++j) {
                double s = 0.0, scale = 0.0;
                for (std::int64_t t = 0; t < c.k; ++t) {
                    const double p = static_cast<double>(a[static_cast<size_t>((c.a_row0 + i) * c.lda + t)]) *
                                     b[static_cast<size_t>(t * c.n + j)];
                    s += p;
                    scale += std::fabs(p);
                }
                if (c.epi != cu::gemm_epilogue::NONE) {
                    s += bias[static_cast<size_t>(j)];
                    scale += std::fabs(bias[static_cast<size_t>(j)]);
                }
                if (c.residual) {
                    s += res[static_cast<size_t>(i * c.n + j)];
                    scale += std::fabs(res[static_cast<size_t>(i * c.n + j)]);
                }
                if (c.epi == cu::gemm_epilogue::RELU_BIAS) s = std::max(s, 0.0);
                const double err = std::fabs(got[static_cast<size_t>(i * c.n + j)] - s) / (scale + 1e-30);
                if (!(err <= worst)) worst = err;
            }
        EXPECT_LE(worst, tol) << "precision " << static_cast<int>(prec) << " m" << c.m << " n" << c.n << " k" << c.k << " lda"
                              << c.lda << " row0 " << c.a_row0 << " epi " << static_cast<int>(c.epi) << " residual "
                              << c.residual << " d_f32 " << c.d_f32 << " rep " << rep;
    }
    cudaFree(dbias);
}

/// Runs `cases` in every precision on one engine with a 32 MiB workspace; `separate_bias` forces
/// the fallback a library refusal would select (plain GEMM, then bias_act); `autotune` > 1 times
/// that many heuristic candidates per shape. Returns the engine's tuning report.
std::string run_all_precisions(const std::vector<gemm_case>& cases, unsigned seed, bool separate_bias,
                               int autotune = 1) {
    void* ws = nullptr;
    const std::size_t ws_bytes = 32u << 20;
    SCPX_CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
    std::string report;
    {
        cu::gemm_engine eng(ws, ws_bytes);
        eng.force_separate_bias(separate_bias);
        eng.set_autotune(autotune);
        std::mt19937 rng(seed);
        for (precision prec : {precision::FP32, precision::TF32, precision::BF16})
            for (const auto& c : cases) run_case(eng, prec, c, rng);
        report = eng.tuning_report();
    }
    cudaFree(ws);
    return report;
}

TEST(CudaEnformerGemm, AllPrecisionsAndEpilogues) {
    SKIP_WITHOUT_GPU();
    run_all_precisions(
        {
            {96, 160, 96, 96, 0, cu::gemm_epilogue::NONE, false, false},        // qkv
            {96, 96, 96, 96, 0, cu::gemm_epilogue::BIAS, true, false},          // out proj + residual
            {192, 192, 96, 96, 0, cu::gemm_epilogue::RELU_BIAS, false, false},  // MLP 1
            {192, 96, 192, 192, 0, cu::gemm_epilogue::BIAS, true, false},       // MLP 2 + residual
            {12, 5313, 192, 192, 0, cu::gemm_epilogue::NONE, false, true},      // head, fp32 out, odd width
            {12, 1643, 192, 192, 0, cu::gemm_epilogue::BIAS, false, true},      // head with bias epilogue
            {37, 41, 29, 35, 3, cu::gemm_epilogue::BIAS, false, false},         // odd sizes, lda > k, row offset
        },
        7, /*separate_bias=*/false);
}

// The forced fallback: the bias added by bias_act after a plain GEMM gives the same results
// (within the same bounds) for every precision and epilogue.
TEST(CudaEnformerGemm, SeparateBiasPassMatches) {
    SKIP_WITHOUT_GPU();
    run_all_precisions(
        {
            {96, 96, 96, 96, 0, cu::gemm_epilogue::BIAS, true, false},          // out proj + residual
            {192, 192, 96, 96, 0, cu::gemm_epilogue::RELU_BIAS, false, false},  // MLP 1
            {12, 1643, 192, 192, 0, cu::gemm_epilogue::BIAS, false, true},      // fp32 out
        },
        11, /*separate_bias=*/true);
}

// Autotuning runs each candidate several times on the first call's operands: the results must
// still be one GEMM's (an in-place residual added once, the bias once), and the report must say
// what was timed.
TEST(CudaEnformerGemm, AutotunedPlansGiveOneRunsResult) {
    SKIP_WITHOUT_GPU();
    const std::string report = run_all_precisions(
        {
            {96, 96, 96, 96, 0, cu::gemm_epilogue::BIAS, true, false},          // out proj + in-place residual
            {192, 192, 96, 96, 0, cu::gemm_epilogue::RELU_BIAS, false, false},  // MLP 1
            {12, 1643, 192, 192, 0, cu::gemm_epilogue::BIAS, false, true},      // fp32 out
        },
        13, /*separate_bias=*/false, /*autotune=*/8);
    std::printf("%s", report.c_str());
    EXPECT_NE(report.find("candidates ran; heuristic's first"), std::string::npos) << report;
}

TEST(CudaEnformerGemm, CallersBf16BiasCopyIsWhatTheBf16EpilogueReads) {
    SKIP_WITHOUT_GPU();
    // A bf16 copy that differs from the fp32 bias on purpose: on the "bf16 bias epilogue" route the
    // result must follow the copy (it is read, not converted again), on any other route the fp32
    // bias. Compared bitwise with runs given only the respective fp32 bias.
    const std::int64_t m = 64, n = 96, k = 80;
    std::mt19937 rng(31);
    std::normal_distribution<float> N01(0.0f, 1.0f);
    std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), bias(static_cast<size_t>(n)),
        other(static_cast<size_t>(n));
    for (auto& v : a) v = N01(rng);
    for (auto& v : b) v = N01(rng) / std::sqrt(static_cast<float>(k));
    for (size_t j = 0; j < bias.size(); ++j) {
        bias[j] = 0.1f * N01(rng);
        other[j] = bias[j] + 1.0f;
    }
    const dbuf da(a, true), db(b, true), dother16(other, true);
    float *dbias = nullptr, *dother = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&dbias, bias.size() * 4));
    SCPX_CUDA_CHECK(cudaMalloc(&dother, other.size() * 4));
    SCPX_CUDA_CHECK(cudaMemcpy(dbias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice));
    SCPX_CUDA_CHECK(cudaMemcpy(dother, other.data(), other.size() * 4, cudaMemcpyHostToDevice));
    void* ws = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&ws, 32u << 20));
    {
        cu::gemm_engine eng(ws, 32u << 20);
        const auto run = [&](const float* fp32_bias, const void* copy) {
            const dbuf dd(std::vector<float>(static_cast<size_t>(m * n), 0.0f), true);
            cu::gemm_args g;
            g.m = m;
            g.n = n;
            g.k = k;
            g.a = da.p;
            g.b = db.p;
            g.bias = fp32_bias;
            g.bias_bf16 = static_cast<const __nv_bfloat16*>(copy);
            g.epilogue = cu::gemm_epilogue::BIAS;
            g.d = dd.p;
            g.prec = precision::BF16;
            eng.run(g, nullptr);
            SCPX_CUDA_CHECK(cudaDeviceSynchronize());
            return std::make_pair(download(dd.p, static_cast<size_t>(m * n), true), eng.bias_route_of(g));
        };
        const auto [with_copy, route] = run(dbias, dother16.p);
        const auto follows = route == "bf16 bias epilogue" ? run(dother, nullptr).first : run(dbias, nullptr).first;
        EXPECT_EQ(with_copy, follows) << "route: " << route;
    }
    cudaFree(ws);
    cudaFree(dbias);
    cudaFree(dother);
}

TEST(CudaEnformerGemm, RejectsBadArguments) {
    SKIP_WITHOUT_GPU();
    cu::gemm_engine eng(nullptr, 0);
    cu::gemm_args g;
    g.m = 4;
    g.n = 4;
    g.k = 4;
    EXPECT_THROW(eng.run(g, nullptr), scpx::usage_error);  // no pointers
    float* p = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&p, 64 * 4));
    g.a = p;
    g.b = p;
    g.d = p + 16;
    g.lda = 3;
    EXPECT_THROW(eng.run(g, nullptr), scpx::usage_error);  // lda < k
    g.lda = 0;
    g.epilogue = cu::gemm_epilogue::BIAS;
    EXPECT_THROW(eng.run(g, nullptr), scpx::usage_error);  // bias epilogue without bias
    g.epilogue = cu::gemm_epilogue::NONE;
    g.beta = 1.0f;
    EXPECT_THROW(eng.run(g, nullptr), scpx::usage_error);  // beta without C
    cudaFree(p);
}

} // namespace
