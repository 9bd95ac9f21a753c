// Cross-tests of the relative-attention core, every backend: the fused kernel
// (kernels/enformer/rel_attention.cu), the GEMM path (rel_attention_gemm.cu: cuBLASLt products
// around the shift-softmax kernel) and the register-tiled flash kernel (rel_attention_flash.cu;
// TF32 and BF16 with K ≤ 64, V ≤ 192 only), each held to the same bounds:
//  * against ops::rel_attention_ref itself: each sequence is run through the CPU reference with
//    its debug outputs (q·K^-0.5, k, v and the pre-projection heads), the kernel gets exactly
//    those q|k|v and must reproduce the heads of every sequence of the batch;
//  * against a double-precision host evaluation of the core (checked against the same reference
//    above) for every precision, on shapes that are not multiples of the kernel's 64×32 tiles,
//    head sizes that are not multiples of 16 (K = 8, V = 12, K = 20, V = 36), Enformer's head
//    sizes (K = 64, V = 192, H = 8) at full length n = 1536 on sampled query rows, and logits
//    beyond exp's fp32 range (max subtraction);
//  * guard bands around every output.
// Tolerances (error relative to the RMS of the reference; see tolerance_for):
//    FP32 max 2e-4,   rms 3e-5  (fp32 FMA and fp32 softmax)
//    TF32 max 1.5e-2, rms 2e-3  (operands rounded to 10-bit mantissas: q+u, q+w, k, relk, P, v)
//    BF16 max 8e-2,   rms 1e-2  (8-bit mantissas for the same operands, and a bf16 output)
// Calibrated on the host with a float model of the kernel that applies each precision's
// roundings (tile-wise online softmax included) to exactly these inputs: worst case found over
// all shapes here FP32 1.8e-5 / 1e-6, TF32 4.5e-3 / 5.5e-4, BF16 2.7e-2 / 3.4e-3 (max / rms), i.e.
// the bounds leave a margin of ~3× (more for FP32, whose GPU summation order differs). A wrong
// shift, a missing bias or a lost tile changes the result by O(1) and fails every precision.
// Skipped without a GPU (except the argument checks, which throw before any CUDA call).
#include "guarded_buffer.cuh"
#include "enformer/gemm.cuh"
#include "enformer/rel_attention.cuh"
#include "enformer/rel_attention_flash.cuh"
#include "enformer/rel_attention_gemm.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/rel_attention.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using scpx::gpu::precision;
using scpx::test::guarded_buffer;

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

struct attn_shape {
    std::int64_t batch, n, heads, key, value;
    std::int64_t width() const { return 2 * heads * key + heads * value; }
};

std::string describe(const attn_shape& s, precision p) {
    return "B=" + std::to_string(s.batch) + " n=" + std::to_string(s.n) + " H=" + std::to_string(s.heads) +
           " K=" + std::to_string(s.key) + " V=" + std::to_string(s.value) + " " + scpx::test::name(p);
}

/// Kernel inputs as host floats, already rounded to the precision's storage type (so the
/// references see exactly what the kernel reads; u and w stay fp32 as in the model).
struct attn_inputs {
    std::vector<float> qkv, relk, u, w;
    float q_scale = 1.0f;
};

/// Uniform inputs; q_amp scales the queries (a large value makes the logits exceed exp's range).
attn_inputs make_inputs(const attn_shape& s, precision p, unsigned seed, float q_amp = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), bias(-0.5f, 0.5f);
    attn_inputs in;
    const std::int64_t HK = s.heads * s.key, W = s.width();
    in.qkv.resize(static_cast<size_t>(s.batch * s.n * W));
    for (std::int64_t r = 0; r < s.batch * s.n; ++r)
        for (std::int64_t c = 0; c < W; ++c)
            in.qkv[static_cast<size_t>(r * W + c)] = (c < HK ? q_amp : 1.0f) * unit(rng);
    in.relk.resize(static_cast<size_t>((2 * s.n - 1) * HK));
    for (auto& v : in.relk) v = unit(rng);
    in.u.resize(static_cast<size_t>(HK));
    in.w.resize(static_cast<size_t>(HK));
    for (auto& v : in.u) v = bias(rng);
    for (auto& v : in.w) v = bias(rng);
    scpx::test::round_all(p, in.qkv);
    scpx::test::round_all(p, in.relk);
    in.q_scale = 1.0f / std::sqrt(static_cast<float>(s.key));
    return in;
}

