// CPU ops of the Enformer model against naive double-precision loops: exact equality on small
// integer-valued inputs where the op is a pure multiply-add (CUTLASS trick), a tight tolerance on
// Gaussian inputs otherwise, and NaN sentinels after each output to catch overruns.
#include "scpx/core/error.hpp"
#include "scpx/ops/conv1d.hpp"
#include "scpx/ops/crop.hpp"
#include "scpx/ops/layer_norm.hpp"
#include "scpx/ops/linear.hpp"
#include "scpx/ops/mlp.hpp"
#include "scpx/ops/parallel.hpp"
#include "scpx/ops/rel_attention.hpp"
#include "scpx/ops/softmax_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kGuard = 16;

std::vector<float> gaussian(size_t n, unsigned seed, float sd = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

std::vector<float> integers(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(-3, 3);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(d(rng));
    return v;
}

/// Output buffer of n floats followed by kGuard NaN sentinels.
std::vector<float> guarded(size_t n) {
    std::vector<float> v(n + kGuard, 0.0f);
    std::fill(v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), std::numeric_limits<float>::quiet_NaN());
    return v;
}
void expect_guard_intact(const std::vector<float>& v, size_t n) {
    for (size_t i = n; i < v.size(); ++i) EXPECT_TRUE(std::isnan(v[i])) << "sentinel overwritten at +" << (i - n);
}

double gelu(double x) { return x / (1.0 + std::exp(-1.702 * x)); }

/// Naive conv1d with optional BN-GELU input and residual, in double.
std::vector<double> conv_naive(const scpx::ops::conv1d_params& p) {
    const std::int64_t L = p.length, ci = p.cin, co = p.cout, k = p.kernel, pad = k / 2;
    std::vector<double> y(static_cast<size_t>(p.batch * L * co));
    for (std::int64_t b = 0; b < p.batch; ++b)
        for (std::int64_t l = 0; l < L; ++l)
            for (std::int64_t o = 0; o < co; ++o) {
                double s = p.bias ? p.bias[o] : 0.0;
                for (std::int64_t t = 0; t < k; ++t) {
                    const std::int64_t src = l + t - pad;
                    if (src < 0 || src >= L) continue;
                    for (std::int64_t i = 0; i < ci; ++i) {
                        double a = p.x[(b * L + src) * ci + i];
                        if (p.in_scale) a = a * p.in_scale[i] + p.in_shift[i];
                        if (p.in_gelu) a = gelu(a);
                        s += a * p.w[(t * ci + i) * co + o];
                    }
                }
                if (p.out_gelu) s = gelu(s);
                if (p.residual) s += p.residual[(b * L + l) * co + o];
                y[static_cast<size_t>((b * L + l) * co + o)] = s;
            }
    return y;
}

TEST(OpsConv1d, IntegerInputsExact) {
    for (int threads : {1, 2}) {
        scpx::ops::set_num_threads(threads);
        for (std::int64_t k : {1, 5, 15}) {
            const std::int64_t B = 2, L = 77, ci = 6, co = 5;
            const auto x = integers(static_cast<size_t>(B * L * ci), 1);
            const auto w = integers(static_cast<size_t>(k * ci * co), 2);
            const auto bias = integers(static_cast<size_t>(co), 3);
            auto y = guarded(static_cast<size_t>(B * L * co));
            scpx::ops::conv1d_params p;
            p.batch = B; p.length = L; p.cin = ci; p.cout = co; p.kernel = k;
            p.x = x.data(); p.w = w.data(); p.bias = bias.data(); p.y = y.data();
            scpx::ops::conv1d_ref(p);
            const auto ref = conv_naive(p);
            double norm = 0;
            for (size_t i = 0; i < ref.size(); ++i) {
                ASSERT_EQ(y[i], static_cast<float>(ref[i])) << "k=" << k << " i=" << i;
                norm += std::fabs(ref[i]);
            }
            EXPECT_GT(norm, 0.0);
            expect_guard_intact(y, ref.size());
        }
    }
    scpx::ops::set_num_threads(0);
}

