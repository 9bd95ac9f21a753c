// Custom 1-D convolution (conv1d.cuh) on the shared implicit-GEMM tile (igemm_tile.cuh):
// M = B·L output rows, N = cout, K = k·cin. The folded BN + GELU is applied in the A loader; this
// file adds the epilogue (bias, GELU, residual, store) and the up-front validation.
#include "conv1d.cuh"

#include "igemm_tile.cuh"

#include <string>

namespace scpx::cuda {

namespace {

using igemm::kBlockM;
using igemm::kBlockN;
using igemm::kCLd;
using igemm::kThreads;

/// y[r, n] = act(acc[r, n] + bias[n]) + residual[r, n], 4 channels per thread and step; a warp
/// covers one 128-channel row of the tile so loads and stores are coalesced. The residual is
/// read with coherent loads, just before the same thread overwrites that element, which is what
/// makes residual == y safe.
template <class T>
struct conv_epilogue {
    const float* bias;  // [N] or null
    const T* residual;  // [M, N] or null; may equal y
    T* y;               // [M, N]
    std::int64_t m_total;
    int n_total;
    bool gelu;

    __device__ void operator()(const float* cs, std::int64_t m0, int n0, int tid) const {
        constexpr int kGroups = kBlockN / 4;
        for (int g = tid; g < kBlockM * kGroups; g += kThreads) {
            const int m = g / kGroups, nq = g % kGroups;
            const std::int64_t r = m0 + m;
            const int n = n0 + nq * 4;
            // n_total is a multiple of 4, so a group is entirely in or out of range.
            if (r >= m_total || n >= n_total) continue;
            float4 v = *reinterpret_cast<const float4*>(cs + m * kCLd + nq * 4);
            if (bias != nullptr) {
                const float4 b = __ldg(reinterpret_cast<const float4*>(bias + n));
                v = make_float4(v.x + b.x, v.y + b.y, v.z + b.z, v.w + b.w);
            }
            if (gelu) v = igemm::gelu4(v);
            const std::int64_t off = r * n_total + n;
            if (residual != nullptr) {
                const float4 s = igemm::load4_f32(residual + off);
                v = make_float4(v.x + s.x, v.y + s.y, v.z + s.z, v.w + s.w);
            }
            igemm::store4_f32(y + off, v);
        }
    }
};

template <class T, igemm::mma_kind MK>
void run(const conv1d_args& a, cudaStream_t stream) {
    igemm::a_operand op;
    op.x = a.x;
    op.length = a.length;
    op.cin = static_cast<int>(a.cin);
    op.kernel = static_cast<int>(a.kernel);
    op.scale = a.in_scale;
    op.shift = a.in_shift;
    op.gelu = a.in_gelu;
    const std::int64_t m_total = a.batch * a.length;
    const conv_epilogue<T> epi{a.bias, static_cast<const T*>(a.residual), static_cast<T*>(a.y), m_total,
                               static_cast<int>(a.cout), a.out_gelu};
    igemm::launch<T, MK>(op, static_cast<const T*>(a.w), static_cast<int>(a.cout), m_total, epi, stream);
}

void validate(const conv1d_args& a) {
    const std::string where = "conv1d (CUDA): ";
    if (a.kernel < 1 || a.kernel % 2 == 0) throw usage_error(where + "kernel width must be odd");
    if (!a.x || !a.w || !a.y) throw usage_error(where + "missing x, w or y");
    if (a.batch < 1 || a.length < 1 || a.cin < 1 || a.cout < 1) throw usage_error(where + "empty shape");
    if ((a.in_scale == nullptr) != (a.in_shift == nullptr))
        throw usage_error(where + "batch-norm scale and shift go together");
    if (a.cin % 8 != 0 && a.cin != 4)
        throw usage_error(where + "cin = " + std::to_string(a.cin) + " must be a multiple of 8 (or 4, the stem)");
    if (a.cout % 8 != 0) throw usage_error(where + "cout = " + std::to_string(a.cout) + " must be a multiple of 8");
    // 32-bit positions, K and in-tile offsets (128·cin) inside the kernel; the B·L row index is 64-bit.
    if (a.length >= (std::int64_t{1} << 30) || a.kernel > 1023 || a.cin >= (std::int64_t{1} << 20) ||
        a.cout >= (std::int64_t{1} << 20))
        throw usage_error(where + "length or channels too large");
    const std::size_t eb = element_bytes(a.prec);
    // Vector loads/stores move 4 elements: 16 B (fp32) or 8 B (bf16); per-channel params are float4.
    const std::size_t vb = 4 * eb;
    if (!igemm::aligned(a.x, vb) || !igemm::aligned(a.w, vb) || !igemm::aligned(a.y, vb) ||
        !igemm::aligned(a.residual, vb) || !igemm::aligned(a.bias, 16) || !igemm::aligned(a.in_scale, 16) ||
        !igemm::aligned(a.in_shift, 16))
        throw usage_error(where + "tensors must be aligned to 4 elements (16 B for fp32, 8 B for bf16)");
    const auto in_bytes = static_cast<std::size_t>(a.batch * a.length * a.cin) * eb;
    const auto out_bytes = static_cast<std::size_t>(a.batch * a.length * a.cout) * eb;
    if (igemm::overlaps(a.x, in_bytes, a.y, out_bytes)) throw usage_error(where + "y must not overlap x");
    if (a.residual != nullptr && a.residual != a.y && igemm::overlaps(a.residual, out_bytes, a.y, out_bytes))
        throw usage_error(where + "residual must be y itself or not overlap it");
}

} // namespace

void conv1d(const conv1d_args& a, cudaStream_t stream) {
    validate(a);
    switch (a.prec) {
    case precision::FP32: run<float, igemm::mma_kind::SIMT>(a, stream); break;
    case precision::TF32: run<float, igemm::mma_kind::TF32>(a, stream); break;
    case precision::BF16: run<__nv_bfloat16, igemm::mma_kind::BF16>(a, stream); break;
    }
}

} // namespace scpx::cuda
