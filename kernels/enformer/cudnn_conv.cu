// cuDNN as the yardstick for the custom Enformer convolution (cudnn_conv.cuh).
//
// libcudnn is never linked: it is opened with dlopen and the dozen legacy-API functions used are
// resolved with dlsym. The build machines have cuDNN 9.19 headers while the GPU machine ships
// cuDNN 9.14 (shared/docs/platform.md §9); a binary linked against the newer library could refuse
// to start there, whereas with dlopen the only contract is the 9.x ABI of these functions. The
// header is included for its types only, and cudnnGetVersion() of the loaded library (not
// CUDNN_VERSION) decides whether it is usable.
//
// Layout: NLC activations are cuDNN NHWC tensors with H = 1, W = L, C = channels; filters are
// KRSC (NHWC filter format: [cout][1][k][cin]), repacked once per weight pointer from the
// [k·cin, cout] row-major weights of conv1d_args. Convolution is a cross-correlation with
// 'SAME' padding k/2, as torch/TF Conv1d.
//
// Without cudnn.h at build time (SCPX_HAVE_CUDNN_H undefined) the cuDNN half compiles to a stub
// that reports "not compiled in", and conv_selector still works with the custom kernel.
#include "cudnn_conv.cuh"

#include "common.cuh"
#include "core/dl_library.hpp"
#include "elementwise.cuh"
#include "conv_gemm.cuh"

#ifdef SCPX_HAVE_CUDNN_H
#include <cudnn.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace scpx::cuda {

namespace {

const char* precision_name(precision p) {
    switch (p) {
    case precision::FP32: return "fp32";
    case precision::TF32: return "tf32";
    case precision::BF16: return "bf16";
    }
    return "?";
}

} // namespace

conv_backend parse_conv_backend(const std::string& text) {
    if (text == "custom") return conv_backend::CUSTOM;
    if (text == "cudnn") return conv_backend::CUDNN;
    if (text == "auto") return conv_backend::AUTO;
    throw usage_error("--conv-backend must be custom, cudnn or auto (got '" + text + "')");
}

// =============================================================================================
// cuDNN loaded at run time
// =============================================================================================

#ifdef SCPX_HAVE_CUDNN_H

// Every function resolved from libcudnn; their types come from the header (decltype), so a
// signature change in a future major version fails to compile rather than at run time.
#define SCPX_CUDNN_FUNCTIONS(X)                                                                   \
    X(cudnnGetVersion)                                                                            \
    X(cudnnGetErrorString)                                                                        \
    X(cudnnCreate)                                                                                \
    X(cudnnDestroy)                                                                               \
    X(cudnnSetStream)                                                                             \
    X(cudnnCreateTensorDescriptor)                                                                \
    X(cudnnSetTensor4dDescriptor)                                                                 \
    X(cudnnDestroyTensorDescriptor)                                                               \
    X(cudnnCreateFilterDescriptor)                                                                \
    X(cudnnSetFilter4dDescriptor)                                                                 \
    X(cudnnDestroyFilterDescriptor)                                                               \
    X(cudnnCreateConvolutionDescriptor)                                                           \
    X(cudnnSetConvolution2dDescriptor)                                                            \
    X(cudnnSetConvolutionMathType)                                                                \
    X(cudnnDestroyConvolutionDescriptor)                                                          \
    X(cudnnGetConvolutionForwardAlgorithm_v7)                                                     \
    X(cudnnFindConvolutionForwardAlgorithmEx)                                                     \
    X(cudnnGetConvolutionForwardWorkspaceSize)                                                    \
    X(cudnnConvolutionForward)

namespace {

constexpr std::size_t kAlign = 256;
std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

/// True when [a, a + na) and [b, b + nb) share a byte.
bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
    const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
    return pa < pb + nb && pb < pa + na;
}

void check_args(const conv1d_args& a) {
    if (a.batch < 1 || a.length < 1 || a.cin < 1 || a.cout < 1 || a.kernel < 1 || a.kernel % 2 == 0)
        throw usage_error("conv1d: invalid shape (batch " + std::to_string(a.batch) + ", length " +
                          std::to_string(a.length) + ", cin " + std::to_string(a.cin) + ", cout " +
                          std::to_string(a.cout) + ", kernel " + std::to_string(a.kernel) +
                          "; the kernel must be odd)");
    if (!a.x || !a.w || !a.y) throw usage_error("conv1d: x, w and y must be given");
    if ((a.in_scale == nullptr) != (a.in_shift == nullptr))
        throw usage_error("conv1d: in_scale and in_shift must be given together");
}

// ---------------------------------------------------------------------------------------------
// Kernels of the cuDNN path

