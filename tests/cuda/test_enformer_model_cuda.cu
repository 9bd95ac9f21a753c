// Whole-model cross-tests of the GPU Enformer (enformer_gpu.hpp) against the PyTorch fixture
// (shared/fixtures/enformer, small config, random weights) and the CPU reference model.
//
//  * FP32 (no TF32): heads and trunk embedding within 1e-4 abs of `tf/f32` and of the CPU model,
//    with each conv backend (custom; cuDNN and auto when cuDNN loads).
//  * TF32 / BF16: the error against the float64 truth (`tf/f64`) must be at most twice that of a
//    naive computation in the same precision, emulated on the CPU: the reference pipeline with
//    weights, relative keys and input rounded to the precision and every operand rounded at the
//    op boundaries (and, for BF16, every stored activation too, residual stream included). The
//    GPU rounds a few more places (inside the attention and MLP, after the conv input
//    transform), so "2×" is the stated margin for those. Central-bin human features (mean of the
//    central 4 bins) must also be within 1e-2 relative of the float64 truth. TF32/BF16 and the
//    FP32-vs-CPU check run with both attention + pooling implementations (gemm, the default,
//    and the fused kernels); TF32/BF16 also with the register-tiled flash attention (gemm
//    pooling), which FP32 replaces by gemm (checked through describe()).
//  * A central-bins request equals the same bins of the full run (same GEMM/conv code on fewer
//    rows: 1e-5 relative in FP32, not bitwise, since cuBLASLt may pick another algorithm for
//    another M; in BF16 one bf16 ulp of the stored embedding).
//  * Arena growth (batch 1 then 3) with bitwise the same sequence-0 result (batch independence),
//    batched transformer GEMMs within 1e-5 of per-sequence ones (FP32), a second length (new
//    relative keys), usage errors.
// The fixture folder is SCPX_FIXTURES_DIR (environment) or the build's ../shared/fixtures.
// Skipped without a GPU or without the fixture.
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/model/enformer_gpu.hpp"
#include "scpx/ops/conv1d.hpp"
#include "scpx/ops/crop.hpp"
#include "scpx/ops/layer_norm.hpp"
#include "scpx/ops/linear.hpp"
#include "scpx/ops/mlp.hpp"
#include "scpx/ops/rel_attention.hpp"
#include "scpx/ops/softmax_pool.hpp"
#include "scpx/seq/onehot.hpp"

#include "enformer/cudnn_conv.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace io = scpx::io;
namespace md = scpx::model;
using scpx::gpu::precision;

std::string fixture(const std::string& name) {
    const char* env = std::getenv("SCPX_FIXTURES_DIR");
    const std::string dir = (env && *env) ? env : SCPX_SHARED_FIXTURES;
    const std::string p = dir + "/enformer/" + name;
    return std::filesystem::exists(p) ? p : std::string();
}

#define SKIP_WITHOUT_GPU_OR_FIXTURE()                                                                         \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe();                                      \
    if (fixture("weights.h5").empty() || fixture("io.h5").empty())                                            \
    GTEST_SKIP() << "no enformer fixture (set SCPX_FIXTURES_DIR to the folder holding enformer/)"

io::h5_array<float> expected(const std::string& path) {
    io::h5_file f = io::h5_open_file(fixture("io.h5"));
    return io::h5_read<float>(f.id(), path);
}

const md::enformer_weights& fixture_weights() {
    static std::unique_ptr<md::enformer_weights> w;
    if (!w) w = std::make_unique<md::enformer_weights>(md::enformer_weights_load(fixture("weights.h5")));
    return *w;
}

/// Max |a − b| over the first `count` values (0: all of b).
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b, size_t count = 0) {
    if (count == 0) count = b.size();
    EXPECT_GE(a.size(), count);
    double m = 0.0;
    for (size_t i = 0; i < std::min(count, a.size()); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (!(d <= m)) m = d;  // NaN propagates as a failure
    }
    return m;
}
double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    EXPECT_GE(a.size(), b.size());
    double m = 0.0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

md::enformer_output gpu_run(precision prec, const std::string& backend, const md::enformer_gpu_request& req,
                            std::int64_t batch = 0, const std::string& cores = "gemm",
                            std::string* conv_report = nullptr) {
    const auto in = expected("inputs/onehot");
    md::enformer_gpu_options o;
    o.prec = prec;
    o.conv_backend = backend;
    // "gemm": cuBLASLt attention and pooling; "fused": the fused kernels; "flash": the flash
    // attention with gemm pooling; "flash128": the same with 128 query rows per block;
    // "flash+fused-stem": flash attention, gemm pooling and the fused stem (conv_dual). A suffix
    // "-unfolded" keeps the wide convolutions' bias in themselves (fold_conv_bias off).
    const std::string unfolded_suffix = "-unfolded";
    o.fold_conv_bias = !(cores.size() > unfolded_suffix.size() &&
                         cores.compare(cores.size() - unfolded_suffix.size(), std::string::npos, unfolded_suffix) == 0);
    const std::string cores_in = o.fold_conv_bias ? cores : cores.substr(0, cores.size() - unfolded_suffix.size());
    const bool flash = cores_in.rfind("flash", 0) == 0;
    o.attention = flash ? "flash" : cores_in;
    o.pool = flash ? "gemm" : cores_in;
    o.flash_query_rows = cores_in == "flash128" ? 128 : 0;
    o.fused_stem = cores_in == "flash+fused-stem";
    md::enformer_gpu_model m(fixture_weights(), o);
    const std::int64_t B = batch > 0 ? batch : static_cast<std::int64_t>(in.shape[0]);
    auto out = m.predict(in.data.data(), B, static_cast<std::int64_t>(in.shape[1]), req);
    if (conv_report) *conv_report = m.conv_report();
    return out;
}

