// Device discovery and the check macros on a real device; skipped without a GPU.
#include "common.cuh"
#include "scpx/core/device.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace {

__global__ void saxpy_kernel(int n, float a, const float* x, float* y) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

TEST(CudaDevice, DescribeAgreesWithAvailability) {
    const std::string d = scpx::gpu::describe();
    if (!scpx::gpu::available()) {
        EXPECT_NE(d.find("no usable GPU"), std::string::npos) << d;
        GTEST_SKIP() << d;
    }
    EXPECT_NE(d.find("sm_"), std::string::npos) << d;
}

TEST(CudaDevice, CheckedLaunchMatchesHostAndKeepsGuardBand) {
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe();
    const int n = 1000, guard = 64;
    std::vector<float> x(n), y(n + guard, std::numeric_limits<float>::quiet_NaN());
    for (int i = 0; i < n; ++i) {
        x[i] = static_cast<float>(i % 17);
        y[i] = static_cast<float>(i % 5);
    }
    float *dx = nullptr, *dy = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&dx, n * sizeof(float)));
    SCPX_CUDA_CHECK(cudaMalloc(&dy, (n + guard) * sizeof(float)));
    SCPX_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    SCPX_CUDA_CHECK(cudaMemcpy(dy, y.data(), (n + guard) * sizeof(float), cudaMemcpyHostToDevice));
    SCPX_LAUNCH(scpx::cuda::div_up(n, 256), 256, 0, nullptr, saxpy_kernel)(n, 2.0f, dx, dy);
    SCPX_CUDA_CHECK_LAUNCH();
    std::vector<float> out(n + guard);
    SCPX_CUDA_CHECK(cudaMemcpy(out.data(), dy, (n + guard) * sizeof(float), cudaMemcpyDeviceToHost));
    cudaFree(dx);
    cudaFree(dy);
    for (int i = 0; i < n; ++i) ASSERT_EQ(out[i], 2.0f * x[i] + y[i]) << "at " << i; // integer-valued: exact
    for (int i = n; i < n + guard; ++i) ASSERT_TRUE(std::isnan(out[i])) << "stray write at " << i;
}

TEST(CudaDevice, FailedCallThrowsCudaError) {
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe();
    void* p = nullptr;
    EXPECT_THROW(SCPX_CUDA_CHECK(cudaMalloc(&p, static_cast<size_t>(1) << 62)), scpx::cuda_error);
    cudaGetLastError();
}

} // namespace
