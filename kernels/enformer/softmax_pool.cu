// Fused SoftmaxPool2 (softmax_pool.cuh): the logit GEMM x·w runs on the shared implicit-GEMM
// tile (igemm_tile.cuh, as a width-1 conv without input transform) and the epilogue pools each
// pair of rows straight from the staged fp32 logits, so the [B·L, C] logits never reach memory.
#include "softmax_pool.cuh"

#include "igemm_tile.cuh"

#include <string>

namespace scpx::cuda {

namespace {

using igemm::kBlockM;
using igemm::kBlockN;
using igemm::kCLd;
using igemm::kThreads;

// Row pairs (2l, 2l+1) never straddle a tile (kBlockM even, tiles start at multiples of it) nor a
// sequence (L even, so flattened row b·L + 2l is even exactly when it starts a pair).
static_assert(kBlockM % 2 == 0, "the pool epilogue needs whole row pairs in a tile");

/// y[r/2, c] = x0 + σ(l1 − l0)·(x1 − x0) for the pair starting at even row r: the two-way softmax
/// as a sigmoid of the logit difference (cannot overflow), the same form as softmax_pool_ref.
/// x is re-read at full precision (fp32 in TF32 mode), so only the logits see the mma rounding.
template <class T>
struct pool_epilogue {
    const T* x;  // [M, C]
    T* y;        // [M/2, C]
    std::int64_t m_total;
    int channels;

    __device__ void operator()(const float* cs, std::int64_t m0, int n0, int tid) const {
        constexpr int kGroups = kBlockN / 4;
        for (int g = tid; g < (kBlockM / 2) * kGroups; g += kThreads) {
            const int p = g / kGroups, nq = g % kGroups;
            const std::int64_t r = m0 + 2 * p; // even; r + 1 < m_total whenever r < m_total
            const int c = n0 + nq * 4;
            if (r >= m_total || c >= channels) continue;
            const float4 l0 = *reinterpret_cast<const float4*>(cs + (2 * p) * kCLd + nq * 4);
            const float4 l1 = *reinterpret_cast<const float4*>(cs + (2 * p + 1) * kCLd + nq * 4);
            const float4 x0 = igemm::unpack4(igemm::ldg4(x + r * channels + c));
            const float4 x1 = igemm::unpack4(igemm::ldg4(x + (r + 1) * channels + c));
            const float s0 = 1.0f / (1.0f + expf(l0.x - l1.x));
            const float s1 = 1.0f / (1.0f + expf(l0.y - l1.y));
            const float s2 = 1.0f / (1.0f + expf(l0.z - l1.z));
            const float s3 = 1.0f / (1.0f + expf(l0.w - l1.w));
            const float4 v = make_float4(fmaf(s0, x1.x - x0.x, x0.x), fmaf(s1, x1.y - x0.y, x0.y),
                                         fmaf(s2, x1.z - x0.z, x0.z), fmaf(s3, x1.w - x0.w, x0.w));
            igemm::store4_f32(y + (r / 2) * channels + c, v);
        }
    }
};

template <class T, igemm::mma_kind MK>
void run(const softmax_pool_args& a, cudaStream_t stream) {
    igemm::a_operand op;
    op.x = a.x;
    op.length = a.length;
    op.cin = static_cast<int>(a.channels);
    op.kernel = 1;
    const std::int64_t m_total = a.batch * a.length;
    const pool_epilogue<T> epi{static_cast<const T*>(a.x), static_cast<T*>(a.y), m_total,
                               static_cast<int>(a.channels)};
    igemm::launch<T, MK>(op, static_cast<const T*>(a.w), static_cast<int>(a.channels), m_total, epi, stream);
}

} // namespace

void softmax_pool_validate(const softmax_pool_args& a) {
    const std::string where = "softmax pooling (CUDA): ";
    if (a.length % 2 != 0) throw usage_error(where + "the input length must be even");
    if (!a.x || !a.w || !a.y) throw usage_error(where + "missing x, w or y");
    if (a.batch < 1 || a.length < 2 || a.channels < 1) throw usage_error(where + "empty shape");
    if (a.channels % 8 != 0)
        throw usage_error(where + "channels = " + std::to_string(a.channels) + " must be a multiple of 8");
    if (a.length >= (std::int64_t{1} << 30) || a.channels >= (std::int64_t{1} << 20))
        throw usage_error(where + "length or channels too large");
    const std::size_t eb = element_bytes(a.prec);
    if (!igemm::aligned(a.x, 4 * eb) || !igemm::aligned(a.w, 4 * eb) || !igemm::aligned(a.y, 4 * eb))
        throw usage_error(where + "tensors must be aligned to 4 elements (16 B for fp32, 8 B for bf16)");
    const auto in_bytes = static_cast<std::size_t>(a.batch * a.length * a.channels) * eb;
    if (igemm::overlaps(a.x, in_bytes, a.y, in_bytes / 2)) throw usage_error(where + "y must not overlap x");
}

void softmax_pool(const softmax_pool_args& a, cudaStream_t stream) {
    softmax_pool_validate(a);
    if (a.has_out_transform())
        throw usage_error("softmax pooling (CUDA): the fused kernel applies no output transform (softmax_pool_gemm does)");
    switch (a.prec) {
    case precision::FP32: run<float, igemm::mma_kind::SIMT>(a, stream); break;
    case precision::TF32: run<float, igemm::mma_kind::TF32>(a, stream); break;
    case precision::BF16: run<__nv_bfloat16, igemm::mma_kind::BF16>(a, stream); break;
    }
}

} // namespace scpx::cuda
