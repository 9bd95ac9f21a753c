// Row-major GEMMs on cuBLASLt (contract: gemm.cuh).
//
// cuBLASLt is column-major. A row-major D[M×N] (ld ldd) is the column-major Dᵀ[N×M], and
// Dᵀ = op(B)ᵀ·Aᵀ: the row-major A[M×K] (ld lda) read column-major is Aᵀ[K×M]; the row-major
// B[K×N] (ld ldb) read column-major is Bᵀ[N×K], used as is; a stored B[N×K] whose transpose is
// wanted (b_trans) reads column-major as Bᵀ[K×N] and is used transposed. One matmul with
// (m', n', k') = (N, M, K), cuBLASLt's A being our B. The bias epilogue broadcasts over Dᵀ's
// columns, i.e. bias[N] per output channel, which is what a dense layer needs. A batch is
// cuBLASLt's strided batch on every layout.
//
// Descriptors, layouts and the heuristic's algorithm are built once per shape key and reused;
// per call only the pointers (bias through the descriptor) change. The key includes the
// pointer alignments (and for a batch, the strides'), because cuBLASLt's kernels may assume the
// alignment the heuristic was told (default 256 B) and a cropped row view, a head's column
// offset or an odd head width is less aligned than that.
#include "gemm.cuh"

#include "common.cuh"
#include "elementwise.cuh"
#include "scpx/core/error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace scpx::cuda {

namespace {

/// Largest power of two (≤ 256) dividing the address: the alignment cuBLASLt may rely on.
std::uint32_t alignment_of(const void* p) {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t a = 256;
    while (a > 1 && (v % a) != 0) a /= 2;
    return a;
}

/// Every GEMM in one form: a batched GEMM plus what only gemm_args has (bias epilogue, C).
/// gemm_args is batch 1 with ldb = ldd = n.
struct full_args : batched_gemm_args {
    const void* c = nullptr; ///< C, or D when beta is 0
    const float* bias = nullptr;
    const __nv_bfloat16* bias_bf16 = nullptr; ///< the caller's bf16 copy of bias, if any
    gemm_epilogue epilogue = gemm_epilogue::NONE;
    float beta = 0.0f;
};

struct shape_key {
    std::int64_t m, n, k, batch, lda, stride_a, ldb, stride_b, ldd, stride_d;
    int prec, epilogue;
    bool b_trans, d_f32, use_c;
    std::uint32_t align_a, align_b, align_c, align_d;
    auto tie() const {
        return std::tie(m, n, k, batch, lda, stride_a, ldb, stride_b, ldd, stride_d, prec, epilogue, b_trans, d_f32, use_c,
                        align_a, align_b, align_c, align_d);
    }
    bool operator<(const shape_key& o) const { return tie() < o.tie(); }
};

/// Alignment every batch member's pointer keeps: that of the base and of the stride in bytes.
std::uint32_t batch_alignment(const void* base, std::int64_t batch, std::int64_t stride, std::size_t elem_bytes) {
    std::uint32_t a = alignment_of(base);
    if (batch > 1) {
        const auto bytes = static_cast<std::uintptr_t>(stride) * elem_bytes;
        a = std::min(a, alignment_of(reinterpret_cast<const void*>(bytes == 0 ? 256 : bytes)));
    }
    return a;
}

shape_key key_of(const full_args& g) {
    const std::size_t ab = element_bytes(g.prec), cd = (g.prec == precision::BF16 && !g.d_f32) ? 2 : 4;
    return shape_key{g.m, g.n, g.k, g.batch, g.lda, g.stride_a, g.ldb, g.stride_b, g.ldd, g.stride_d,
                     static_cast<int>(g.prec), static_cast<int>(g.epilogue), g.b_trans, g.d_f32, g.beta != 0.0f,
                     batch_alignment(g.a, g.batch, g.stride_a, ab), batch_alignment(g.b, g.batch, g.stride_b, ab),
                     batch_alignment(g.c, g.batch, g.stride_d, cd), batch_alignment(g.d, g.batch, g.stride_d, cd)};
}

/// How a bias epilogue reaches the output. cuBLASLt on an H100 (cuBLAS 13.1) refuses an fp32 bias
/// vector with a bf16 D (the heuristic answers CUBLAS_STATUS_INVALID_VALUE), so each shape tries,
/// in order: the fp32 bias in the epilogue (exact: the bias is added in fp32 before D is
/// rounded), a bf16 copy of the bias in the epilogue (the bias rounded once to bf16, as
/// PyTorch's autocast does), and a plain GEMM followed by bias_act (D rounded twice).
enum class bias_route { EPILOGUE_F32, EPILOGUE_BF16, SEPARATE };

const char* route_name(bias_route r) {
    return r == bias_route::EPILOGUE_F32 ? "fp32 bias epilogue"
           : r == bias_route::EPILOGUE_BF16 ? "bf16 bias epilogue" : "separate bias pass";
}

/// One shape's cuBLASLt objects.
struct plan {
    cublasLtMatmulDesc_t desc = nullptr;
    // C and D share one layout object: cuBLASLt's in-place rule (C == D) asks for Cdesc == Ddesc.
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
    cublasLtMatmulAlgo_t algo{};
    /// The heuristic's answers, best-ranked first (algo is the first until tuning picks another).
    std::vector<cublasLtMatmulAlgo_t> candidates;
    bias_route route = bias_route::EPILOGUE_F32;