md::enformer_gpu_request full_request() {
    md::enformer_gpu_request r;
    r.trunk_embedding = true;
    return r;
}

// ---------------------------------------------------------------------------------------------
// FP32 against the fixture and the CPU model

void check_fp32(const std::string& backend, std::string* conv_report = nullptr) {
    const auto out = gpu_run(precision::FP32, backend, full_request(), 0, "gemm", conv_report);
    const auto human = expected("tf/f32/human"), mouse = expected("tf/f32/mouse"),
               trunk = expected("tf/f32/trunk_embedding");
    ASSERT_EQ(out.bins, static_cast<std::int64_t>(human.shape[1]));
    ASSERT_EQ(out.heads.at("human").size(), human.data.size());
    ASSERT_EQ(out.heads.at("mouse").size(), mouse.data.size());
    ASSERT_EQ(out.trunk_embedding.size(), trunk.data.size());
    const double dh = max_abs_diff(out.heads.at("human"), human.data);
    const double dm = max_abs_diff(out.heads.at("mouse"), mouse.data);
    const double dt = max_abs_diff(out.trunk_embedding, trunk.data);
    std::printf("[ fp32 %s ] max |gpu - tf/f32|: human %.3g, mouse %.3g, trunk %.3g\n", backend.c_str(), dh, dm, dt);
    EXPECT_LE(dh, 1e-4);
    EXPECT_LE(dm, 1e-4);
    EXPECT_LE(dt, 1e-4);
}

TEST(CudaEnformerModel, Fp32CustomMatchesFixture) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    check_fp32("custom");
}

TEST(CudaEnformerModel, Fp32CudnnAndAutoMatchFixture) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // Without cuDNN, "auto" still chooses between the custom kernel and (for the pointwise
    // ConvBlocks) the cuBLASLt GEMM, and times the GEMMs' candidate algorithms.
    std::string report;
    check_fp32("auto", &report);
    EXPECT_NE(report.find("GEMM algorithms"), std::string::npos) << report;
    if (!scpx::cuda::cudnn_library::get()) GTEST_SKIP() << scpx::cuda::cudnn_library::describe();
    check_fp32("cudnn");
}

TEST(CudaEnformerModel, Fp32MatchesCpuModel) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    const auto in = expected("inputs/onehot");
    md::enformer_model cpu(fixture_weights());
    const auto ref = cpu.predict(in.data.data(), static_cast<std::int64_t>(in.shape[0]),
                                 static_cast<std::int64_t>(in.shape[1]));
    // "gemm-unfolded": the stem's and tower's wide convolutions add their own bias (fold_conv_bias off).
    for (const char* attention : {"gemm", "fused", "gemm-unfolded"}) {
        const auto out = gpu_run(precision::FP32, "custom", full_request(), 0, attention);
        EXPECT_LE(max_abs_diff(out.heads.at("human"), ref.heads.at("human")), 1e-4) << attention;
        EXPECT_LE(max_abs_diff(out.trunk_embedding, ref.trunk_embedding), 1e-4) << attention;
    }
}

// ---------------------------------------------------------------------------------------------
// Central bins, arena growth, another length, errors

