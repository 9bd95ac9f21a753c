#pragma once
// Check macros and small device helpers shared by every kernel (the ggml common.cuh shape, with
// heFFTe's throw semantics: a failure throws scpx::cuda_error, it never aborts).

#include "scpx/core/error.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <string>

namespace scpx::detail {
inline std::string cuda_error_string(cudaError_t e) {
    return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}
inline std::string cublas_error_string(cublasStatus_t s) {
    return std::string(cublasGetStatusName(s)) + ": " + cublasGetStatusString(s);
}
} // namespace scpx::detail

#define SCPX_CUDA_CHECK(expr)                                                                     \
    SCPX_CHECK_GEN((expr), cudaSuccess, ::scpx::detail::cuda_error_string, ::scpx::cuda_error,    \
                   "CUDA call")

#define SCPX_CUBLAS_CHECK(expr)                                                                   \
    SCPX_CHECK_GEN((expr), CUBLAS_STATUS_SUCCESS, ::scpx::detail::cublas_error_string,            \
                   ::scpx::cuda_error, "cuBLAS call")

/// After every kernel launch: catches launch errors; with SCPX_SYNC_DEBUG also waits for the
/// kernel so an asynchronous fault is reported at the right launch.
#ifdef SCPX_SYNC_DEBUG
#define SCPX_CUDA_CHECK_LAUNCH()                                                                  \
    do {                                                                                          \
        SCPX_CUDA_CHECK(cudaGetLastError());                                                      \
        SCPX_CUDA_CHECK(cudaDeviceSynchronize());                                                 \
    } while (0)
#else
#define SCPX_CUDA_CHECK_LAUNCH() SCPX_CUDA_CHECK(cudaGetLastError())
#endif

/// Kernel launch and dynamic shared memory, spelled so that the CUDA emulator used by the kernel
/// cross-tests on machines without a GPU (tests/cuda_emu) can run the same source:
///   SCPX_LAUNCH(grid, block, smem_bytes, stream, kernel<Targs...>)(args...);
///   SCPX_DYNAMIC_SHARED(smem);   // unsigned char smem[], 128-byte aligned
/// Under nvcc these are exactly `kernel<<<grid, block, smem_bytes, stream>>>(args...)` and
/// `extern __shared__ __align__(128) unsigned char smem[]`. The kernel comes last because a
/// template argument list may hold commas.
#ifdef SCPX_CUDA_EMULATION
#define SCPX_LAUNCH(grid, block, smem, stream, ...) ::scpx_emu::make_launcher(__VA_ARGS__, grid, block, smem, stream)
#define SCPX_DYNAMIC_SHARED(name) unsigned char* const name = ::scpx_emu::dynamic_shared()
#else
#define SCPX_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#define SCPX_DYNAMIC_SHARED(name) extern __shared__ __align__(128) unsigned char name[]
#endif

namespace scpx::cuda {
/// Ceiling division for grid sizes.
constexpr __host__ __device__ inline int div_up(long long a, long long b) {
    return static_cast<int>((a + b - 1) / b);
}

/// Milliseconds of the best of `reps` runs of `fn` on `stream`, timed with events (no warm-up:
/// the minimum discards a first run's one-time costs). Exceptions from `fn` propagate.
template <class F>
double best_time_ms(F&& fn, int reps, cudaStream_t stream) {
    cudaEvent_t start, stop;
    SCPX_CUDA_CHECK(cudaEventCreate(&start));
    SCPX_CUDA_CHECK(cudaEventCreate(&stop));
    double best = -1;
    try {
        for (int r = 0; r < reps; ++r) {
            SCPX_CUDA_CHECK(cudaEventRecord(start, stream));
            fn();
            SCPX_CUDA_CHECK(cudaEventRecord(stop, stream));
            SCPX_CUDA_CHECK(cudaEventSynchronize(stop));
            float ms = 0;
            SCPX_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
            if (best < 0 || ms < best) best = ms;
        }
    } catch (...) {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        throw;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return best;
}

/// `bytes` rounded up to a multiple of 128: where each region of a kernel's dynamic shared memory
/// starts (aligned for 16-byte vector, ldmatrix and wmma accesses alike).
inline unsigned align128(std::size_t bytes) { return static_cast<unsigned>((bytes + 127) / 128 * 128); }

/// The current device and its opt-in limit of dynamic shared memory per block; the first failing
/// CUDA call's status.
inline cudaError_t query_shared_optin(int& device, int& optin) {
    const cudaError_t e = cudaGetDevice(&device);
    return e != cudaSuccess ? e : cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
}

/// Devices a kernel's shared_optin_record tells apart (ordinals modulo this).
constexpr int kMaxOptinDevices = 64;
/// Per kernel (a function-local static): the shared-memory size opted in to on each device.
using shared_optin_record = std::atomic<unsigned>[kMaxOptinDevices];

/// Lets `kernel` use `bytes` of dynamic shared memory on `device` when that is above the default
/// 48 KiB — once per device and size reached, so that the steady state (and a CUDA graph capture
/// of it) issues nothing but the launch. `max_carveout`: also prefer the SM's largest
/// shared-memory carve-out (for several large blocks per SM).
template <class Kernel>
void opt_in_shared(Kernel kernel, unsigned bytes, int device, shared_optin_record& opted, bool max_carveout = false) {
    std::atomic<unsigned>& mine = opted[device % kMaxOptinDevices];
    if (bytes <= 48 * 1024 || bytes <= mine.load()) return;
    SCPX_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    if (max_carveout)
        SCPX_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                             static_cast<int>(cudaSharedmemCarveoutMaxShared)));
    mine.store(bytes);
}

/// Blocks for a grid-stride loop over `items`: one item per thread, at least one block, at most
/// `max_blocks` (the loop covers the rest).
inline unsigned grid_stride_blocks(long long items, int threads, long long max_blocks = 1 << 20) {
    const long long blocks = (items + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 1 ? 1 : blocks > max_blocks ? max_blocks : blocks);
}
} // namespace scpx::cuda