TEST(OpsConv1d, BatchNormGeluResidualGaussian) {
    scpx::ops::set_num_threads(2);
    const std::int64_t B = 2, L = 300, ci = 24, co = 24, k = 5;
    const auto x = gaussian(static_cast<size_t>(B * L * ci), 4);
    const auto w = gaussian(static_cast<size_t>(k * ci * co), 5, 0.1f);
    const auto bias = gaussian(static_cast<size_t>(co), 6, 0.1f);
    const auto sc = gaussian(static_cast<size_t>(ci), 7), sh = gaussian(static_cast<size_t>(ci), 8);
    const auto res = gaussian(static_cast<size_t>(B * L * co), 9);
    for (bool out_gelu : {false, true}) {
        auto y = guarded(static_cast<size_t>(B * L * co));
        scpx::ops::conv1d_params p;
        p.batch = B; p.length = L; p.cin = ci; p.cout = co; p.kernel = k;
        p.x = x.data(); p.w = w.data(); p.bias = bias.data(); p.in_scale = sc.data(); p.in_shift = sh.data();
        p.in_gelu = true; p.out_gelu = out_gelu; p.residual = res.data(); p.y = y.data();
        scpx::ops::conv1d_ref(p);
        const auto ref = conv_naive(p);
        double err = 0, sq = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            err += (y[i] - ref[i]) * (y[i] - ref[i]);
            sq += ref[i] * ref[i];
        }
        EXPECT_GT(sq, 0.0);
        EXPECT_LT(err / sq, 1e-12) << "NMSE";
        expect_guard_intact(y, ref.size());
    }
    scpx::ops::set_num_threads(0);
}

TEST(OpsConv1d, RejectsEvenKernel) {
    scpx::ops::conv1d_params p;
    p.kernel = 4;
    EXPECT_THROW(scpx::ops::conv1d_ref(p), scpx::usage_error);
}

TEST(OpsSoftmaxPool, MatchesNaive) {
    scpx::ops::set_num_threads(2);
    const std::int64_t B = 2, L = 130, C = 7;
    const auto x = gaussian(static_cast<size_t>(B * L * C), 10, 3.0f);
    const auto w = gaussian(static_cast<size_t>(C * C), 11);
    auto y = guarded(static_cast<size_t>(B * L / 2 * C));
    scpx::ops::softmax_pool_params p;
    p.batch = B; p.length = L; p.channels = C; p.x = x.data(); p.w = w.data(); p.y = y.data();
    scpx::ops::softmax_pool_ref(p);
    double worst = 0;
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t r = 0; r < L / 2; ++r)
            for (std::int64_t c = 0; c < C; ++c) {
                double lg[2], xv[2];
                for (int q = 0; q < 2; ++q) {
                    const float* row = x.data() + (b * L + 2 * r + q) * C;
                    xv[q] = row[c];
                    lg[q] = 0;
                    for (std::int64_t i = 0; i < C; ++i) lg[q] += row[i] * static_cast<double>(w[static_cast<size_t>(i * C + c)]);
                }
                const double m = std::max(lg[0], lg[1]);
                const double e0 = std::exp(lg[0] - m), e1 = std::exp(lg[1] - m);
                const double want = (xv[0] * e0 + xv[1] * e1) / (e0 + e1);
                worst = std::max(worst, std::fabs(want - y[static_cast<size_t>((b * L / 2 + r) * C + c)]));
            }
    EXPECT_LT(worst, 1e-5);
    expect_guard_intact(y, static_cast<size_t>(B * L / 2 * C));
    p.length = 131;
    EXPECT_THROW(scpx::ops::softmax_pool_ref(p), scpx::usage_error);
    scpx::ops::set_num_threads(0);
}

TEST(OpsLinear, SoftplusThresholdAndRelu) {
    const std::vector<float> x = {1.0f}, w = {-30.0f, 0.0f, 25.0f, -1.0f};
    std::vector<float> y(4);
    scpx::ops::linear_params p;
    p.rows = 1; p.in = 1; p.out = 4; p.x = x.data(); p.w = w.data(); p.act = scpx::ops::activation::softplus; p.y = y.data();
    scpx::ops::linear_ref(p);
    EXPECT_NEAR(y[0], std::log1p(std::exp(-30.0)), 1e-18);
    EXPECT_FLOAT_EQ(y[1], static_cast<float>(std::log(2.0)));
    EXPECT_EQ(y[2], 25.0f);  // torch returns x itself above the threshold 20
    p.act = scpx::ops::activation::relu;
    scpx::ops::linear_ref(p);
    EXPECT_EQ(y[0], 0.0f);
    EXPECT_EQ(y[3], 0.0f);
    EXPECT_EQ(y[2], 25.0f);
}