TEST(CudaEnformerModel, CentralBinsEqualFullRun) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    for (precision prec : {precision::FP32, precision::BF16}) {
        const auto full = gpu_run(prec, "custom", full_request());
        md::enformer_gpu_request r;
        r.heads = {"human"};
        r.bin0 = 30;
        r.bins = 4;
        r.trunk_embedding = true;
        const auto part = gpu_run(prec, "custom", r);
        ASSERT_EQ(part.bins, 4);
        ASSERT_EQ(part.heads.size(), 1u);
        const auto& hf = full.heads.at("human");
        const auto& hp = part.heads.at("human");
        const std::int64_t B = full.batch, T = full.bins, tracks = static_cast<std::int64_t>(hf.size()) / (B * T);
        const std::int64_t E = static_cast<std::int64_t>(full.trunk_embedding.size()) / (B * T);
        ASSERT_EQ(hp.size(), static_cast<size_t>(B * 4 * tracks));
        ASSERT_EQ(part.trunk_embedding.size(), static_cast<size_t>(B * 4 * E));
        auto cmp = [&](const std::vector<float>& f, const std::vector<float>& p, std::int64_t C) {
            double worst = 0.0;
            for (std::int64_t b = 0; b < B; ++b)
                for (std::int64_t k = 0; k < 4; ++k)
                    for (std::int64_t c = 0; c < C; ++c) {
                        const double vf = f[static_cast<size_t>((b * T + 30 + k) * C + c)];
                        const double vp = p[static_cast<size_t>((b * 4 + k) * C + c)];
                        const double rel = std::fabs(vf - vp) / std::max(1.0, std::fabs(vf));
                        if (!(rel <= worst)) worst = rel;
                    }
            return worst;
        };
        const double dh = cmp(hf, hp, tracks), dt = cmp(full.trunk_embedding, part.trunk_embedding, E);
        std::printf("[ %s ] central bins vs full run: max rel diff heads %.3g, trunk %.3g\n",
                    scpx::gpu::to_string(prec), dh, dt);
        // FP32: only the summation order of a GEMM with fewer rows may differ. BF16: the stored
        // embedding may then round to the neighbouring bf16 value (one ulp: up to 2^-7 relative,
        // for values in [1, 2)).
        const bool bf16 = prec == precision::BF16;
        EXPECT_LE(dh, bf16 ? 1e-3 : 1e-5) << scpx::gpu::to_string(prec);
        EXPECT_LE(dt, bf16 ? 8e-3 : 1e-5) << scpx::gpu::to_string(prec);
    }
}

TEST(CudaEnformerModel, ArenaGrowsAndBatchDoesNotChangeResults) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    const auto in = expected("inputs/onehot");
    const std::int64_t L = static_cast<std::int64_t>(in.shape[1]);
    md::enformer_gpu_model m(fixture_weights(), {});
    m.reserve(1, L);
    const std::size_t small = m.device_bytes();
    EXPECT_GT(small, 0u);
    const auto one = m.predict(in.data.data(), 1, L, full_request());
    const auto three = m.predict(in.data.data(), 3, L, full_request());
    EXPECT_GT(m.device_bytes(), small);
    const auto& h1 = one.heads.at("human");
    // GEMMs run per sequence and every kernel works per row/sequence, so a sequence's result must
    // not depend on the rest of the batch: `scpx features` promises the same bytes at any rank
    // count and after --resume, which regroup the batches.
    EXPECT_EQ(max_abs_diff(three.heads.at("human"), h1, h1.size()), 0.0) << "results depend on the batch";
    EXPECT_EQ(max_abs_diff(three.trunk_embedding, one.trunk_embedding, one.trunk_embedding.size()), 0.0);
    const auto again = m.predict(in.data.data(), 1, L, full_request());  // smaller call: no re-allocation
    EXPECT_EQ(max_abs_diff(again.heads.at("human"), h1), 0.0);
    std::printf("[ arena ] %s: %.1f MiB for batch 3\n", m.describe().c_str(), m.device_bytes() / 1048576.0);
}

TEST(CudaEnformerModel, BatchedGemmsMatchPerSequence) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // enformer_gpu_options::batch_gemms: one GEMM over the batch's rows instead of one per
    // sequence, and (batch_steps -1 follows it) the pools' chunks across sequences — the
    // pointwise convolutions' steps too where they run as GEMMs (not under "custom", this test's
    // backend; CudaEnformerConv.GemmRouteAcrossSequences checks those). The same products, so
    // only the summation order of another algorithm may differ.
    const auto in = expected("inputs/onehot");
    const std::int64_t B = static_cast<std::int64_t>(in.shape[0]), L = static_cast<std::int64_t>(in.shape[1]);
    std::vector<float> heads[2];
    for (int batched : {0, 1}) {
        md::enformer_gpu_options o;
        o.batch_gemms = batched;
        md::enformer_gpu_model m(fixture_weights(), o);
        EXPECT_NE(m.describe().find(batched ? "batched GEMMs" : "per-sequence GEMMs"), std::string::npos) << m.describe();
        EXPECT_EQ(m.describe().find("steps across sequences") != std::string::npos, batched != 0) << m.describe();
        heads[batched] = m.predict(in.data.data(), B, L, full_request()).heads.at("human");
    }
    ASSERT_EQ(heads[0].size(), heads[1].size());
    double worst = 0.0;
    for (size_t i = 0; i < heads[0].size(); ++i)
        worst = std::max(worst, std::fabs(static_cast<double>(heads[0][i]) - heads[1][i]) /
                                    std::max(1.0, std::fabs(static_cast<double>(heads[0][i]))));
    std::printf("[ fp32 ] batched vs per-sequence GEMMs: max rel diff human %.3g\n", worst);
    EXPECT_LE(worst, 1e-5);
}