/// wk[o, r] = w[r, o] for r < rows = k·cin: [k·cin, cout] row-major → KRSC ([cout][k][cin]).
/// One-time per weight tensor, so the simple strided form is enough.
template <class T>
__global__ void repack_filter_kernel(const T* __restrict__ w, T* __restrict__ wk, std::int64_t rows,
                                     std::int64_t cout) {
    const std::int64_t n = rows * cout;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
        const std::int64_t o = i / rows, r = i - o * rows;  // consecutive threads write consecutive wk
        wk[i] = w[r * cout + o];
    }
}

/// out[r, c] = gelu?(src[r, c] + bias[c]) + residual[r, c]: the conv epilogue cuDNN's legacy
/// forward cannot apply. src, out and residual may be the same buffer (each element is read
/// before it is written by the same thread).
template <class T>
__global__ void epilogue_kernel(const T* src, const float* __restrict__ bias, bool gelu, const T* residual,
                                T* out, std::int64_t rows, std::int64_t cols) {
    for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const std::int64_t base = r * cols;
        for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = to_f32(src[base + c]);
            if (bias) v += bias[c];
            if (gelu) v = gelu_sigmoid(v);
            if (residual) v += to_f32(residual[base + c]);
            out[base + c] = from_f32<T>(v);
        }
    }
}

void launch_epilogue(precision p, const void* src, const float* bias, bool gelu, const void* residual, void* out,
                     std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
    const int blocks = static_cast<int>(std::min<std::int64_t>(rows, 65535 * 8));
    if (p == precision::BF16)
        SCPX_LAUNCH(blocks, 256, 0, stream, epilogue_kernel<__nv_bfloat16>)(
            static_cast<const __nv_bfloat16*>(src), bias, gelu, static_cast<const __nv_bfloat16*>(residual),
            static_cast<__nv_bfloat16*>(out), rows, cols);
    else
        SCPX_LAUNCH(blocks, 256, 0, stream, epilogue_kernel<float>)(static_cast<const float*>(src), bias, gelu,
                                                           static_cast<const float*>(residual),
                                                           static_cast<float*>(out), rows, cols);
    SCPX_CUDA_CHECK_LAUNCH();
}

} // namespace

struct cudnn_library::impl {
    void* handle = nullptr;
    std::string path;
    std::size_t version = 0;
#define SCPX_CUDNN_MEMBER(name) decltype(&::name) name = nullptr;
    SCPX_CUDNN_FUNCTIONS(SCPX_CUDNN_MEMBER)
#undef SCPX_CUDNN_MEMBER
};

