#pragma once
/// @file igemm_tile.cuh
/// Internal engine (not a launcher contract) shared by conv1d.cu and softmax_pool.cu: a tiled
/// implicit GEMM C[M, N] = A[M, K] · W[K, N] over NLC activations, where row r of A is the
/// k·cin values starting at input row r − k/2 (the conv's im2col row, contiguous in memory),
/// zero where that position leaves the sequence, with an optional per-channel affine + GELU
/// applied while A is copied into shared memory. The finished 128×128 fp32 tile is staged in
/// shared memory and handed to an epilogue functor, so each op only writes its own epilogue.
///
/// Tiling: block tile 128 (M) × 128 (N) × 32 (K), 256 threads (8 warps), two shared-memory
/// stages with register prefetch (global loads of tile k+1 are issued before the math on tile k
/// and stored after it, one barrier per k step). cp.async cannot be used for A because the
/// BN/GELU transform has to pass through registers.
///   SIMT (FP32): each thread owns an 8×8 micro-tile (rows ty·4+{0..3} and 64+ty·4+{0..3},
///                columns likewise with tx), fp32 FMA; A is stored k-major in shared memory.
///   TF32 / BF16: wmma 16×16×8 (tf32) / 16×16×16 (bf16) fragments, warps arranged 2 (M) × 4 (N),
///                each warp 64×32 (4×2 accumulators); A stored row-major. Operands are rounded
///                to tf32 (cvt.rna) when written to shared memory, once per element.

#include "common.cuh"
#include "kernel_types.cuh"

#include <mma.h>

#include <climits>
#include <cstdint>
#include <type_traits>

namespace scpx::cuda::igemm {

/// Which multiply-accumulate path the tile uses.
enum class mma_kind { SIMT, TF32, BF16 };

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 32;
constexpr int kThreads = 256;
/// Row stride (floats) of the staged fp32 output tile; +4 keeps rows 16-byte aligned while
/// shifting banks between rows.
constexpr int kCLd = kBlockN + 4;

/// Blocks per SM the register allocation must allow (__launch_bounds__). ptxas (CUDA 13.0, sm_90,
/// with this setting): SIMT 159 and TF32 254 registers at 1 block, no spills; BF16 128 registers
/// at 2 blocks with 12–20 B of spills; forcing 2 blocks on TF32/SIMT spills ~200 B. Not tuned on
/// hardware yet: the first knob to time.
template <mma_kind MK> constexpr int kMinBlocks = MK == mma_kind::BF16 ? 2 : 1;

/// Shared-memory layout of one instantiation (bytes are for the dynamic allocation).
template <class T, mma_kind MK>
struct smem_layout {
    // bf16 rows are padded by 8 elements (16 B), fp32 rows by 4 (16 B): every row start stays
    // 16-byte aligned for vector stores, and wmma's 256-bit pointer alignment holds for every
    // fragment origin (multiples of 16 rows / 8 or 16 columns).
    static constexpr int kPad = sizeof(T) == 2 ? 8 : 4;
    static constexpr int kALd = MK == mma_kind::SIMT ? kBlockM + kPad : kBlockK + kPad;
    static constexpr int kAElems = MK == mma_kind::SIMT ? kBlockK * kALd : kBlockM * kALd;
    static constexpr int kBLd = kBlockN + kPad;
    static constexpr int kBElems = kBlockK * kBLd;
    static constexpr int kStageBytes = (kAElems + kBElems) * static_cast<int>(sizeof(T));
    static constexpr int kCBytes = kBlockM * kCLd * static_cast<int>(sizeof(float));
    static constexpr int kBytes = 2 * kStageBytes > kCBytes ? 2 * kStageBytes : kCBytes;
    static_assert(kStageBytes % 128 == 0 && (kAElems * sizeof(T)) % 32 == 0, "stage alignment");
};

/// The A operand: activations [batch·length, cin] read as im2col rows of a width-`kernel` conv.
struct a_operand {
    const void* x = nullptr;         ///< [B, L, cin] in the precision's type
    std::int64_t length = 0;         ///< L (rows never mix sequences: zero outside [0, L))
    int cin = 0;                     ///< multiple of 4 (the loader moves 4 channels at a time)
    int kernel = 1;                  ///< odd width; K = kernel · cin
    const float* scale = nullptr;    ///< [cin] or null
    const float* shift = nullptr;    ///< [cin], with scale
    bool gelu = false;
};

// 4 consecutive elements as one vector register set: float4 for fp32, uint2 for 4 bf16.
template <class T> struct pack4;
template <> struct pack4<float> { using type = float4; };
template <> struct pack4<__nv_bfloat16> { using type = uint2; };

__device__ __forceinline__ float4 unpack4(float4 v) { return v; }
__device__ __forceinline__ float4 unpack4(uint2 v) {
    // bf16 is the upper half of an fp32; element 0 is the low half (little endian).
    return make_float4(__uint_as_float(v.x << 16), __uint_as_float(v.x & 0xffff0000u),
                       __uint_as_float(v.y << 16), __uint_as_float(v.y & 0xffff0000u));
}

__device__ __forceinline__ uint2 pack_bf16x4(float4 v) {
    const __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y);
    const __nv_bfloat162 hi = __floats2bfloat162_rn(v.z, v.w);
    return make_uint2(*reinterpret_cast<const unsigned*>(&lo), *reinterpret_cast<const unsigned*>(&hi));
}