    plan() = default;
    plan(const plan&) = delete;
    plan& operator=(const plan&) = delete;
    ~plan() {
        // Destruction errors cannot be reported from a destructor; the handle outlives the plans.
        if (la) cublasLtMatrixLayoutDestroy(la);
        if (lb) cublasLtMatrixLayoutDestroy(lb);
        if (lc) cublasLtMatrixLayoutDestroy(lc);
        if (desc) cublasLtMatmulDescDestroy(desc);
    }
};

// Local name: gpu::to_string lives in scpx_lib, which scpx_kernels must not depend on.
const char* precision_name(precision p) {
    return p == precision::BF16 ? "bf16" : p == precision::TF32 ? "tf32" : "fp32";
}

std::string describe(const full_args& g) {
    return (g.batch > 1 ? std::to_string(g.batch) + " × GEMM " : std::string("GEMM ")) + std::to_string(g.m) + "x" +
           std::to_string(g.k) + " * " + std::to_string(g.k) + "x" + std::to_string(g.n) + (g.b_trans ? " (Bᵀ)" : "") +
           " (" + precision_name(g.prec) + (g.d_f32 ? ", fp32 out" : "") + ")";
}

full_args full_of(const gemm_args& g) {
    full_args f;
    f.m = g.m;
    f.n = g.n;
    f.k = g.k;
    f.a = g.a;
    f.lda = g.lda > 0 ? g.lda : g.k;
    f.b = g.b;
    f.ldb = g.n;
    f.beta = g.beta;
    f.c = g.beta != 0.0f ? g.c : g.d;
    f.d = g.d;
    f.ldd = g.n;
    f.bias = g.bias;
    f.bias_bf16 = g.bias_bf16;
    f.epilogue = g.epilogue;
    f.d_f32 = g.d_f32;
    f.prec = g.prec;
    return f;
}

} // namespace

struct gemm_engine::impl {
    cublasLtHandle_t handle = nullptr;
    void* workspace = nullptr;
    std::size_t workspace_bytes = 0;
    std::map<shape_key, std::unique_ptr<plan>> plans;
    bool force_separate_bias = false;
    __nv_bfloat16* bias_bf16 = nullptr; ///< per-call bf16 copy of the bias (EPILOGUE_BF16)
    std::int64_t bias_bf16_len = 0;
    int tune_candidates = 1;             ///< heuristic answers timed per new shape (1: none)
    std::vector<std::string> tuning;     ///< one line per tuned shape, for tuning_report()

    const plan& get(const full_args& g, const shape_key& key, cudaStream_t stream);
    /// Times each candidate algorithm on this call's operands and keeps the fastest in p.algo.
    void tune(plan& p, const full_args& g, cudaStream_t stream);
    /// Points the descriptor's bias at this call's bias (or its bf16 copy) for p's route.
    void set_bias_pointer(const plan& p, const full_args& g, cudaStream_t stream);
    /// Builds `p` for `route`; a cuBLASLt refusal comes back as a status, not an exception.
    cublasStatus_t build(plan& p, const full_args& g, const shape_key& key, bias_route route) const;
    void run(const full_args& g, cudaStream_t stream);
    const __nv_bfloat16* bias_as_bf16(const float* bias, std::int64_t n, cudaStream_t stream);
};