/// Double-precision attention core for query rows `rows` of every sequence: [B, rows, H·V].
std::vector<double> host_core(const attn_shape& s, const attn_inputs& in, const std::vector<std::int64_t>& rows) {
    const std::int64_t n = s.n, H = s.heads, K = s.key, V = s.value, HK = H * K, W = s.width();
    const auto nr = static_cast<std::int64_t>(rows.size());
    std::vector<double> out(static_cast<size_t>(s.batch * nr * H * V), 0.0);
    std::vector<double> logit(static_cast<size_t>(n)), qu(static_cast<size_t>(K)), qw(static_cast<size_t>(K));
    for (std::int64_t b = 0; b < s.batch; ++b) {
        const float* seq = in.qkv.data() + b * n * W;
        for (std::int64_t h = 0; h < H; ++h) {
            for (std::int64_t ri = 0; ri < nr; ++ri) {
                const std::int64_t i = rows[static_cast<size_t>(ri)];
                for (std::int64_t k = 0; k < K; ++k) {
                    const double qs = static_cast<double>(seq[i * W + h * K + k]) * in.q_scale;
                    qu[static_cast<size_t>(k)] = qs + in.u[static_cast<size_t>(h * K + k)];
                    qw[static_cast<size_t>(k)] = qs + in.w[static_cast<size_t>(h * K + k)];
                }
                double mx = -INFINITY;
                for (std::int64_t j = 0; j < n; ++j) {
                    const float* kj = seq + j * W + HK + h * K;
                    const float* rel = in.relk.data() + (j - i + n - 1) * HK + h * K;
                    double l = 0.0;
                    for (std::int64_t k = 0; k < K; ++k)
                        l += qu[static_cast<size_t>(k)] * kj[k] + qw[static_cast<size_t>(k)] * rel[k];
                    logit[static_cast<size_t>(j)] = l;
                    mx = std::max(mx, l);
                }
                double sum = 0.0;
                for (auto& l : logit) sum += (l = std::exp(l - mx));
                double* o = out.data() + ((b * nr + ri) * H + h) * V;
                for (std::int64_t j = 0; j < n; ++j) {
                    const float* vj = seq + j * W + 2 * HK + h * V;
                    const double pj = logit[static_cast<size_t>(j)] / sum;
                    for (std::int64_t v = 0; v < V; ++v) o[v] += pj * vj[v];
                }
            }
        }
    }
    return out;
}

std::vector<std::int64_t> all_rows(std::int64_t n) {
    std::vector<std::int64_t> r(static_cast<size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) r[static_cast<size_t>(i)] = i;
    return r;
}

/// FLASH128: the flash kernel with 128 query rows per block (rel_attention_args::flash_query_rows).
enum class backend { FUSED, GEMM, FLASH, FLASH128 };
const backend kBackends[] = {backend::FUSED, backend::GEMM, backend::FLASH, backend::FLASH128};
const char* name(backend b) {
    switch (b) {
    case backend::FUSED: return "fused";
    case backend::GEMM: return "gemm";
    case backend::FLASH: return "flash";
    case backend::FLASH128: return "flash128";
    }
    return "?";
}
bool is_flash(backend b) { return b == backend::FLASH || b == backend::FLASH128; }
int query_rows(backend b) { return b == backend::FLASH128 ? 128 : 0; }

