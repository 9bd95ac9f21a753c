#pragma once
/// @file rel_attention.cuh
/// The attention core of Enformer's MHA with Transformer-XL relative positions, as one fused
/// flash-style kernel: for a tile of queries it computes content logits (q+u)·kᵀ and relative
/// logits (q+w)·relkᵀ over the band of relative keys the tile needs, applies the relative shift as
/// an index gather (column j − i + n − 1), runs an online softmax over j and accumulates A·v —
/// the [n, n] logits never reach memory. The projections around it (x·[Wq|Wk|Wv] before,
/// ·Wo + bo + residual after) are cuBLASLt GEMMs in the model driver.
/// Reference: ops::rel_attention_ref (whose debug outputs give per-stage cross-tests).

#include "kernel_types.cuh"

namespace scpx::cuda {

/// out[b, i, h·V + v] = Σ_j softmax_j(logits[h,i,·]) · V[b, j, h, v] with
/// logits[h,i,j] = (q_s[i] + u_h)·k[j] + (q_s[i] + w_h)·relk[j − i + n − 1, h],
/// q_s = q · q_scale (scale BEFORE the biases, as the reference).
struct rel_attention_args {
    std::int64_t batch = 1;              ///< B
    std::int64_t n = 0;                  ///< sequence length
    std::int64_t heads = 0;              ///< H
    std::int64_t key = 0;                ///< K (64 in Enformer)
    std::int64_t value = 0;              ///< V (192 in Enformer)
    const void* qkv = nullptr;           ///< [B, n, 2·H·K + H·V]: q | k | v, head-major, q unscaled
    const void* rel_k = nullptr;         ///< [2n−1, H·K] relative keys (row r ↔ distance r − (n−1))
    const float* content_bias = nullptr; ///< [H, K] u
    const float* pos_bias = nullptr;     ///< [H, K] w
    float q_scale = 0.125f;              ///< K^-0.5
    void* out = nullptr;                 ///< [B, n, H·V] head-major concat
    precision prec = precision::FP32;
    /// rel_attention_flash only: query rows per block, 64 (0: the default) or 128 (8 warps, one
    /// block per SM, half the K/V tile loads per query and, in BF16, the band prefetched too).
    int flash_query_rows = 0;
};

void rel_attention(const rel_attention_args& a, cudaStream_t stream);

/// What the attention kernels read, passed to them by value: the shape, the row stride of qkv
/// (2·H·K + H·V), the pointers and whether 16-byte row loads are legal.
struct rel_attention_view {
    std::int64_t n = 0, heads = 0, key = 0, value = 0;
    std::int64_t width = 0; ///< row stride of qkv
    const void* qkv = nullptr;
    const void* rel_k = nullptr;
    const float* u = nullptr;
    const float* w = nullptr;
    float q_scale = 1.0f;
    void* out = nullptr;
    bool vec = false; ///< 16-byte loads of K, V and relk rows are legal

    /// Where head h of sequence b starts, in the storage type T: its q, k and v columns (rows
    /// `width` apart) and its relative-key columns (rows heads·key apart).
    template <class T> struct head_columns {
        const T *q, *k, *v, *rel_k;
    };
    template <class T> __device__ head_columns<T> head(std::int64_t b, std::int64_t h) const {
        const T* seq = static_cast<const T*>(qkv) + b * n * width;
        const std::int64_t hk = heads * key;
        return {seq + h * key, seq + hk + h * key, seq + 2 * hk + h * value, static_cast<const T*>(rel_k) + h * key};
    }
};

/// The view of checked arguments (see check_rel_attention_args).
rel_attention_view rel_attention_view_of(const rel_attention_args& a);

/// The argument checks every attention backend shares (tensors present, shape within grid limits);
/// `who` names the caller in the message. @throws usage_error
void check_rel_attention_args(const rel_attention_args& a, const char* who);

} // namespace scpx::cuda
