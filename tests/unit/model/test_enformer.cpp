// Enformer CPU model against the PyTorch-port fixture (shared/fixtures/enformer, random weights,
// small config): outputs, every stage, and the block-0 attention internals, so a mismatch points
// at a layer. Tolerance 1e-5 abs in fp32 (the fixture's own fp32 vs fp64 gap is 2.4e-6).
#include "scpx/core/error.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/ops/parallel.hpp"
#include "scpx/ops/positional_features.hpp"
#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

namespace {

using scpx::model::enformer_model;
namespace io = scpx::io;

constexpr double kTol = 1e-5;
// The fixture's positional table was computed by torch in float32: the gamma pdf's
// lgamma/xlogy cancellation (concentration up to 64 here) costs ~2.3e-5 abs in the last two
// gamma columns, while scpx computes the table in double (exp and mask columns agree to 1e-6).
// Tensors built from the table inherit that noise scaled by their magnitude (|rel_logits| <= 5.3).
constexpr double kTolPosTable = 3e-5;
constexpr double kTolFromPosTable = 1e-4;

std::string fixture(const std::string& name) { return scpx::test::shared_fixture("enformer/" + name); }

io::h5_array<float> expected(const std::string& path) {
    io::h5_file f = io::h5_open_file(fixture("io.h5"));
    return io::h5_read<float>(f.id(), path);
}

/// Max |a − b| over the first `count` values (0: all of b); fails on too-short inputs.
double max_abs_diff(const float* a, size_t a_size, const std::vector<float>& b, size_t count = 0) {
    if (count == 0) count = b.size();
    EXPECT_GE(a_size, count);
    EXPECT_GE(b.size(), count);
    double m = 0.0, norm = 0.0;
    for (size_t i = 0; i < std::min({count, a_size, b.size()}); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
        if (!(d <= m)) m = d;  // NaN propagates as a failure
        norm += std::fabs(b[i]);
    }
    EXPECT_GT(norm, 0.0) << "all-zero expected tensor: the comparison would prove nothing";
    return m;
}

struct traced {
    scpx::model::enformer_output out;
    std::map<std::string, std::vector<float>> t;
};

/// One forward pass of the fixture model on the fixture inputs, shared by the tests below.
const traced& fixture_run() {
    static std::unique_ptr<traced> run;
    if (!run) {
        run = std::make_unique<traced>();
        enformer_model model(scpx::model::enformer_weights_load(fixture("weights.h5")));
        const auto in = expected("inputs/onehot");
        scpx::model::enformer_run_options opt;
        opt.trace_attention0 = true;
        opt.trace = [&](const std::string& name, const float* data, const std::vector<std::int64_t>& shape) {
            std::int64_t n = 1;
            for (auto s : shape) n *= s;
            run->t[name].assign(data, data + n);
        };
        run->out = model.predict(in.data.data(), static_cast<std::int64_t>(in.shape[0]),
                                 static_cast<std::int64_t>(in.shape[1]), opt);
    }
    return *run;
}

#define SKIP_WITHOUT_FIXTURE()                                                                    \
    if (fixture("weights.h5").empty() || fixture("io.h5").empty()) GTEST_SKIP() << "no shared/fixtures/enformer"

TEST(EnformerConfig, TowerWidths) {
    scpx::model::enformer_config full;
    EXPECT_EQ(full.tower_widths(), (std::vector<std::int64_t>{768, 768, 896, 1024, 1152, 1280, 1536}));
    scpx::model::enformer_config small;
    small.dim = 96;
    small.dim_divisible_by = 16;
    EXPECT_EQ(small.tower_widths(), (std::vector<std::int64_t>{48, 48, 48, 64, 80, 80, 96}));
}

TEST(EnformerConfig, JsonRoundTripAndErrors) {
    auto c = scpx::model::enformer_config::from_json(
        R"({"dim": 96, "depth": 2, "heads": 4, "attn_dim_key": 64, "dim_divisible_by": 16,
            "num_downsamples": 7, "seq_len": 12288, "target_length": 64,
            "output_heads": {"human": 5313, "mouse": 1643}, "preset": "small"})", "test");
    EXPECT_EQ(c.dim, 96);
    EXPECT_EQ(c.features(), 24);
    EXPECT_EQ(c.value(), 24);
    EXPECT_EQ(c.head_size("mouse"), 1643);
    auto d = scpx::model::enformer_config::from_json(c.to_json(), "again");
    EXPECT_EQ(d.to_json(), c.to_json());
    EXPECT_THROW(scpx::model::enformer_config::from_json("{not json", "x"), scpx::usage_error);
    EXPECT_THROW(scpx::model::enformer_config::from_json(R"({"dim": "wide"})", "x"), scpx::usage_error);
    EXPECT_THROW(scpx::model::enformer_config::from_json(R"({"dim": 100, "heads": 4})", "x"), scpx::usage_error);
}