/// Whether backend `be` takes this shape and precision (the flash kernel: tensor-core precisions
/// and Enformer-sized heads only).
bool applies(backend be, const attn_shape& s, precision p) {
    if (!is_flash(be)) return true;
    scpx::cuda::rel_attention_args a;
    a.key = s.key;
    a.value = s.value;
    a.prec = p;
    a.flash_query_rows = query_rows(be);
    return scpx::cuda::rel_attention_flash_supports(a);
}

/// A cuBLASLt engine with its workspace and the GEMM path's logits workspace (guarded too).
struct gemm_path {
    void* gemm_ws = nullptr;
    std::size_t gemm_ws_bytes = 32u << 20;
    std::unique_ptr<scpx::cuda::gemm_engine> engine;
    std::unique_ptr<guarded_buffer> logits;
    explicit gemm_path(const scpx::cuda::rel_attention_args& a) {
        SCPX_CUDA_CHECK(cudaMalloc(&gemm_ws, gemm_ws_bytes));
        engine = std::make_unique<scpx::cuda::gemm_engine>(gemm_ws, gemm_ws_bytes);
        logits = std::make_unique<guarded_buffer>(scpx::cuda::rel_attention_gemm_workspace_bytes(a), 1, 256);
    }
    ~gemm_path() { engine.reset(); cudaFree(gemm_ws); }
    void run(const scpx::cuda::rel_attention_args& a) {
        scpx::cuda::rel_attention_gemm(a, *engine, logits->data(), logits->size_bytes(), nullptr);
    }
};

/// Runs a backend; returns [B, n, H·V] as floats and checks the guard bands of the output.
std::vector<float> run_kernel(const attn_shape& s, const attn_inputs& in, precision p, backend be = backend::FUSED) {
    guarded_buffer qkv(in.qkv.size(), p), relk(in.relk.size(), p), u(in.u.size(), 4), w(in.w.size(), 4);
    guarded_buffer out(static_cast<size_t>(s.batch * s.n * s.heads * s.value), p, 4096);
    qkv.upload(in.qkv);
    relk.upload(in.relk);
    u.upload(in.u);
    w.upload(in.w);
    scpx::cuda::rel_attention_args a;
    a.batch = s.batch;
    a.n = s.n;
    a.heads = s.heads;
    a.key = s.key;
    a.value = s.value;
    a.qkv = qkv.data();
    a.rel_k = relk.data();
    a.content_bias = u.as<float>();
    a.pos_bias = w.as<float>();
    a.q_scale = in.q_scale;
    a.out = out.data();
    a.prec = p;
    a.flash_query_rows = query_rows(be);
    if (be == backend::FUSED) {
        scpx::cuda::rel_attention(a, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    } else if (is_flash(be)) {
        scpx::cuda::rel_attention_flash(a, nullptr);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
    } else {
        gemm_path g(a);
        g.run(a);
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());
        EXPECT_EQ(g.logits->damaged_guard_bytes(), 0u) << "stray writes outside the logits workspace, " << describe(s, p);
    }
    EXPECT_EQ(out.damaged_guard_bytes(), 0u) << "stray writes outside the output, " << describe(s, p) << " " << name(be);
    return out.download();
}

/// Selects rows `rows` of a [B, n, C] result.
std::vector<float> pick_rows(const std::vector<float>& all, const attn_shape& s, const std::vector<std::int64_t>& rows) {
    const std::int64_t C = s.heads * s.value;
    std::vector<float> out;
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (const auto i : rows)
            out.insert(out.end(), all.begin() + (b * s.n + i) * C, all.begin() + (b * s.n + i + 1) * C);
    return out;
}

struct tolerance {
    double max_rel, rms_rel;
};

tolerance tolerance_for(precision p) {
    switch (p) {
    case precision::FP32: return {2e-4, 3e-5};
    case precision::TF32: return {1.5e-2, 2e-3};
    case precision::BF16: return {8e-2, 1e-2};
    }
    return {0, 0};
}