template <class T> __device__ __forceinline__ typename pack4<T>::type zero4();
template <> __device__ __forceinline__ float4 zero4<float>() { return make_float4(0.f, 0.f, 0.f, 0.f); }
template <> __device__ __forceinline__ uint2 zero4<__nv_bfloat16>() { return make_uint2(0u, 0u); }

/// Read-only (non-coherent) load of 4 elements; only for buffers no thread of the kernel writes.
template <class T> __device__ __forceinline__ typename pack4<T>::type ldg4(const T* p) {
    return __ldg(reinterpret_cast<const typename pack4<T>::type*>(p));
}

/// Coherent load of 4 elements as fp32 (for buffers that may alias the output, e.g. a residual).
template <class T> __device__ __forceinline__ float4 load4_f32(const T* p) {
    return unpack4(*reinterpret_cast<const typename pack4<T>::type*>(p));
}

template <class T> __device__ __forceinline__ void store4_f32(T* p, float4 v);
template <> __device__ __forceinline__ void store4_f32<float>(float* p, float4 v) {
    *reinterpret_cast<float4*>(p) = v;
}
template <> __device__ __forceinline__ void store4_f32<__nv_bfloat16>(__nv_bfloat16* p, float4 v) {
    *reinterpret_cast<uint2*>(p) = pack_bf16x4(v);
}

__device__ __forceinline__ float4 gelu4(float4 v) {
    return make_float4(gelu_sigmoid(v.x), gelu_sigmoid(v.y), gelu_sigmoid(v.z), gelu_sigmoid(v.w));
}

__device__ __forceinline__ float4 tf32_4(float4 v) {
    using nvcuda::wmma::__float_to_tf32;
    return make_float4(__float_to_tf32(v.x), __float_to_tf32(v.y), __float_to_tf32(v.z), __float_to_tf32(v.w));
}