TEST(CudaEnformerModel, StageProfileCoversEveryStageAndChangesNothing) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    const auto in = expected("inputs/onehot");
    const std::int64_t L = static_cast<std::int64_t>(in.shape[1]);
    md::enformer_gpu_model plain(fixture_weights(), {});
    EXPECT_TRUE(plain.stage_times().empty());
    const auto ref = plain.predict(in.data.data(), 2, L, full_request());

    md::enformer_gpu_options o;
    o.profile_stages = true;
    md::enformer_gpu_model m(fixture_weights(), o);
    md::enformer_output out;
    for (int call = 0; call < 2; ++call) out = m.predict(in.data.data(), 2, L, full_request());
    EXPECT_EQ(max_abs_diff(out.heads.at("human"), ref.heads.at("human")), 0.0) << "profiling changed the result";
    EXPECT_EQ(max_abs_diff(out.trunk_embedding, ref.trunk_embedding), 0.0);

    const auto times = m.stage_times();
    const std::vector<std::string> order = {"input", "stem", "conv tower", "attention", "feed-forward",
                                            "final pointwise", "heads"};
    ASSERT_EQ(times.size(), order.size());
    std::string line;
    for (size_t i = 0; i < order.size(); ++i) {
        EXPECT_EQ(times[i].stage, order[i]);
        EXPECT_EQ(times[i].calls, 2) << times[i].stage;
        EXPECT_GE(times[i].ms, 0.0) << times[i].stage;
        line += " " + times[i].stage + " " + std::to_string(times[i].ms / 2) + " ms;";
    }
    std::printf("[ stages ]%s\n", line.c_str());
    m.reset_stage_times();
    for (const auto& t : m.stage_times()) EXPECT_EQ(t.calls, 0) << t.stage;
}

TEST(CudaEnformerModel, SecondLengthMatchesCpu) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // n = 80 bins instead of 96: other positional features and relative keys.
    const auto in = expected("inputs/onehot");
    const std::int64_t L = 80 * 128;
    md::enformer_model cpu(fixture_weights());
    const auto ref = cpu.predict(in.data.data(), 1, L);
    md::enformer_gpu_model m(fixture_weights(), {});
    m.predict(in.data.data(), 1, static_cast<std::int64_t>(in.shape[1]), full_request());
    const auto out = m.predict(in.data.data(), 1, L, full_request());
    EXPECT_LE(max_abs_diff(out.heads.at("human"), ref.heads.at("human")), 1e-4);
    EXPECT_LE(max_abs_diff(out.trunk_embedding, ref.trunk_embedding), 1e-4);
}

TEST(CudaEnformerModel, UsageErrors) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    const auto in = expected("inputs/onehot");
    const std::int64_t L = static_cast<std::int64_t>(in.shape[1]);
    md::enformer_gpu_model m(fixture_weights(), {});
    md::enformer_gpu_request r;
    r.heads = {"zebrafish"};
    EXPECT_THROW(m.predict(in.data.data(), 1, L, r), scpx::usage_error);
    r.heads = {};
    r.bin0 = 62;
    r.bins = 4;
    EXPECT_THROW(m.predict(in.data.data(), 1, L, r), scpx::usage_error);
    EXPECT_THROW(m.predict(in.data.data(), 1, L + 64, {}), scpx::usage_error);
    md::enformer_gpu_options bad;
    bad.conv_backend = "fastest";
    EXPECT_THROW(md::enformer_gpu_model(fixture_weights(), bad), scpx::usage_error);
}

// ---------------------------------------------------------------------------------------------
// TF32 / BF16 against the float64 truth, bounded by a naive same-precision computation

float round_to(precision p, float v) {
    if (p == precision::FP32 || !std::isfinite(v)) return v;
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    const int drop = p == precision::BF16 ? 16 : 13;  // bf16: 8-bit, tf32: 11-bit significand
    const std::uint32_t half = (1u << (drop - 1)) - 1 + ((u >> drop) & 1u);  // round to nearest even
    u = (u + half) & ~((1u << drop) - 1);
    std::memcpy(&v, &u, 4);
    return v;
}
void round_all(precision p, std::vector<float>& v) {
    for (auto& x : v) x = round_to(p, x);
}
std::vector<float> rounded(precision p, std::vector<float> v) {
    round_all(p, v);
    return v;
}

