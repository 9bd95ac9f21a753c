#pragma once
/// @file enformer_config.hpp
/// Hyper-parameters of an Enformer model (enformer-pytorch's EnformerConfig names).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace scpx::model {

/// Enformer hyper-parameters. Defaults are the published model; the JSON form uses the
/// enformer-pytorch config names (dim, depth, heads, attn_dim_key, dim_divisible_by,
/// num_downsamples, seq_len, target_length, output_heads) plus optional dim_value and
/// num_rel_pos_features (both default to dim / heads, as in the published model).
struct enformer_config {
    std::int64_t dim = 1536;              ///< transformer width d
    std::int64_t depth = 11;              ///< transformer blocks
    std::int64_t heads = 8;               ///< attention heads H
    std::int64_t key_size = 64;           ///< attn_dim_key K
    std::int64_t value_size = 0;          ///< per-head value size V (0: dim / heads)
    std::int64_t rel_features = 0;        ///< relative positional features F (0: dim / heads)
    std::int64_t dim_divisible_by = 128;  ///< rounding of the conv tower widths
    std::int64_t num_downsamples = 7;     ///< stem pool + conv tower blocks (2^7 = 128 bp per bin)
    std::int64_t seq_len = 196608;        ///< input length in bp (runtime inputs may override)
    std::int64_t target_length = 896;     ///< output bins kept by the crop
    /// Output heads (name, tracks), in the order they are stored.
    std::vector<std::pair<std::string, std::int64_t>> output_heads = {{"human", 5313}, {"mouse", 1643}};

    /// V actually used.
    std::int64_t value() const { return value_size > 0 ? value_size : dim / heads; }
    /// F actually used.
    std::int64_t features() const { return rel_features > 0 ? rel_features : dim / heads; }
    /// Channel widths [dim/2, tower block 0 … tower block num_downsamples−2]: tower block i maps
    /// widths[i] → widths[i+1] (enformer-pytorch's exponential_linspace_int, Python rounding).
    std::vector<std::int64_t> tower_widths() const;
    /// Bins after the trunk for an input of `length` bp (length / 2^num_downsamples).
    std::int64_t transformer_length(std::int64_t length) const { return length >> num_downsamples; }
    /// Tracks of head `name`, or −1 when there is no such head.
    std::int64_t head_size(const std::string& name) const;

    /// Checks internal consistency (positive sizes, F a multiple of 6, even crop, dim even).
    /// @throws usage_error naming the offending value
    void validate() const;

    /// Parses the JSON form (unknown keys are ignored; missing keys keep the defaults above).
    /// @param source  where the text came from, for messages
    /// @throws usage_error when the text is not JSON or a value has the wrong type
    static enformer_config from_json(const std::string& text, const std::string& source);
    /// The JSON form (round-trips through from_json).
    std::string to_json() const;
};

/// Checks an input length for this model: a positive multiple of 2^num_downsamples whose bin
/// count is at least target_length with an even difference.
/// @throws usage_error explaining what is wrong, naming `what` (e.g. "--onehot x.h5:/seq")
void enformer_check_length(const enformer_config& cfg, std::int64_t length, const std::string& what);

/// Checks that `count` DNA letters are `batch` sequences of `length` bp (predict_bases' input;
/// non-positive batch or length are left to the callers' own checks). @throws usage_error
void enformer_check_bases(std::size_t count, std::int64_t batch, std::int64_t length);

} // namespace scpx::model
