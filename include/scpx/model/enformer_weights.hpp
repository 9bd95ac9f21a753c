#pragma once
/// @file enformer_weights.hpp
/// Enformer parameters in the layouts the ops consume, loaded from scpx's HDF5 weight file.
///
/// The file holds one dataset per PyTorch state_dict key of enformer-pytorch, under its exact
/// name and torch layout (Conv1d [out, in, k], Linear [out, in], attention pool [C, C, 1, 1],
/// relative biases [1, H, 1, K], batch norm 1-D), plus a JSON `config` attribute on the root
/// (enformer_config::from_json). `_trunk.{1,2,4,6}.` aliases of the trunk tensors are accepted
/// in place of `stem.`, `conv_tower.`, `transformer.`, `final_pointwise.`; `num_batches_tracked`
/// is ignored. An optional root dataset `rel_pos_gamma_table` [2n−1, F/6] replaces the computed
/// gamma positional features for length n (e.g. TF's own table, enformer-pytorch tf_gammas.pt).
/// scripts/convert_enformer_weights.py writes this format from torch or TF checkpoints.

#include "scpx/model/enformer_config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scpx::model {

/// Inference batch norm folded to y = x·scale + shift (scale = γ/√(var+1e-5), shift = β − mean·scale).
struct bn_weights {
    std::vector<float> scale; ///< [C]
    std::vector<float> shift; ///< [C]
};

/// A Conv1d in GEMM layout.
struct conv_weights {
    std::int64_t cin = 0, cout = 0, kernel = 1;
    std::vector<float> w;    ///< [k·cin, cout], row t·cin + i = torch weight[o, i, t]
    std::vector<float> bias; ///< [cout]
};

/// ConvBlock: BN → GELU → Conv1d.
struct conv_block_weights {
    bn_weights bn;
    conv_weights conv;
};

/// Softmax pooling logits matrix.
struct pool_weights {
    std::int64_t channels = 0;
    std::vector<float> w; ///< [C, C] with logits = x·w (torch weight[o, i] transposed)
};

/// One conv tower block: ConvBlock(k=5) → residual pointwise ConvBlock → softmax pool.
struct tower_block_weights {
    conv_block_weights conv;
    conv_block_weights pointwise;
    pool_weights pool;
};

/// A dense layer in GEMM layout.
struct linear_weights {
    std::int64_t in = 0, out = 0;
    std::vector<float> w;    ///< [in, out] (torch weight transposed)
    std::vector<float> bias; ///< [out] (empty: no bias)
};

/// One transformer block.
struct transformer_layer_weights {
    std::vector<float> ln1_gamma, ln1_beta; ///< attention LayerNorm [d]
    linear_weights qkv;                     ///< [d, 2HK + HV]: to_q | to_k | to_v, no bias
    linear_weights rel_k;                   ///< [F, HK] to_rel_k, no bias
    std::vector<float> content_bias;        ///< [H, K] rel_content_bias (r_w_bias)
    std::vector<float> pos_bias;            ///< [H, K] rel_pos_bias (r_r_bias)
    linear_weights out;                     ///< [HV, d] + bias, to_out
    std::vector<float> ln2_gamma, ln2_beta; ///< MLP LayerNorm [d]
    linear_weights mlp1;                    ///< [d, 2d] + bias
    linear_weights mlp2;                    ///< [2d, d] + bias
};

/// One output head (Linear → softplus).
struct head_weights {
    std::string name;
    linear_weights linear; ///< [2d, tracks] + bias
};

/// Every parameter of a model.
struct enformer_weights {
    enformer_config config;
    conv_weights stem_conv;                       ///< Conv1d(4 → dim/2, k=15)
    conv_block_weights stem_pointwise;            ///< residual pointwise block
    pool_weights stem_pool;
    std::vector<tower_block_weights> tower;       ///< num_downsamples − 1 blocks
    std::vector<transformer_layer_weights> layers;///< depth blocks
    conv_block_weights final_pointwise;           ///< ConvBlock(d → 2d, k=1), then GELU
    std::vector<head_weights> heads;              ///< config.output_heads order
    std::vector<float> gamma_table;               ///< optional [2n−1, F/6] override
    std::int64_t gamma_table_n = 0;               ///< the n of gamma_table (0: none)
    std::string source;                           ///< file it came from ("random" otherwise)
};

/// Loads and validates a weight file.
/// @throws io_error when the file cannot be opened; input_error naming the file and the tensor
///         when a tensor is missing or its shape does not match the config; usage_error for a
///         missing or invalid config attribute
enformer_weights enformer_weights_load(const std::string& path);

/// Random weights of the right shapes (for benchmarks and tests): conv/linear weights
/// N(0, 1/fan_in), biases N(0, 0.1), BN γ U(0.5, 1.5), β N(0, 0.1), mean N(0, 0.2), var U(0.5, 2),
/// LN γ 1 + N(0, 0.1), pool W = 2I + N(0, 1/C), relative biases N(0, 0.5) — the fixture's recipe.
enformer_weights enformer_weights_random(const enformer_config& cfg, std::uint64_t seed);

/// Number of trainable parameters (for logs).
std::int64_t enformer_weights_count(const enformer_weights& w);

} // namespace scpx::model