/// The kernel. Grid: one block per (M tile, N tile), N tiles fastest so that consecutive blocks
/// reuse the same A rows from L2. `epi(cs, m0, n0, tid)` runs after the tile is staged in `cs`
/// ([kBlockM, kCLd] fp32) and a barrier; it owns all bounds checks on M and N.
template <class T, mma_kind MK, class Epi>
__global__ void __launch_bounds__(kThreads, kMinBlocks<MK>)
    igemm_kernel(const a_operand A, const T* __restrict__ w, const int n_total, const std::int64_t m_total,
                 const int tiles_n, const Epi epi) {
    using lay = smem_layout<T, MK>;
    SCPX_DYNAMIC_SHARED(smem);
    const int tid = static_cast<int>(threadIdx.x);
    const std::int64_t tile = blockIdx.x;
    const int n0 = static_cast<int>(tile % tiles_n) * kBlockN;
    const std::int64_t m0 = (tile / tiles_n) * kBlockM;
    const T* __restrict__ x = static_cast<const T*>(A.x);
    const int cin = A.cin;
    const int k_total = A.kernel * cin;
    const int k_tiles = (k_total + kBlockK - 1) / kBlockK;
    const int pad = A.kernel / 2;
    const int length = static_cast<int>(A.length);
    const bool transform = A.scale != nullptr || A.gelu;

    // ---- A loader: thread owns 4 rows (tid/8 + 32·i) and one 4-wide K column group (tid%8).
    // Row m of the tile reads the flattened [B·L, cin] input from element (m0 + m − pad)·cin + kg;
    // a_lpos[i] is the position l − pad of tap 0 within its sequence (very negative for rows ≥ M,
    // so every tap reads as padding). Pointer arithmetic stays inside the buffer: only valid
    // (row, tap) pairs form an address.
    const int a_kq = tid % 8;
    const std::int64_t a_tile0 = (m0 - pad) * cin;
    int a_lpos[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const std::int64_t r = m0 + tid / 8 + 32 * i;
        a_lpos[i] = r < m_total ? static_cast<int>(r % A.length) - pad : INT_MIN / 2;
    }
    using vec = typename pack4<T>::type;
    vec a_raw[4], b_raw[4];
    unsigned a_mask = 0;

    auto load_a = [&](int kt) {
        const int kg = kt * kBlockK + a_kq * 4;
        a_mask = 0;
        const int t = kg / cin;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int p = a_lpos[i] + t;
            if (kg < k_total && p >= 0 && p < length) {
                a_raw[i] = ldg4(x + (a_tile0 + (tid / 8 + 32 * i) * cin + kg));
                a_mask |= 1u << i;
            } else {
                a_raw[i] = zero4<T>();
            }
        }
    };
    auto load_b = [&](int kt) {
        const int n = n0 + (tid % 32) * 4;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int kr = kt * kBlockK + tid / 32 + 8 * i;
            b_raw[i] = (kr < k_total && n < n_total) ? ldg4(w + static_cast<std::int64_t>(kr) * n_total + n)
                                                     : zero4<T>();
        }
    };
    auto store_tiles = [&](int kt, int stage) {
        T* as = reinterpret_cast<T*>(smem + stage * lay::kStageBytes);
        T* bs = as + lay::kAElems;
        const int kg = kt * kBlockK + a_kq * 4;
        float4 sc = make_float4(1.f, 1.f, 1.f, 1.f), sh = make_float4(0.f, 0.f, 0.f, 0.f);
        if (A.scale != nullptr && kg < k_total) {
            const int ch = kg % cin;
            sc = __ldg(reinterpret_cast<const float4*>(A.scale + ch));
            sh = __ldg(reinterpret_cast<const float4*>(A.shift + ch));
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float4 v = unpack4(a_raw[i]);
            // Padding stays exactly zero: the transform applies to real input rows only.
            if (transform && ((a_mask >> i) & 1u)) {
                v = make_float4(fmaf(v.x, sc.x, sh.x), fmaf(v.y, sc.y, sh.y), fmaf(v.z, sc.z, sh.z),
                                fmaf(v.w, sc.w, sh.w));
                if (A.gelu) v = gelu4(v);
            }
            const int m = tid / 8 + 32 * i;
            if constexpr (MK == mma_kind::SIMT) {
                float* a = reinterpret_cast<float*>(as);
                a[(a_kq * 4 + 0) * lay::kALd + m] = v.x;
                a[(a_kq * 4 + 1) * lay::kALd + m] = v.y;
                a[(a_kq * 4 + 2) * lay::kALd + m] = v.z;
                a[(a_kq * 4 + 3) * lay::kALd + m] = v.w;
            } else if constexpr (MK == mma_kind::TF32) {
                *reinterpret_cast<float4*>(as + m * lay::kALd + a_kq * 4) = tf32_4(v);
            } else {
                *reinterpret_cast<uint2*>(as + m * lay::kALd + a_kq * 4) = pack_bf16x4(v);
            }
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            T* dst = bs + (tid / 32 + 8 * i) * lay::kBLd + (tid % 32) * 4;
            if constexpr (MK == mma_kind::TF32)
                *reinterpret_cast<float4*>(dst) = tf32_4(b_raw[i]);
            else
                *reinterpret_cast<vec*>(dst) = b_raw[i];
        }
    };

    float* cs = reinterpret_cast<float*>(smem); // [kBlockM, kCLd], reuses the stages after the K loop

    if constexpr (MK == mma_kind::SIMT) {
        const int tx = tid % 16, ty = tid / 16;
        float acc[8][8];
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

        load_a(0);
        load_b(0);
        store_tiles(0, 0);
        __syncthreads();
        for (int kt = 0; kt < k_tiles; ++kt) {
            const bool more = kt + 1 < k_tiles;
            if (more) {
                load_a(kt + 1);
                load_b(kt + 1);
            }
            const float* as = reinterpret_cast<const float*>(smem + (kt & 1) * lay::kStageBytes);
            const float* bs = as + lay::kAElems;
#pragma unroll 4
            for (int k = 0; k < kBlockK; ++k) {
                const float4 a0 = *reinterpret_cast<const float4*>(as + k * lay::kALd + ty * 4);
                const float4 a1 = *reinterpret_cast<const float4*>(as + k * lay::kALd + 64 + ty * 4);
                const float4 b0 = *reinterpret_cast<const float4*>(bs + k * lay::kBLd + tx * 4);
                const float4 b1 = *reinterpret_cast<const float4*>(bs + k * lay::kBLd + 64 + tx * 4);
                const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
                const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                for (int i = 0; i < 8; ++i)
#pragma unroll
                    for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
            if (more) store_tiles(kt + 1, (kt + 1) & 1);
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const int row = (i < 4 ? 0 : 64) + ty * 4 + (i & 3);
            *reinterpret_cast<float4*>(cs + row * kCLd + tx * 4) =
                make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
            *reinterpret_cast<float4*>(cs + row * kCLd + 64 + tx * 4) =
                make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]);
        }
    } else {
        namespace wmma = nvcuda::wmma;
        constexpr int kStep = MK == mma_kind::TF32 ? 8 : 16;
        using frag_t = std::conditional_t<MK == mma_kind::TF32, wmma::precision::tf32, __nv_bfloat16>;
        using a_frag = wmma::fragment<wmma::matrix_a, 16, 16, kStep, frag_t, wmma::row_major>;
        using b_frag = wmma::fragment<wmma::matrix_b, 16, 16, kStep, frag_t, wmma::row_major>;
        using c_frag = wmma::fragment<wmma::accumulator, 16, 16, kStep, float>;
        const int warp = tid / 32;
        const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;
        c_frag acc[4][2];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);

        load_a(0);
        load_b(0);
        store_tiles(0, 0);
        __syncthreads();
        for (int kt = 0; kt < k_tiles; ++kt) {
            const bool more = kt + 1 < k_tiles;
            if (more) {
                load_a(kt + 1);
                load_b(kt + 1);
            }
            const T* as = reinterpret_cast<const T*>(smem + (kt & 1) * lay::kStageBytes);
            const T* bs = as + lay::kAElems;
#pragma unroll
            for (int kk = 0; kk < kBlockK; kk += kStep) {
                a_frag af[4];
                b_frag bf[2];
#pragma unroll
                for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(af[i], as + (wm + 16 * i) * lay::kALd + kk, lay::kALd);
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(bf[j], bs + kk * lay::kBLd + wn + 16 * j, lay::kBLd);
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
            }
            if (more) store_tiles(kt + 1, (kt + 1) & 1);
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::store_matrix_sync(cs + (wm + 16 * i) * kCLd + wn + 16 * j, acc[i][j], kCLd, wmma::mem_row_major);
    }
    __syncthreads();
    epi(cs, m0, n0, tid);
}