cublasStatus_t gemm_engine::impl::build(plan& p, const full_args& g, const shape_key& key, bias_route route) const {
    p.route = route;
    const bool bf16 = g.prec == precision::BF16;
    const cudaDataType_t ab_type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    const cudaDataType_t cd_type = (bf16 && !g.d_f32) ? CUDA_R_16BF : CUDA_R_32F;
    // FP32 is the reference: CUBLAS_COMPUTE_32F never uses tensor-core TF32 in cuBLASLt (the
    // compute type is explicit here, unlike cuBLAS's math mode). BF16 inputs accumulate in fp32.
    const cublasComputeType_t compute =
        g.prec == precision::TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasStatus_t st = cublasLtMatmulDescCreate(&p.desc, compute, CUDA_R_32F);
    const auto set = [&](cublasLtMatmulDescAttributes_t attr, const void* v, std::size_t bytes) {
        if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatmulDescSetAttribute(p.desc, attr, v, bytes);
    };
    const cublasOperation_t op_n = CUBLAS_OP_N, op_a = g.b_trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    set(CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a);
    set(CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof op_n);
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (route != bias_route::SEPARATE) {
        if (g.epilogue == gemm_epilogue::BIAS) epi = CUBLASLT_EPILOGUE_BIAS;
        if (g.epilogue == gemm_epilogue::RELU_BIAS) epi = CUBLASLT_EPILOGUE_RELU_BIAS;
    }
    set(CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi);
    if (epi != CUBLASLT_EPILOGUE_DEFAULT) {
        // Biases are fp32 in every precision (kernel_types.cuh); unset, cuBLASLt would read them
        // in D's type.
        const cudaDataType_t bias_type = route == bias_route::EPILOGUE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
        set(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type);
        const void* bias = g.bias;
        set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
    }
    // Column-major view (see the file comment): cuBLASLt's A is our B ([N×K], or [K×N] used
    // transposed), its B our A [K×M], D' [N×M]; a batch is a strided batch on each.
    const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    const auto layout = [&](cublasLtMatrixLayout_t* l, cudaDataType_t type, std::int64_t rows, std::int64_t cols,
                            std::int64_t ld, std::int64_t stride) {
        if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatrixLayoutCreate(l, type, u(rows), u(cols), ld);
        if (g.batch > 1) {
            const auto count = static_cast<std::int32_t>(g.batch);
            if (st == CUBLAS_STATUS_SUCCESS)
                st = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count);
            if (st == CUBLAS_STATUS_SUCCESS)
                st = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                      sizeof stride);
        }
    };
    if (g.b_trans) layout(&p.la, ab_type, g.k, g.n, g.ldb, g.stride_b);
    else layout(&p.la, ab_type, g.n, g.k, g.ldb, g.stride_b);
    layout(&p.lb, ab_type, g.k, g.m, g.lda, g.stride_a);
    layout(&p.lc, cd_type, g.n, g.m, g.ldd, g.stride_d);
    if (st != CUBLAS_STATUS_SUCCESS) return st;

    cublasLtMatmulPreference_t pref = nullptr;
    st = cublasLtMatmulPreferenceCreate(&pref);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    const auto pref_set = [&](cublasLtMatmulPreferenceAttributes_t attr, const void* v, std::size_t bytes) {
        if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatmulPreferenceSetAttribute(pref, attr, v, bytes);
    };
    pref_set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof workspace_bytes);
    // Operand roles are swapped in the column-major view: cuBLASLt's A is our B and vice versa.
    const std::uint32_t al_a = key.align_b, al_b = key.align_a, al_c = key.align_c, al_d = key.align_d;
    pref_set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a);
    pref_set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b);
    pref_set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof al_c);
    pref_set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d);
    std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<std::size_t>(std::max(1, tune_candidates)));
    int found = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.la, p.lb, p.lc, p.lc, pref,
                                            static_cast<int>(results.size()), results.data(), &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    for (int i = 0; i < std::min(found, static_cast<int>(results.size())); ++i)
        if (results[static_cast<std::size_t>(i)].state == CUBLAS_STATUS_SUCCESS)
            p.candidates.push_back(results[static_cast<std::size_t>(i)].algo);
    if (p.candidates.empty()) return CUBLAS_STATUS_NOT_SUPPORTED;
    p.algo = p.candidates.front();
    return CUBLAS_STATUS_SUCCESS;
}

const plan& gemm_engine::impl::get(const full_args& g, const shape_key& key, cudaStream_t stream) {
    auto it = plans.find(key);
    if (it != plans.end()) return *it->second;

    std::vector<bias_route> routes;
    if (g.epilogue == gemm_epilogue::NONE) {
        routes = {bias_route::EPILOGUE_F32};  // no bias: the route only names the plain GEMM
    } else {
        if (!force_separate_bias) {
            routes.push_back(bias_route::EPILOGUE_F32);
            if (g.prec == precision::BF16 && !g.d_f32) routes.push_back(bias_route::EPILOGUE_BF16);
        }
        routes.push_back(bias_route::SEPARATE);
    }
    std::string refusals;
    for (const bias_route route : routes) {
        auto p = std::make_unique<plan>();
        const cublasStatus_t st = build(*p, g, key, route);
        if (st == CUBLAS_STATUS_SUCCESS) {
            if (p->candidates.size() > 1) tune(*p, g, stream);
            return *plans.emplace(key, std::move(p)).first->second;
        }
        refusals += std::string(refusals.empty() ? "" : "; ") + route_name(route) + ": " + cublasGetStatusName(st);
    }
    throw cuda_error("cuBLASLt has no algorithm for " + describe(g) + " (alignments A " + std::to_string(key.align_a) +
                     ", B " + std::to_string(key.align_b) + ", D " + std::to_string(key.align_d) + " bytes; " +
                     std::to_string(workspace_bytes) + "-byte workspace): " + refusals);
}

