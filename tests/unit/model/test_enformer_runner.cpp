// The Enformer device runner (enformer_runner.hpp) on the CPU: option checks, device resolution
// without a GPU (cuda → usage error, auto → CPU), and bin selection (a central-bins request is
// exactly the same rows of the full run, so CPU features do not change).
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/model/enformer_runner.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <utility>

#include <vector>

namespace {

namespace md = scpx::model;

md::enformer_weights tiny_weights() {
    md::enformer_config c;
    c.dim = 48; c.depth = 1; c.heads = 2; c.key_size = 8; c.dim_divisible_by = 8; c.target_length = 8;
    c.output_heads = {{"human", 7}, {"mouse", 3}};
    return md::enformer_weights_random(c, 11);
}

std::vector<float> tiny_input(std::int64_t batch, std::int64_t length) {
    std::vector<float> x(static_cast<size_t>(batch * length * 4), 0.0f);
    for (size_t i = 0; i < x.size() / 4; ++i) x[i * 4 + (i * 7 % 5) % 4] = (i % 13 == 0) ? 0.0f : 1.0f;
    return x;
}

md::enformer_device_options cpu_options() {
    md::enformer_device_options o;
    o.device = "cpu";
    return o;
}

TEST(EnformerRunner, RejectsBadOptions) {
    md::enformer_device_options o;
    EXPECT_NO_THROW(md::enformer_check_device_options(o));
    o.precision = "fp16";
    EXPECT_THROW(md::enformer_check_device_options(o), scpx::usage_error);
    o = {};
    o.device = "tpu";
    EXPECT_THROW(md::enformer_check_device_options(o), scpx::usage_error);
    o = {};
    o.conv_backend = "fastest";
    try {
        md::enformer_check_device_options(o);
        FAIL() << "no usage_error";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("--conv-backend must be custom, cudnn or auto (got 'fastest')"),
                  std::string::npos)
            << e.what();
    }
    o = {};
    o.cuda_device = -1; // one device per node-local rank
    EXPECT_NO_THROW(md::enformer_check_device_options(o));
    o.cuda_device = -2;
    EXPECT_THROW(md::enformer_check_device_options(o), scpx::usage_error);
    // The runner checks before building anything.
    o = cpu_options();
    o.precision = "fp64";
    EXPECT_THROW(md::enformer_runner(tiny_weights(), o), scpx::usage_error);
}

TEST(EnformerRunner, DeviceResolutionWithoutGpu) {
    if (scpx::gpu::available()) GTEST_SKIP() << "a GPU is usable here: " << scpx::gpu::describe();
    md::enformer_device_options o;
    o.device = "cuda";
    try {
        md::enformer_runner r(tiny_weights(), o);
        FAIL() << "--device cuda without a GPU must be a usage error";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
    }
    o.device = "auto";
    o.precision = "bf16";  // ignored on the CPU (a warning)
    md::enformer_runner r(tiny_weights(), o);
    EXPECT_FALSE(r.on_gpu());
    EXPECT_NE(r.describe().find("CPU"), std::string::npos);
    EXPECT_EQ(r.device_bytes(), 0u);
    EXPECT_TRUE(r.conv_report().empty());
}