/// Enqueues igemm_kernel for C[M, N] = A · w with epilogue `epi`. Sizes are validated by the
/// op launchers; this only checks the grid fits and the launch succeeded.
template <class T, mma_kind MK, class Epi>
void launch(const a_operand& A, const T* w, int n_total, std::int64_t m_total, const Epi& epi, cudaStream_t stream) {
    using lay = smem_layout<T, MK>;
    const std::int64_t tiles_m = (m_total + kBlockM - 1) / kBlockM;
    const int tiles_n = div_up(n_total, kBlockN);
    const std::int64_t blocks = tiles_m * tiles_n;
    if (blocks > INT_MAX) throw usage_error("implicit GEMM: too many rows for one launch");
    auto* kernel = igemm_kernel<T, MK, Epi>;
    // Set on every launch (a host-side attribute, cheap, allowed during graph capture): it is
    // per device, and callers may switch devices between launches.
    SCPX_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, lay::kBytes));
    SCPX_LAUNCH(static_cast<unsigned>(blocks), kThreads, lay::kBytes, stream, kernel)(A, w, n_total, m_total, tiles_n, epi);
    SCPX_CUDA_CHECK_LAUNCH();
}

/// True when p is aligned to `bytes` (null counts as aligned: presence is checked elsewhere).
inline bool aligned(const void* p, std::size_t bytes) {
    return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

/// True when the byte ranges [a, a + na) and [b, b + nb) overlap.
inline bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
    const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
    return pa < pb + nb && pb < pa + na;
}

} // namespace scpx::cuda::igemm
