// Small-K convolution with a second, transformed output (contract: conv_dual.cuh).
//
// Grid: (⌈L / kRows⌉, B); 16 warps per block, warp w owning output rows [16w, 16w + 16) of the
// block's kRows = 256. Shared memory:
//   W  [64][cout + 8] bf16: the weight with rows ≥ k·cin zero (the K padding), copied once per
//      block by cp.async; B fragments by ldmatrix.trans (k-major rows, n contiguous — as the flash
//      attention's P·v reads its value tile).
//   X  [kRows + k − 1][cin] bf16: the input rows the block's outputs read, zero outside the
//      sequence ('SAME' padding). Element (r, k) of the implicit im2col matrix is
//      X[r + k / cin][k % cin]; the pair (k, k + 1) of a fragment register (k even, cin even) is
//      one 4-byte word, so the A fragments come straight from it — no im2col pass.
//   S  per warp [16][64 + 8] bf16: a 16 × 64 output tile staged so that every global store is a
//      16-byte vector and each warp store covers whole 128-byte row segments (the pass is bound
//      by these writes: 2 × 302 MB per 196,608-bp sequence at C = 768).
// Per warp: the A fragments of its 16 rows for the 4 k-steps stay in registers; for each 64-column
// chunk of the output, 32 mma (4 k-steps × 8 n-tiles), then y = bf16(acc + bias) is staged and
// stored, then y2 = bf16(gelu(y·scale + shift)) the same way.
//
// Shared memory at cout = 768, k = 15, cin = 4: W 97 KiB + X 2 KiB + S 36 KiB = 135 KiB, one
// block of 16 warps per SM. Not yet timed on a GPU (enformer_gpu_options::fused_stem is off by
// default until bench_enformer_gpu --fused-stem 1 measures it).
#include "conv_dual.cuh"

#include "common.cuh"
#include "mma_sm80.cuh"
#include "scpx/core/error.hpp"

#include <cstdint>
#include <cstring>
#include <string>

namespace scpx::cuda {

namespace {

constexpr int kRows = 256;              ///< output rows per block
constexpr int kWarps = kRows / 16;
constexpr int kThreads = kWarps * 32;
constexpr int kKp = 64;                 ///< the reduction k·cin, padded (4 k-steps of 16)
constexpr int kKSteps = kKp / 16;
constexpr int kChunk = 64;              ///< output columns per step (8 n-tiles)
constexpr int kLdS = kChunk + 8;        ///< staging row stride (144 bytes: 16-byte rows, pairs conflict-free)

struct dual_params {
    const __nv_bfloat16* x = nullptr;
    const __nv_bfloat16* w = nullptr;
    const float* bias = nullptr;
    const float* scale = nullptr;
    const float* shift = nullptr;
    __nv_bfloat16* y = nullptr;
    __nv_bfloat16* y2 = nullptr;
    std::int64_t length = 0;
    int cin = 0, cout = 0, kernel = 0;
    unsigned off_x = 0, off_s = 0; ///< byte offsets of X and S in shared memory (W at 0)
};

/// Fills the shared-memory offsets; returns the bytes a block needs.
unsigned plan_shared(dual_params& p) {
    p.off_x = align128(static_cast<std::size_t>(kKp) * (p.cout + 8) * 2);
    p.off_s = p.off_x + align128(static_cast<std::size_t>(kRows + p.kernel - 1) * p.cin * 2);
    return p.off_s + static_cast<unsigned>(kWarps * 16 * kLdS * 2);
}

__global__ void __launch_bounds__(kThreads, 1) conv_dual_kernel(const dual_params p) {
    SCPX_DYNAMIC_SHARED(smem);
    auto* const ws = reinterpret_cast<__nv_bfloat16*>(smem);
    auto* const xs = reinterpret_cast<__nv_bfloat16*>(smem + p.off_x);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
    __nv_bfloat16* const st = reinterpret_cast<__nv_bfloat16*>(smem + p.off_s) + warp * 16 * kLdS;
    const std::int64_t l0 = static_cast<std::int64_t>(blockIdx.x) * kRows, b = blockIdx.y, L = p.length;
    const int cin = p.cin, cout = p.cout, ldw = cout + 8, kc = p.kernel * cin, half = p.kernel / 2;

    // The weight, rows [0, k·cin) from memory and the rest zero, in 16-byte pieces.
    const int pieces = cout / 8;
    for (int idx = threadIdx.x; idx < kKp * pieces; idx += kThreads) {
        const int r = idx / pieces, c = (idx - r * pieces) * 8;
        const bool in = r < kc;
        mma::cp_async_16(ws + r * ldw + c, in ? p.w + r * cout + c : p.w, in ? 16 : 0);
    }
    mma::cp_async_commit();
    // The input window: positions l0 − k/2 … l0 + kRows + k/2 − 1.
    const __nv_bfloat16* const x = p.x + b * L * cin;
    const int window = (kRows + p.kernel - 1) * cin;
    for (int idx = threadIdx.x; idx < window; idx += kThreads) {
        const std::int64_t pos = l0 - half + idx / cin;
        xs[idx] = pos >= 0 && pos < L ? x[pos * cin + idx % cin] : from_f32<__nv_bfloat16>(0.0f);
    }
    mma::cp_async_wait<0>();
    __syncthreads();

    // A fragments (mma_sm80.cuh layout) of rows (g, g + 8) of the warp's 16, every k-step.
    const int r_lo = 16 * warp + g;
    const auto word = [&](int r, int k) -> std::uint32_t {
        if (k >= kc) return 0u; // the K padding (kc is even, so a pair is in or out as a whole)
        const int tap = k / cin;
        std::uint32_t u;
        std::memcpy(&u, xs + (r + tap) * cin + (k - tap * cin), sizeof u);
        return u;
    };
    std::uint32_t a[kKSteps][4];
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks) {
        const int k = 16 * ks + 2 * t;
        a[ks][0] = word(r_lo, k);
        a[ks][1] = word(r_lo + 8, k);
        a[ks][2] = word(r_lo, k + 8);
        a[ks][3] = word(r_lo + 8, k + 8);
    }