TEST(EnformerConfig, LengthChecks) {
    scpx::model::enformer_config c;
    EXPECT_NO_THROW(scpx::model::enformer_check_length(c, 196608, "in"));
    EXPECT_NO_THROW(scpx::model::enformer_check_length(c, 393216, "in"));
    try {
        scpx::model::enformer_check_length(c, 196608 + 5, "--onehot x.h5:/seq");
        FAIL() << "no error";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("not a positive multiple of 128"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("--onehot x.h5:/seq"), std::string::npos) << e.what();
    }
    EXPECT_THROW(scpx::model::enformer_check_length(c, 128 * 800, "in"), scpx::usage_error);  // < 896 bins
    EXPECT_THROW(scpx::model::enformer_check_length(c, 128 * 1537, "in"), scpx::usage_error); // odd crop
}

TEST(EnformerPositional, OfficialGammaMatchesFixture) {
    SKIP_WITHOUT_FIXTURE();
    const auto tf = expected("posenc/tf");
    const auto lr = expected("posenc/lucidrains");
    ASSERT_EQ(tf.shape, (std::vector<hsize_t>{191, 24}));
    scpx::ops::positional_features_params p;
    p.n = 96;
    p.features = 24;
    const auto official = scpx::ops::positional_features_ref(p);
    std::vector<float> off(official.begin(), official.end());
    EXPECT_LE(max_abs_diff(off.data(), off.size(), tf.data), kTolPosTable);
    double non_gamma = 0.0;  // exponential and central-mask columns, both signs
    for (size_t r = 0; r < 191; ++r)
        for (size_t c : {0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19})
            non_gamma = std::max(non_gamma, std::fabs(static_cast<double>(off[r * 24 + c]) - tf.data[r * 24 + c]));
    EXPECT_LE(non_gamma, 1e-6);
    p.gamma = scpx::ops::gamma_normalization::per_position;
    const auto port = scpx::ops::positional_features_ref(p);
    std::vector<float> lucid(port.begin(), port.end());
    EXPECT_LE(max_abs_diff(lucid.data(), lucid.size(), lr.data), kTolPosTable);
    // The two normalisations must be far apart, or the test above could not tell them apart.
    EXPECT_GT(max_abs_diff(off.data(), off.size(), lr.data), 0.1);
}

TEST(EnformerPositional, ModelDoesNotUseTheLucidrainsGamma) {
    SKIP_WITHOUT_FIXTURE();
    const auto& run = fixture_run();
    const auto lr_table = expected("posenc/lucidrains");
    const auto& pos = run.t.at("attn0/pos_features");
    EXPECT_GT(max_abs_diff(pos.data(), pos.size(), lr_table.data), 0.1);
    // Outputs: close to the official model, clearly away from the port's default.
    const auto lr_human = expected("lucidrains/f32/human");  // [1, 64, 5313] (input 0)
    const auto& human = run.out.heads.at("human");
    const double to_lucidrains = max_abs_diff(human.data(), human.size(), lr_human.data);
    EXPECT_GT(to_lucidrains, 1e-3) << "model output matches the non-official gamma variant";
    const auto tf_human = expected("tf/f32/human");
    EXPECT_LT(max_abs_diff(human.data(), human.size(), tf_human.data, lr_human.data.size()), kTol);
}