TEST(EnformerRunner, BinRequestIsASliceOfTheFullRun) {
    md::enformer_runner r(tiny_weights(), cpu_options());
    const std::int64_t B = 2, L = 128 * 12, T = 8;  // n = 12 bins cropped to 8
    const auto x = tiny_input(B, L);
    md::enformer_gpu_request full;
    full.trunk_embedding = true;
    const auto a = r.predict(x.data(), B, L, full);
    ASSERT_EQ(a.bins, T);
    ASSERT_EQ(a.heads.size(), 2u);
    const auto& h = a.heads.at("human");
    ASSERT_EQ(h.size(), static_cast<size_t>(B * T * 7));
    const std::int64_t E = static_cast<std::int64_t>(a.trunk_embedding.size()) / (B * T);
    ASSERT_EQ(E, 96);

    md::enformer_gpu_request part;
    part.heads = {"human"};
    part.bin0 = 3;
    part.bins = 2;
    const auto b = r.predict(x.data(), B, L, part);
    EXPECT_EQ(b.bins, 2);
    EXPECT_EQ(b.heads.size(), 1u);
    EXPECT_TRUE(b.trunk_embedding.empty());  // not asked for
    const auto& hp = b.heads.at("human");
    ASSERT_EQ(hp.size(), static_cast<size_t>(B * 2 * 7));
    for (std::int64_t s = 0; s < B; ++s)
        for (std::int64_t k = 0; k < 2; ++k)
            for (std::int64_t t = 0; t < 7; ++t)
                EXPECT_EQ(hp[static_cast<size_t>((s * 2 + k) * 7 + t)], h[static_cast<size_t>((s * T + 3 + k) * 7 + t)]);

    part.trunk_embedding = true;
    const auto c = r.predict(x.data(), B, L, part);
    ASSERT_EQ(c.trunk_embedding.size(), static_cast<size_t>(B * 2 * E));
    for (std::int64_t s = 0; s < B; ++s)
        for (std::int64_t k = 0; k < 2; ++k)
            for (std::int64_t e = 0; e < E; ++e)
                EXPECT_EQ(c.trunk_embedding[static_cast<size_t>((s * 2 + k) * E + e)],
                          a.trunk_embedding[static_cast<size_t>((s * T + 3 + k) * E + e)]);

    for (auto [bin0, bins] : std::vector<std::pair<std::int64_t, std::int64_t>>{{7, 2}, {-1, 2}, {2, 0}, {0, -1}}) {
        md::enformer_gpu_request bad;
        bad.bin0 = bin0;
        bad.bins = bins;
        EXPECT_THROW(r.predict(x.data(), B, L, bad), scpx::usage_error) << bin0 << " " << bins;
    }
    md::enformer_gpu_request unknown;
    unknown.heads = {"zebrafish"};
    EXPECT_THROW(r.predict(x.data(), B, L, unknown), scpx::usage_error);
}

} // namespace

// The node-local rank comes from the launcher's environment, first match wins; garbage is ignored.
TEST(GpuDeviceChoice, LocalRankFromLauncherEnvironment) {
    const char* names[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "PMI_LOCAL_RANK",
                           "MV2_COMM_WORLD_LOCAL_RANK"};
    std::vector<std::pair<std::string, std::string>> saved;
    for (const char* n : names) {
        if (const char* v = std::getenv(n)) saved.emplace_back(n, v);
        unsetenv(n);
    }
    EXPECT_EQ(scpx::gpu::local_rank(), 0);
    setenv("SLURM_LOCALID", "3", 1);
    EXPECT_EQ(scpx::gpu::local_rank(), 3);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5", 1); // Open MPI's own value takes precedence
    EXPECT_EQ(scpx::gpu::local_rank(), 5);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "x1", 1); // not a number: skipped
    EXPECT_EQ(scpx::gpu::local_rank(), 3);
    for (const char* n : names) unsetenv(n);
    for (const auto& [n, v] : saved) setenv(n.c_str(), v.c_str(), 1);
    if (!scpx::gpu::available()) {
        EXPECT_EQ(scpx::gpu::device_for_this_process(), 0);
        EXPECT_THROW(scpx::gpu::use_device(1), scpx::usage_error);
    }
}

namespace {

TEST(EnformerRunner, ChooseBatchOnTheCpu) {
    // --batch 0 (automatic) is 1 on the CPU, where a larger batch is no faster; a batch asked for
    // is kept, but never more than the sequences there are; negative is a usage error.
    md::enformer_runner r(tiny_weights(), cpu_options());
    const std::int64_t L = 128 * 64;
    EXPECT_EQ(r.choose_batch(0, L, 100), 1);
    EXPECT_EQ(r.choose_batch(5, L, 100), 5);
    EXPECT_EQ(r.choose_batch(5, L, 3), 3);
    EXPECT_EQ(r.choose_batch(5, L, 0), 1);  // no sequence: still a valid batch
    EXPECT_THROW(r.choose_batch(-1, L, 100), scpx::usage_error);
}

} // namespace
