// The register-fragment layouts of kernels/enformer/mma_sm80.cuh (bf16 m16n8k16, tf32 m16n8k8),
// which the flash attention kernel builds by hand: a one-warp kernel scatters A, B and C from
// row-major memory into fragments by the documented lane/register mapping, multiplies, and
// gathers D the same way; D must equal A·B + C computed on the host. Values are small multiples
// of 1/4, so every product and sum is exact in fp32 and the comparison is exact. On a card this
// checks our reading of the PTX ISA against the hardware; under the emulator it checks the
// emulator's implementation against the same reading.
#include "common.cuh"
#include "enformer/mma_sm80.cuh"
#include "scpx/core/device.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()

namespace mma = scpx::cuda::mma;

/// a: 16×16 row-major, b: 16×8 row-major (k × n), c/d: 16×8 row-major.
__global__ void bf16_layout_kernel(const float* a, const float* b, const float* c, float* d) {
    const int lane = static_cast<int>(threadIdx.x), g = lane / 4, t = lane % 4;
    std::uint32_t fa[4], fb[2];
    fa[0] = mma::pack_bf16(a[g * 16 + 2 * t], a[g * 16 + 2 * t + 1]);
    fa[1] = mma::pack_bf16(a[(g + 8) * 16 + 2 * t], a[(g + 8) * 16 + 2 * t + 1]);
    fa[2] = mma::pack_bf16(a[g * 16 + 2 * t + 8], a[g * 16 + 2 * t + 9]);
    fa[3] = mma::pack_bf16(a[(g + 8) * 16 + 2 * t + 8], a[(g + 8) * 16 + 2 * t + 9]);
    fb[0] = mma::pack_bf16(b[(2 * t) * 8 + g], b[(2 * t + 1) * 8 + g]);
    fb[1] = mma::pack_bf16(b[(2 * t + 8) * 8 + g], b[(2 * t + 9) * 8 + g]);
    float acc[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t], c[(g + 8) * 8 + 2 * t + 1]};
    mma::bf16_m16n8k16(acc, fa, fb);
    d[g * 8 + 2 * t] = acc[0];
    d[g * 8 + 2 * t + 1] = acc[1];
    d[(g + 8) * 8 + 2 * t] = acc[2];
    d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}

/// a: 16×8 row-major, b: 8×8 row-major (k × n), c/d: 16×8 row-major.
__global__ void tf32_layout_kernel(const float* a, const float* b, const float* c, float* d) {
    const int lane = static_cast<int>(threadIdx.x), g = lane / 4, t = lane % 4;
    std::uint32_t fa[4], fb[2];
    fa[0] = mma::bits(mma::round_tf32(a[g * 8 + t]));
    fa[1] = mma::bits(mma::round_tf32(a[(g + 8) * 8 + t]));
    fa[2] = mma::bits(mma::round_tf32(a[g * 8 + t + 4]));
    fa[3] = mma::bits(mma::round_tf32(a[(g + 8) * 8 + t + 4]));
    fb[0] = mma::bits(mma::round_tf32(b[t * 8 + g]));
    fb[1] = mma::bits(mma::round_tf32(b[(t + 4) * 8 + g]));
    float acc[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t], c[(g + 8) * 8 + 2 * t + 1]};
    mma::tf32_m16n8k8(acc, fa, fb);
    d[g * 8 + 2 * t] = acc[0];
    d[g * 8 + 2 * t + 1] = acc[1];
    d[(g + 8) * 8 + 2 * t] = acc[2];
    d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}

/// Small multiples of 1/4 in [−4, 4]: exact in bf16, tf32 and every fp32 sum here.
std::vector<float> quarters(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> q(-16, 16);
    std::vector<float> v(n);
    for (auto& x : v) x = 0.25f * static_cast<float>(q(rng));
    return v;
}

float* upload(const std::vector<float>& h) {
    float* d = nullptr;
    SCPX_CUDA_CHECK(cudaMalloc(&d, h.size() * sizeof(float)));
    SCPX_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

template <class Kernel>
void check_layout(Kernel kernel, int k, unsigned seed) {
    const auto a = quarters(static_cast<std::size_t>(16 * k), seed), b = quarters(static_cast<std::size_t>(k * 8), seed + 1),
               c = quarters(16 * 8, seed + 2);
    float *da = upload(a), *db = upload(b), *dc = upload(c), *dd = upload(std::vector<float>(16 * 8, -999.0f));
    SCPX_LAUNCH(1, 32, 0, nullptr, kernel)(da, db, dc, dd);
    SCPX_CUDA_CHECK_LAUNCH();
    std::vector<float> d(16 * 8);
    SCPX_CUDA_CHECK(cudaMemcpy(d.data(), dd, d.size() * sizeof(float), cudaMemcpyDeviceToHost));
    for (int r = 0; r < 16; ++r)
        for (int col = 0; col < 8; ++col) {
            float want = c[static_cast<std::size_t>(r * 8 + col)];
            for (int kk = 0; kk < k; ++kk) want += a[static_cast<std::size_t>(r * k + kk)] * b[static_cast<std::size_t>(kk * 8 + col)];
            EXPECT_EQ(d[static_cast<std::size_t>(r * 8 + col)], want) << "row " << r << " column " << col;
        }
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
    cudaFree(dd);
}

TEST(CudaMma, Bf16M16n8k16FragmentLayout) {
    SKIP_WITHOUT_GPU();
    check_layout(bf16_layout_kernel, 16, 11);
}

TEST(CudaMma, Tf32M16n8k8FragmentLayout) {
    SKIP_WITHOUT_GPU();
    check_layout(tf32_layout_kernel, 8, 21);
}

} // namespace
