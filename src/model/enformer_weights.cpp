#include "scpx/model/enformer_weights.hpp"

#include "scpx/core/error.hpp"
#include "scpx/io/h5.hpp"

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <utility>

namespace scpx::model {

namespace {

using shape_t = std::vector<std::int64_t>;

std::string shape_str(const shape_t& s) {
    std::ostringstream o;
    o << '[';
    for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

/// What a tensor is, for the random initialiser (the loader ignores it).
enum class kind { weight, bias, bn_gamma, bn_beta, bn_mean, bn_var, ln_gamma, ln_beta, pool, rel_bias };

/// Hands out tensors in torch layout by canonical state_dict name with the expected shape.
using tensor_source = std::function<std::vector<float>(const std::string& name, const shape_t& shape, kind k)>;

/// The `_trunk.N.` alias of a canonical trunk name, or "" for head tensors.
std::string trunk_alias(const std::string& name) {
    static const std::pair<const char*, const char*> map[] = {
        {"stem.", "_trunk.1."}, {"conv_tower.", "_trunk.2."}, {"transformer.", "_trunk.4."}, {"final_pointwise.", "_trunk.6."}};
    for (const auto& [canon, alias] : map) {
        const std::string c(canon);
        if (name.compare(0, c.size(), c) == 0) return alias + name.substr(c.size());
    }
    return "";
}

/// Reader of the HDF5 weight file.
tensor_source h5_source(const io::h5_file& f, const std::string& path) {
    return [&f, path](const std::string& name, const shape_t& shape, kind) {
        std::string found;
        const std::string alias = trunk_alias(name);
        if (io::h5_exists(f.id(), name)) found = name;
        else if (!alias.empty() && io::h5_exists(f.id(), alias)) found = alias;
        if (found.empty())
            throw input_error(path, "", name,
                              "missing tensor" + (alias.empty() ? std::string() : " (also looked for '" + alias + "')") +
                                  "; expected shape " + shape_str(shape));
        const io::h5_info info = io::h5_dataset_info(f.id(), found);
        shape_t got(info.shape.begin(), info.shape.end());
        if (got != shape)
            throw input_error(path, "", found,
                              "shape " + shape_str(got) + " does not match the model config (expected " +
                                  shape_str(shape) + ")");
        if (!info.is_float)
            throw input_error(path, "", found, "expected floating-point data, found " + info.describe());
        return io::h5_read<float>(f.id(), found).data;
    };
}

/// Random tensors following the fixture's recipe.
tensor_source random_source(std::uint64_t seed) {
    auto rng = std::make_shared<std::mt19937_64>(seed);
    return [rng](const std::string&, const shape_t& shape, kind k) {
        std::int64_t count = 1;
        for (auto s : shape) count *= s;
        std::vector<float> v(static_cast<size_t>(count));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::uniform_real_distribution<float> uni(0.0f, 1.0f);
        const std::int64_t fan_in = shape.size() >= 2 ? count / shape[0] : 1;
        for (std::int64_t i = 0; i < count; ++i) {
            float x = 0.0f;
            switch (k) {
            case kind::weight: x = normal(*rng) / std::sqrt(static_cast<float>(fan_in)); break;
            case kind::bias: x = 0.1f * normal(*rng); break;
            case kind::bn_gamma: x = 0.5f + uni(*rng); break;
            case kind::bn_beta: x = 0.1f * normal(*rng); break;
            case kind::bn_mean: x = 0.2f * normal(*rng); break;
            case kind::bn_var: x = 0.5f + 1.5f * uni(*rng); break;
            case kind::ln_gamma: x = 1.0f + 0.1f * normal(*rng); break;
            case kind::ln_beta: x = 0.1f * normal(*rng); break;
            case kind::pool: {
                const std::int64_t C = shape[0];
                const std::int64_t o = i / C, in = i % C;
                x = (o == in ? 2.0f : 0.0f) + normal(*rng) / std::sqrt(static_cast<float>(C));
                break;
            }
            case kind::rel_bias: x = 0.5f * normal(*rng); break;
            }
            v[static_cast<size_t>(i)] = x;
        }
        return v;
    };
}

bn_weights read_bn(const tensor_source& src, const std::string& prefix, std::int64_t C) {
    const auto gamma = src(prefix + "weight", {C}, kind::bn_gamma);
    const auto beta = src(prefix + "bias", {C}, kind::bn_beta);
    const auto mean = src(prefix + "running_mean", {C}, kind::bn_mean);
    const auto var = src(prefix + "running_var", {C}, kind::bn_var);
    bn_weights bn;
    bn.scale.resize(static_cast<size_t>(C));
    bn.shift.resize(static_cast<size_t>(C));
    for (size_t c = 0; c < static_cast<size_t>(C); ++c) {
        // Folded in double: BatchNorm1d eval with eps 1e-5 (Sonnet's default too).
        const double s = static_cast<double>(gamma[c]) / std::sqrt(static_cast<double>(var[c]) + 1e-5);
        bn.scale[c] = static_cast<float>(s);
        bn.shift[c] = static_cast<float>(static_cast<double>(beta[c]) - static_cast<double>(mean[c]) * s);
    }
    return bn;
}

conv_weights read_conv(const tensor_source& src, const std::string& prefix, std::int64_t cin, std::int64_t cout,
                       std::int64_t k) {
    const auto w = src(prefix + "weight", {cout, cin, k}, kind::weight);
    conv_weights c;
    c.cin = cin; c.cout = cout; c.kernel = k;
    c.w.resize(static_cast<size_t>(k * cin * cout));
    for (std::int64_t o = 0; o < cout; ++o)
        for (std::int64_t i = 0; i < cin; ++i)
            for (std::int64_t t = 0; t < k; ++t)
                c.w[static_cast<size_t>((t * cin + i) * cout + o)] = w[static_cast<size_t>((o * cin + i) * k + t)];
    c.bias = src(prefix + "bias", {cout}, kind::bias);
    return c;
}

conv_block_weights read_conv_block(const tensor_source& src, const std::string& prefix, std::int64_t cin,
                                   std::int64_t cout, std::int64_t k) {
    conv_block_weights b;
    b.bn = read_bn(src, prefix + "0.", cin);
    b.conv = read_conv(src, prefix + "2.", cin, cout, k);
    return b;
}

pool_weights read_pool(const tensor_source& src, const std::string& name, std::int64_t C) {
    const auto w = src(name, {C, C, 1, 1}, kind::pool);
    pool_weights p;
    p.channels = C;
    p.w.resize(static_cast<size_t>(C * C));
    for (std::int64_t o = 0; o < C; ++o)
        for (std::int64_t i = 0; i < C; ++i) p.w[static_cast<size_t>(i * C + o)] = w[static_cast<size_t>(o * C + i)];
    return p;
}

/// Appends torch Linear weight [out, in] transposed as columns [col0, col0 + out) of a [in, total] matrix.
void put_transposed(std::vector<float>& dst, std::int64_t total, std::int64_t col0, const std::vector<float>& w,
                    std::int64_t out, std::int64_t in) {
    for (std::int64_t o = 0; o < out; ++o)
        for (std::int64_t i = 0; i < in; ++i)
            dst[static_cast<size_t>(i * total + col0 + o)] = w[static_cast<size_t>(o * in + i)];
}

linear_weights read_linear(const tensor_source& src, const std::string& prefix, std::int64_t in, std::int64_t out,
                           bool bias) {
    linear_weights l;
    l.in = in; l.out = out;
    l.w.resize(static_cast<size_t>(in * out));
    put_transposed(l.w, out, 0, src(prefix + "weight", {out, in}, kind::weight), out, in);
    if (bias) l.bias = src(prefix + "bias", {out}, kind::bias);
    return l;
}

enformer_weights read_all(const enformer_config& cfg, const tensor_source& src) {
    cfg.validate();
    enformer_weights w;
    w.config = cfg;
    const std::int64_t d = cfg.dim, H = cfg.heads, K = cfg.key_size, V = cfg.value(), F = cfg.features();
    const auto widths = cfg.tower_widths();
    const std::int64_t half = widths.front();

    w.stem_conv = read_conv(src, "stem.0.", 4, half, 15);
    w.stem_pointwise = read_conv_block(src, "stem.1.fn.", half, half, 1);
    w.stem_pool = read_pool(src, "stem.2.to_attn_logits.weight", half);
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
        const std::string p = "conv_tower." + std::to_string(i) + ".";
        tower_block_weights t;
        t.conv = read_conv_block(src, p + "0.", widths[i], widths[i + 1], 5);
        t.pointwise = read_conv_block(src, p + "1.fn.", widths[i + 1], widths[i + 1], 1);
        t.pool = read_pool(src, p + "2.to_attn_logits.weight", widths[i + 1]);
        w.tower.push_back(std::move(t));
    }
    if (widths.back() != d)
        throw usage_error("Enformer config: the conv tower ends at " + std::to_string(widths.back()) +
                          " channels but dim is " + std::to_string(d));
    for (std::int64_t j = 0; j < cfg.depth; ++j) {
        const std::string p = "transformer." + std::to_string(j) + ".";
        transformer_layer_weights l;
        l.ln1_gamma = src(p + "0.fn.0.weight", {d}, kind::ln_gamma);
        l.ln1_beta = src(p + "0.fn.0.bias", {d}, kind::ln_beta);
        const std::string a = p + "0.fn.1.";
        const std::int64_t width = 2 * H * K + H * V;
        l.qkv.in = d; l.qkv.out = width;
        l.qkv.w.resize(static_cast<size_t>(d * width));
        put_transposed(l.qkv.w, width, 0, src(a + "to_q.weight", {H * K, d}, kind::weight), H * K, d);
        put_transposed(l.qkv.w, width, H * K, src(a + "to_k.weight", {H * K, d}, kind::weight), H * K, d);
        put_transposed(l.qkv.w, width, 2 * H * K, src(a + "to_v.weight", {H * V, d}, kind::weight), H * V, d);
        l.rel_k = read_linear(src, a + "to_rel_k.", F, H * K, false);
        l.content_bias = src(a + "rel_content_bias", {1, H, 1, K}, kind::rel_bias);
        l.pos_bias = src(a + "rel_pos_bias", {1, H, 1, K}, kind::rel_bias);
        l.out = read_linear(src, a + "to_out.", H * V, d, true);
        l.ln2_gamma = src(p + "1.fn.0.weight", {d}, kind::ln_gamma);
        l.ln2_beta = src(p + "1.fn.0.bias", {d}, kind::ln_beta);
        l.mlp1 = read_linear(src, p + "1.fn.1.", d, 2 * d, true);
        l.mlp2 = read_linear(src, p + "1.fn.4.", 2 * d, d, true);
        w.layers.push_back(std::move(l));
    }
    w.final_pointwise = read_conv_block(src, "final_pointwise.1.", d, 2 * d, 1);
    for (const auto& [name, size] : cfg.output_heads) {
        head_weights h;
        h.name = name;
        h.linear = read_linear(src, "_heads." + name + ".0.", 2 * d, size, true);
        w.heads.push_back(std::move(h));
    }
    return w;
}

} // namespace

enformer_weights enformer_weights_load(const std::string& path) {
    io::h5_file f = io::h5_open_file(path);
    if (!io::h5_has_attr(f.id(), "config"))
        throw input_error(path, "", "config",
                          "the weight file has no 'config' attribute (JSON hyper-parameters); convert it with "
                          "scripts/convert_enformer_weights.py");
    const enformer_config cfg = enformer_config::from_json(io::h5_read_attr_string(f.id(), "config"), path + " (attribute 'config')");
    enformer_weights w = read_all(cfg, h5_source(f, path));
    if (io::h5_exists(f.id(), "rel_pos_gamma_table")) {
        auto t = io::h5_read<float>(f.id(), "rel_pos_gamma_table", 2);
        const std::int64_t rows = static_cast<std::int64_t>(t.shape[0]), cols = static_cast<std::int64_t>(t.shape[1]);
        if (cols != cfg.features() / 6 || rows % 2 == 0)
            throw input_error(path, "", "rel_pos_gamma_table",
                              "shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "] is not [2n-1, " +
                                  std::to_string(cfg.features() / 6) + "]");
        w.gamma_table = std::move(t.data);
        w.gamma_table_n = (rows + 1) / 2;
    }
    w.source = path;
    return w;
}

enformer_weights enformer_weights_random(const enformer_config& cfg, std::uint64_t seed) {
    enformer_weights w = read_all(cfg, random_source(seed));
    w.source = "random (seed " + std::to_string(seed) + ")";
    return w;
}

std::int64_t enformer_weights_count(const enformer_weights& w) {
    std::int64_t n = 0;
    auto conv = [&](const conv_weights& c) { n += static_cast<std::int64_t>(c.w.size() + c.bias.size()); };
    auto block = [&](const conv_block_weights& b) { n += 2 * static_cast<std::int64_t>(b.bn.scale.size()); conv(b.conv); };
    auto lin = [&](const linear_weights& l) { n += static_cast<std::int64_t>(l.w.size() + l.bias.size()); };
    conv(w.stem_conv);
    block(w.stem_pointwise);
    n += static_cast<std::int64_t>(w.stem_pool.w.size());
    for (const auto& t : w.tower) { block(t.conv); block(t.pointwise); n += static_cast<std::int64_t>(t.pool.w.size()); }
    for (const auto& l : w.layers) {
        n += static_cast<std::int64_t>(l.ln1_gamma.size() * 4 + l.content_bias.size() + l.pos_bias.size());
        lin(l.qkv); lin(l.rel_k); lin(l.out); lin(l.mlp1); lin(l.mlp2);
    }
    block(w.final_pointwise);
    for (const auto& h : w.heads) lin(h.linear);
    return n;
}

} // namespace scpx::model
