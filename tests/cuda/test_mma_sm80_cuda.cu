// The register-fragment layouts of kernels/enformer/mma_sm80.cuh (bf16 m16n8k16, tf32 m16n8k8),
// which the flash attention kernel builds by hand: a one-warp kernel scatters A, B and C from
// row-major memory into fragments by the documented lane/register mapping, multiplies, and
// gathers D the same way; D must equal A·B + C computed on the host. Values are small multiples
// of 1/4, so every product and sum is exact in fp32 and the comparison is exact. On a card this
// checks our reading of the PTX ISA against the hardware; under the emulator it checks the
// emulator's implementation against the same reading. The same for `ldmatrix` (plain and
// transposed, x2 and x4) and `cp.async` with zero fill, which the BF16 flash attention uses.
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

/// One warp: a 16×16 matrix of 16-bit codes (element (r, c) = 256 r + c) goes global → shared by
/// cp.async, rows 16 … 19 zero-filled (src_bytes 0); then ldmatrix with the four 8×8 quadrants
/// (matrix m: rows 8(m>>1)…, columns 8(m&1)…) and N = 4 and 2, plain and transposed. out[lane][·]
/// = registers of x4, x4.trans, x2, x2.trans (12 words per lane), then the zero-filled rows.
__global__ void ldmatrix_kernel(const std::uint16_t* codes, std::uint32_t* out) {
    SCPX_DYNAMIC_SHARED(smem);
    auto* tile = reinterpret_cast<std::uint16_t*>(smem); // 20 rows of 24 elements (48 bytes)
    const int lane = static_cast<int>(threadIdx.x);
    for (int chunk = lane; chunk < 20 * 2; chunk += 32) {
        const int r = chunk / 2, c = 8 * (chunk % 2);
        mma::cp_async_16(tile + r * 24 + c, codes + (r < 16 ? r : 0) * 16 + c, r < 16 ? 16 : 0);
    }
    mma::cp_async_wait_all();
    __syncthreads();
    const int m = lane / 8;
    const std::uint16_t* row = tile + (8 * (m >> 1) + lane % 8) * 24 + 8 * (m & 1);
    std::uint32_t r4[4], t4[4], r2[2], t2[2];
    mma::ldmatrix<4, false>(r4, row);
    mma::ldmatrix<4, true>(t4, row);
    mma::ldmatrix<2, false>(r2, row);
    mma::ldmatrix<2, true>(t2, row);
    std::uint32_t* o = out + lane * 12;
    for (int i = 0; i < 4; ++i) o[i] = r4[i], o[4 + i] = t4[i];
    for (int i = 0; i < 2; ++i) o[8 + i] = r2[i], o[10 + i] = t2[i];
    for (int e = lane; e < 4 * 24; e += 32) {
        std::uint16_t v = tile[16 * 24 + e];
        out[32 * 12 + e] = (e % 24) < 16 ? v : 0; // the padding columns were never written
    }
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

TEST(CudaMma, LdmatrixAndCpAsyncLayouts) {
    SKIP_WITHOUT_GPU();
    std::vector<std::uint16_t> codes(16 * 16);
    for (int r = 0; r < 16; ++r)
        for (int c = 0; c < 16; ++c) codes[static_cast<std::size_t>(r * 16 + c)] = static_cast<std::uint16_t>(256 * r + c);
    std::uint16_t* dcodes = nullptr;
    std::uint32_t* dout = nullptr;
    const std::size_t n_out = 32 * 12 + 4 * 24;
    SCPX_CUDA_CHECK(cudaMalloc(&dcodes, codes.size() * sizeof(std::uint16_t)));
    SCPX_CUDA_CHECK(cudaMemcpy(dcodes, codes.data(), codes.size() * sizeof(std::uint16_t), cudaMemcpyHostToDevice));
    SCPX_CUDA_CHECK(cudaMalloc(&dout, n_out * sizeof(std::uint32_t)));
    SCPX_CUDA_CHECK(cudaMemset(dout, 0xFF, n_out * sizeof(std::uint32_t)));
    SCPX_LAUNCH(1, 32, 20 * 24 * sizeof(std::uint16_t), nullptr, ldmatrix_kernel)(dcodes, dout);
    SCPX_CUDA_CHECK_LAUNCH();
    std::vector<std::uint32_t> out(n_out);
    SCPX_CUDA_CHECK(cudaMemcpy(out.data(), dout, n_out * sizeof(std::uint32_t), cudaMemcpyDeviceToHost));
    // Element (r, c) of quadrant m, as the code it holds; two of them packed low-first.
    const auto code = [](int m, int r, int c) { return static_cast<std::uint32_t>(256 * (8 * (m >> 1) + r) + 8 * (m & 1) + c); };
    const auto pack = [](std::uint32_t lo, std::uint32_t hi) { return lo | hi << 16; };
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane / 4, t = lane % 4;
        const std::uint32_t* o = out.data() + lane * 12;
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(o[i], pack(code(i, g, 2 * t), code(i, g, 2 * t + 1))) << "x4 lane " << lane << " register " << i;
            EXPECT_EQ(o[4 + i], pack(code(i, 2 * t, g), code(i, 2 * t + 1, g))) << "x4.trans lane " << lane << " register " << i;
        }
        for (int i = 0; i < 2; ++i) {
            EXPECT_EQ(o[8 + i], pack(code(i, g, 2 * t), code(i, g, 2 * t + 1))) << "x2 lane " << lane << " register " << i;
            EXPECT_EQ(o[10 + i], pack(code(i, 2 * t, g), code(i, 2 * t + 1, g))) << "x2.trans lane " << lane << " register " << i;
        }
    }
    for (int e = 0; e < 4 * 24; ++e) EXPECT_EQ(out[32 * 12 + static_cast<std::size_t>(e)], 0u) << "zero-filled element " << e;
    cudaFree(dcodes);
    cudaFree(dout);
}

} // namespace