void expect_close(const std::vector<float>& got, const std::vector<double>& ref, precision p, const std::string& what) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    const auto e = scpx::test::compare(got, ref);
    const auto t = tolerance_for(p);
    EXPECT_TRUE(e.finite) << what;
    EXPECT_LE(e.max_rel, t.max_rel) << what << ": worst element " << e.worst << " got " << got[e.worst] << " want "
                                    << ref[e.worst];
    EXPECT_LE(e.rms_rel, t.rms_rel) << what;
}

const precision kAll[] = {precision::FP32, precision::TF32, precision::BF16};

TEST(CudaRelAttention, RejectsBadArguments) {
    // Validation happens before any CUDA call, so this runs without a GPU too.
    scpx::cuda::rel_attention_args a;
    a.batch = 1;
    a.n = 4;
    a.heads = 1;
    a.key = 8;
    a.value = 8;
    EXPECT_THROW(scpx::cuda::rel_attention(a, nullptr), scpx::usage_error); // no tensors
    float dummy[4] = {};
    a.qkv = a.rel_k = a.out = dummy;
    a.content_bias = a.pos_bias = dummy;
    a.n = 0;
    EXPECT_THROW(scpx::cuda::rel_attention(a, nullptr), scpx::usage_error); // empty sequence
    EXPECT_THROW(scpx::cuda::rel_attention_flash(a, nullptr), scpx::usage_error);
    // The flash kernel refuses what it does not implement, before any CUDA call.
    a.n = 4;
    a.prec = precision::FP32;
    EXPECT_FALSE(scpx::cuda::rel_attention_flash_supports(a));
    EXPECT_THROW(scpx::cuda::rel_attention_flash(a, nullptr), scpx::usage_error);
    a.prec = precision::BF16;
    // A supported shape; whether it runs here also depends on a device (its shared memory).
    EXPECT_EQ(scpx::cuda::rel_attention_flash_supports(a), scpx::gpu::available());
    a.key = 65;
    EXPECT_FALSE(scpx::cuda::rel_attention_flash_supports(a));
    EXPECT_THROW(scpx::cuda::rel_attention_flash(a, nullptr), scpx::usage_error);
    a.key = 64;
    a.value = 200;
    EXPECT_FALSE(scpx::cuda::rel_attention_flash_supports(a));
    a.value = 192;
    a.flash_query_rows = 96; // blocks of 64 or 128 rows only
    EXPECT_FALSE(scpx::cuda::rel_attention_flash_supports(a));
    EXPECT_THROW(scpx::cuda::rel_attention_flash(a, nullptr), scpx::usage_error);
}