    // Stages a 16 × 8·ntiles tile of the warp (fragment layout) and stores its rows inside the
    // sequence as 16-byte vectors: with 8 n-tiles, 128 pieces, four per lane, eight lanes per
    // 128-byte row segment.
    const auto stage_and_store = [&](const float (&v)[8][4], __nv_bfloat16* out, int c0, int ntiles) {
        __syncwarp(); // the previous tile's reads are done
#pragma unroll
        for (int nt = 0; nt < 8; ++nt) {
            if (nt >= ntiles) break;
            const std::uint32_t lo = mma::pack_bf16(v[nt][0], v[nt][1]), hi = mma::pack_bf16(v[nt][2], v[nt][3]);
            std::memcpy(st + g * kLdS + 8 * nt + 2 * t, &lo, sizeof lo);
            std::memcpy(st + (g + 8) * kLdS + 8 * nt + 2 * t, &hi, sizeof hi);
        }
        __syncwarp();
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int piece = lane + 32 * i, r = piece / ntiles, c = (piece - r * ntiles) * 8;
            const std::int64_t l = l0 + 16 * warp + r;
            if (piece < 16 * ntiles && l < L) {
                uint4 u;
                std::memcpy(&u, st + r * kLdS + c, sizeof u);
                *reinterpret_cast<uint4*>(out + (b * L + l) * cout + c0 + c) = u;
            }
        }
    };

    const int lm_row = lane & 7, lm_half = (lane >> 3) & 1, lm_tile = lane >> 4;
    for (int c0 = 0; c0 < cout; c0 += kChunk) {
        // 8 n-tiles, or what is left of cout (a multiple of 16) in the last chunk.
        const int ntiles = cout - c0 < kChunk ? (cout - c0) / 8 : 8;
        float acc[8][4];
#pragma unroll
        for (int nt = 0; nt < 8; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < kKSteps; ++ks) {
            // Matrices: k rows (16ks …, 16ks + 8 …) × columns (8v …, 8(v + 1) …).
            const __nv_bfloat16* rows = ws + (16 * ks + 8 * lm_half + lm_row) * ldw + c0 + 8 * lm_tile;
#pragma unroll
            for (int v = 0; v < 8; v += 2) {
                if (v >= ntiles) break;
                std::uint32_t bf[4];
                mma::ldmatrix<4, true>(bf, rows + 8 * v);
                mma::bf16_m16n8k16(acc[v], a[ks], {bf[0], bf[1]});
                mma::bf16_m16n8k16(acc[v + 1], a[ks], {bf[2], bf[3]});
            }
        }
        // y: the convolution's output as the GEMM route stores it (bias in fp32, one rounding).
#pragma unroll
        for (int nt = 0; nt < 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int c = c0 + 8 * nt + 2 * t + (e & 1);
                const float v = acc[nt][e] + (p.bias ? p.bias[c] : 0.0f);
                acc[nt][e] = __bfloat162float(__float2bfloat16_rn(v));
            }
        stage_and_store(acc, p.y, c0, ntiles);
        // y2 from the stored (rounded) y, as the BN-GELU pass would read it back.
#pragma unroll
        for (int nt = 0; nt < 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int c = c0 + 8 * nt + 2 * t + (e & 1);
                float v = acc[nt][e];
                v *= p.scale[c];
                v += p.shift[c];
                acc[nt][e] = gelu_sigmoid(v);
            }
        stage_and_store(acc, p.y2, c0, ntiles);
    }
}

