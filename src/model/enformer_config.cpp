#include "scpx/model/enformer_config.hpp"

#include "scpx/core/error.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace scpx::model {

std::vector<std::int64_t> enformer_config::tower_widths() const {
    // exponential_linspace_int(dim/2, dim, num_downsamples − 1, dim_divisible_by), prefixed by
    // dim/2. Python's round() rounds half to even; std::nearbyint does the same by default.
    const double start = static_cast<double>(dim / 2), end = static_cast<double>(dim);
    const std::int64_t num = num_downsamples - 1;
    std::vector<std::int64_t> out{dim / 2};
    const double base = num > 1 ? std::exp(std::log(end / start) / static_cast<double>(num - 1)) : 1.0;
    const double div = static_cast<double>(dim_divisible_by);
    for (std::int64_t i = 0; i < num; ++i) {
        const double x = start * std::pow(base, static_cast<double>(i));
        out.push_back(static_cast<std::int64_t>(std::nearbyint(x / div) * div));
    }
    return out;
}

std::int64_t enformer_config::head_size(const std::string& name) const {
    for (const auto& [n, s] : output_heads)
        if (n == name) return s;
    return -1;
}

void enformer_config::validate() const {
    auto positive = [](std::int64_t v, const char* name) {
        if (v < 1) throw usage_error(std::string("Enformer config: '") + name + "' must be >= 1 (got " + std::to_string(v) + ")");
    };
    positive(dim, "dim");
    positive(depth, "depth");
    positive(heads, "heads");
    positive(key_size, "attn_dim_key");
    positive(dim_divisible_by, "dim_divisible_by");
    positive(num_downsamples, "num_downsamples");
    positive(target_length, "target_length");
    if (dim % 2 != 0) throw usage_error("Enformer config: 'dim' must be even (got " + std::to_string(dim) + ")");
    if (value_size <= 0 && dim % heads != 0)
        throw usage_error("Enformer config: 'dim' must be a multiple of 'heads'");
    if (features() % 6 != 0)
        throw usage_error("Enformer config: the relative positional feature count (" + std::to_string(features()) +
                          ") must be a multiple of 6");
    if (num_downsamples < 2) throw usage_error("Enformer config: 'num_downsamples' must be >= 2");
    for (auto w : tower_widths())
        if (w < 1) throw usage_error("Enformer config: a conv tower width rounds to 0 (dim_divisible_by too large)");
    if (output_heads.empty()) throw usage_error("Enformer config: no output heads");
    for (const auto& [name, size] : output_heads)
        if (size < 1) throw usage_error("Enformer config: head '" + name + "' has no tracks");
}

enformer_config enformer_config::from_json(const std::string& text, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        throw usage_error(source + ": the Enformer config is not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw usage_error(source + ": the Enformer config must be a JSON object");
    enformer_config c;
    auto get = [&](const char* key, std::int64_t& dst) {
        if (!j.contains(key) || j[key].is_null()) return;
        if (!j[key].is_number_integer())
            throw usage_error(source + ": Enformer config '" + key + "' must be an integer");
        dst = j[key].get<std::int64_t>();
    };
    get("dim", c.dim);
    get("depth", c.depth);
    get("heads", c.heads);
    get("attn_dim_key", c.key_size);
    get("dim_value", c.value_size);
    get("num_rel_pos_features", c.rel_features);
    get("dim_divisible_by", c.dim_divisible_by);
    get("num_downsamples", c.num_downsamples);
    get("seq_len", c.seq_len);
    get("target_length", c.target_length);
    if (j.contains("output_heads")) {
        const auto& h = j["output_heads"];
        if (!h.is_object()) throw usage_error(source + ": Enformer config 'output_heads' must be an object {name: tracks}");
        c.output_heads.clear();
        for (auto it = h.begin(); it != h.end(); ++it) {
            if (!it.value().is_number_integer())
                throw usage_error(source + ": Enformer config 'output_heads." + it.key() + "' must be an integer");
            c.output_heads.emplace_back(it.key(), it.value().get<std::int64_t>());
        }
    }
    c.validate();
    return c;
}

std::string enformer_config::to_json() const {
    nlohmann::json j;
    j["dim"] = dim;
    j["depth"] = depth;
    j["heads"] = heads;
    j["attn_dim_key"] = key_size;
    if (value_size > 0) j["dim_value"] = value_size;
    if (rel_features > 0) j["num_rel_pos_features"] = rel_features;
    j["dim_divisible_by"] = dim_divisible_by;
    j["num_downsamples"] = num_downsamples;
    j["seq_len"] = seq_len;
    j["target_length"] = target_length;
    nlohmann::json h = nlohmann::json::object();
    for (const auto& [name, size] : output_heads) h[name] = size;
    j["output_heads"] = h;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // head names are the file's
}

void enformer_check_bases(std::size_t count, std::int64_t batch, std::int64_t length) {
    if (batch >= 1 && length >= 1 && count != static_cast<std::size_t>(batch * length))
        throw usage_error("Enformer: " + std::to_string(count) + " bases given for " + std::to_string(batch) +
                          " sequences of " + std::to_string(length) + " bp");
}

void enformer_check_length(const enformer_config& cfg, std::int64_t length, const std::string& what) {
    const std::int64_t unit = std::int64_t{1} << cfg.num_downsamples;
    if (length < unit || length % unit != 0)
        throw usage_error(what + ": sequence length " + std::to_string(length) + " bp is not a positive multiple of " +
                          std::to_string(unit) + " (the model halves the length " +
                          std::to_string(cfg.num_downsamples) + " times)");
    const std::int64_t n = length / unit;
    if (n < cfg.target_length || (n - cfg.target_length) % 2 != 0)
        throw usage_error(what + ": sequence length " + std::to_string(length) + " bp gives " + std::to_string(n) +
                          " bins, which cannot be cropped to the model's target length " +
                          std::to_string(cfg.target_length) + " (need at least that many and an even difference)");
}

} // namespace scpx::model