TEST(EnformerFixture, HeadsAndTrunkEmbedding) {
    SKIP_WITHOUT_FIXTURE();
    const auto& run = fixture_run();
    EXPECT_EQ(run.out.batch, 3);
    EXPECT_EQ(run.out.bins, 64);
    for (const char* name : {"human", "mouse"}) {
        const auto want = expected(std::string("tf/f32/") + name);
        const auto& got = run.out.heads.at(name);
        ASSERT_EQ(got.size(), want.data.size()) << name;
        const double err = max_abs_diff(got.data(), got.size(), want.data);
        EXPECT_LE(err, kTol) << name;
        std::printf("[ max abs err ] %s %.3g\n", name, err);
    }
    const auto trunk = expected("tf/f32/trunk_embedding");
    ASSERT_EQ(run.out.trunk_embedding.size(), trunk.data.size());
    const double err = max_abs_diff(run.out.trunk_embedding.data(), run.out.trunk_embedding.size(), trunk.data);
    EXPECT_LE(err, kTol);
    std::printf("[ max abs err ] trunk_embedding %.3g\n", err);
    // Against the float64 run of the same model (the "true" values): same tolerance.
    const auto h64 = expected("tf/f64/human");  // [1, 64, 5313], input 0
    const auto& human = run.out.heads.at("human");
    const double err64 = max_abs_diff(human.data(), human.size(), h64.data);
    EXPECT_LE(err64, kTol);
    const auto t64 = expected("tf/f64/trunk_embedding");
    const double errt64 = max_abs_diff(run.out.trunk_embedding.data(), run.out.trunk_embedding.size(), t64.data);
    EXPECT_LE(errt64, kTol);
    std::printf("[ max abs err ] vs float64: human %.3g, trunk_embedding %.3g\n", err64, errt64);
}

TEST(EnformerFixture, StageIntermediates) {
    SKIP_WITHOUT_FIXTURE();
    const auto& run = fixture_run();
    std::vector<std::string> stages = {"stem/out"};
    for (int i = 0; i < 6; ++i) {
        if (i >= 1) {
            stages.push_back("tower" + std::to_string(i) + "/conv5");
            stages.push_back("tower" + std::to_string(i) + "/residual");
        }
        stages.push_back("tower" + std::to_string(i) + "/out");
    }
    for (int j = 0; j < 2; ++j) {
        stages.push_back("transformer" + std::to_string(j) + "/attn_residual");
        stages.push_back("transformer" + std::to_string(j) + "/out");
    }
    stages.push_back("crop/out");
    for (const auto& s : stages) {
        const auto want = expected("tf/f32/intermediates/" + s);  // batch 1 (input 0) or 3
        ASSERT_TRUE(run.t.count(s)) << s;
        const auto& got = run.t.at(s);
        const double err = max_abs_diff(got.data(), got.size(), want.data);
        EXPECT_LE(err, kTol) << s;
        std::printf("[ max abs err ] %s %.3g\n", s.c_str(), err);
    }
}

TEST(EnformerFixture, Block0AttentionInternals) {
    SKIP_WITHOUT_FIXTURE();
    const auto& run = fixture_run();
    for (const char* s : {"ln_in", "pos_features", "q_scaled", "k", "v", "rel_k", "content_logits",
                          "rel_logits_unshifted", "rel_logits", "attn_weights", "attn_out"}) {
        const auto want = expected(std::string("tf/f32/attn0/") + s);
        ASSERT_TRUE(run.t.count(std::string("attn0/") + s)) << s;
        const auto& got = run.t.at(std::string("attn0/") + s);
        EXPECT_EQ(got.size(), want.data.size()) << s;
        const std::string name(s);
        const bool from_table = name == "pos_features" || name == "rel_k" || name.rfind("rel_logits", 0) == 0;
        const double tol = name == "pos_features" ? kTolPosTable : from_table ? kTolFromPosTable : kTol;
        const double err = max_abs_diff(got.data(), got.size(), want.data);
        EXPECT_LE(err, tol) << s;
        std::printf("[ max abs err ] attn0/%s %.3g (tolerance %.0e)\n", s, err, tol);
    }
}