/// The CPU reference pipeline (src/model/enformer.cpp) with the GPU's rounding points: weights
/// (not the per-channel parameters) and relative keys rounded to `p`, every op's input operands
/// rounded, and for BF16 every stored activation rounded (TF32 keeps fp32 storage).
md::enformer_output naive_forward(precision p, const float* onehot_in, std::int64_t B, std::int64_t length) {
    md::enformer_weights w = fixture_weights();
    auto rc = [&](md::conv_weights& c) { round_all(p, c.w); };
    rc(w.stem_conv);
    rc(w.stem_pointwise.conv);
    round_all(p, w.stem_pool.w);
    for (auto& t : w.tower) {
        rc(t.conv.conv);
        rc(t.pointwise.conv);
        round_all(p, t.pool.w);
    }
    for (auto& l : w.layers) {
        round_all(p, l.qkv.w);
        round_all(p, l.out.w);
        round_all(p, l.mlp1.w);
        round_all(p, l.mlp2.w);
    }
    rc(w.final_pointwise.conv);
    for (auto& h : w.heads) round_all(p, h.linear.w);
    const md::enformer_model keys(fixture_weights());  // relative keys from fp32 weights, then rounded
    const bool store_rounded = p == precision::BF16;
    auto store = [&](std::vector<float>& v) {
        if (store_rounded) round_all(p, v);
    };
    using buf = std::vector<float>;
    auto conv_block = [&](const md::conv_block_weights* cb, const md::conv_weights& cw, const buf& x, std::int64_t L,
                          const buf* residual, bool out_gelu) {
        buf xin = rounded(p, x);
        buf y(static_cast<size_t>(B * L * cw.cout));
        scpx::ops::conv1d_params q;
        q.batch = B; q.length = L; q.cin = cw.cin; q.cout = cw.cout; q.kernel = cw.kernel;
        q.x = xin.data(); q.w = cw.w.data(); q.bias = cw.bias.data();
        if (cb) {
            q.in_scale = cb->bn.scale.data(); q.in_shift = cb->bn.shift.data(); q.in_gelu = true;
        }
        q.out_gelu = out_gelu; q.residual = residual ? residual->data() : nullptr; q.y = y.data();
        scpx::ops::conv1d_ref(q);
        store(y);
        return y;
    };
    auto pool = [&](const md::pool_weights& pw, const buf& x, std::int64_t L) {
        buf xin = rounded(p, x);
        buf y(static_cast<size_t>(B * (L / 2) * pw.channels));
        scpx::ops::softmax_pool_params q;
        q.batch = B; q.length = L; q.channels = pw.channels; q.x = xin.data(); q.w = pw.w.data(); q.y = y.data();
        scpx::ops::softmax_pool_ref(q);
        store(y);
        return y;
    };
    std::int64_t L = length;
    buf x(onehot_in, onehot_in + B * L * 4);
    buf c = conv_block(nullptr, w.stem_conv, x, L, nullptr, false);
    buf r = conv_block(&w.stem_pointwise, w.stem_pointwise.conv, c, L, &c, false);
    x = pool(w.stem_pool, r, L);
    L /= 2;
    for (const auto& t : w.tower) {
        c = conv_block(&t.conv, t.conv.conv, x, L, nullptr, false);
        r = conv_block(&t.pointwise, t.pointwise.conv, c, L, &c, false);
        x = pool(t.pool, r, L);
        L /= 2;
    }
    const auto& cfg = w.config;
    const std::int64_t n = L, d = cfg.dim;
    buf ln(static_cast<size_t>(B * n * d)), y(ln.size());
    for (size_t j = 0; j < w.layers.size(); ++j) {
        const auto& l = w.layers[j];
        scpx::ops::layer_norm_params lp;
        lp.rows = B * n; lp.channels = d; lp.x = x.data(); lp.gamma = l.ln1_gamma.data(); lp.beta = l.ln1_beta.data();
        lp.y = ln.data();
        scpx::ops::layer_norm_ref(lp);
        round_all(p, ln);
        const buf rk = rounded(p, keys.relative_keys(static_cast<std::int64_t>(j), n));
        scpx::ops::rel_attention_params ap;
        ap.batch = B; ap.n = n; ap.dim = d; ap.heads = cfg.heads; ap.key = cfg.key_size; ap.value = cfg.value();
        ap.x = ln.data(); ap.w_qkv = l.qkv.w.data(); ap.rel_k = rk.data(); ap.content_bias = l.content_bias.data();
        ap.pos_bias = l.pos_bias.data(); ap.w_out = l.out.w.data(); ap.b_out = l.out.bias.data();
        ap.residual = x.data(); ap.y = y.data();
        scpx::ops::rel_attention_ref(ap);
        store(y);
        lp.x = y.data(); lp.gamma = l.ln2_gamma.data(); lp.beta = l.ln2_beta.data(); lp.y = ln.data();
        scpx::ops::layer_norm_ref(lp);
        round_all(p, ln);
        scpx::ops::mlp_params mp;
        mp.rows = B * n; mp.dim = d; mp.hidden = l.mlp1.out; mp.x = ln.data(); mp.w1 = l.mlp1.w.data();
        mp.b1 = l.mlp1.bias.data(); mp.w2 = l.mlp2.w.data(); mp.b2 = l.mlp2.bias.data(); mp.residual = y.data();
        mp.y = x.data(); mp.segment = n;
        scpx::ops::mlp_ref(mp);
        store(x);
    }
    const std::int64_t T = cfg.target_length;
    buf cropped(static_cast<size_t>(B * T * d));
    scpx::ops::crop_params cp;
    cp.batch = B; cp.length = n; cp.target = T; cp.channels = d; cp.x = x.data(); cp.y = cropped.data();
    scpx::ops::crop_ref(cp);
    md::enformer_output out;
    out.batch = B;
    out.bins = T;
    out.trunk_embedding = conv_block(&w.final_pointwise, w.final_pointwise.conv, cropped, T, nullptr, true);
    const buf emb = rounded(p, out.trunk_embedding);
    for (const auto& h : w.heads) {
        buf o(static_cast<size_t>(B * T * h.linear.out));
        scpx::ops::linear_params q;
        q.rows = B * T; q.in = h.linear.in; q.out = h.linear.out; q.x = emb.data(); q.w = h.linear.w.data();
        q.bias = h.linear.bias.data(); q.act = scpx::ops::activation::softplus; q.y = o.data(); q.segment = T;
        scpx::ops::linear_ref(q);
        out.heads.emplace(h.name, std::move(o));
    }
    return out;
}

