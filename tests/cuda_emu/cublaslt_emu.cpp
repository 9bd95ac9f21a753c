// The cuBLASLt subset kernels/enformer/gemm.cu calls, emulated on the CPU for the whole-model
// cross-test under the CUDA emulator: D = alpha · op(A) · op(B) + beta · C (column-major, as
// cuBLASLt), strided batches, fp32 or bf16 storage, fp32 scale, the BIAS and RELU_BIAS epilogues
// with an fp32 or D-typed bias (fp32 with a bf16 D refused, as the hardware library does),
// CUBLAS_COMPUTE_32F_FAST_TF32 rounding both operands to tf32 like the tensor cores.
// Accumulation is in double (more accurate than the hardware; the tests' bounds allow that).
// Checked like the library: a pointer less aligned than the preference promised, an unset
// layout, or an unsupported attribute fails with CUBLAS_STATUS_INVALID_VALUE / NOT_SUPPORTED.
#include "cuda_emu.hpp" // the emulated device, and its tf32 rounding

#include <cublasLt.h>
#include <cublas_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

struct desc_state {
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    cudaDataType_t scale = CUDA_R_32F;
    cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const void* bias = nullptr;
    cudaDataType_t bias_type = CUDA_R_32F;
    bool bias_type_set = false;
};
struct layout_state {
    cudaDataType_t type = CUDA_R_32F;
    std::uint64_t rows = 0, cols = 0;
    std::int64_t ld = 0;
    std::int32_t batch = 1;      ///< CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT
    std::int64_t stride = 0;     ///< CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, elements
};
struct pref_state {
    std::uint32_t align[4] = {256, 256, 256, 256}; // A, B, C, D
    std::size_t workspace = 0;
};

desc_state* as_desc(cublasLtMatmulDesc_t d) { return reinterpret_cast<desc_state*>(d); }
layout_state* as_layout(cublasLtMatrixLayout_t l) { return reinterpret_cast<layout_state*>(l); }
pref_state* as_pref(cublasLtMatmulPreference_t p) { return reinterpret_cast<pref_state*>(p); }

float load(const void* p, cudaDataType_t t, std::size_t i) {
    if (t == CUDA_R_16BF) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    return static_cast<const float*>(p)[i];
}
void store(void* p, cudaDataType_t t, std::size_t i, float v) {
    if (t == CUDA_R_16BF)
        static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
    else
        static_cast<float*>(p)[i] = v;
}
std::uint32_t alignment_of(const void* p) {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t a = 256;
    while (a > 1 && (v % a) != 0) a /= 2;
    return a;
}
bool supported(cudaDataType_t t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }
std::size_t bytes_of(cudaDataType_t t) { return t == CUDA_R_16BF ? 2 : 4; }

// The algorithm handle remembers the alignments the heuristic was asked for.
struct algo_state {
    std::uint32_t align[4];
};
static_assert(sizeof(algo_state) <= sizeof(cublasLtMatmulAlgo_t), "algo payload");

} // namespace

const char* cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    default: return "CUBLAS_STATUS (emulated)";
    }
}
const char* cublasGetStatusString(cublasStatus_t s) {
    return s == CUBLAS_STATUS_SUCCESS ? "success" : "cuBLASLt emulator rejected the call (details on stderr)";
}
const char* cublasLtGetStatusName(cublasStatus_t s) { return cublasGetStatusName(s); }
const char* cublasLtGetStatusString(cublasStatus_t s) { return cublasGetStatusString(s); }