const __nv_bfloat16* gemm_engine::impl::bias_as_bf16(const float* bias, std::int64_t n, cudaStream_t stream) {
    if (n > bias_bf16_len) {
        // Grows to the widest bias once (3072 for the model's MLP); cudaFree waits for the work
        // still reading the old copy.
        if (bias_bf16) SCPX_CUDA_CHECK(cudaFree(bias_bf16));
        bias_bf16 = nullptr;
        bias_bf16_len = 0;
        SCPX_CUDA_CHECK(cudaMalloc(&bias_bf16, static_cast<std::size_t>(n) * sizeof(__nv_bfloat16)));
        bias_bf16_len = n;
    }
    // Stream-ordered: the matmul enqueued next on `stream` reads this call's copy.
    f32_to_bf16(bias, bias_bf16, n, stream);
    return bias_bf16;
}

gemm_engine::gemm_engine(void* workspace, std::size_t workspace_bytes) {
    auto p = std::make_unique<impl>();
    p->workspace = workspace;
    p->workspace_bytes = workspace ? workspace_bytes : 0;
    // Throws when the status is not SUCCESS, and when cuBLASLt cannot be loaded (cublas_loader.hpp).
    SCPX_CUBLAS_CHECK(cublasLtCreate(&p->handle));
    p_ = p.release();
}

gemm_engine::~gemm_engine() {
    p_->plans.clear();
    if (p_->bias_bf16) cudaFree(p_->bias_bf16);
    if (p_->handle) cublasLtDestroy(p_->handle);
    delete p_;
}

void gemm_engine::run(const gemm_args& g, cudaStream_t stream) {
    const std::int64_t lda = g.lda > 0 ? g.lda : g.k;
    if (g.m < 1 || g.n < 1 || g.k < 1 || lda < g.k)
        throw usage_error("gemm: bad sizes m " + std::to_string(g.m) + ", n " + std::to_string(g.n) + ", k " +
                          std::to_string(g.k) + ", lda " + std::to_string(lda));
    if (!g.a || !g.b || !g.d) throw usage_error("gemm: missing A, B or D for " + describe(full_of(g)));
    if (g.epilogue != gemm_epilogue::NONE && !g.bias) throw usage_error("gemm: bias epilogue without a bias");
    if (g.beta != 0.0f && !g.c) throw usage_error("gemm: beta != 0 without C");
    p_->run(full_of(g), stream);
}

void gemm_engine::run_batched(const batched_gemm_args& g, cudaStream_t stream) {
    if (g.m < 1 || g.n < 1 || g.k < 1 || g.batch < 1 || g.batch > INT32_MAX || g.lda < g.k ||
        g.ldb < (g.b_trans ? g.k : g.n) || g.ldd < g.n || g.stride_a < 0 || g.stride_b < 0 || g.stride_d < 0)
        throw usage_error("batched gemm: bad sizes m " + std::to_string(g.m) + ", n " + std::to_string(g.n) + ", k " +
                          std::to_string(g.k) + ", batch " + std::to_string(g.batch) + ", lda " + std::to_string(g.lda) +
                          ", ldb " + std::to_string(g.ldb) + ", ldd " + std::to_string(g.ldd));
    full_args f;
    static_cast<batched_gemm_args&>(f) = g;
    f.c = g.d;  // beta 0: C is not read, D's layout stands in
    if (!f.a || !f.b || !f.d) throw usage_error("batched gemm: missing A, B or D for " + describe(f));
    p_->run(f, stream);
}

