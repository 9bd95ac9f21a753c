#pragma once
/// @file cudnn_conv.cuh
/// cuDNN as the yardstick for the custom convolution (conv1d.cuh). libcudnn is opened with
/// dlopen at run time (never linked), so binaries run where cuDNN is missing or older than the
/// build machine's headers: the loaded version (cudnnGetVersion) is checked at start-up and the
/// custom kernel is used when cuDNN cannot be. For each conv shape and precision both
/// implementations can be timed and the faster kept (conv_selector), or one forced.

#include "conv1d.cuh"
#include "gemm.cuh"

#include <map>
#include <memory>
#include <string>
#include <tuple>

namespace scpx::cuda {

/// Which implementation runs a convolution. GEMM (a k = 1 or short-reduction shape as a cuBLASLt GEMM,
/// conv_gemm.cuh) is one of AUTO's candidates, not a mode of its own.
enum class conv_backend { CUSTOM, CUDNN, AUTO, GEMM };

/// Parses "custom|cudnn|auto". @throws usage_error otherwise.
conv_backend parse_conv_backend(const std::string& text);

/// The dynamically loaded cuDNN (a process-wide singleton).
class cudnn_library {
public:
    /// The library, or nullptr when libcudnn.so.9 cannot be opened or is unusable (loaded once;
    /// describe() says why, for the caller to log: scpx_kernels has no logger).
    static const cudnn_library* get();
    /// cudnnGetVersion() of the loaded library, e.g. 91400.
    std::size_t version() const;
    /// "cuDNN 9.14.0 (/usr/lib/x86_64-linux-gnu/libcudnn.so.9)" or why not usable.
    static std::string describe();
    struct impl;
    explicit cudnn_library(std::unique_ptr<impl> p);
    ~cudnn_library();
    impl& internals() const { return *p_; }

private:
    std::unique_ptr<impl> p_;
};

/// Runs conv1d_args through cuDNN: the BN + GELU input transform as a separate pass into
/// `scratch` (cuDNN cannot fuse it on the input side), then cudnnConvolutionForward with the best
/// algorithm found for the shape (cudnnFindConvolutionForwardAlgorithm, cached), then bias / GELU /
/// residual in one elementwise pass. Weights are repacked once per weight pointer into cuDNN's
/// layout and cached.
class cudnn_conv1d {
public:
    /// @throws cuda_error when cuDNN is not usable (check cudnn_library::get() first)
    cudnn_conv1d();
    ~cudnn_conv1d();
    cudnn_conv1d(const cudnn_conv1d&) = delete;
    cudnn_conv1d& operator=(const cudnn_conv1d&) = delete;
    /// Device bytes of scratch `run` needs for this shape (transformed input + workspace).
    std::size_t scratch_bytes(const conv1d_args& a);
    /// Enqueues the convolution on `stream`.
    void run(const conv1d_args& a, void* scratch, std::size_t scratch_bytes, cudaStream_t stream);

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

/// Per-shape choice between the custom kernel, cuDNN and (for k = 1 shapes, once set_gemm gave
/// an engine) a cuBLASLt GEMM. With AUTO, the first call for a shape (B, L, cin, cout, k,
/// precision, fused options) times every candidate (a few repetitions each, on the caller's
/// buffers, outside any graph capture) and remembers the fastest; the timings are kept for the
/// benchmark report.
class conv_selector {
public:
    explicit conv_selector(conv_backend mode);
    ~conv_selector();
    /// Runs `a` with the chosen implementation. `scratch` must hold max_scratch_bytes(a).
    void run(const conv1d_args& a, void* scratch, std::size_t scratch_bytes, cudaStream_t stream);
    std::size_t max_scratch_bytes(const conv1d_args& a);
    /// One line per shape: "B×L×cin→cout k=5 bf16: custom 1.23 ms, cuDNN 1.45 ms → custom".
    std::string report() const;
    /// The GEMM engine AUTO may use for k = 1 shapes (nullptr: none). Not owned; the caller
    /// sets it again whenever it replaces the engine.
    void set_gemm(gemm_engine* gemm);

private:
    struct impl;
    std::unique_ptr<impl> p_;
};

} // namespace scpx::cuda
