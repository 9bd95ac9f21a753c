#pragma once
/// @file enformer_gpu.hpp
/// Enformer forward pass on one CUDA device (kernels/enformer/), with the CPU model
/// (enformer.hpp) as its reference. Host code includes only this header; without CUDA compiled in,
/// src/model/enformer_gpu_none.cpp makes construction throw and gpu::available() is false.
///
/// Memory plan: weights are uploaded once in the run's precision; activations live in one arena
/// sized once per (batch, length) — reserve() — and reused by every layer and every call; no
/// allocation happens inside predict(). One stream per object (one object per MPI rank).

#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/seq/onehot.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::model {

/// Options of the GPU model.
struct enformer_gpu_options {
    gpu::precision prec = gpu::precision::FP32;
    /// Convolution implementation: "custom", "cudnn" or "auto" (time both per shape, keep the faster).
    std::string conv_backend = "custom";
    /// Attention core: "gemm" (cuBLASLt products over the [n, n] logits + a shift-softmax kernel),
    /// "fused" (one flash-style kernel on wmma tiles, no n² workspace), "flash" (register-tiled
    /// FlashAttention-2 style kernel on mma.sync; TF32/BF16 only — FP32 runs "gemm", and
    /// describe() says so) or "auto": the fastest measured per precision (H200: flash for BF16,
    /// 0.63 vs 1.64 ms per Enformer layer at batch 8; gemm for TF32 and FP32). Same arithmetic
    /// contract, deterministic either way.
    std::string attention = "auto";
    /// Softmax pooling: "gemm" (cuBLASLt logits in fp32 chunks + a pairing kernel) or "fused"
    /// (one tensor-core kernel, logits never in memory). Same arithmetic contract.
    std::string pool = "gemm";
    /// cuBLASLt algorithms timed per GEMM shape on its first call (the fastest is kept): -1 lets
    /// conv_backend decide (8 under "auto", the throughput mode; none otherwise, for reproducible
    /// choices), 0 takes the heuristic's first answer.
    int gemm_tune = -1;
    /// Rows per step of the convolutions that run as cuBLASLt GEMMs (the pointwise ConvBlocks'
    /// BN → GELU pass, the stem's im2col): each step's transformed rows go to scratch and straight
    /// into its GEMM. 0: one step per sequence — the fastest measured (H100, bf16, 196,608 bp,
    /// batch 8, 4,096-pair pool chunks: 125.3 seq/s at 0 against 119.9 / 118.5 / 115.2 at 16,384 /
    /// 8,192 / 4,096 rows: keeping the rows in L2 saves less than the smaller GEMMs and the extra
    /// launches cost).
    /// Results do not depend on the batch either way.
    std::int64_t gemm_chunk_rows = 0;
    /// Pairs per chunk of the cuBLASLt softmax pool (row differences → logit GEMM → pairing); 0:
    /// one chunk per sequence — the fastest measured (H100, bf16, batch 8: 133.1 seq/s against
    /// 131.7 at 16,384 pairs at 196,608 bp, 60.9 against 59.6 at 393,216 bp), for a workspace of
    /// L/2·C·6 bytes (bf16; 0.9 GB at 393,216 bp).
    std::int64_t pool_chunk_pairs = 0;
    /// BF16 only: the pool's logit differences leave their GEMM in bf16 instead of fp32 (half the
    /// bytes written and read back; the softmax weight σ(d) moves by ≤ 2⁻⁹·|d|·σ'(d), well below
    /// the bf16 rounding of the pooled value).
    bool pool_bf16_logits = true;
    /// The transformer's GEMMs (QKV, output projection, MLP) and the heads: one GEMM over the whole
    /// batch (1) or one per sequence (0), which keeps a sequence's result independent of the batch
    /// it came in, bit for bit. -1: batched under conv_backend "auto" (the throughput mode, which
    /// times its choices anyway), per sequence otherwise.
    int batch_gemms = -1;
    /// The pointwise convolutions' GEMM steps and the softmax pools' chunks span sequences (1: as
    /// many rows of the batch as their scratch holds — fewer, fuller GEMMs for the short late-tower
    /// sequences, whose per-sequence GEMMs leave SMs idle in their last wave) or stay per sequence
    /// (0), which keeps a sequence's result independent of its batch. -1: as batch_gemms. Only with
    /// whole-sequence steps (gemm_chunk_rows / pool_chunk_pairs 0). Not yet timed on a GPU.
    int batch_steps = -1;
    /// The flash attention core's query rows per block: 64 (four warps, two blocks per SM; the
    /// measured kernel) or 128 (eight warps sharing each K/V tile, the BF16 band prefetched; not
    /// yet timed on a GPU). 0: 64.
    int flash_query_rows = 0;
    /// BF16: the stem convolution writes the pointwise block's input gelu(bn(y)) beside its output
    /// y in one tensor-core pass (kernels/enformer/conv_dual.cuh), so the separate BN-GELU pass
    /// over the stem's activations (≈ 0.6 GB per 196,608-bp sequence through memory) is not
    /// needed; the pointwise GEMM then runs per sequence. Off by default: not yet timed on a GPU.
    /// Other precisions, or a device whose shared memory cannot hold the kernel's weight copy,
    /// keep the usual stem (describe() says so).
    bool fused_stem = false;
    /// The bias of the stem's and the conv tower's wide convolutions (k = 15, k = 5) goes into the
    /// residual pointwise block after each (its BN shift becomes shift + scale·b, its bias
    /// b_pw + b, and its residual the bias-free convolution output), so the convolution writes its
    /// raw output: cuDNN, which cannot add a bias of its own, then needs no separate bias pass
    /// (read + write of every tower activation, ≈ 0.7 GB per 196,608-bp sequence in bf16). Equal in
    /// exact arithmetic; in bf16 one rounding fewer. On by default: it only removes work (the gain
    /// is not yet measured on a GPU).
    bool fold_conv_bias = true;
    int device = 0; ///< CUDA device ordinal
    /// Time the stages of every predict() with CUDA events (stage_times()); results unchanged.
    bool profile_stages = false;
};