TEST(OpsLayerNorm, ZeroMeanUnitVariance) {
    const std::int64_t R = 3, C = 50;
    auto x = gaussian(static_cast<size_t>(R * C), 12, 4.0f);
    for (auto& v : x) v += 100.0f;  // a large offset must not hurt (two-pass statistics)
    std::vector<float> g(C, 1.0f), b(C, 0.0f), y(static_cast<size_t>(R * C));
    scpx::ops::layer_norm_params p;
    p.rows = R; p.channels = C; p.x = x.data(); p.gamma = g.data(); p.beta = b.data(); p.y = y.data();
    scpx::ops::layer_norm_ref(p);
    for (std::int64_t r = 0; r < R; ++r) {
        double m = 0, v = 0;
        for (std::int64_t c = 0; c < C; ++c) m += y[static_cast<size_t>(r * C + c)];
        m /= C;
        for (std::int64_t c = 0; c < C; ++c) v += (y[static_cast<size_t>(r * C + c)] - m) * (y[static_cast<size_t>(r * C + c)] - m);
        EXPECT_NEAR(m, 0.0, 1e-6);
        EXPECT_NEAR(v / C, 1.0 - 1e-5 / (v / C + 1e-5), 1e-4);
    }
}

TEST(OpsCrop, CentralAndErrors) {
    std::vector<float> x(10 * 2);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    std::vector<float> y(6 * 2);
    scpx::ops::crop_params p;
    p.length = 10; p.target = 6; p.channels = 2; p.x = x.data(); p.y = y.data();
    scpx::ops::crop_ref(p);
    EXPECT_EQ(y.front(), 4.0f);
    EXPECT_EQ(y.back(), 15.0f);
    p.target = 7;
    EXPECT_THROW(scpx::ops::crop_ref(p), scpx::usage_error);
    p.target = 12;
    EXPECT_THROW(scpx::ops::crop_ref(p), scpx::usage_error);
}

void rel_attention_case(std::int64_t n);

TEST(OpsRelAttention, MatchesNaive) { rel_attention_case(9); }

// Longer than one 128-row query block: exercises the banded relative keys of later blocks.
TEST(OpsRelAttention, MatchesNaiveAcrossQueryBlocks) { rel_attention_case(300); }

void rel_attention_case(std::int64_t n) {
    scpx::ops::set_num_threads(2);
    const std::int64_t B = 2, d = 12, H = 3, K = 4, V = 5, W = 2 * H * K + H * V;
    const auto x = gaussian(static_cast<size_t>(B * n * d), 20);
    const auto wqkv = gaussian(static_cast<size_t>(d * W), 21, 0.3f);
    const auto relk = gaussian(static_cast<size_t>((2 * n - 1) * H * K), 22);
    const auto u = gaussian(static_cast<size_t>(H * K), 23), wb = gaussian(static_cast<size_t>(H * K), 24);
    const auto wo = gaussian(static_cast<size_t>(H * V * d), 25, 0.3f), bo = gaussian(static_cast<size_t>(d), 26);
    const auto res = gaussian(static_cast<size_t>(B * n * d), 27);
    auto y = guarded(static_cast<size_t>(B * n * d));
    scpx::ops::rel_attention_params p;
    p.batch = B; p.n = n; p.dim = d; p.heads = H; p.key = K; p.value = V;
    p.x = x.data(); p.w_qkv = wqkv.data(); p.rel_k = relk.data(); p.content_bias = u.data(); p.pos_bias = wb.data();
    p.w_out = wo.data(); p.b_out = bo.data(); p.residual = res.data(); p.y = y.data();
    scpx::ops::rel_attention_ref(p);
    double worst = 0;
    for (std::int64_t b = 0; b < B; ++b) {
        std::vector<double> qkv(static_cast<size_t>(n * W), 0.0);
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t c = 0; c < W; ++c)
                for (std::int64_t e = 0; e < d; ++e)
                    qkv[static_cast<size_t>(i * W + c)] += x[static_cast<size_t>((b * n + i) * d + e)] * static_cast<double>(wqkv[static_cast<size_t>(e * W + c)]);
        std::vector<double> heads(static_cast<size_t>(n * H * V), 0.0);
        for (std::int64_t h = 0; h < H; ++h)
            for (std::int64_t i = 0; i < n; ++i) {
                std::vector<double> lg(static_cast<size_t>(n));
                double mx = -1e300;
                for (std::int64_t j = 0; j < n; ++j) {
                    double s = 0;
                    for (std::int64_t c = 0; c < K; ++c) {
                        const double q = qkv[static_cast<size_t>(i * W + h * K + c)] / std::sqrt(static_cast<double>(K));
                        s += (q + u[static_cast<size_t>(h * K + c)]) * qkv[static_cast<size_t>(j * W + H * K + h * K + c)];
                        s += (q + wb[static_cast<size_t>(h * K + c)]) * relk[static_cast<size_t>((j - i + n - 1) * H * K + h * K + c)];
                    }
                    lg[static_cast<size_t>(j)] = s;
                    mx = std::max(mx, s);
                }
                double z = 0;
                for (auto& v : lg) z += (v = std::exp(v - mx));
                for (std::int64_t j = 0; j < n; ++j)
                    for (std::int64_t c = 0; c < V; ++c)
                        heads[static_cast<size_t>(i * H * V + h * V + c)] += lg[static_cast<size_t>(j)] / z * qkv[static_cast<size_t>(j * W + 2 * H * K + h * V + c)];
            }
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t o = 0; o < d; ++o) {
                double s = bo[static_cast<size_t>(o)] + res[static_cast<size_t>((b * n + i) * d + o)];
                for (std::int64_t c = 0; c < H * V; ++c)
                    s += heads[static_cast<size_t>(i * H * V + c)] * wo[static_cast<size_t>(c * d + o)];
                worst = std::max(worst, std::fabs(s - y[static_cast<size_t>((b * n + i) * d + o)]));
            }
    }
    EXPECT_LT(worst, 1e-5) << "n = " << n;
    expect_guard_intact(y, static_cast<size_t>(B * n * d));
    scpx::ops::set_num_threads(0);
}