TEST(CudaRelAttention, MatchesOpsReferenceForEverySequence) {
    SKIP_WITHOUT_GPU();
    // Full MHA through the CPU reference, one sequence at a time so its debug outputs (sequence 0
    // of each call) cover every sequence; the kernel then runs the whole batch at once.
    const attn_shape s{3, 77, 2, 16, 24};
    const std::int64_t d = 32, n = s.n, H = s.heads, K = s.key, V = s.value, HK = H * K, W = s.width();
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 1.0f);
    const auto fill = [&](std::vector<float>& v, std::size_t size, float sd) {
        v.resize(size);
        for (auto& x : v) x = sd * g(rng);
    };
    std::vector<float> x, w_qkv, relk, u, w, w_out, b_out;
    fill(x, static_cast<size_t>(s.batch * n * d), 1.0f);
    fill(w_qkv, static_cast<size_t>(d * W), 0.4f);
    fill(relk, static_cast<size_t>((2 * n - 1) * HK), 1.0f);
    fill(u, static_cast<size_t>(HK), 0.3f);
    fill(w, static_cast<size_t>(HK), 0.3f);
    fill(w_out, static_cast<size_t>(H * V * d), 0.1f);
    fill(b_out, static_cast<size_t>(d), 0.1f);

    attn_inputs in;
    in.qkv.resize(static_cast<size_t>(s.batch * n * W));
    in.relk = relk;
    in.u = u;
    in.w = w;
    in.q_scale = 1.0f; // the reference's q_scaled is given as q
    std::vector<float> heads_ref(static_cast<size_t>(s.batch * n * H * V));
    std::vector<float> y(static_cast<size_t>(n * d)), q_scaled(static_cast<size_t>(H * n * K)),
        k(static_cast<size_t>(H * n * K)), v(static_cast<size_t>(H * n * V));
    for (std::int64_t b = 0; b < s.batch; ++b) {
        scpx::ops::rel_attention_params p;
        p.batch = 1;
        p.n = n;
        p.dim = d;
        p.heads = H;
        p.key = K;
        p.value = V;
        p.x = x.data() + b * n * d;
        p.w_qkv = w_qkv.data();
        p.rel_k = relk.data();
        p.content_bias = u.data();
        p.pos_bias = w.data();
        p.w_out = w_out.data();
        p.b_out = b_out.data();
        p.y = y.data();
        p.debug.q_scaled = q_scaled.data();
        p.debug.k = k.data();
        p.debug.v = v.data();
        p.debug.attn_heads = heads_ref.data() + b * n * H * V;
        scpx::ops::rel_attention_ref(p);
        // [H, n, K|V] debug layouts → the kernel's [n, q | k | v] head-major rows.
        float* seq = in.qkv.data() + b * n * W;
        for (std::int64_t h = 0; h < H; ++h)
            for (std::int64_t i = 0; i < n; ++i) {
                for (std::int64_t c = 0; c < K; ++c) {
                    seq[i * W + h * K + c] = q_scaled[static_cast<size_t>((h * n + i) * K + c)];
                    seq[i * W + HK + h * K + c] = k[static_cast<size_t>((h * n + i) * K + c)];
                }
                for (std::int64_t c = 0; c < V; ++c)
                    seq[i * W + 2 * HK + h * V + c] = v[static_cast<size_t>((h * n + i) * V + c)];
            }
    }
    // The double host core agrees with the reference (it is the yardstick of the other tests).
    const auto host = host_core(s, in, all_rows(n));
    const auto eh = scpx::test::compare(heads_ref, host);
    EXPECT_LE(eh.max_rel, 1e-4) << "host double core vs ops::rel_attention_ref";
    // FP32 kernel against the reference itself, every sequence.
    for (const auto be : kBackends) {
        if (!applies(be, s, precision::FP32)) continue;
        const auto got = run_kernel(s, in, precision::FP32, be);
        const auto eg = scpx::test::compare(got, heads_ref);
        EXPECT_TRUE(eg.finite) << name(be);
        EXPECT_LE(eg.max_rel, 2e-4) << name(be) << ": worst element " << eg.worst << " (sequence "
                                    << eg.worst / (n * H * V) << ")";
        EXPECT_LE(eg.rms_rel, 3e-5) << name(be);
    }
}

TEST(CudaRelAttention, MatchesDoubleReferenceOnAwkwardShapes) {
    SKIP_WITHOUT_GPU();
    const attn_shape shapes[] = {
        {2, 7, 2, 8, 12},     // the smallest: one partial tile, K and V below 16
        {3, 129, 3, 20, 36},  // n = 2·64 + 1; K, V not multiples of 16 (nor of 8: bf16 scalar loads)
        {1, 64, 1, 16, 16},   // exactly one query tile, two key tiles
        {2, 100, 2, 64, 192}, // Enformer's head sizes, partial tiles
        {1, 33, 1, 64, 8},    // one key more than a key tile
        {2, 45, 2, 6, 10},    // K = 6: fp32 rows not 16-byte aligned (scalar loads in fp32 too)
        {1, 300, 1, 64, 192}, // 5 key tiles of 64, 3 blocks of 128 rows: every ring rotation, and
                              // the 4-segment ring of the 128-row BF16 prefetch wraps round
    };
    unsigned seed = 100;
    for (const auto& s : shapes)
        for (const auto p : kAll) {
            const auto in = make_inputs(s, p, ++seed);
            const auto ref = host_core(s, in, all_rows(s.n));
            for (const auto be : kBackends)
                if (applies(be, s, p)) expect_close(run_kernel(s, in, p, be), ref, p, describe(s, p) + " " + name(be));
        }
}