TEST(EnformerFixture, BatchAndThreadsDoNotChangeResults) {
    SKIP_WITHOUT_FIXTURE();
    const auto& run = fixture_run();
    enformer_model model(scpx::model::enformer_weights_load(fixture("weights.h5")));
    const auto in = expected("inputs/onehot");
    const std::int64_t L = static_cast<std::int64_t>(in.shape[1]);
    const int saved = scpx::ops::num_threads();
    scpx::ops::set_num_threads(1);
    scpx::model::enformer_run_options opt;
    opt.heads = {"human"};
    std::vector<std::string> differs;  // stages where sequence 1 alone differs from the batch
    opt.trace = [&](const std::string& name, const float* data, const std::vector<std::int64_t>& shape) {
        if (!run.t.count(name) || run.t.at(name).size() < 2 * static_cast<size_t>(shape[1] * shape[2])) return;
        const size_t per = static_cast<size_t>(shape[1] * shape[2]);
        if (!std::equal(data, data + per, run.t.at(name).begin() + static_cast<std::ptrdiff_t>(per))) differs.push_back(name);
    };
    const auto one = model.predict(in.data.data() + L * 4, 1, L, opt);  // sequence 1 alone
    EXPECT_TRUE(differs.empty()) << "first differing stage: " << differs.front();
    scpx::ops::set_num_threads(saved);
    EXPECT_EQ(one.heads.count("mouse"), 0u);
    const auto& all = run.out.heads.at("human");
    const size_t per = one.heads.at("human").size();
    std::vector<float> seq1(all.begin() + static_cast<std::ptrdiff_t>(per), all.begin() + 2 * static_cast<std::ptrdiff_t>(per));
    // Fixed GEMM blocks per sequence: bit-identical whatever the batch and thread count.
    EXPECT_EQ(one.heads.at("human"), seq1);
}

// ---- weight file problems -------------------------------------------------------------------

std::string copy_weights(const std::string& name) {
    const std::string dst = scpx::test::scratch_path(name);
    std::filesystem::copy_file(fixture("weights.h5"), dst);
    std::filesystem::permissions(dst, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return dst;
}

std::string load_error(const std::string& path) {
    try {
        scpx::model::enformer_weights_load(path);
    } catch (const scpx::error& e) {
        return e.what();
    }
    return "";
}

TEST(EnformerWeights, MissingTensorIsNamed) {
    SKIP_WITHOUT_FIXTURE();
    const auto path = copy_weights("enformer_missing.h5");
    {
        io::h5_file f = io::h5_open_file(path, true);
        ASSERT_GE(H5Ldelete(f.id(), "transformer.1.0.fn.1.to_v.weight", H5P_DEFAULT), 0);
    }
    const auto msg = load_error(path);
    EXPECT_NE(msg.find("transformer.1.0.fn.1.to_v.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing tensor"), std::string::npos) << msg;
    EXPECT_NE(msg.find("_trunk.4.1.0.fn.1.to_v.weight"), std::string::npos) << msg;
}

TEST(EnformerWeights, WrongShapeIsNamed) {
    SKIP_WITHOUT_FIXTURE();
    const auto path = copy_weights("enformer_shape.h5");
    {
        io::h5_file f = io::h5_open_file(path, true);
        ASSERT_GE(H5Ldelete(f.id(), "conv_tower.3.0.2.weight", H5P_DEFAULT), 0);
        std::vector<float> w(80 * 64 * 3, 0.5f);
        io::h5_write<float>(f.id(), "conv_tower.3.0.2.weight", {80, 64, 3}, w.data());
    }
    const auto msg = load_error(path);
    EXPECT_NE(msg.find("conv_tower.3.0.2.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[80, 64, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[80, 64, 5]"), std::string::npos) << msg;
}

TEST(EnformerWeights, MissingConfigIsExplained) {
    SKIP_WITHOUT_FIXTURE();
    const auto path = copy_weights("enformer_noconfig.h5");
    {
        io::h5_file f = io::h5_open_file(path, true);
        ASSERT_GE(H5Adelete(f.id(), "config"), 0);
    }
    const auto msg = load_error(path);
    EXPECT_NE(msg.find("'config'"), std::string::npos) << msg;
}

TEST(EnformerWeights, TrunkAliasesAccepted) {
    SKIP_WITHOUT_FIXTURE();
    const auto path = copy_weights("enformer_alias.h5");
    {
        io::h5_file f = io::h5_open_file(path, true);
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                 {"stem.0.weight", "_trunk.1.0.weight"},
                 {"conv_tower.2.1.fn.2.weight", "_trunk.2.2.1.fn.2.weight"},
                 {"transformer.0.0.fn.1.to_q.weight", "_trunk.4.0.0.fn.1.to_q.weight"},
                 {"final_pointwise.1.0.running_var", "_trunk.6.1.0.running_var"}})
            ASSERT_GE(H5Lmove(f.id(), from.c_str(), f.id(), to.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0) << from;
    }
    const auto a = scpx::model::enformer_weights_load(path);
    const auto b = scpx::model::enformer_weights_load(fixture("weights.h5"));
    EXPECT_EQ(a.stem_conv.w, b.stem_conv.w);
    EXPECT_EQ(a.layers[0].qkv.w, b.layers[0].qkv.w);
    EXPECT_EQ(a.final_pointwise.bn.scale, b.final_pointwise.bn.scale);
    EXPECT_EQ(scpx::model::enformer_weights_count(a), scpx::model::enformer_weights_count(b));
}

