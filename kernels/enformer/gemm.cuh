#pragma once
/// @file gemm.cuh
/// Row-major GEMMs through cuBLASLt for the plain matrix products of the model (QKV, attention
/// output, MLP, final pointwise when no BN is folded into it, heads), with the precision's
/// compute type (FP32: CUBLAS_COMPUTE_32F; TF32: CUBLAS_COMPUTE_32F_FAST_TF32; BF16: bf16 A/B,
/// fp32 compute) and cuBLASLt's bias / ReLU-bias epilogues. A heuristic algorithm is chosen once
/// per shape and cached; the workspace is owned by the caller's arena.

#include "kernel_types.cuh"

#include <cublasLt.h>

#include <map>
#include <string>
#include <tuple>

namespace scpx::cuda {

enum class gemm_epilogue { NONE, BIAS, RELU_BIAS };

/// D[M, N] = A[M, K] · B[K, N] (+ bias[N]) (relu) + beta · C[M, N], all row-major.
/// A, C, D are activations (precision's type) unless d_f32 (D and C fp32); B is a weight in the
/// precision's type; bias fp32 (see gemm_engine::bias_route_of for how it is added). C may equal D (in-place residual add with beta = 1).
struct gemm_args {
    std::int64_t m = 0, n = 0, k = 0;
    const void* a = nullptr;
    std::int64_t lda = 0;              ///< row stride of A in elements (0: k)
    const void* b = nullptr;
    const float* bias = nullptr;
    /// Optional bf16 copy of `bias` made once by the caller (e.g. at weight upload): where the
    /// bias reaches cuBLASLt as bf16 (bias_route_of: "bf16 bias epilogue") it is read instead of
    /// converting `bias` on every call.
    const __nv_bfloat16* bias_bf16 = nullptr;
    gemm_epilogue epilogue = gemm_epilogue::NONE;
    float beta = 0.0f;
    const void* c = nullptr;           ///< with beta ≠ 0
    void* d = nullptr;
    bool d_f32 = false;
    precision prec = precision::FP32;
};

/// D_i[M, N] = A_i[M, K] · op(B_i) for i < batch (no bias, beta 0), row-major with explicit
/// leading dimensions and batch strides (all in elements): op(B) is B[K, N] (ldb) or, with
/// b_trans, the transpose of a stored B[N, K] (ldb). The attention's products per head
/// (q·kᵀ, q·relkᵀ, P·v) read heads in place through ld/stride. A, B in the precision's type;
/// D too unless d_f32.
struct batched_gemm_args {
    std::int64_t m = 0, n = 0, k = 0, batch = 1;
    const void* a = nullptr;
    std::int64_t lda = 0, stride_a = 0;
    const void* b = nullptr;
    std::int64_t ldb = 0, stride_b = 0;
    bool b_trans = false;
    void* d = nullptr;
    std::int64_t ldd = 0, stride_d = 0;
    bool d_f32 = false;
    precision prec = precision::FP32;
};

/// A cuBLASLt handle, its workspace and the per-shape algorithm cache. One per stream/rank.
class gemm_engine {
public:
    /// @param workspace device memory for cuBLASLt (≥ 32 MiB recommended), owned by the caller
    gemm_engine(void* workspace, std::size_t workspace_bytes);
    ~gemm_engine();
    gemm_engine(const gemm_engine&) = delete;
    gemm_engine& operator=(const gemm_engine&) = delete;

    /// Enqueues one GEMM on `stream`. @throws cuda_error / usage_error
    void run(const gemm_args& g, cudaStream_t stream);
    /// Enqueues one strided-batched GEMM on `stream`. @throws cuda_error / usage_error
    void run_batched(const batched_gemm_args& g, cudaStream_t stream);

    /// How the bias of an already-run shape is applied ("fp32 bias epilogue", "bf16 bias
    /// epilogue", "separate bias pass"; "" for a shape not run yet). cuBLASLt does not take
    /// every bias type with every output type (gemm.cu), hence the fallbacks.
    std::string bias_route_of(const gemm_args& g) const;
    /// Test hook: plans made from now on skip the epilogue and add the bias in a separate pass.
    void force_separate_bias(bool on);

    /// Throughput mode: each new shape asks the heuristic for up to `candidates` algorithms and
    /// keeps the fastest on its first call's operands (a warm-up and the best of 3 runs each; a
    /// C == D call times into a temporary output, so the caller's data sees exactly one run).
    /// The heuristic's first answer is kept for 1 (the default: deterministic, no timing) and
    /// while a graph is being captured. Like conv_backend AUTO, the choice can differ between
    /// runs, and so can the last bits of the results. Clears the plans made so far.
    void set_autotune(int candidates);
    /// One line per tuned shape: candidates run, the heuristic's first and the chosen time.
    std::string tuning_report() const;

private:
    struct impl;
    impl* p_;
};

} // namespace scpx::cuda