TEST(CudaRelAttention, FullLengthEnformerHeadsOnSampledRows) {
    SKIP_WITHOUT_GPU();
    // n = 1536, H = 8, K = 64, V = 192 as in the model; the double reference only for rows at
    // tile edges and a few random ones (the full reference would take minutes on the host).
    const attn_shape s{2, 1536, 8, 64, 192};
    std::vector<std::int64_t> rows = {0, 1, 31, 32, 63, 64, 65, 767, 768, 1471, 1472, 1534, 1535};
    std::mt19937 rng(3);
    std::uniform_int_distribution<std::int64_t> pick(0, s.n - 1);
    for (int t = 0; t < 6; ++t) rows.push_back(pick(rng));
    for (const auto p : kAll) {
        const auto in = make_inputs(s, p, 42);
        const auto ref = host_core(s, in, rows);
        for (const auto be : kBackends)
            if (applies(be, s, p))
                expect_close(pick_rows(run_kernel(s, in, p, be), s, rows), ref, p, describe(s, p) + " " + name(be));
    }
}

TEST(CudaRelAttention, LogitsBeyondExpRangeStayFinite) {
    SKIP_WITHOUT_GPU();
    // q amplified so the logits reach a few hundred: exp would overflow without the running max.
    // FP32 only: the softmax code is shared by all precisions, and at these magnitudes the
    // rounding of tf32/bf16 operands moves logits by whole units (a different, correct answer).
    const attn_shape s{2, 150, 2, 64, 24};
    const auto in = make_inputs(s, precision::FP32, 77, 300.0f);
    const auto ref = host_core(s, in, all_rows(s.n));
    for (const auto be : kBackends) {
        if (!applies(be, s, precision::FP32)) continue;
        const auto got = run_kernel(s, in, precision::FP32, be);
        const auto e = scpx::test::compare(got, ref);
        EXPECT_TRUE(e.finite) << name(be);
        EXPECT_LE(e.max_rel, 2e-3) << name(be) << ": worst element " << e.worst;
    }
}

/// v rounded to tf32 as the tensor cores' operand conversion does (nearest, ties away).
float round_tf32_host(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    u = (u + 0x1000u) & 0xffffe000u;
    std::memcpy(&v, &u, 4);
    return v;
}

TEST(CudaRelAttention, FlashLogitsBeyondExpRangeStayFinite) {
    SKIP_WITHOUT_GPU();
    // The flash kernel's running max, at logits of a few hundred. It runs in TF32/BF16 only, so
    // the inputs are made exact in the precision: values already rounded to it, u = w = 0 and
    // K = 64 (q_scale = 1/8, exact), so q_s + u and q_s + w are exact operands and the logits are
    // exact fp32 sums; the result then matches the double reference within the usual bounds.
    const attn_shape s{2, 150, 2, 64, 24};
    for (const auto p : {precision::TF32, precision::BF16}) {
        auto in = make_inputs(s, p, 78, 300.0f);
        if (p == precision::TF32) {
            for (auto& v : in.qkv) v = round_tf32_host(v);
            for (auto& v : in.relk) v = round_tf32_host(v);
        }
        std::fill(in.u.begin(), in.u.end(), 0.0f);
        std::fill(in.w.begin(), in.w.end(), 0.0f);
        const auto ref = host_core(s, in, all_rows(s.n));
        for (const auto be : {backend::FLASH, backend::FLASH128})
            expect_close(run_kernel(s, in, p, be), ref, p, describe(s, p) + " " + name(be) + ", logits beyond exp's range");
    }
}