void gemm_engine::impl::run(const full_args& g, cudaStream_t stream) {
    const shape_key key = key_of(g);
    const plan& p = get(g, key, stream);
    set_bias_pointer(p, g, stream);
    const float alpha = 1.0f, beta = g.beta;
    SCPX_CUBLAS_CHECK(cublasLtMatmul(handle, p.desc, &alpha, g.b, p.la, g.a, p.lb, &beta, g.c, p.lc, g.d, p.lc, &p.algo,
                                     workspace, workspace_bytes, stream));
    if (g.epilogue != gemm_epilogue::NONE && p.route == bias_route::SEPARATE) {
        bias_act_args ba;
        ba.rows = g.m;
        ba.cols = g.n;
        ba.x = g.d;
        ba.bias = g.bias;
        ba.act = g.epilogue == gemm_epilogue::RELU_BIAS ? activation::RELU : activation::NONE;
        ba.y = g.d;
        ba.prec = g.d_f32 ? precision::FP32 : g.prec;  // D's element type
        bias_act(ba, stream);
    }
}

void gemm_engine::impl::set_bias_pointer(const plan& p, const full_args& g, cudaStream_t stream) {
    if (g.epilogue == gemm_epilogue::NONE || p.route == bias_route::SEPARATE) return;
    // The descriptor is shared by every call of this shape; cuBLASLt reads it at enqueue time.
    const void* bias = p.route != bias_route::EPILOGUE_BF16 ? static_cast<const void*>(g.bias)
                       : g.bias_bf16                   ? static_cast<const void*>(g.bias_bf16)
                                                       : static_cast<const void*>(bias_as_bf16(g.bias, g.n, stream));
    SCPX_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
}

void gemm_engine::impl::tune(plan& p, const full_args& g, cudaStream_t stream) {
    // Not while a graph is being captured: timing needs the work to run now.
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    SCPX_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
    if (capture != cudaStreamCaptureStatusNone) return;
    // Trial runs must leave the caller's data as one run would: with C == D (an in-place
    // residual) each run would add C again, so they write a temporary D instead. Other trial
    // runs only rewrite D, which the caller's own run then writes once more.
    full_args t = g;
    void* tmp = nullptr;
    if (g.beta != 0.0f && g.c == g.d) {
        const std::size_t cd = (g.prec == precision::BF16 && !g.d_f32) ? 2 : 4;
        const std::int64_t elems = g.batch > 1 ? g.stride_d * (g.batch - 1) + g.m * g.ldd : g.m * g.ldd;
        if (cudaMalloc(&tmp, static_cast<std::size_t>(elems) * cd) != cudaSuccess) {
            cudaGetLastError();
            tuning.push_back(describe(g) + ": not tuned (no memory for a temporary output)");
            return;
        }
        t.d = tmp;
    }
    struct refused {};  // cuBLASLt's answer for a candidate it will not run: skip it
    double first_ms = -1, best_ms = -1;
    std::size_t best = 0, ran = 0;
    try {
        set_bias_pointer(p, t, stream);
        const float alpha = 1.0f, beta = t.beta;
        for (std::size_t c = 0; c < p.candidates.size(); ++c) {
            const auto once = [&] {
                if (cublasLtMatmul(handle, p.desc, &alpha, t.b, p.la, t.a, p.lb, &beta, t.c, p.lc, t.d, p.lc,
                                   &p.candidates[c], workspace, workspace_bytes, stream) != CUBLAS_STATUS_SUCCESS)
                    throw refused{};
            };
            double ms = -1;
            try {
                once();  // warm-up, not timed
                ms = best_time_ms(once, 3, stream);
            } catch (const refused&) {
                continue;
            }
            ++ran;
            if (c == 0) first_ms = ms;
            if (best_ms < 0 || ms < best_ms) {
                best_ms = ms;
                best = c;
            }
        }
    } catch (...) {
        if (tmp) cudaFree(tmp);
        throw;
    }
    if (tmp) SCPX_CUDA_CHECK(cudaFree(tmp));
    if (ran == 0) return;  // keep the heuristic's first answer
    p.algo = p.candidates[best];
    char line[160];
    std::snprintf(line, sizeof line, ": %zu of %zu candidates ran; heuristic's first %.3f ms, chosen #%zu %.3f ms",
                  ran, p.candidates.size(), first_ms, best + 1, best_ms);
    tuning.push_back(describe(g) + line);
}

void gemm_engine::set_autotune(int candidates) {
    p_->tune_candidates = std::max(1, candidates);
    p_->plans.clear();
}

std::string gemm_engine::tuning_report() const {
    std::string out;
    for (const std::string& line : p_->tuning) out += line + "\n";
    return out;
}

std::string gemm_engine::bias_route_of(const gemm_args& g) const {
    const auto it = p_->plans.find(key_of(full_of(g)));
    return it == p_->plans.end() ? "" : route_name(it->second->route);
}

void gemm_engine::force_separate_bias(bool on) {
    p_->force_separate_bias = on;
    p_->plans.clear();
}

} // namespace scpx::cuda