/// Checks enformer_gpu_options' attention and pool choices, naming them `attention_name` and
/// `pool_name` in the message (the CLI's option names, or the library's). @throws usage_error
inline void enformer_check_gpu_kernels(const std::string& attention, const std::string& pool,
                                       const std::string& attention_name, const std::string& pool_name) {
    if (attention != "auto" && attention != "gemm" && attention != "fused" && attention != "flash")
        throw usage_error(attention_name + " must be auto, gemm, fused or flash (got '" + attention + "')");
    if (pool != "gemm" && pool != "fused") throw usage_error(pool_name + " must be gemm or fused (got '" + pool + "')");
}

/// Device time of one stage, summed over the predict() calls since the last reset.
struct enformer_stage_time {
    std::string stage;  ///< "input", "stem", "conv tower", "attention", "feed-forward", "final pointwise", "heads"
    double ms = 0;
    std::int64_t calls = 0;
};

/// What to compute in one call.
struct enformer_gpu_request {
    /// Heads to compute (empty: all).
    std::vector<std::string> heads;
    /// Output bins wanted, as [bin0, bin0 + bins) of the cropped target_length bins; bins = 0
    /// means all. When fewer than all, the final pointwise and the heads run on these bins only
    /// (the trunk still runs in full).
    std::int64_t bin0 = 0;
    std::int64_t bins = 0;
    bool trunk_embedding = false; ///< also return the [B, bins, 2·dim] embedding
};

/// Enformer on a GPU.
class enformer_gpu_model {
public:
    /// Uploads the weights (converted to the precision) to the device.
    /// @throws usage_error when CUDA is not compiled in or no device is usable; cuda_error on failure
    enformer_gpu_model(const enformer_weights& weights, const enformer_gpu_options& options);
    ~enformer_gpu_model();
    enformer_gpu_model(const enformer_gpu_model&) = delete;
    enformer_gpu_model& operator=(const enformer_gpu_model&) = delete;

    /// Sizes the activation arena for up to `batch` sequences of `length` bp (done implicitly by
    /// predict when a call needs more). Also precomputes the relative keys for this length.
    void reserve(std::int64_t batch, std::int64_t length);
    /// Sizes the arena for the largest batch of max_batch, max_batch/2, …, 1 sequences of `length`
    /// bp that the device's memory holds with room for one more activation buffer beside it (what
    /// the throughput mode's first call borrows to time its convolutions), and returns it.
    /// @throws cuda_out_of_memory when not even one sequence fits
    std::int64_t reserve_largest(std::int64_t max_batch, std::int64_t length);

    /// Runs the model. onehot is host memory [batch, length, 4] fp32; the result is host fp32 in
    /// the layout of enformer_output (heads [B, bins, tracks]).
    enformer_output predict(const float* onehot, std::int64_t batch, std::int64_t length,
                            const enformer_gpu_request& request = {});
    /// Same from DNA letters: `bases` holds batch·length letters, sequence after sequence, encoded
    /// as seq::onehot_ref does (n_mode for non-ACGT letters) — on the device, after an upload of
    /// one byte per base instead of the 16 of an fp32 one-hot row. Same result as predict() on
    /// the encoded rows. @throws usage_error when bases.size() ≠ batch·length
    enformer_output predict_bases(std::string_view bases, std::int64_t batch, std::int64_t length,
                                  seq::onehot_n_mode n_mode, const enformer_gpu_request& request = {});

    /// Bytes of device memory held (weights + arena + workspaces), for logs and benchmarks.
    std::size_t device_bytes() const;
    /// Per-shape convolution choices and timings (conv_backend "auto"), one line each, then the
    /// GEMM shapes whose cuBLASLt algorithm "auto" chose by timing.
    std::string conv_report() const;
    /// Per-stage device time (options.profile_stages), in pipeline order; empty when not profiling.
    /// "attention" is LayerNorm + QKV + attention + output projection, "feed-forward" LayerNorm +
    /// the two MLP GEMMs (all layers), "heads" includes the copies to the host.
    std::vector<enformer_stage_time> stage_times() const;
    void reset_stage_times();
    /// The options in effect, e.g. "cuda:0 NVIDIA H100 … bf16, conv custom".
    std::string describe() const;

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

} // namespace scpx::model