std::vector<double> as_double(const io::h5_array<double>& a) { return a.data; }

/// Relative error of the central-4-bin mean of the human head (sequence 0), the quantity
/// `scpx features` writes: max over tracks of |Δ_t| / (|truth_t| + mean_t |truth|) — per track,
/// with the mean magnitude as the floor so that near-zero tracks do not turn rounding noise into
/// large ratios.
double feature_rel_error(const std::vector<float>& got, const std::vector<double>& truth, std::int64_t T) {
    const std::int64_t tracks = static_cast<std::int64_t>(truth.size()) / T, b0 = (T - 4) / 2;
    std::vector<double> fg(static_cast<size_t>(tracks), 0.0), fr(fg.size(), 0.0);
    double mean = 0.0;
    for (std::int64_t t = 0; t < tracks; ++t) {
        for (std::int64_t k = b0; k < b0 + 4; ++k) {
            fg[static_cast<size_t>(t)] += got[static_cast<size_t>(k * tracks + t)] / 4.0;
            fr[static_cast<size_t>(t)] += truth[static_cast<size_t>(k * tracks + t)] / 4.0;
        }
        mean += std::fabs(fr[static_cast<size_t>(t)]) / static_cast<double>(tracks);
    }
    double worst = 0.0;
    for (size_t t = 0; t < fg.size(); ++t) {
        const double rel = std::fabs(fg[t] - fr[t]) / (std::fabs(fr[t]) + mean);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

void check_reduced(precision prec, const std::string& attention) {
    const auto in = expected("inputs/onehot");
    const std::int64_t B = static_cast<std::int64_t>(in.shape[0]), L = static_cast<std::int64_t>(in.shape[1]);
    io::h5_file f = io::h5_open_file(fixture("io.h5"));
    const auto human64 = as_double(io::h5_read<double>(f.id(), "tf/f64/human"));  // input 0 only
    const auto trunk64 = as_double(io::h5_read<double>(f.id(), "tf/f64/trunk_embedding"));
    const auto gpu = gpu_run(prec, "custom", full_request(), 0, attention);
    const auto naive = naive_forward(prec, in.data.data(), B, L);
    const double g_h = max_abs_diff(gpu.heads.at("human"), human64), n_h = max_abs_diff(naive.heads.at("human"), human64);
    const double g_t = max_abs_diff(gpu.trunk_embedding, trunk64), n_t = max_abs_diff(naive.trunk_embedding, trunk64);
    const std::string cores = attention.rfind("flash", 0) == 0 ? attention + " attention, gemm pool"
                                                                : attention + " attention+pool";
    std::printf("[ %s ] %s: max |err| vs tf/f64: human gpu %.3g naive %.3g; trunk gpu %.3g naive %.3g\n",
                scpx::gpu::to_string(prec), cores.c_str(), g_h, n_h, g_t, n_t);
    EXPECT_GT(n_h, 0.0) << "the naive computation was not rounded: the bound would prove nothing";
    EXPECT_LE(g_h, 2.0 * n_h) << attention;
    EXPECT_LE(g_t, 2.0 * n_t) << attention;

    // Features: mean of the 4 central bins of the human head (input 0), 1e-2 relative.
    const double worst = feature_rel_error(gpu.heads.at("human"), human64, gpu.bins);
    std::printf("[ %s ] %s: central-bin features: max rel err gpu %.3g, naive %.3g\n",
                scpx::gpu::to_string(prec), cores.c_str(), worst,
                feature_rel_error(naive.heads.at("human"), human64, gpu.bins));
    EXPECT_LE(worst, 1e-2) << attention;
}

// Runs without a GPU: the emulation at FP32 is the reference pipeline itself (bit for bit), so
// the TF32/BF16 bounds above come from the same computation with only the rounding added.
TEST(CudaEnformerModel, NaiveEmulationIsTheCpuModelAtFp32) {
    if (fixture("weights.h5").empty() || fixture("io.h5").empty()) GTEST_SKIP() << "no enformer fixture";
    const auto in = expected("inputs/onehot");
    const std::int64_t B = static_cast<std::int64_t>(in.shape[0]), L = static_cast<std::int64_t>(in.shape[1]);
    md::enformer_model cpu(fixture_weights());
    const auto ref = cpu.predict(in.data.data(), B, L);
    const auto emu = naive_forward(precision::FP32, in.data.data(), B, L);
    EXPECT_EQ(max_abs_diff(emu.heads.at("human"), ref.heads.at("human")), 0.0);
    EXPECT_EQ(max_abs_diff(emu.trunk_embedding, ref.trunk_embedding), 0.0);
    io::h5_file f = io::h5_open_file(fixture("io.h5"));
    const auto human64 = io::h5_read<double>(f.id(), "tf/f64/human").data;
    for (precision p : {precision::TF32, precision::BF16}) {
        const auto naive = naive_forward(p, in.data.data(), B, L);
        const double e = max_abs_diff(naive.heads.at("human"), human64);
        std::printf("[ %s ] naive emulation: max |err| vs tf/f64 human %.3g, central-bin features max rel err %.3g\n",
                    scpx::gpu::to_string(p), e, feature_rel_error(naive.heads.at("human"), human64, naive.bins));
        EXPECT_GT(e, 1e-5);
        EXPECT_LT(e, 0.5);
    }
}

TEST(CudaEnformerModel, Tf32WithinTwiceNaiveError) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // The fused attention and pool kernels are checked in TF32 by their own cross-tests and in the
    // whole model at BF16 below (their TF32 variant adds a quarter of this binary's emulated time).
    for (const char* attention : {"gemm", "flash"}) check_reduced(precision::TF32, attention);
}

TEST(CudaEnformerModel, Bf16WithinTwiceNaiveError) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    for (const char* attention : {"gemm", "fused", "flash", "flash128", "flash+fused-stem"})
        check_reduced(precision::BF16, attention);
}