namespace {

struct library_state {
    std::unique_ptr<cudnn_library> lib;
    std::string description;
};

library_state load_cudnn() {
    library_state s;
    std::string errors;
    auto p = std::make_unique<cudnn_library::impl>();
    p->handle = detail::open_first({"libcudnn.so.9", "libcudnn.so"}, p->path, errors);
    if (!p->handle) {
        s.description = "cuDNN not usable: cannot open libcudnn.so.9 (" + errors + ")";
        return s;
    }
    std::string missing;
#define SCPX_CUDNN_RESOLVE(name)                                                                  \
    if (!detail::resolve_symbol(p->handle, #name, p->name)) missing += " " #name;
    SCPX_CUDNN_FUNCTIONS(SCPX_CUDNN_RESOLVE)
#undef SCPX_CUDNN_RESOLVE
    if (!missing.empty()) {
        s.description = "cuDNN not usable: " + p->path + " lacks" + missing;
        dlclose(p->handle);
        return s;
    }
    p->version = p->cudnnGetVersion();
    // cuDNN ≥ 9 encodes major·10000 + minor·100 + patch.
    const std::size_t major = p->version / 10000, minor = p->version / 100 % 100, patch = p->version % 100;
    const std::string v = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (major != 9) {
        s.description = "cuDNN not usable: " + p->path + " is version " + v + ", need 9.x (legacy convolution API)";
        dlclose(p->handle);
        return s;
    }
    s.description = "cuDNN " + v + " (" + p->path + ")";
    s.lib = std::make_unique<cudnn_library>(std::move(p));
    return s;
}

/// Loaded once per process (thread-safe) and never unloaded: cuDNN handles owned by objects with
/// static storage may be destroyed after any function-local static, so the library stays mapped
/// until exit, as torch does.
const library_state& cudnn_state() {
    static const library_state* state = new library_state(load_cudnn());
    return *state;
}

std::string cudnn_status_string(const cudnn_library::impl& lib, cudnnStatus_t s) {
    const char* text = lib.cudnnGetErrorString(s);
    return std::string(text ? text : "unknown cuDNN status") + " (" + std::to_string(static_cast<int>(s)) + ")";
}

} // namespace

#define SCPX_CUDNN_CHECK(lib, expr)                                                               \
    do {                                                                                          \
        const cudnnStatus_t scpx_cudnn_status_ = (expr);                                          \
        if (scpx_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                           \
            throw ::scpx::cuda_error(std::string("cuDNN call failed: ") + #expr + " -> " +        \
                                     cudnn_status_string((lib), scpx_cudnn_status_) + " at " +    \
                                     __FILE__ + ":" + std::to_string(__LINE__));                  \
    } while (0)

const cudnn_library* cudnn_library::get() { return cudnn_state().lib.get(); }
std::string cudnn_library::describe() { return cudnn_state().description; }
std::size_t cudnn_library::version() const { return p_->version; }
cudnn_library::cudnn_library(std::unique_ptr<impl> p) : p_(std::move(p)) {}
cudnn_library::~cudnn_library() = default;

// ---------------------------------------------------------------------------------------------
// cudnn_conv1d

namespace {

/// Upper bound on the elements of one cuDNN tensor: the legacy descriptors take int sizes and
/// strides, so B·L·C must stay below 2^31. Larger batches run in chunks of whole sequences
/// (at 393,216 bp × 768 channels one sequence is 3·10^8 elements: chunks of 6 sequences).
/// SCPX_CUDNN_MAX_ELEMENTS lowers it (for the cross-test of the chunked path).
std::int64_t max_tensor_elements() {
    std::int64_t limit = (std::int64_t{1} << 31) - 1;
    if (const char* env = std::getenv("SCPX_CUDNN_MAX_ELEMENTS")) {
        const long long v = std::atoll(env);
        if (v > 0) limit = std::min<std::int64_t>(limit, v);
    }
    return limit;
}

/// cuDNN workspace granted to one shape: enough for the implicit-GEMM algorithms (a few MiB),
/// not for the FFT/GEMM ones that would need a copy of the unrolled input.
constexpr std::size_t kWorkspaceCap = std::size_t{256} << 20;

cudnnDataType_t data_type(precision p) { return p == precision::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }

/// FP32 must stay strict fp32 (no TF32 tensor cores: it is the reference precision); TF32 and
/// BF16 allow tensor cores.
cudnnMathType_t requested_math(precision p) { return p == precision::FP32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH; }

} // namespace

struct cudnn_conv1d::impl {
    /// Descriptors and chosen algorithm of one (chunk batch, L, cin, cout, k, precision).
    struct plan {
        cudnnTensorDescriptor_t x_desc = nullptr, y_desc = nullptr;
        cudnnFilterDescriptor_t w_desc = nullptr;
        cudnnConvolutionDescriptor_t conv = nullptr;
        std::vector<cudnnConvolutionFwdAlgoPerf_t> candidates; ///< heuristic order, runnable
        cudnnConvolutionFwdAlgo_t algo{};
        cudnnMathType_t math{};
        std::size_t workspace_need = 0; ///< workspace of the chosen algorithm
        std::size_t workspace_plan = 0; ///< workspace reserved in scratch for this shape
        bool measured = false;          ///< chosen by cudnnFindConvolutionForwardAlgorithmEx
    };
    using shape_key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int>;
    using weight_key = std::tuple<const void*, std::int64_t, std::int64_t, std::int64_t, int>;

    const cudnn_library::impl& lib;
    cudnnHandle_t handle = nullptr;
    std::int64_t max_elements = max_tensor_elements();
    std::map<shape_key, plan> plans;
    std::map<weight_key, void*> filters; ///< repacked KRSC weights (device)

    explicit impl(const cudnn_library::impl& l) : lib(l) { SCPX_CUDNN_CHECK(lib, lib.cudnnCreate(&handle)); }
    ~impl() {
        for (auto& kv : plans) {
            plan& p = kv.second;
            if (p.x_desc) lib.cudnnDestroyTensorDescriptor(p.x_desc);
            if (p.y_desc) lib.cudnnDestroyTensorDescriptor(p.y_desc);
            if (p.w_desc) lib.cudnnDestroyFilterDescriptor(p.w_desc);
            if (p.conv) lib.cudnnDestroyConvolutionDescriptor(p.conv);
        }
        for (auto& kv : filters) cudaFree(kv.second);
        if (handle) lib.cudnnDestroy(handle);
    }

    /// Sequences per cuDNN call.
    std::int64_t chunk_batch(const conv1d_args& a) const {
        const std::int64_t per_seq = a.length * std::max(a.cin, a.cout);
        if (per_seq > max_elements)
            throw usage_error("cuDNN conv: one sequence of " + std::to_string(a.length) + " × " +
                              std::to_string(std::max(a.cin, a.cout)) + " elements exceeds cuDNN's int sizes");
        return std::max<std::int64_t>(1, std::min(a.batch, max_elements / per_seq));
    }

    /// The scratch parts of a call: transformed input, conv output (only for an in-place residual
    /// under an output GELU), workspace. Offsets are 256-byte aligned.
    struct scratch_layout {
        std::size_t input = 0, output = 0, workspace = 0;
        std::size_t total() const { return input + output + workspace; }
    };
    /// Covers the plans of both the full chunk and the last, shorter one (creating them).
    scratch_layout layout(const conv1d_args& a, std::int64_t cb) {
        scratch_layout s;
        const std::size_t eb = element_bytes(a.prec);
        if (a.in_scale || a.in_gelu) s.input = align_up(static_cast<std::size_t>(cb * a.length * a.cin) * eb);
        if (a.residual && a.residual == a.y && a.out_gelu)
            s.output = align_up(static_cast<std::size_t>(cb * a.length * a.cout) * eb);
        std::size_t ws = get_plan(a, cb).workspace_plan;
        if (a.batch % cb != 0) ws = std::max(ws, get_plan(a, a.batch % cb).workspace_plan);
        s.workspace = align_up(ws);
        return s;
    }

    plan& get_plan(const conv1d_args& a, std::int64_t cb) {
        const shape_key key{cb, a.length, a.cin, a.cout, a.kernel, static_cast<int>(a.prec)};
        auto it = plans.find(key);
        if (it != plans.end()) return it->second;
        plan p;
        try {
            const cudnnDataType_t dt = data_type(a.prec);
            const int n = static_cast<int>(cb), l = static_cast<int>(a.length), ci = static_cast<int>(a.cin),
                      co = static_cast<int>(a.cout), k = static_cast<int>(a.kernel);
            SCPX_CUDNN_CHECK(lib, lib.cudnnCreateTensorDescriptor(&p.x_desc));
            SCPX_CUDNN_CHECK(lib, lib.cudnnSetTensor4dDescriptor(p.x_desc, CUDNN_TENSOR_NHWC, dt, n, ci, 1, l));
            SCPX_CUDNN_CHECK(lib, lib.cudnnCreateTensorDescriptor(&p.y_desc));
            SCPX_CUDNN_CHECK(lib, lib.cudnnSetTensor4dDescriptor(p.y_desc, CUDNN_TENSOR_NHWC, dt, n, co, 1, l));
            SCPX_CUDNN_CHECK(lib, lib.cudnnCreateFilterDescriptor(&p.w_desc));
            SCPX_CUDNN_CHECK(lib, lib.cudnnSetFilter4dDescriptor(p.w_desc, dt, CUDNN_TENSOR_NHWC, co, ci, 1, k));
            SCPX_CUDNN_CHECK(lib, lib.cudnnCreateConvolutionDescriptor(&p.conv));
            SCPX_CUDNN_CHECK(lib, lib.cudnnSetConvolution2dDescriptor(p.conv, 0, k / 2, 1, 1, 1, 1,
                                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
            SCPX_CUDNN_CHECK(lib, lib.cudnnSetConvolutionMathType(p.conv, requested_math(a.prec)));

            // Heuristic candidates (no data needed), kept when they run with this math mode and
            // a workspace under the cap; the scratch reserves the largest such workspace so that
            // the measured choice at the first run() may pick any of them.
            std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
            int returned = 0;
            SCPX_CUDNN_CHECK(lib, lib.cudnnGetConvolutionForwardAlgorithm_v7(
                                      handle, p.x_desc, p.w_desc, p.conv, p.y_desc,
                                      static_cast<int>(perf.size()), &returned, perf.data()));
            for (int i = 0; i < returned; ++i) {
                cudnnConvolutionFwdAlgoPerf_t c = perf[static_cast<std::size_t>(i)];
                if (c.status != CUDNN_STATUS_SUCCESS) continue;
                if (a.prec == precision::FP32) c.mathType = CUDNN_FMA_MATH;
                if (lib.cudnnSetConvolutionMathType(p.conv, c.mathType) != CUDNN_STATUS_SUCCESS) continue;
                std::size_t ws = 0;
                if (lib.cudnnGetConvolutionForwardWorkspaceSize(handle, p.x_desc, p.w_desc, p.conv, p.y_desc, c.algo,
                                                                &ws) != CUDNN_STATUS_SUCCESS)
                    continue;
                if (ws > kWorkspaceCap) continue;
                c.memory = ws;
                p.candidates.push_back(c);
                p.workspace_plan = std::max(p.workspace_plan, ws);
            }
            if (p.candidates.empty())
                throw cuda_error("cuDNN has no forward algorithm for conv " + std::to_string(a.cin) + "→" +
                                 std::to_string(a.cout) + " k=" + std::to_string(a.kernel) + " " +
                                 precision_name(a.prec) + " (NHWC)");
            select(p, p.candidates.front());
        } catch (...) {
            destroy(p);
            throw;
        }
        return plans.emplace(key, p).first->second;
    }

    void destroy(plan& p) {
        if (p.x_desc) lib.cudnnDestroyTensorDescriptor(p.x_desc);
        if (p.y_desc) lib.cudnnDestroyTensorDescriptor(p.y_desc);
        if (p.w_desc) lib.cudnnDestroyFilterDescriptor(p.w_desc);
        if (p.conv) lib.cudnnDestroyConvolutionDescriptor(p.conv);
        p = plan{};
    }

    void select(plan& p, const cudnnConvolutionFwdAlgoPerf_t& c) {
        p.algo = c.algo;
        p.math = c.mathType;
        p.workspace_need = c.memory;
        SCPX_CUDNN_CHECK(lib, lib.cudnnSetConvolutionMathType(p.conv, p.math));
    }

    /// Replaces the heuristic choice by the fastest measured one (cudnnFindConvolutionForwardAlgorithmEx,
    /// as torch's cudnn.benchmark). Host-blocking, so never called while the stream is captured.
    /// `y` is overwritten, so the caller passes a buffer whose contents do not matter.
    void measure(plan& p, const conv1d_args& a, const void* x, const void* w, void* y, void* workspace,
                 std::size_t workspace_bytes) {
        p.measured = true;
        SCPX_CUDNN_CHECK(lib, lib.cudnnSetConvolutionMathType(p.conv, requested_math(a.prec)));
        std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
        int returned = 0;
        const cudnnStatus_t st = lib.cudnnFindConvolutionForwardAlgorithmEx(
            handle, p.x_desc, x, p.w_desc, w, p.conv, p.y_desc, y, static_cast<int>(perf.size()), &returned,
            perf.data(), workspace, workspace_bytes);
        if (st == CUDNN_STATUS_SUCCESS) {
            // Results come sorted by time; take the fastest that works in this math mode.
            for (int i = 0; i < returned; ++i) {
                cudnnConvolutionFwdAlgoPerf_t c = perf[static_cast<std::size_t>(i)];
                if (c.status != CUDNN_STATUS_SUCCESS || c.memory > workspace_bytes) continue;
                if (a.prec == precision::FP32) {
                    if (c.mathType == CUDNN_TENSOR_OP_MATH || c.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
                        continue;
                    c.mathType = CUDNN_FMA_MATH;
                }
                select(p, c);
                return;
            }
        }
        cudaGetLastError();  // the search may leave a launch error of a rejected algorithm behind
        select(p, p.candidates.front());
    }

    /// The repacked filter of a weight tensor (device KRSC), made on first use.
    const void* filter(const conv1d_args& a, cudaStream_t stream) {
        const weight_key key{a.w, a.cin, a.cout, a.kernel, static_cast<int>(a.prec)};
        auto it = filters.find(key);
        if (it != filters.end()) return it->second;
        const std::int64_t rows = a.kernel * a.cin, n = rows * a.cout;
        void* wk = nullptr;
        SCPX_CUDA_CHECK(cudaMalloc(&wk, static_cast<std::size_t>(n) * element_bytes(a.prec)));
        const int blocks = static_cast<int>(std::min<std::int64_t>(div_up(n, 256), 65535 * 8));
        if (a.prec == precision::BF16)
            SCPX_LAUNCH(blocks, 256, 0, stream, repack_filter_kernel<__nv_bfloat16>)(
                static_cast<const __nv_bfloat16*>(a.w), static_cast<__nv_bfloat16*>(wk), rows, a.cout);
        else
            SCPX_LAUNCH(blocks, 256, 0, stream, repack_filter_kernel<float>)(static_cast<const float*>(a.w),
                                                                   static_cast<float*>(wk), rows, a.cout);
        const cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) {
            cudaFree(wk);
            SCPX_CUDA_CHECK(e);
        }
        filters.emplace(key, wk);
        return wk;
    }
};

cudnn_conv1d::cudnn_conv1d() {
    const cudnn_library* lib = cudnn_library::get();
    if (!lib) throw cuda_error(cudnn_library::describe());
    p_ = std::make_unique<impl>(lib->internals());
}

cudnn_conv1d::~cudnn_conv1d() = default;

std::size_t cudnn_conv1d::scratch_bytes(const conv1d_args& a) {
    check_args(a);
    return p_->layout(a, p_->chunk_batch(a)).total();
}

void cudnn_conv1d::run(const conv1d_args& a, void* scratch, std::size_t scratch_size, cudaStream_t stream) {
    check_args(a);
    impl& m = *p_;
    const cudnn_library::impl& lib = m.lib;
    const std::int64_t cb = m.chunk_batch(a);
    const impl::scratch_layout s = m.layout(a, cb);
    if (scratch_size < s.total() || (s.total() > 0 && !scratch))
        throw usage_error("cuDNN conv: scratch of " + std::to_string(scratch_size) + " bytes, " +
                          std::to_string(s.total()) + " needed (use scratch_bytes)");
    const std::size_t eb = element_bytes(a.prec);
    const std::size_t y_total = static_cast<std::size_t>(a.batch * a.length * a.cout) * eb;
    const bool in_place = a.residual == a.y;
    if (a.residual && !in_place && overlaps(a.residual, y_total, a.y, y_total))
        throw usage_error("conv1d: residual must be y itself or not overlap it");

    auto* base = static_cast<unsigned char*>(scratch);
    void* x_t = s.input ? base : nullptr;
    void* y_t = s.output ? base + s.input : nullptr;
    void* ws = s.workspace ? base + s.input + s.output : nullptr;
    const void* wk = m.filter(a, stream);
    SCPX_CUDNN_CHECK(lib, lib.cudnnSetStream(m.handle, stream));

    for (std::int64_t b0 = 0; b0 < a.batch; b0 += cb) {
        const std::int64_t nb = std::min(cb, a.batch - b0);
        impl::plan& pc = m.get_plan(a, nb);  // the last chunk may be shorter
        const std::int64_t rows = nb * a.length;
        const std::size_t x_off = static_cast<std::size_t>(b0 * a.length * a.cin) * eb;
        const std::size_t y_off = static_cast<std::size_t>(b0 * a.length * a.cout) * eb;
        const void* x = static_cast<const unsigned char*>(a.x) + x_off;
        void* y = static_cast<unsigned char*>(a.y) + y_off;
        const void* res = a.residual ? static_cast<const unsigned char*>(a.residual) + y_off : nullptr;

        // 1. ConvBlock input transform (cuDNN's legacy forward has no input-side fusion).
        if (x_t) {
            conv_input_transform(a.in_scale, a.in_shift, a.in_gelu, rows, a.cin, x, x_t, a.prec, stream);
            x = x_t;
        }

        // 2. The convolution. With an in-place residual and no output GELU, cuDNN's beta = 1 adds
        //    the residual already in y; with an output GELU the conv goes to scratch first.
        void* conv_out = y_t ? y_t : y;
        cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
        if (!pc.measured) SCPX_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
        if (!pc.measured && capture != cudaStreamCaptureStatusNone) pc.measured = true;  // keep the heuristic
        if (!pc.measured) {
            // The search overwrites its output: give it y unless y still holds the residual.
            void* probe = conv_out;
            void* tmp = nullptr;
            if (in_place && !y_t) {
                if (cudaMalloc(&tmp, static_cast<std::size_t>(rows * a.cout) * eb) == cudaSuccess) probe = tmp;
                else {
                    cudaGetLastError();
                    probe = nullptr;
                }
            }
            if (probe) m.measure(pc, a, x, wk, probe, ws, s.workspace);
            else pc.measured = true;  // keep the heuristic choice
            if (tmp) SCPX_CUDA_CHECK(cudaFree(tmp));
        }
        if (pc.workspace_need > s.workspace) throw internal_error("cuDNN conv: workspace plan too small");
        const float alpha = 1.0f, beta = (in_place && !y_t) ? 1.0f : 0.0f;
        SCPX_CUDNN_CHECK(lib, lib.cudnnConvolutionForward(m.handle, &alpha, pc.x_desc, x, pc.w_desc, wk, pc.conv,
                                                          pc.algo, ws, pc.workspace_need, &beta, pc.y_desc,
                                                          conv_out));

        // 3. Epilogue: bias, output GELU, residual (unless beta already added it).
        const void* add = (in_place && !y_t) ? nullptr : res;
        if (a.bias || a.out_gelu || add || y_t)
            launch_epilogue(a.prec, conv_out, a.bias, a.out_gelu, add, y, rows, a.cout, stream);
    }
}

#else // !SCPX_HAVE_CUDNN_H ------------------------------------------------------------------------

struct cudnn_library::impl {};
const cudnn_library* cudnn_library::get() { return nullptr; }
std::string cudnn_library::describe() { return "cuDNN not usable: support not compiled in (no cudnn.h at build time)"; }
std::size_t cudnn_library::version() const { return 0; }
cudnn_library::cudnn_library(std::unique_ptr<impl> p) : p_(std::move(p)) {}
cudnn_library::~cudnn_library() = default;

struct cudnn_conv1d::impl {};
cudnn_conv1d::cudnn_conv1d() { throw cuda_error(cudnn_library::describe()); }
cudnn_conv1d::~cudnn_conv1d() = default;
std::size_t cudnn_conv1d::scratch_bytes(const conv1d_args&) { throw cuda_error(cudnn_library::describe()); }
void cudnn_conv1d::run(const conv1d_args&, void*, std::size_t, cudaStream_t) {
    throw cuda_error(cudnn_library::describe());
}

#endif // SCPX_HAVE_CUDNN_H

// =============================================================================================
// conv_selector
// =============================================================================================

namespace {

using selector_key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int,
                                unsigned>;

selector_key make_key(const conv1d_args& a) {
    const unsigned flags = (a.in_scale ? 1u : 0u) | (a.in_gelu ? 2u : 0u) | (a.out_gelu ? 4u : 0u) |
                           (a.bias ? 8u : 0u) | (a.residual ? 16u : 0u) | (a.residual == a.y ? 32u : 0u);
    return {a.batch, a.length, a.cin, a.cout, a.kernel, static_cast<int>(a.prec), flags};
}

std::string format_ms(double ms) {
    if (ms < 0) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f ms", ms);
    return buf;
}

} // namespace

struct conv_selector::impl {
    struct entry {
        conv1d_args shape;             ///< sizes and flags (pointers are not used)
        conv_backend chosen = conv_backend::CUSTOM;
        double custom_ms = -1, cudnn_ms = -1, gemm_ms = -1;
        std::string note;              ///< why no timing / why cuDNN was not used
    };
    conv_backend mode;
    gemm_engine* gemm = nullptr;       ///< AUTO's GEMM candidate for k = 1 shapes (not owned)
    std::unique_ptr<cudnn_conv1d> cudnn;
    bool cudnn_tried = false;
    std::string cudnn_why;             ///< reason cuDNN is not usable, once tried
    std::map<selector_key, entry> entries;
    std::vector<selector_key> order;   ///< first-use order, for the report

    /// The cuDNN convolution, created on first need; nullptr (with cudnn_why) when not usable.
    cudnn_conv1d* get_cudnn() {
        if (!cudnn_tried) {
            cudnn_tried = true;
            if (!cudnn_library::get()) cudnn_why = cudnn_library::describe();
            else {
                try {
                    cudnn = std::make_unique<cudnn_conv1d>();
                } catch (const error& e) {
                    cudnn_why = e.what();
                }
            }
        }
        return cudnn.get();
    }

    entry& record(const conv1d_args& a, conv_backend chosen) {
        const selector_key key = make_key(a);
        auto it = entries.find(key);
        if (it != entries.end()) return it->second;
        entry e;
        e.shape = a;
        e.chosen = chosen;
        order.push_back(key);
        return entries.emplace(key, e).first->second;
    }


    /// AUTO, first call of a shape: times every candidate and records the fastest.
    entry& decide(const conv1d_args& a, void* scratch, std::size_t scratch_size, cudaStream_t stream) {
        cudnn_conv1d* dnn = get_cudnn();
        const bool try_gemm = gemm && conv_gemm_supports(a);
        if (!dnn && !try_gemm) {
            entry& e = record(a, conv_backend::CUSTOM);
            e.note = cudnn_why;
            return e;
        }
        cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
        SCPX_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
        if (capture != cudaStreamCaptureStatusNone) {
            entry& e = record(a, conv_backend::CUSTOM);
            e.note = "not timed (stream capture)";
            return e;
        }
        // Repeated runs must not change the caller's data: with an in-place residual each run
        // would add it again, so the timed runs write a temporary output instead.
        conv1d_args t = a;
        void* tmp = nullptr;
        if (a.residual && a.residual == a.y) {
            const std::size_t bytes = static_cast<std::size_t>(a.batch * a.length * a.cout) * element_bytes(a.prec);
            if (cudaMalloc(&tmp, bytes) != cudaSuccess) {
                cudaGetLastError();
                entry& e = record(a, conv_backend::CUSTOM);
                e.note = "not timed (no memory for a temporary output)";
                return e;
            }
            t.y = tmp;
        }
        constexpr int kReps = 3;  // best of 3: the minimum also discards cuDNN's first-run algorithm search
        double custom_ms = -1, cudnn_ms = -1, gemm_ms = -1;
        std::string custom_err, cudnn_err, gemm_err;
        try {
            try {
                custom_ms = best_time_ms([&] { conv1d(t, stream); }, kReps, stream);
            } catch (const usage_error& e) {  // shape the custom kernel does not handle
                custom_err = e.what();
            }
            if (dnn) {
                try {
                    cudnn_ms = best_time_ms([&] { dnn->run(t, scratch, scratch_size, stream); }, kReps, stream);
                } catch (const usage_error& e) {
                    cudnn_err = e.what();
                } catch (const cuda_error& e) {  // cuDNN refused the shape (status, not a device fault)
                    cudaGetLastError();
                    cudnn_err = e.what();
                }
            }
            if (try_gemm) {
                try {
                    gemm_ms = best_time_ms([&] { conv_gemm(t, *gemm, scratch, scratch_size, stream); }, kReps, stream);
                } catch (const usage_error& e) {
                    gemm_err = e.what();
                } catch (const cuda_error& e) {  // cuBLASLt refused the shape
                    cudaGetLastError();
                    gemm_err = e.what();
                }
            }
        } catch (...) {
            if (tmp) cudaFree(tmp);
            throw;
        }
        if (tmp) SCPX_CUDA_CHECK(cudaFree(tmp));
        if (custom_ms < 0 && cudnn_ms < 0 && gemm_ms < 0)
            throw usage_error("conv1d: no implementation runs this shape: " + custom_err);
        // The fastest that ran; ties keep the earlier candidate (custom, then cuDNN).
        conv_backend best = conv_backend::CUSTOM;
        double best_ms = custom_ms;
        const auto consider = [&](conv_backend b, double ms) {
            if (ms >= 0 && (best_ms < 0 || ms < best_ms)) {
                best = b;
                best_ms = ms;
            }
        };
        consider(conv_backend::CUDNN, cudnn_ms);
        consider(conv_backend::GEMM, gemm_ms);
        entry& e = record(a, best);
        e.custom_ms = custom_ms;
        e.cudnn_ms = cudnn_ms;
        e.gemm_ms = gemm_ms;
        if (!cudnn_err.empty()) e.note = "cuDNN: " + cudnn_err;
        else if (!custom_err.empty()) e.note = "custom: " + custom_err;
        else if (!gemm_err.empty()) e.note = "GEMM: " + gemm_err;
        return e;
    }
};

conv_selector::conv_selector(conv_backend mode) : p_(std::make_unique<impl>()) {
    p_->mode = mode;
    if (mode == conv_backend::CUDNN && !p_->get_cudnn())
        throw usage_error("--conv-backend cudnn was asked for, but " + p_->cudnn_why);
}

conv_selector::~conv_selector() = default;

std::size_t conv_selector::max_scratch_bytes(const conv1d_args& a) {
    switch (p_->mode) {
    case conv_backend::CUSTOM: return 0;
    case conv_backend::CUDNN:
    case conv_backend::AUTO:
    default: {
        std::size_t need = 0;
        if (cudnn_conv1d* dnn = p_->get_cudnn()) {
            try {
                need = dnn->scratch_bytes(a);
            } catch (const error&) {
                need = 0;  // cuDNN cannot run this shape: AUTO will use another candidate
            }
        }
        // AUTO's GEMM candidate shares the scratch (never at the same time as cuDNN).
        if (p_->mode == conv_backend::AUTO && conv_gemm_supports(a))
            need = std::max(need, conv_gemm_scratch_bytes(a));
        return need;
    }
    }
}

void conv_selector::run(const conv1d_args& a, void* scratch, std::size_t scratch_size, cudaStream_t stream) {
    impl& m = *p_;
    switch (m.mode) {
    case conv_backend::CUSTOM:
        m.record(a, conv_backend::CUSTOM);
        conv1d(a, stream);
        return;
    case conv_backend::CUDNN: {
        // Forced cuDNN, except for a shape cuDNN refuses (e.g. no algorithm for the bf16 stem's 4
        // input channels): that shape falls back to the custom kernel once, noted in report().
        impl::entry& e = m.record(a, conv_backend::CUDNN);
        if (e.chosen == conv_backend::CUDNN) {
            try {
                m.get_cudnn()->run(a, scratch, scratch_size, stream);
                return;
            } catch (const usage_error& x) {
                e.note = std::string("cuDNN refused, custom used: ") + x.what();
            } catch (const cuda_error& x) {  // a cuDNN status, not a device fault (as in decide())
                cudaGetLastError();
                e.note = std::string("cuDNN refused, custom used: ") + x.what();
            }
            e.chosen = conv_backend::CUSTOM;
        }
        conv1d(a, stream);
        return;
    }
    case conv_backend::AUTO:
    default: {
        auto it = m.entries.find(make_key(a));
        const impl::entry& e = it != m.entries.end() ? it->second : m.decide(a, scratch, scratch_size, stream);
        if (e.chosen == conv_backend::CUDNN) m.cudnn->run(a, scratch, scratch_size, stream);
        else if (e.chosen == conv_backend::GEMM && m.gemm) conv_gemm(a, *m.gemm, scratch, scratch_size, stream);
        else conv1d(a, stream);
        return;
    }
    }
}

void conv_selector::set_gemm(gemm_engine* gemm) { p_->gemm = gemm; }

std::string conv_selector::report() const {
    const impl& m = *p_;
    std::string out;
    for (const selector_key& key : m.order) {
        const impl::entry& e = m.entries.at(key);
        const conv1d_args& a = e.shape;
        char head[160];
        std::snprintf(head, sizeof head, "%lld×%lld×%lld→%lld k=%lld %s%s%s: ", static_cast<long long>(a.batch),
                      static_cast<long long>(a.length), static_cast<long long>(a.cin),
                      static_cast<long long>(a.cout), static_cast<long long>(a.kernel), precision_name(a.prec),
                      a.in_scale || a.in_gelu ? " bn-gelu" : "", a.residual ? " +res" : "");
        out += head;
        const char* chosen = e.chosen == conv_backend::CUDNN ? "cuDNN" : e.chosen == conv_backend::GEMM ? "GEMM" : "custom";
        if (m.mode == conv_backend::AUTO && (e.custom_ms >= 0 || e.cudnn_ms >= 0 || e.gemm_ms >= 0))
            out += "custom " + format_ms(e.custom_ms) + ", cuDNN " + format_ms(e.cudnn_ms) +
                   (e.gemm_ms >= 0 ? ", GEMM " + format_ms(e.gemm_ms) : std::string()) + " → " + chosen;
        else
            out += std::string(chosen) + (m.mode == conv_backend::AUTO ? "" : " (forced)");
        if (!e.note.empty()) out += " [" + e.note + "]";
        out += "\n";
    }
    return out;
}

} // namespace scpx::cuda
