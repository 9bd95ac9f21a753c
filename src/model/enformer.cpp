#include "scpx/model/enformer.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/ops/conv1d.hpp"
#include "scpx/ops/crop.hpp"
#include "scpx/ops/layer_norm.hpp"
#include "scpx/ops/linear.hpp"
#include "scpx/ops/mlp.hpp"
#include "scpx/ops/positional_features.hpp"
#include "scpx/ops/rel_attention.hpp"
#include "scpx/ops/softmax_pool.hpp"

#include <algorithm>
#include <utility>

namespace scpx::model {

namespace {

using buffer = std::vector<float>;

buffer alloc(std::int64_t n) { return buffer(static_cast<size_t>(n)); }

/// Runs a ConvBlock (BN → GELU → conv) on [B, L, cin] into a new [B, L, cout] buffer, adding
/// `residual` when given.
buffer conv_block(const conv_block_weights& cb, const float* x, std::int64_t B, std::int64_t L,
                  const float* residual = nullptr, bool out_gelu = false) {
    buffer y = alloc(B * L * cb.conv.cout);
    ops::conv1d_params p;
    p.batch = B; p.length = L; p.cin = cb.conv.cin; p.cout = cb.conv.cout; p.kernel = cb.conv.kernel;
    p.x = x; p.w = cb.conv.w.data(); p.bias = cb.conv.bias.data();
    p.in_scale = cb.bn.scale.data(); p.in_shift = cb.bn.shift.data(); p.in_gelu = true;
    p.out_gelu = out_gelu; p.residual = residual; p.y = y.data();
    ops::conv1d_ref(p);
    return y;
}

buffer pool(const pool_weights& pw, const float* x, std::int64_t B, std::int64_t L) {
    buffer y = alloc(B * (L / 2) * pw.channels);
    ops::softmax_pool_params p;
    p.batch = B; p.length = L; p.channels = pw.channels; p.x = x; p.w = pw.w.data(); p.y = y.data();
    ops::softmax_pool_ref(p);
    return y;
}

} // namespace

enformer_model::enformer_model(enformer_weights weights) : w_(std::move(weights)) {}

std::vector<float> enformer_model::positional_features(std::int64_t n) const {
    ops::positional_features_params p;
    p.n = n;
    p.features = w_.config.features();
    p.gamma = ops::gamma_normalization::per_feature;
    if (w_.gamma_table_n == n) p.gamma_table = w_.gamma_table.data();
    const auto d = ops::positional_features_ref(p);
    return std::vector<float>(d.begin(), d.end());
}

const std::vector<float>& enformer_model::relative_keys(std::int64_t layer, std::int64_t n) const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = rel_k_cache_.find(n);
    if (it == rel_k_cache_.end()) {
        if (w_.gamma_table_n > 0 && w_.gamma_table_n != n)
            SCPX_LOG_WRN_SHARED(
                "the weight file's gamma table is for {} bins, not {}: computing the gamma features",
                w_.gamma_table_n, n);
        const auto pos = positional_features(n);
        std::vector<std::vector<float>> keys;
        for (const auto& l : w_.layers) {
            std::vector<float> r(static_cast<size_t>((2 * n - 1) * l.rel_k.out));
            ops::linear_params p;
            p.rows = 2 * n - 1; p.in = l.rel_k.in; p.out = l.rel_k.out; p.x = pos.data(); p.w = l.rel_k.w.data();
            p.y = r.data();
            ops::linear_ref(p);
            keys.push_back(std::move(r));
        }
        it = rel_k_cache_.emplace(n, std::move(keys)).first;
    }
    return it->second.at(static_cast<size_t>(layer));
}

double enformer_model::flops_per_sequence(std::int64_t length) const {
    const auto& c = w_.config;
    const auto widths = c.tower_widths();
    double f = 0.0;
    double L = static_cast<double>(length);
    const double half = static_cast<double>(widths[0]);
    f += 2.0 * L * 4 * 15 * half + 2.0 * L * half * half * 2;  // conv15, pointwise, pool logits
    L /= 2;
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
        const double ci = static_cast<double>(widths[i]), co = static_cast<double>(widths[i + 1]);
        f += 2.0 * L * ci * co * 5 + 2.0 * L * co * co * 2;
        L /= 2;
    }
    const double n = L, d = static_cast<double>(c.dim), H = static_cast<double>(c.heads);
    const double K = static_cast<double>(c.key_size), V = static_cast<double>(c.value());
    const double layer = 2.0 * n * d * (2 * H * K + H * V)       // q, k, v
                         + 2.0 * H * n * n * K                    // content logits
                         + 2.0 * H * n * (2 * n - 1) * K          // relative logits
                         + 2.0 * H * n * n * V                    // attention · v
                         + 2.0 * n * H * V * d                    // output projection
                         + 2.0 * n * d * 2 * d * 2;               // MLP
    f += static_cast<double>(c.depth) * layer;
    const double T = static_cast<double>(c.target_length);
    f += 2.0 * T * d * 2 * d;
    for (const auto& [name, size] : c.output_heads) f += 2.0 * T * 2 * d * static_cast<double>(size);
    return f;
}

