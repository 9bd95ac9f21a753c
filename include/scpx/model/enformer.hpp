#pragma once
/// @file enformer.hpp
/// Enformer forward pass on the CPU (the numerical reference for the CUDA path), built from the
/// scpx::ops references. Spec: shared/docs/enformer.md.

#include "scpx/model/enformer_weights.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace scpx::model {

/// Receives intermediate tensors during a forward pass (tests, debugging). Names follow the
/// fixture io.h5: "stem/out", "tower{i}/conv5", "tower{i}/residual", "tower{i}/out",
/// "transformer{j}/attn_residual", "transformer{j}/out", "crop/out", "trunk_embedding", and with
/// trace_attention0 the block-0 internals of sequence 0: "attn0/ln_in", "attn0/pos_features",
/// "attn0/q_scaled", "attn0/k", "attn0/v", "attn0/rel_k", "attn0/content_logits",
/// "attn0/rel_logits_unshifted", "attn0/rel_logits", "attn0/attn_weights", "attn0/attn_heads",
/// "attn0/attn_out". Activations are NLC and cover the whole batch unless stated.
using enformer_trace =
    std::function<void(const std::string& name, const float* data, const std::vector<std::int64_t>& shape)>;

/// Options of one forward pass.
struct enformer_run_options {
    /// Heads to compute (empty: all in the config).
    std::vector<std::string> heads;
    /// Optional intermediate-tensor callback.
    enformer_trace trace;
    /// Also trace the block-0 attention internals (allocates H·n·(3n) floats; small models only).
    bool trace_attention0 = false;
};

/// Result of a forward pass.
struct enformer_output {
    std::int64_t batch = 0;                            ///< B
    std::int64_t bins = 0;                             ///< target_length
    std::vector<float> trunk_embedding;                ///< [B, bins, 2·dim]
    std::map<std::string, std::vector<float>> heads;   ///< name → [B, bins, tracks]
};

/// An Enformer ready to run: weights plus the per-length relative-key cache.
class enformer_model {
public:
    /// Takes the weights (validated by the loader).
    explicit enformer_model(enformer_weights weights);

    /// The model's hyper-parameters.
    const enformer_config& config() const { return w_.config; }
    /// The weights.
    const enformer_weights& weights() const { return w_; }

    /// Runs the model on one-hot sequences.
    /// @param onehot  [batch, length, 4] float one-hot (A, C, G, T; N = all-zero row)
    /// @param length  bp per sequence; any length enformer_check_length accepts
    /// @throws usage_error for an invalid length or an unknown head name
    enformer_output predict(const float* onehot, std::int64_t batch, std::int64_t length,
                            const enformer_run_options& options = {}) const;

    /// The [2n−1, F] positional features used for transformer length n (official per-feature
    /// gamma normalisation, or the weight file's gamma table when it was made for this n).
    std::vector<float> positional_features(std::int64_t n) const;

    /// Relative keys of layer `layer` for length n: positional features · Wr, [2n−1, H·K].
    /// Input-independent, so computed once per (n, layer) and cached.
    const std::vector<float>& relative_keys(std::int64_t layer, std::int64_t n) const;

    /// Multiply-add count ×2 of one sequence of `length` bp (convs, pools, matmuls; the same
    /// accounting as shared/docs/enformer.md §6), for GFLOP/s reports.
    double flops_per_sequence(std::int64_t length) const;

private:
    enformer_weights w_;
    mutable std::mutex cache_mutex_;
    mutable std::map<std::int64_t, std::vector<std::vector<float>>> rel_k_cache_;
};

} // namespace scpx::model