TEST(EnformerWeights, GammaTableOverrideIsUsed) {
    SKIP_WITHOUT_FIXTURE();
    const auto path = copy_weights("enformer_gamma.h5");
    std::vector<float> table(191 * 4, 0.25f);
    {
        io::h5_file f = io::h5_open_file(path, true);
        io::h5_write<float>(f.id(), "rel_pos_gamma_table", {191, 4}, table.data());
    }
    enformer_model model(scpx::model::enformer_weights_load(path));
    const auto pos = model.positional_features(96);
    EXPECT_FLOAT_EQ(pos[0 * 24 + 8], 0.25f);          // gamma block, distance −95
    EXPECT_FLOAT_EQ(pos[95 * 24 + 12 + 8], 0.0f);     // sign(0) · gamma
    EXPECT_FLOAT_EQ(pos[190 * 24 + 12 + 9], 0.25f);   // sign(+95) · gamma
    const auto other = model.positional_features(48); // table is for n = 96: computed instead
    EXPECT_NE(other[0 * 24 + 8], 0.25f);
}

TEST(EnformerWeights, RandomWeightsRunAtOtherLengths) {
    scpx::model::enformer_config c;
    c.dim = 48; c.depth = 1; c.heads = 2; c.key_size = 8; c.dim_divisible_by = 8; c.target_length = 4;
    c.output_heads = {{"human", 7}};
    enformer_model model(scpx::model::enformer_weights_random(c, 7));
    std::vector<float> x(128 * 8 * 4, 0.0f);
    for (size_t i = 0; i < x.size() / 4; ++i) x[i * 4 + (i * 7 % 4)] = 1.0f;
    const auto a = model.predict(x.data(), 1, 128 * 8);
    EXPECT_EQ(a.heads.at("human").size(), 4u * 7u);
    for (float v : a.heads.at("human")) EXPECT_TRUE(v >= 0.0f && std::isfinite(v));
    std::vector<float> y(128 * 16 * 4, 0.25f);
    const auto b = model.predict(y.data(), 1, 128 * 16);  // twice as long: 16 bins cropped to 4
    EXPECT_EQ(b.trunk_embedding.size(), 4u * 96u);
    EXPECT_THROW(model.predict(y.data(), 1, 128 * 16 + 64), scpx::usage_error);
    scpx::model::enformer_run_options o;
    o.heads = {"zebrafish"};
    EXPECT_THROW(model.predict(y.data(), 1, 128 * 16, o), scpx::usage_error);
}

} // namespace