TEST(OpsMlp, MatchesTwoLinears) {
    const std::int64_t R = 5, d = 6, h = 12;
    const auto x = gaussian(static_cast<size_t>(R * d), 30), w1 = gaussian(static_cast<size_t>(d * h), 31);
    const auto b1 = gaussian(static_cast<size_t>(h), 32), w2 = gaussian(static_cast<size_t>(h * d), 33);
    const auto b2 = gaussian(static_cast<size_t>(d), 34);
    std::vector<float> y(static_cast<size_t>(R * d));
    scpx::ops::mlp_params p;
    p.rows = R; p.dim = d; p.hidden = h; p.x = x.data(); p.w1 = w1.data(); p.b1 = b1.data(); p.w2 = w2.data();
    p.b2 = b2.data(); p.residual = x.data(); p.y = y.data();
    scpx::ops::mlp_ref(p);
    for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t o = 0; o < d; ++o) {
            double s = b2[static_cast<size_t>(o)] + x[static_cast<size_t>(r * d + o)];
            for (std::int64_t k = 0; k < h; ++k) {
                double a = b1[static_cast<size_t>(k)];
                for (std::int64_t i = 0; i < d; ++i) a += x[static_cast<size_t>(r * d + i)] * static_cast<double>(w1[static_cast<size_t>(i * h + k)]);
                s += std::max(a, 0.0) * w2[static_cast<size_t>(k * d + o)];
            }
            EXPECT_NEAR(y[static_cast<size_t>(r * d + o)], s, 1e-4);
        }
}

TEST(OpsParallel, CoversRangeAndRethrows) {
    scpx::ops::set_num_threads(2);
    std::vector<std::atomic<int>> hits(1000);
    scpx::ops::parallel_for(1000, 7, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    EXPECT_THROW(scpx::ops::parallel_for(100, 1, [](std::int64_t lo, std::int64_t) {
                     if (lo == 50) throw scpx::usage_error("boom");
                 }),
                 scpx::usage_error);
    scpx::ops::set_num_threads(0);
}

} // namespace

namespace {

// --threads 0 takes the CPUs the process may use: its affinity mask, capped by the CPUs SLURM
// gave the task (an unbound task sees the whole node in its mask).
TEST(OpsParallel, AvailableCpusFollowsSlurmCpusPerTask) {
    const char* before = std::getenv("SLURM_CPUS_PER_TASK");
    const std::string saved = before ? before : "";
    ::unsetenv("SLURM_CPUS_PER_TASK");
    const int mask = scpx::ops::available_cpus();
    EXPECT_GE(mask, 1);
    ::setenv("SLURM_CPUS_PER_TASK", "1", 1);
    EXPECT_EQ(scpx::ops::available_cpus(), 1);
    ::setenv("SLURM_CPUS_PER_TASK", "100000", 1); // never above the mask
    EXPECT_EQ(scpx::ops::available_cpus(), mask);
    ::setenv("SLURM_CPUS_PER_TASK", "two", 1); // not a number: ignored
    EXPECT_EQ(scpx::ops::available_cpus(), mask);
    if (before)
        ::setenv("SLURM_CPUS_PER_TASK", saved.c_str(), 1);
    else
        ::unsetenv("SLURM_CPUS_PER_TASK");
}

} // namespace