bool shape_supported(const conv1d_args& a) {
    return a.prec == precision::BF16 && a.kernel >= 1 && a.kernel % 2 == 1 && a.cin >= 2 && a.cin % 2 == 0 &&
           a.kernel * a.cin <= kKp && a.cout >= 16 && a.cout % 16 == 0 && !a.in_scale && !a.in_shift &&
           !a.in_gelu && !a.out_gelu && !a.residual;
}

bool aligned16(const void* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; }

} // namespace

bool conv_dual_supports(const conv1d_args& a) {
    if (!shape_supported(a)) return false;
    dual_params p;
    p.cin = static_cast<int>(a.cin);
    p.cout = static_cast<int>(a.cout);
    p.kernel = static_cast<int>(a.kernel);
    int device = 0, optin = 0;
    if (query_shared_optin(device, optin) != cudaSuccess) {
        (void)cudaGetLastError(); // no usable device: not supported, and no error left set
        return false;
    }
    return plan_shared(p) <= static_cast<unsigned>(optin);
}

void conv_dual(const conv_dual_args& a, cudaStream_t stream) {
    const conv1d_args& c = a.conv;
    if (c.batch < 1 || c.length < 1 || !c.x || !c.w || !c.y || !a.y2 || !a.next_scale || !a.next_shift)
        throw usage_error("conv_dual: empty shape or missing tensor");
    if (!shape_supported(c))
        throw usage_error("conv_dual: BF16, odd k, even cin, k·cin ≤ " + std::to_string(kKp) +
                          ", cout a multiple of 16, no input transform, output GELU or residual (got k = " +
                          std::to_string(c.kernel) + ", cin = " + std::to_string(c.cin) + ", cout = " +
                          std::to_string(c.cout) + ")");
    if (!aligned16(c.y) || !aligned16(a.y2) || !aligned16(c.w) || c.batch > 65535)
        throw usage_error("conv_dual: outputs and weight must be 16-byte aligned, batch ≤ 65535");
    dual_params p;
    p.x = static_cast<const __nv_bfloat16*>(c.x);
    p.w = static_cast<const __nv_bfloat16*>(c.w);
    p.bias = c.bias;
    p.scale = a.next_scale;
    p.shift = a.next_shift;
    p.y = static_cast<__nv_bfloat16*>(c.y);
    p.y2 = static_cast<__nv_bfloat16*>(a.y2);
    p.length = c.length;
    p.cin = static_cast<int>(c.cin);
    p.cout = static_cast<int>(c.cout);
    p.kernel = static_cast<int>(c.kernel);
    const unsigned total = plan_shared(p);
    int device = 0, optin = 0;
    SCPX_CUDA_CHECK(query_shared_optin(device, optin));
    if (total > static_cast<unsigned>(optin))
        throw usage_error("conv_dual: cout = " + std::to_string(c.cout) + " needs " + std::to_string(total) +
                          " bytes of shared memory, the device allows " + std::to_string(optin));
    static shared_optin_record opted;
    opt_in_shared(conv_dual_kernel, total, device, opted);
    const dim3 grid(static_cast<unsigned>(div_up(c.length, kRows)), static_cast<unsigned>(c.batch));
    SCPX_LAUNCH(grid, kThreads, total, stream, conv_dual_kernel)(p);
    SCPX_CUDA_CHECK_LAUNCH();
}

} // namespace scpx::cuda