TEST(CudaRelAttention, ReportsThroughputAtEnformerShapes) {
    SKIP_WITHOUT_GPU();
    // Not a correctness test: times the kernel at the model's shapes (B = 8, H = 8, K = 64,
    // V = 192, n = 1536 and 3072) so the GPU run reports numbers for docs/PERFORMANCE.md.
    // Inputs are a constant byte pattern (timing does not depend on the values).
    for (const std::int64_t n : {1536, 3072})
        for (const auto p : kAll) {
            const attn_shape s{8, n, 8, 64, 192};
            const std::size_t eb = scpx::cuda::element_bytes(p);
            const auto qkv_n = static_cast<size_t>(s.batch * n * s.width());
            const auto rel_n = static_cast<size_t>((2 * n - 1) * s.heads * s.key);
            const auto out_n = static_cast<size_t>(s.batch * n * s.heads * s.value);
            guarded_buffer qkv(qkv_n, eb, 0), relk(rel_n, eb, 0), out(out_n, eb, 0), bias(512, 4, 0);
            SCPX_CUDA_CHECK(cudaMemset(qkv.data(), 0x3C, qkv_n * eb));
            SCPX_CUDA_CHECK(cudaMemset(relk.data(), 0x3C, rel_n * eb));
            SCPX_CUDA_CHECK(cudaMemset(bias.data(), 0, 512 * 4));
            scpx::cuda::rel_attention_args a;
            a.batch = s.batch;
            a.n = n;
            a.heads = s.heads;
            a.key = s.key;
            a.value = s.value;
            a.qkv = qkv.data();
            a.rel_k = relk.data();
            a.content_bias = a.pos_bias = bias.as<float>();
            a.q_scale = 0.125f;
            a.out = out.data();
            a.prec = p;
          for (const auto be : kBackends) {
            if (!applies(be, s, p)) continue;
            a.flash_query_rows = query_rows(be);
            std::unique_ptr<gemm_path> g;
            if (be == backend::GEMM) g = std::make_unique<gemm_path>(a);
            const auto call = [&] {
                if (g) g->run(a);
                else if (is_flash(be)) scpx::cuda::rel_attention_flash(a, nullptr);
                else scpx::cuda::rel_attention(a, nullptr);
            };
            call(); // warm-up (the shared-memory opt-in, cuBLASLt's plans)
            cudaEvent_t t0, t1;
            SCPX_CUDA_CHECK(cudaEventCreate(&t0));
            SCPX_CUDA_CHECK(cudaEventCreate(&t1));
            const int reps = 5;
            SCPX_CUDA_CHECK(cudaEventRecord(t0));
            for (int r = 0; r < reps; ++r) call();
            SCPX_CUDA_CHECK(cudaEventRecord(t1));
            SCPX_CUDA_CHECK(cudaEventSynchronize(t1));
            float ms = 0.0f;
            SCPX_CUDA_CHECK(cudaEventElapsedTime(&ms, t0, t1));
            cudaEventDestroy(t0);
            cudaEventDestroy(t1);
            ms /= reps;
            // Useful work: (q+u)·kᵀ, (q+w)·relkᵀ after the shift (n² entries) and P·v.
            const double flop = 2.0 * static_cast<double>(s.batch * s.heads) * static_cast<double>(n * n) *
                                static_cast<double>(2 * s.key + s.value);
            const auto first = out.download();
            EXPECT_TRUE(std::isfinite(first[0]) && std::isfinite(first[out_n - 1]));
            std::cout << "[ rel_attention ] " << describe(s, p) << " " << name(be) << ": " << ms << " ms per call, "
                      << flop / (ms * 1e-3) / 1e12 << " TFLOP/s (useful)\n";
            RecordProperty("ms_" + std::to_string(n) + "_" + scpx::test::name(p) + "_" + name(be), std::to_string(ms));
          }
        }
}

} // namespace