enformer_output enformer_model::predict(const float* onehot, std::int64_t B, std::int64_t length,
                                        const enformer_run_options& opt) const {
    const auto& cfg = w_.config;
    if (B < 1) throw usage_error("Enformer: batch must be >= 1");
    enformer_check_length(cfg, length, "Enformer input");
    std::vector<const head_weights*> heads;
    if (opt.heads.empty()) {
        for (const auto& h : w_.heads) heads.push_back(&h);
    } else {
        for (const auto& name : opt.heads) {
            auto it = std::find_if(w_.heads.begin(), w_.heads.end(), [&](const head_weights& h) { return h.name == name; });
            if (it == w_.heads.end()) throw usage_error("Enformer: the model has no head named '" + name + "'");
            heads.push_back(&*it);
        }
    }
    auto trace = [&](const std::string& name, const buffer& b, std::vector<std::int64_t> shape) {
        if (opt.trace) opt.trace(name, b.data(), shape);
    };

    // Stem: conv15 (no BN on the one-hot input) → x + ConvBlock1(x) → softmax pool.
    std::int64_t L = length;
    const std::int64_t half = w_.stem_conv.cout;
    buffer x;
    {
        buffer c = alloc(B * L * half);
        ops::conv1d_params p;
        p.batch = B; p.length = L; p.cin = 4; p.cout = half; p.kernel = w_.stem_conv.kernel;
        p.x = onehot; p.w = w_.stem_conv.w.data(); p.bias = w_.stem_conv.bias.data(); p.y = c.data();
        ops::conv1d_ref(p);
        buffer r = conv_block(w_.stem_pointwise, c.data(), B, L, c.data());
        c = buffer();
        x = pool(w_.stem_pool, r.data(), B, L);
        L /= 2;
        trace("stem/out", x, {B, L, half});
    }
    // Conv tower: ConvBlock5 → residual pointwise ConvBlock → softmax pool.
    std::int64_t C = half;
    for (size_t i = 0; i < w_.tower.size(); ++i) {
        const auto& t = w_.tower[i];
        const std::string name = "tower" + std::to_string(i);
        buffer c = conv_block(t.conv, x.data(), B, L);
        x = buffer();
        C = t.conv.conv.cout;
        trace(name + "/conv5", c, {B, L, C});
        buffer r = conv_block(t.pointwise, c.data(), B, L, c.data());
        c = buffer();
        trace(name + "/residual", r, {B, L, C});
        x = pool(t.pool, r.data(), B, L);
        L /= 2;
        trace(name + "/out", x, {B, L, C});
    }
    // Transformer: x += MHA(LN(x)); x += MLP(LN(x)).
    const std::int64_t n = L, d = cfg.dim, H = cfg.heads, K = cfg.key_size, V = cfg.value();
    SCPX_ASSERT(C == d);
    buffer ln = alloc(B * n * d), y = alloc(B * n * d);
    for (size_t j = 0; j < w_.layers.size(); ++j) {
        const auto& l = w_.layers[j];
        const std::string name = "transformer" + std::to_string(j);
        ops::layer_norm_params lp;
        lp.rows = B * n; lp.channels = d; lp.x = x.data(); lp.gamma = l.ln1_gamma.data(); lp.beta = l.ln1_beta.data();
        lp.y = ln.data();
        ops::layer_norm_ref(lp);

        ops::rel_attention_params ap;
        ap.batch = B; ap.n = n; ap.dim = d; ap.heads = H; ap.key = K; ap.value = V;
        ap.x = ln.data(); ap.w_qkv = l.qkv.w.data(); ap.rel_k = relative_keys(static_cast<std::int64_t>(j), n).data();
        ap.content_bias = l.content_bias.data(); ap.pos_bias = l.pos_bias.data();
        ap.w_out = l.out.w.data(); ap.b_out = l.out.bias.data(); ap.residual = x.data(); ap.y = y.data();
        const bool dbg = j == 0 && opt.trace && opt.trace_attention0;
        buffer q, k, v, cl, ru, rl, aw, ah;
        if (dbg) {
            q = alloc(H * n * K); k = alloc(H * n * K); v = alloc(H * n * V); cl = alloc(H * n * n);
            ru = alloc(H * n * (2 * n - 1)); rl = alloc(H * n * n); aw = alloc(H * n * n); ah = alloc(n * H * V);
            ap.debug = {q.data(), k.data(), v.data(), cl.data(), ru.data(), rl.data(), aw.data(), ah.data()};
        }
        ops::rel_attention_ref(ap);
        if (dbg) {
            trace("attn0/ln_in", ln, {1, n, d});
            trace("attn0/pos_features", positional_features(n), {2 * n - 1, cfg.features()});
            const auto& rk = relative_keys(0, n);
            buffer rkh = alloc(H * (2 * n - 1) * K);  // [H, 2n−1, K] as in the fixture
            for (std::int64_t h = 0; h < H; ++h)
                for (std::int64_t r = 0; r < 2 * n - 1; ++r)
                    for (std::int64_t c2 = 0; c2 < K; ++c2)
                        rkh[static_cast<size_t>((h * (2 * n - 1) + r) * K + c2)] = rk[static_cast<size_t>(r * H * K + h * K + c2)];
            trace("attn0/rel_k", rkh, {H, 2 * n - 1, K});
            trace("attn0/q_scaled", q, {1, H, n, K});
            trace("attn0/k", k, {1, H, n, K});
            trace("attn0/v", v, {1, H, n, V});
            trace("attn0/content_logits", cl, {1, H, n, n});
            trace("attn0/rel_logits_unshifted", ru, {1, H, n, 2 * n - 1});
            trace("attn0/rel_logits", rl, {1, H, n, n});
            trace("attn0/attn_weights", aw, {1, H, n, n});
            trace("attn0/attn_heads", ah, {1, n, H * V});
            buffer out0(y.begin(), y.begin() + n * d);
            for (size_t i = 0; i < out0.size(); ++i) out0[i] -= x[i];
            trace("attn0/attn_out", out0, {1, n, d});
        }
        trace(name + "/attn_residual", y, {B, n, d});

        lp.x = y.data(); lp.gamma = l.ln2_gamma.data(); lp.beta = l.ln2_beta.data(); lp.y = ln.data();
        ops::layer_norm_ref(lp);
        ops::mlp_params mp;
        mp.rows = B * n; mp.dim = d; mp.hidden = l.mlp1.out; mp.x = ln.data();
        mp.w1 = l.mlp1.w.data(); mp.b1 = l.mlp1.bias.data(); mp.w2 = l.mlp2.w.data(); mp.b2 = l.mlp2.bias.data();
        mp.residual = y.data(); mp.y = x.data(); mp.segment = n;
        ops::mlp_ref(mp);
        trace(name + "/out", x, {B, n, d});
    }
    ln = buffer();
    y = buffer();
    // Crop → final pointwise ConvBlock → GELU → heads.
    const std::int64_t T = cfg.target_length;
    buffer cropped = alloc(B * T * d);
    ops::crop_params cp;
    cp.batch = B; cp.length = n; cp.target = T; cp.channels = d; cp.x = x.data(); cp.y = cropped.data();
    ops::crop_ref(cp);
    x = buffer();
    trace("crop/out", cropped, {B, T, d});

    enformer_output out;
    out.batch = B;
    out.bins = T;
    out.trunk_embedding = conv_block(w_.final_pointwise, cropped.data(), B, T, nullptr, /*out_gelu=*/true);
    trace("trunk_embedding", out.trunk_embedding, {B, T, 2 * d});
    for (const auto* h : heads) {
        buffer o = alloc(B * T * h->linear.out);
        ops::linear_params p;
        p.rows = B * T; p.in = h->linear.in; p.out = h->linear.out; p.x = out.trunk_embedding.data();
        p.w = h->linear.w.data(); p.bias = h->linear.bias.data(); p.act = ops::activation::softplus; p.y = o.data();
        p.segment = T;
        ops::linear_ref(p);
        out.heads.emplace(h->name, std::move(o));
    }
    return out;
}

} // namespace scpx::model
