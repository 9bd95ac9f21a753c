// Self-tests of the CUDA emulator (compiled with cuda_emu.hpp force-included, like the kernels):
// it must run correct kernels correctly and must catch the faults it claims to catch — a
// missing barrier (results depend on the thread order), mismatched barriers (deadlock), a misaligned wmma pointer,
// a shuffle from an exited lane, too much dynamic shared memory.
#include "common.cuh"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

// Block-wide reversal through shared memory; `sync` false drops the barrier (a race).
__global__ void reverse_kernel(const int* in, int* out, bool sync) {
    SCPX_DYNAMIC_SHARED(smem);
    int* s = reinterpret_cast<int*>(smem);
    const int t = static_cast<int>(threadIdx.x), n = static_cast<int>(blockDim.x);
    s[t] = in[blockIdx.x * n + t];
    if (sync) __syncthreads();
    out[blockIdx.x * n + t] = s[n - 1 - t];
}

__global__ void warp_sum_kernel(const float* in, float* out) {
    float v = in[threadIdx.x];
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
}

// Half a warp waits at __syncthreads, the other half at __syncwarp: neither can complete.
__global__ void mismatched_barrier_kernel() {
    if (threadIdx.x < 16)
        __syncthreads();
    else
        __syncwarp();
}

__global__ void exited_lane_kernel(float* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, 1.0f, 20);
}

__global__ void wmma_kernel(const __nv_bfloat16* a, const __nv_bfloat16* b, float* c, int offset) {
    namespace wmma = nvcuda::wmma;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, 0.0f);
    wmma::load_matrix_sync(fa, a + offset, 16);
    wmma::load_matrix_sync(fb, b, 16);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}

template <class T> T* device_copy(const std::vector<T>& h) {
    void* d = nullptr;
    EXPECT_EQ(cudaMalloc(&d, h.size() * sizeof(T) + 64), cudaSuccess);
    cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    return static_cast<T*>(d);
}

std::vector<int> run_reverse(bool sync, const char* order) {
    // The suite itself runs under a schedule chosen by CTest: restore it afterwards.
    const char* was = std::getenv("SCPX_EMU_SCHEDULE");
    const std::string saved = was ? was : "";
    setenv("SCPX_EMU_SCHEDULE", order, 1);
    const int n = 64, blocks = 3;
    std::vector<int> in(n * blocks);
    for (int i = 0; i < n * blocks; ++i) in[i] = i;
    int* din = device_copy(in);
    int* dout = device_copy(std::vector<int>(n * blocks, -1));
    SCPX_LAUNCH(blocks, n, n * sizeof(int), nullptr, reverse_kernel)(din, dout, sync);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    std::vector<int> out(n * blocks);
    cudaMemcpy(out.data(), dout, out.size() * sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(din);
    cudaFree(dout);
    if (was)
        setenv("SCPX_EMU_SCHEDULE", saved.c_str(), 1);
    else
        unsetenv("SCPX_EMU_SCHEDULE");
    return out;
}

} // namespace

TEST(CudaEmulator, BarrierMakesResultIndependentOfThreadOrder) {
    const auto fwd = run_reverse(true, "forward");
    EXPECT_EQ(fwd, run_reverse(true, "reverse"));
    EXPECT_EQ(fwd, run_reverse(true, "shuffle"));
    for (int b = 0; b < 3; ++b)
        for (int t = 0; t < 64; ++t) ASSERT_EQ(fwd[b * 64 + t], b * 64 + 63 - t);
}

TEST(CudaEmulator, MissingBarrierShowsAsOrderDependence) {
    EXPECT_NE(run_reverse(false, "forward"), run_reverse(false, "reverse"));
}

TEST(CudaEmulator, WarpShuffleReduces) {
    std::vector<float> in(64);
    for (int i = 0; i < 64; ++i) in[i] = static_cast<float>(i);
    float* din = device_copy(in);
    float* dout = device_copy(std::vector<float>(2, 0.0f));
    SCPX_LAUNCH(1, 64, 0, nullptr, warp_sum_kernel)(din, dout);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    float out[2];
    cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost);
    EXPECT_EQ(out[0], 496.0f);        // 0 + … + 31
    EXPECT_EQ(out[1], 496.0f + 1024); // 32 + … + 63
    cudaFree(din);
    cudaFree(dout);
}

TEST(CudaEmulator, MismatchedBarriersAreReportedAsDeadlock) {
    SCPX_LAUNCH(1, 32, 0, nullptr, mismatched_barrier_kernel)();
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess); // the error is reported once, then cleared
}

TEST(CudaEmulator, ShuffleFromExitedLaneFails) {
    float* dout = device_copy(std::vector<float>(32, 0.0f));
    SCPX_LAUNCH(1, 32, 0, nullptr, exited_lane_kernel)(dout);
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
    cudaFree(dout);
}

TEST(CudaEmulator, WmmaMultipliesAndRejectsMisalignedPointers) {
    std::vector<__nv_bfloat16> a(16 * 16 + 16), b(16 * 16);
    for (int i = 0; i < 16; ++i)
        for (int k = 0; k < 16; ++k) {
            a[i * 16 + k] = __float2bfloat16_rn(static_cast<float>(i + k));
            b[i * 16 + k] = __float2bfloat16_rn(i == k ? 2.0f : 0.0f); // col-major 2·I
        }
    auto* da = device_copy(a);
    auto* db = device_copy(b);
    float* dc = device_copy(std::vector<float>(256, 0.0f));
    SCPX_LAUNCH(1, 32, 0, nullptr, wmma_kernel)(da, db, dc, 0);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    std::vector<float> c(256);
    cudaMemcpy(c.data(), dc, c.size() * sizeof(float), cudaMemcpyDeviceToHost);
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) ASSERT_EQ(c[i * 16 + j], 2.0f * static_cast<float>(i + j));
    SCPX_LAUNCH(1, 32, 0, nullptr, wmma_kernel)(da, db, dc, 4); // 8-byte offset: not 256-bit aligned
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
}

TEST(CudaEmulator, DynamicSharedMemoryNeedsTheOptInAttribute) {
    int* d = device_copy(std::vector<int>(64, 0));
    SCPX_LAUNCH(1, 64, 64 * 1024, nullptr, reverse_kernel)(d, d, true);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue); // above 48 KiB without the attribute
    ASSERT_EQ(cudaFuncSetAttribute(reverse_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024), cudaSuccess);
    SCPX_LAUNCH(1, 64, 64 * 1024, nullptr, reverse_kernel)(d, d + 0, true);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    cudaFree(d);
}