TEST(CudaEnformerModel, PredictBasesEqualsPredictOnEncodedRows) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // Letters encoded on the device (with N and lower case, both N conventions) must give exactly
    // what the fp32 rows of seq::onehot_ref give.
    const auto in = expected("inputs/onehot");
    const std::int64_t L = static_cast<std::int64_t>(in.shape[1]), B = 1;
    std::mt19937 rng(9);
    const std::string alphabet = "ACGTACGTacgtN";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string bases(static_cast<std::size_t>(B * L), 'A');
    for (auto& c : bases) c = alphabet[pick(rng)];
    md::enformer_gpu_options o;
    o.prec = precision::BF16;
    md::enformer_gpu_model m(fixture_weights(), o);
    for (const auto mode : {scpx::seq::onehot_n_mode::ZERO, scpx::seq::onehot_n_mode::QUARTER}) {
        const auto rows = scpx::seq::onehot_ref(bases, mode);
        const auto want = m.predict(rows.data(), B, L, full_request());
        const auto got = m.predict_bases(bases, B, L, mode, full_request());
        EXPECT_EQ(got.heads.at("human"), want.heads.at("human"));
        EXPECT_EQ(got.trunk_embedding, want.trunk_embedding);
    }
    EXPECT_THROW(m.predict_bases(bases.substr(1), B, L, scpx::seq::onehot_n_mode::ZERO), scpx::usage_error);
}

TEST(CudaEnformerModel, FlashAttentionInFp32RunsGemm) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    md::enformer_gpu_options o;
    o.prec = precision::FP32;
    o.attention = "flash";
    const md::enformer_gpu_model m(fixture_weights(), o);
    EXPECT_NE(m.describe().find("attention gemm (flash takes TF32/BF16 only)"), std::string::npos) << m.describe();
    o.attention = "magic";
    EXPECT_THROW(md::enformer_gpu_model(fixture_weights(), o), scpx::usage_error);
    o.attention = "flash";
    o.flash_query_rows = 96; // 64 or 128 only
    EXPECT_THROW(md::enformer_gpu_model(fixture_weights(), o), scpx::usage_error);
}

TEST(CudaEnformerModel, AutoAttentionIsFlashForBf16Only) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // The default: the flash kernel where it was measured fastest (BF16, on a device whose
    // shared memory holds its tiles — every sm_80/sm_90 card), the cuBLASLt path otherwise.
    md::enformer_gpu_options o;
    EXPECT_EQ(o.attention, "auto");
    for (const auto& [prec, want] : {std::pair{precision::BF16, "attention flash,"}, std::pair{precision::TF32, "attention gemm,"},
                                    std::pair{precision::FP32, "attention gemm,"}}) {
        o.prec = prec;
        const md::enformer_gpu_model m(fixture_weights(), o);
        EXPECT_NE(m.describe().find(want), std::string::npos) << m.describe();
    }
    o.prec = precision::BF16;
    o.flash_query_rows = 128;
    EXPECT_NE(md::enformer_gpu_model(fixture_weights(), o).describe().find("flash blocks of 128 rows"), std::string::npos);
    // The fused stem where it applies (BF16; the fixture's stem of 48 channels fits it), and a
    // note where it was asked for and does not.
    o.fused_stem = true;
    EXPECT_NE(md::enformer_gpu_model(fixture_weights(), o).describe().find(", fused stem"), std::string::npos);
    o.prec = precision::TF32;
    EXPECT_NE(md::enformer_gpu_model(fixture_weights(), o).describe().find("(fused stem: BF16 only)"), std::string::npos);
}