// The legacy cuBLAS (ctPred's GPU trainer, kernels/ctpred/mlp_cuda.cu) is not emulated. Defined
// here so emulator binaries never pull scpx_kernels' forwarders, which would load the real
// library and hand it the emulator's host pointers: creating a handle is refused instead.
cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
    *h = nullptr;
    std::fprintf(stderr, "cuBLAS emulator: the legacy cuBLAS API (ctPred's GPU trainer) is not emulated\n");
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t) {
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t, cudaStream_t) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                              const float*, const float*, int, const float*, int, const float*, float*, int) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
cublasStatus_t cublasDgemm_v2(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                              const double*, const double*, int, const double*, int, const double*, double*,
                              int) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t* h) {
    static int token;
    *h = reinterpret_cast<cublasLtHandle_t>(&token);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t) { return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* d, cublasComputeType_t compute, cudaDataType_t scale) {
    if (scale != CUDA_R_32F || (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_TF32))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    auto* s = new desc_state;
    s->compute = compute;
    s->scale = scale;
    *d = reinterpret_cast<cublasLtMatmulDesc_t>(s);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    delete as_desc(d);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t bytes) {
    desc_state* s = as_desc(d);
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
        if (bytes != sizeof(cublasOperation_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->ta, buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_TRANSB:
        if (bytes != sizeof(cublasOperation_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->tb, buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_EPILOGUE:
        if (bytes != sizeof(cublasLtEpilogue_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->epilogue, buf, bytes);
        if (s->epilogue != CUBLASLT_EPILOGUE_DEFAULT && s->epilogue != CUBLASLT_EPILOGUE_BIAS &&
            s->epilogue != CUBLASLT_EPILOGUE_RELU_BIAS)
            return CUBLAS_STATUS_NOT_SUPPORTED;
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
        if (bytes != sizeof(void*)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->bias, buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
        if (bytes != sizeof(cudaDataType_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->bias_type, buf, bytes);
        s->bias_type_set = true;
        return supported(s->bias_type) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
    default: std::fprintf(stderr, "cublasLt emulator: descriptor attribute %d not emulated\n", static_cast<int>(attr));
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* l, cudaDataType type, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
    if (!supported(type)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (rows == 0 || cols == 0 || ld < static_cast<std::int64_t>(rows)) return CUBLAS_STATUS_INVALID_VALUE;
    *l = reinterpret_cast<cublasLtMatrixLayout_t>(new layout_state{type, rows, cols, ld});
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                const void* buf, size_t bytes) {
    layout_state* s = as_layout(l);
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT:
        if (bytes != sizeof(std::int32_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->batch, buf, bytes);
        return s->batch >= 1 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET:
        if (bytes != sizeof(std::int64_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->stride, buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    delete as_layout(l);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* p) {
    *p = reinterpret_cast<cublasLtMatmulPreference_t>(new pref_state);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    delete as_pref(p);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void* buf, size_t bytes) {
    pref_state* s = as_pref(p);
    auto set_align = [&](int i) {
        if (bytes != sizeof(std::uint32_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->align[i], buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    };
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
        if (bytes != sizeof(std::uint64_t)) return CUBLAS_STATUS_INVALID_VALUE;
        std::memcpy(&s->workspace, buf, bytes);
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_align(0);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_align(1);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_align(2);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_align(3);
    default: std::fprintf(stderr, "cublasLt emulator: preference attribute %d not emulated\n", static_cast<int>(attr));
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t* results, int* count) {
    if (!desc || !a || !b || !c || !d || !pref || requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
    // As cuBLAS 13.1 on an H100 answers (seen 2026-11-27): a bias epilogue with an fp32 bias and
    // a bf16 D has no kernel and is refused as an invalid value, not as "no algorithm found".
    const desc_state& s = *as_desc(desc);
    if (s.epilogue != CUBLASLT_EPILOGUE_DEFAULT && s.bias_type_set && s.bias_type == CUDA_R_32F &&
        as_layout(d)->type == CUDA_R_16BF)
        return CUBLAS_STATUS_INVALID_VALUE;
    // Two answers when asked for several (the same emulated kernel twice), so that the callers'
    // choice among candidates (gemm_engine's autotuning) runs here too.
    const int n = std::min(requested, 2);
    for (int i = 0; i < n; ++i) {
        std::memset(&results[i], 0, sizeof results[i]);
        algo_state st{};
        std::memcpy(st.align, as_pref(pref)->align, sizeof st.align);
        std::memcpy(&results[i].algo, &st, sizeof st);
        results[i].state = CUBLAS_STATUS_SUCCESS;
        results[i].wavesCount = 1.0f;
    }
    *count = n;
    return CUBLAS_STATUS_SUCCESS;
}

namespace {
/// One matrix of a (possibly batched) matmul.
cublasStatus_t matmul_one(cublasLtMatmulDesc_t desc, const void* alpha, const void* A, cublasLtMatrixLayout_t adesc,
                          const void* B, cublasLtMatrixLayout_t bdesc, const void* beta, const void* C,
                          cublasLtMatrixLayout_t cdesc, void* D, cublasLtMatrixLayout_t ddesc,
                          const cublasLtMatmulAlgo_t* algo) {
    const desc_state& s = *as_desc(desc);
    const layout_state &la = *as_layout(adesc), &lb = *as_layout(bdesc), &lc = *as_layout(cdesc), &ld = *as_layout(ddesc);
    const bool ta = s.ta == CUBLAS_OP_T, tb = s.tb == CUBLAS_OP_T;
    const std::uint64_t m = ta ? la.cols : la.rows, k = ta ? la.rows : la.cols;
    const std::uint64_t kb = tb ? lb.cols : lb.rows, n = tb ? lb.rows : lb.cols;
    if (k != kb || ld.rows != m || ld.cols != n || lc.rows != m || lc.cols != n) {
        std::fprintf(stderr, "cublasLt emulator: inconsistent shapes (m %lu, n %lu, k %lu / %lu)\n",
                     static_cast<unsigned long>(m), static_cast<unsigned long>(n), static_cast<unsigned long>(k),
                     static_cast<unsigned long>(kb));
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (C == D && (cdesc != ddesc && (lc.ld != ld.ld || lc.type != ld.type))) {
        std::fprintf(stderr, "cublasLt emulator: in-place C == D needs the same layout\n");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (algo) {
        algo_state st;
        std::memcpy(&st, algo, sizeof st);
        const void* ptrs[4] = {A, B, C, D};
        const char* names = "ABCD";
        for (int i = 0; i < 4; ++i)
            if (alignment_of(ptrs[i]) < st.align[i]) {
                std::fprintf(stderr, "cublasLt emulator: %c is %u-byte aligned, the algorithm was chosen for %u\n", names[i],
                             alignment_of(ptrs[i]), st.align[i]);
                return CUBLAS_STATUS_INVALID_VALUE;
            }
    }
    const bool has_bias = s.epilogue != CUBLASLT_EPILOGUE_DEFAULT;
    if (has_bias && !s.bias) return CUBLAS_STATUS_INVALID_VALUE;
    const cudaDataType_t bias_type = s.bias_type_set ? s.bias_type : ld.type;
    const bool fast_tf32 = s.compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);

    // op(A) as rows i (length k) and op(B) as columns j (length k), converted (and tf32-rounded)
    // once; D may alias C, so results go to a buffer first.
    std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k));
    for (std::uint64_t i = 0; i < m; ++i)
        for (std::uint64_t kk = 0; kk < k; ++kk) {
            const float v = ta ? load(A, la.type, kk + i * la.ld) : load(A, la.type, i + kk * la.ld);
            a[i * k + kk] = fast_tf32 ? nvcuda::wmma::__float_to_tf32(v) : v;
        }
    for (std::uint64_t j = 0; j < n; ++j)
        for (std::uint64_t kk = 0; kk < k; ++kk) {
            const float v = tb ? load(B, lb.type, j + kk * lb.ld) : load(B, lb.type, kk + j * lb.ld);
            b[j * k + kk] = fast_tf32 ? nvcuda::wmma::__float_to_tf32(v) : v;
        }
    std::vector<float> out(static_cast<std::size_t>(m * n));
    for (std::uint64_t j = 0; j < n; ++j)
        for (std::uint64_t i = 0; i < m; ++i) {
            const float* ai = a.data() + i * k;
            const float* bj = b.data() + j * k;
            double acc = 0.0;
            for (std::uint64_t kk = 0; kk < k; ++kk) acc += static_cast<double>(ai[kk]) * bj[kk];
            float v = static_cast<float>(al * acc);
            if (be != 0.0f) v += be * load(C, lc.type, i + j * lc.ld);
            if (has_bias) v += load(s.bias, bias_type, i);
            if (s.epilogue == CUBLASLT_EPILOGUE_RELU_BIAS) v = v > 0.0f ? v : 0.0f;
            out[static_cast<std::size_t>(i + j * m)] = v;
        }
    for (std::uint64_t j = 0; j < n; ++j)
        for (std::uint64_t i = 0; i < m; ++i) store(D, ld.type, i + j * ld.ld, out[static_cast<std::size_t>(i + j * m)]);
    return CUBLAS_STATUS_SUCCESS;
}
} // namespace

cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t desc, const void* alpha, const void* A,
                              cublasLtMatrixLayout_t adesc, const void* B, cublasLtMatrixLayout_t bdesc, const void* beta,
                              const void* C, cublasLtMatrixLayout_t cdesc, void* D, cublasLtMatrixLayout_t ddesc,
                              const cublasLtMatmulAlgo_t* algo, void*, size_t, cudaStream_t) {
    if (!desc || !adesc || !bdesc || !cdesc || !ddesc) return CUBLAS_STATUS_INVALID_VALUE;
    const layout_state *la = as_layout(adesc), *lb = as_layout(bdesc), *lc = as_layout(cdesc), *ld = as_layout(ddesc);
    const std::int32_t batch = ld->batch;
    if (la->batch != batch || lb->batch != batch || lc->batch != batch) {
        std::fprintf(stderr, "cublasLt emulator: batch counts differ (A %d, B %d, C %d, D %d)\n", la->batch, lb->batch,
                     lc->batch, batch);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    // Strided batch: matrix i of each operand starts i · stride elements after the first.
    const auto at = [](const void* p, const layout_state* l, std::int32_t i) {
        return static_cast<const char*>(p) + static_cast<std::ptrdiff_t>(i) * l->stride * static_cast<std::ptrdiff_t>(bytes_of(l->type));
    };
    for (std::int32_t i = 0; i < batch; ++i) {
        const cublasStatus_t st = matmul_one(desc, alpha, at(A, la, i), adesc, at(B, lb, i), bdesc, beta, at(C, lc, i),
                                             cdesc, const_cast<char*>(at(D, ld, i)), ddesc, algo);
        if (st != CUBLAS_STATUS_SUCCESS) return st;
    }
    return CUBLAS_STATUS_SUCCESS;
}