TEST(CudaEnformerModel, ReserveLargestHalvesTheBatchUntilItFits) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // `--batch 0` (enformer_runner::choose_batch): the largest of 8, 4, 2, 1 whose arena the
    // device holds; a failed size leaves nothing behind, so the next one starts clean.
    const std::int64_t L = static_cast<std::int64_t>(expected("inputs/onehot").shape[1]);
    md::enformer_gpu_model m(fixture_weights(), {});
    const std::size_t weights = m.device_bytes();  // no arena yet
    m.reserve(2, L);
    const std::size_t arena2 = m.device_bytes() - weights;
    m.reserve(4, L);
    const std::size_t arena4 = m.device_bytes() - weights;
    ASSERT_LT(arena2, arena4);
    md::enformer_gpu_model fresh(fixture_weights(), {});
#ifdef SCPX_CUDA_EMULATION
    // The emulated device counts what is allocated; SCPX_EMU_DEVICE_BYTES sets its size, here so
    // many bytes beyond what is in use now. Models are built (weights uploaded) before it shrinks.
    md::enformer_gpu_model headroom(fixture_weights(), {}), tiny(fixture_weights(), {});
    const auto device_with_free = [](std::size_t bytes) {
        std::size_t free_b = 0, total_b = 0;
        ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
        ASSERT_EQ(setenv("SCPX_EMU_DEVICE_BYTES", std::to_string(total_b - free_b + bytes).c_str(), 1), 0);
    };
    // Room for the arena of 2 sequences but not of 4.
    device_with_free((arena2 + arena4) / 2);
    std::int64_t got = 0;
    EXPECT_NO_THROW(got = fresh.reserve_largest(8, L));
    EXPECT_EQ(got, 2);
    EXPECT_EQ(fresh.device_bytes() - weights, arena2);
    // Room for the arena of 4 but not for a trunk activation beside it (the throughput mode's
    // timing borrows one): 2.
    device_with_free(arena4 + 1024);
    EXPECT_NO_THROW(got = headroom.reserve_largest(8, L));
    EXPECT_EQ(got, 2);
    EXPECT_EQ(headroom.device_bytes() - weights, arena2);
    // Not even one sequence: the out-of-memory error, which names the arena.
    device_with_free(1024);
    try {
        tiny.reserve_largest(8, L);
        ADD_FAILURE() << "no out-of-memory error";
    } catch (const scpx::cuda_out_of_memory& e) {
        EXPECT_NE(std::string(e.what()).find("activation arena for 1 x"), std::string::npos) << e.what();
    }
    unsetenv("SCPX_EMU_DEVICE_BYTES");
    const auto in = expected("inputs/onehot");
    EXPECT_NO_THROW(fresh.predict(in.data.data(), 2, L, full_request()));  // the arena it kept works
#else
    // On a card: ask for more sequences than its free memory holds (≈ 4× as many), expect a
    // smaller batch that fits.
    std::size_t free_b = 0, total_b = 0;
    ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
    const std::size_t per_seq = (arena4 - arena2) / 2;
    std::int64_t want = 1;
    while (static_cast<std::size_t>(want) * per_seq < 4 * free_b) want *= 2;
    const std::int64_t got = fresh.reserve_largest(want, L);
    EXPECT_LT(got, want);
    EXPECT_GE(got, 1);
    EXPECT_LE(fresh.device_bytes(), total_b);
#endif
}

TEST(CudaEnformerModel, ConvBiasFoldIsTheDefaultAndDescribed) {
    SKIP_WITHOUT_GPU_OR_FIXTURE();
    // Fp32MatchesCpuModel checks the values with the fold on and off; here: on by default, in
    // every precision, and describe() tells which.
    md::enformer_gpu_options o;
    EXPECT_TRUE(o.fold_conv_bias);
    for (precision prec : {precision::FP32, precision::TF32, precision::BF16}) {
        o.prec = prec;
        o.fold_conv_bias = true;
        EXPECT_NE(md::enformer_gpu_model(fixture_weights(), o).describe().find(", conv bias folded"),
                  std::string::npos);
        o.fold_conv_bias = false;
        EXPECT_EQ(md::enformer_gpu_model(fixture_weights(), o).describe().find("bias folded"), std::string::npos);
    }
}

} // namespace
