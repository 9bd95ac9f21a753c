// Register-tiled (FlashAttention-2 style) relative attention core; contract in
// rel_attention_flash.cuh, fragment layouts in mma_sm80.cuh.
//
// Grid: one block per (query tile of kBi = 64 rows, head, sequence); 4 warps, warp w owning query
// rows [16w, 16w + 16) of the tile (kBi = 128 with 8 warps on request: flash_query_rows). Key tiles of kBj keys (BF16 64, TF32 32 — see geometry).
// Per key tile (numbers for kBj = 64):
//   1. the block's key tile (rows of keys), value tile and the band of relative keys it needs go
//      to shared memory; the band is a ring of kBj-row segments and only one new segment is
//      loaded after the first tile. Zero outside the sequence.
//      BF16: everything by cp.async straight from global memory (bf16 is the operand precision:
//      nothing to convert), the value tile as rows of keys, and the next tile's K and V load into
//      a second buffer while this tile is used (double buffering); B fragments come from shared
//      memory by ldmatrix, two n-tiles per instruction, the value tile's through ldmatrix.trans.
//      TF32: register loads that round each value to tf32 once, the value tile TRANSPOSED (rows
//      of value columns, so that pairs of keys are adjacent: the B operand of P·v) and fragments
//      by 32-bit shared loads.
//   2. each warp, registers only except for R:
//      S = (q_s+u)·Kᵀ              16 × 64   8 n-tiles of 16×8, accumulated in registers
//      R = (q_s+w)·band[s_w + c]ᵀ  16 × 80   10 n-tiles, written to the warp's R tile in shared
//                                            memory (the relative shift needs other lanes' values)
//      logit[r][j] = S[r][j] + R[r][j − r + 15]   (the gather; −inf for keys past the end)
//      online softmax: row max over the quad (lanes 4g..4g+3 hold row g), rescale O and the
//      running sum, P = exp(logit − max) rounded to the operand precision
//      O += P·v                    16 × V    P's accumulator registers are the A operand as they are
// Why a window of kBj + 16 band rows per warp: query row i = i0 + 16w + r and key j = j0 + jl need
// relative key j − i + n − 1 = base + (jl − r − 16w + 63), base = j0 − i0 − 63 + n − 1; for the
// warp's 16 rows that is band rows s_w + c, s_w = 48 − 16w, c = jl − r + 15 ∈ [0, kBj + 15) —
// 8-row n-tiles that never straddle the ring's segments (s_w is a multiple of 16, kBj of 32).
//
// TF32 with register fragments: the m16n8k8 A layout holds columns (t, t+4) where the C layout
// gives (2t, 2t+1). A dot product does not care which k is which as long as A and B agree, so k
// index t stands for column 2t and t + 4 for 2t + 1 of each 8-column step, in every product: then
// every operand is read as adjacent pairs, exactly as in BF16, and P's accumulators feed P·v
// without shuffles.
//
// Shared memory at V = 192: BF16 (kBj 64) 2 × (K 9 KiB + V 25) + band 18 + R tiles 22: 108 KiB;
// TF32 (kBj 32) K 9 KiB, Vᵀ 30, band 27, R tiles 14: 80 KiB — two blocks per SM on an H100 or
// H200 either way (the largest carve-out, 228 KiB; an A100's 164 KiB holds two TF32 blocks, one
// BF16 block).
// kBi = 128 (rel_attention_args::flash_query_rows): 8 warps share each K/V tile, so a query
// costs half the tile loads from L2; one block per SM. In BF16 the shared memory left over holds
// one more band segment (a 4-segment ring, 36 KiB), so the band's new rows load while the tile
// before is used, as K and V do: 2 × 34 KiB + 36 + R tiles 44 = 148 KiB. Not yet timed on a GPU:
// 64 stays the default until a benchmark shows which is faster (bench_enformer_gpu --flash-rows).
//
// Measured (H200, B 8, H 8, n 1536, K 64, V 192, `CudaRelAttention.ReportsThroughputAtEnformerShapes`):
// BF16 1.81 ms per call with register-staged loads and 32-bit fragment loads, 1.08 with cp.async +
// ldmatrix, 0.63 with double-buffered K/V, division-free load indexing and compile-time loop
// bounds for Enformer's heads (kFull).
#include "rel_attention_flash.cuh"

#include "common.cuh"
#include "mma_sm80.cuh"
#include "scpx/core/error.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace scpx::cuda {

namespace {

constexpr int kLd = 72;              ///< K / band row stride in elements (bf16: rows 4 banks apart; fp32: 8)
constexpr int kMaxKey = 64;          ///< K ≤ 64 (registers for the query fragments)
constexpr int kMaxValue = 192;       ///< V ≤ 192 (registers for the output accumulators)
constexpr int kMaxVt = kMaxValue / 8;

/// Block geometry: Bi query rows per block (Bi / 16 warps) and Bj keys per tile (BF16 64; TF32
/// 32, which keeps the fp32 tiles small enough for two blocks per SM). Prefetch: the band's next
/// segment loads while this tile is used, into one more ring segment than the band needs.
template <int Bi, int Bj, bool Prefetch = false>
struct geometry {
    static constexpr int kBi = Bi;
    static constexpr int kWarps = Bi / 16;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kBj = Bj;
    static constexpr int kBand = kBi + kBj;         ///< band rows (kBi + kBj − 1 needed)
    static constexpr int kRing = kBand + (Prefetch ? kBj : 0); ///< rows of the ring holding the band
    static constexpr int kSegments = kRing / kBj;   ///< the ring's kBj-row segments
    static constexpr bool kPrefetch = Prefetch;
    static constexpr int kSTiles = kBj / 8;         ///< 8-column n-tiles of S
    static constexpr int kRTiles = (kBj + 16) / 8;  ///< 8-row n-tiles of a warp's band window (kBj + 15 rows)
    static constexpr int kLdR = kBj + 24;           ///< R row stride in floats (≡ 24 mod 32: float2 stores conflict-free)
    static constexpr int kLdV = kBj + 8;            ///< Vᵀ row stride in elements (pairs conflict-free)
};

/// Per-precision operand handling (see the file comment for the TF32 k permutation).
template <class T> struct operand;

template <> struct operand<__nv_bfloat16> {
    static constexpr int kStep = 16; ///< k per mma
    /// 64 query rows: two blocks per SM, band loaded per tile; 128: one block of 8 warps per SM,
    /// half the K/V tile loads per query, and room for the band's prefetch.
    template <int Bi> using tile = geometry<Bi, 64, Bi == 128>;
    /// Value as stored in shared memory (rounded once).
    __device__ static __nv_bfloat16 store(float x) { return __float2bfloat16_rn(x); }
    /// x rounded to the operand precision, as a float.
    __device__ static float round(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }
    /// A fragment for k-step columns [c0, c0 + 16) of a 16-row operand given by value(row half, column).
    template <class F>
    __device__ static void make_a(std::uint32_t (&a)[4], int c0, int t, F value) {
        a[0] = mma::pack_bf16(value(0, c0 + 2 * t), value(0, c0 + 2 * t + 1));
        a[1] = mma::pack_bf16(value(1, c0 + 2 * t), value(1, c0 + 2 * t + 1));
        a[2] = mma::pack_bf16(value(0, c0 + 8 + 2 * t), value(0, c0 + 9 + 2 * t));
        a[3] = mma::pack_bf16(value(1, c0 + 8 + 2 * t), value(1, c0 + 9 + 2 * t));
    }
    /// Two adjacent elements with one store (p 4-byte aligned).
    __device__ static void store_pair(__nv_bfloat16* p, float lo, float hi) {
        *reinterpret_cast<std::uint32_t*>(p) = mma::pack_bf16(lo, hi);
    }
    /// A fragment of P for k-step ks from the S accumulators (keys 16ks … 16ks + 15).
    template <int N>
    __device__ static void p_as_a(std::uint32_t (&a)[4], const float (&s)[N][4], int ks) {
        a[0] = mma::pack_bf16(s[2 * ks][0], s[2 * ks][1]);
        a[1] = mma::pack_bf16(s[2 * ks][2], s[2 * ks][3]);
        a[2] = mma::pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
        a[3] = mma::pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
    }
    /// B fragment: n = rows row0 … row0 + 7 of `rows` (row-major, stride ld, k along the row),
    /// k-step at column c0.
    __device__ static void load_b(std::uint32_t (&b)[2], const __nv_bfloat16* rows, int ld, int row0, int c0, int g,
                                  int t) {
        const __nv_bfloat16* r = rows + (row0 + g) * ld + c0 + 2 * t;
        b[0] = *reinterpret_cast<const std::uint32_t*>(r);
        b[1] = *reinterpret_cast<const std::uint32_t*>(r + 8);
    }
    __device__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
        mma::bf16_m16n8k16(d, a, b);
    }
};

template <> struct operand<float> {
    static constexpr int kStep = 8;
    template <int Bi> using tile = geometry<Bi, 32>;
    __device__ static float store(float x) { return mma::round_tf32(x); }
    __device__ static float round(float x) { return mma::round_tf32(x); }
    template <class F>
    __device__ static void make_a(std::uint32_t (&a)[4], int c0, int t, F value) {
        // k = t ↔ column c0 + 2t, k = t + 4 ↔ column c0 + 2t + 1.
        a[0] = mma::bits(mma::round_tf32(value(0, c0 + 2 * t)));
        a[1] = mma::bits(mma::round_tf32(value(1, c0 + 2 * t)));
        a[2] = mma::bits(mma::round_tf32(value(0, c0 + 2 * t + 1)));
        a[3] = mma::bits(mma::round_tf32(value(1, c0 + 2 * t + 1)));
    }
    __device__ static void store_pair(float* p, float lo, float hi) {
        *reinterpret_cast<float2*>(p) = make_float2(mma::round_tf32(lo), mma::round_tf32(hi));
    }
    /// Keys 8ks … 8ks + 7 (one S n-tile; its values are already tf32-rounded).
    template <int N>
    __device__ static void p_as_a(std::uint32_t (&a)[4], const float (&s)[N][4], int ks) {
        a[0] = mma::bits(s[ks][0]);
        a[1] = mma::bits(s[ks][2]);
        a[2] = mma::bits(s[ks][1]);
        a[3] = mma::bits(s[ks][3]);
    }
    __device__ static void load_b(std::uint32_t (&b)[2], const float* rows, int ld, int row0, int c0, int g, int t) {
        const float2 v = *reinterpret_cast<const float2*>(rows + (row0 + g) * ld + c0 + 2 * t);
        b[0] = mma::bits(v.x);
        b[1] = mma::bits(v.y);
    }
    __device__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
        mma::tf32_m16n8k8(d, a, b);
    }
};

/// The shared view plus what the launcher derives: padded head sizes and the shared-memory carve-up.
struct flash_params : rel_attention_view {
    int kp = 0; ///< K rounded up to the k-step
    int vp = 0; ///< V rounded up to 8
    /// Byte offsets in shared memory: K tile at 0, V tile at off_v; BF16 keeps a second K/V pair
    /// kv_stride further on (the next key tile's, loading while this one is used).
    unsigned off_v = 0, kv_stride = 0, off_band = 0, off_r = 0;
};

/// idx / d without an integer division (a dozen instructions on the GPU, in every tile's loads):
/// (idx + 0.5)·fl(1/d) is within (idx + 0.5)/d · 2⁻²³ of the true quotient, which lies at least
/// 0.5/d from an integer, so the truncation is exact for 0 ≤ idx < 2²², d ≥ 1.
__device__ __forceinline__ int div_small(int idx, float inv_d) {
    return static_cast<int>((static_cast<float>(idx) + 0.5f) * inv_d);
}

/// Rows [r_first, r_end) of a tile: dst[map(r)][0, cols_pad) (row stride ld) = src row (row0 + r)
/// columns [0, cols) — zero outside the sequence rows [0, row_end) and past `cols` — stored rounded.
template <int Threads, class T, class Map>
__device__ __forceinline__ void load_rows(T* dst, int ld, int r_first, int r_end, int cols_pad, const T* src,
                                          std::int64_t src_ld, std::int64_t row0, std::int64_t row_end, int cols,
                                          bool vec, Map map) {
    constexpr int kVec = 16 / sizeof(T);
    const int rows = r_end - r_first;
    if (vec) {
        const int chunks = cols_pad / kVec;
        const float inv = 1.0f / static_cast<float>(chunks);
        for (int idx = threadIdx.x; idx < rows * chunks; idx += Threads) {
            const int q = div_small(idx, inv), r = r_first + q, c = (idx - q * chunks) * kVec;
            const std::int64_t gr = row0 + r;
            // memcpy, not pointer casts, between the 16-byte word and its elements (no aliasing UB).
            T v[kVec];
            if (gr >= 0 && gr < row_end && c < cols) {
                const uint4 raw = *reinterpret_cast<const uint4*>(src + gr * src_ld + c);
                std::memcpy(v, &raw, sizeof raw);
#pragma unroll
                for (int k = 0; k < kVec; ++k) v[k] = operand<T>::store(to_f32(v[k]));
            } else {
#pragma unroll
                for (int k = 0; k < kVec; ++k) v[k] = from_f32<T>(0.0f);
            }
            uint4 packed;
            std::memcpy(&packed, v, sizeof packed);
            *reinterpret_cast<uint4*>(dst + map(r) * ld + c) = packed;
        }
    } else {
        const float inv = 1.0f / static_cast<float>(cols_pad);
        for (int idx = threadIdx.x; idx < rows * cols_pad; idx += Threads) {
            const int q = div_small(idx, inv), r = r_first + q, c = idx - q * cols_pad;
            const std::int64_t gr = row0 + r;
            dst[map(r) * ld + c] = (gr >= 0 && gr < row_end && c < cols)
                                        ? operand<T>::store(to_f32(src[gr * src_ld + c]))
                                        : from_f32<T>(0.0f);
        }
    }
}

/// load_rows for BF16 tiles with 16-byte rows (vec): cp.async copies straight into shared memory
/// (no register staging, no conversion: bf16 is already the operand precision), zero-filled outside
/// the rows and past `cols` (a multiple of 8 under vec). Complete after cp_async_wait_all().
template <int Threads, class Map>
__device__ __forceinline__ void load_rows_async(__nv_bfloat16* dst, int ld, int r_first, int r_end, int cols_pad,
                                                const __nv_bfloat16* src, std::int64_t src_ld, std::int64_t row0,
                                                std::int64_t row_end, int cols, Map map) {
    const int rows = r_end - r_first, chunks = cols_pad / 8;
    const float inv = 1.0f / static_cast<float>(chunks);
    for (int idx = threadIdx.x; idx < rows * chunks; idx += Threads) {
        const int q = div_small(idx, inv), r = r_first + q, c = (idx - q * chunks) * 8;
        const std::int64_t gr = row0 + r;
        const bool in = gr >= 0 && gr < row_end && c < cols;
        mma::cp_async_16(dst + map(r) * ld + c, in ? src + gr * src_ld + c : src, in ? 16 : 0);
    }
}

/// Vᵀ tile: dst[c][jl] = V[j0 + jl][c] for the Bj keys and value columns c < vp (zero past V and
/// past the end), row stride ld. Each thread takes two adjacent keys of a 16-byte column chunk
/// and writes each column's two values with one store; consecutive threads take consecutive key
/// pairs, so the transposing stores hit consecutive shared-memory words.
template <int Threads, class T, int Bj>
__device__ __forceinline__ void load_v_transposed(T* dst, int ld, int vp, const T* src, std::int64_t src_ld,
                                                  std::int64_t j0, std::int64_t n, int V, bool vec) {
    constexpr int kVec = 16 / sizeof(T);
    constexpr int kPairs = Bj / 2;
    if (vec) {
        const int chunks = vp / kVec; // vp is a multiple of 8, V of kVec (vec)
        for (int idx = threadIdx.x; idx < kPairs * chunks; idx += Threads) {
            const int jl = 2 * (idx % kPairs), c = (idx / kPairs) * kVec;
            T e[2][kVec];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const std::int64_t j = j0 + jl + h;
                if (j < n && c < V) {
                    const uint4 raw = *reinterpret_cast<const uint4*>(src + j * src_ld + c);
                    std::memcpy(e[h], &raw, sizeof raw);
                } else {
#pragma unroll
                    for (int k = 0; k < kVec; ++k) e[h][k] = from_f32<T>(0.0f);
                }
            }
#pragma unroll
            for (int k = 0; k < kVec; ++k) operand<T>::store_pair(dst + (c + k) * ld + jl, to_f32(e[0][k]), to_f32(e[1][k]));
        }
    } else {
        for (int idx = threadIdx.x; idx < Bj * vp; idx += Threads) {
            const int jl = idx % Bj, c = idx / Bj;
            const std::int64_t j = j0 + jl;
            dst[c * ld + jl] = (j < n && c < V) ? operand<T>::store(to_f32(src[j * src_ld + c])) : from_f32<T>(0.0f);
        }
    }
}

/// kFull: K = 64 and V = 192 exactly (Enformer's heads), so every k-step and value tile loop has
/// compile-time bounds; otherwise the padded sizes bound them at run time.
template <class T, bool kFull, int Bi>
__global__ void __launch_bounds__(2 * Bi, Bi == 64 ? 2 : 1) rel_attention_flash_kernel(const flash_params p) {
    using op = operand<T>;
    using tile = typename op::template tile<Bi>;
    constexpr int kBi = tile::kBi, kThreads = tile::kThreads, kRing = tile::kRing;
    static_assert(kThreads == 2 * Bi, "the launch bounds assume 2·Bi threads");
    constexpr int kBj = tile::kBj, kBand = tile::kBand, kLdR = tile::kLdR, kLdV = tile::kLdV;
    constexpr int kSteps = kMaxKey / op::kStep;   ///< k-steps of the query fragments (at most)
    constexpr int kKeySteps = kBj / op::kStep;    ///< k-steps of P·v per key tile
    // BF16 reads its B fragments with ldmatrix (two n-tiles per instruction) from K, band and V
    // tiles stored as rows — V too (.trans turns its key-major rows into the fragment), so every
    // tile arrives by cp.async. TF32 (32-bit elements, rounded to tf32 on the way in) keeps
    // register loads and the transposed V tile.
    constexpr bool kLdsm = std::is_same_v<T, __nv_bfloat16>;
    static_assert(!kLdsm || (tile::kSTiles % 2 == 0 && tile::kRTiles % 2 == 0), "n-tiles go in pairs");
    static_assert(kLdsm || !tile::kPrefetch, "the band prefetch is part of BF16's cp.async pipeline");
    SCPX_DYNAMIC_SHARED(smem);
    T* const band = reinterpret_cast<T*>(smem + p.off_band);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
    float* const R = reinterpret_cast<float*>(smem + p.off_r) + warp * 16 * kLdR;

    const std::int64_t n = p.n, HK = p.heads * p.key;
    const int K = static_cast<int>(p.key), V = static_cast<int>(p.value);
    const int nsteps = kFull ? kSteps : p.kp / op::kStep, nvt = kFull ? kMaxVt : p.vp / 8;
    const int ldv = kLdsm ? p.vp + 8 : kLdV; // V tile row stride: rows of keys (BF16) or of columns
    // ldmatrix row addresses: lane l gives row l % 8 of 8×8 matrix l / 8; matrices (0, 1) are the
    // two k-halves of one n-tile, (2, 3) those of the next.
    const int lm_row = lane & 7, lm_half = (lane >> 3) & 1, lm_tile = lane >> 4;
    const std::int64_t i0 = static_cast<std::int64_t>(blockIdx.x) * kBi;
    const std::int64_t h = blockIdx.y, b = blockIdx.z;
    const auto src = p.template head<T>(b, h);

    // Query fragments, biases applied once: rows (g, g + 8) of the warp's 16.
    const std::int64_t row[2] = {i0 + 16 * warp + g, i0 + 16 * warp + g + 8};
    const auto query = [&](const float* bias, int half, int c) {
        const std::int64_t i = row[half];
        if (i >= n || c >= K) return 0.0f;
        // Rounded product then sum, as the reference (no contraction into one FMA).
        return __fmul_rn(to_f32(src.q[i * p.width + c]), p.q_scale) + bias[h * K + c];
    };
    std::uint32_t qu[kSteps][4], qw[kSteps][4];
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
        if (s >= nsteps) break;
        op::make_a(qu[s], s * op::kStep, t, [&](int half, int c) { return query(p.u, half, c); });
        op::make_a(qw[s], s * op::kStep, t, [&](int half, int c) { return query(p.w, half, c); });
    }

    float o[kMaxVt][4];
#pragma unroll
    for (int v = 0; v < kMaxVt; ++v) o[v][0] = o[v][1] = o[v][2] = o[v][3] = 0.0f;
    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f}; // l: this lane's partial sums
    const int s_w = kBi - 16 - 16 * warp; // first band row of the warp's window

    // The band's logical row b lives in physical row (b + kBj·rot) mod kBand; rot advances by one
    // segment per key tile (the next tile's band is this one shifted by kBj rows).
    int rot = 0;
    const auto same = [](int r) { return r; };
    // BF16 with 16-byte rows: the next key tile's K and V load (cp.async) into the other buffer
    // while this one is used; the band's new segment loads per tile (a prefetch would need a
    // third ring segment, more shared memory than two blocks per SM leave).
    const auto kv_async = [&](int into, std::int64_t j) {
        if constexpr (kLdsm) {
            T* const kb = reinterpret_cast<T*>(smem + into * p.kv_stride);
            T* const vb = reinterpret_cast<T*>(smem + into * p.kv_stride + p.off_v);
            load_rows_async<kThreads>(kb, kLd, 0, kBj, p.kp, src.k, p.width, j, n, K, same);
            load_rows_async<kThreads>(vb, ldv, 0, kBj, p.vp, src.v, p.width, j, n, V, same);
        }
    };
    // With the prefetch (tile::kPrefetch, a ring one segment longer than the band), tile j + 1's
    // new band segment goes to the segment tile j − 1 began with — free once every warp has
    // passed the loop's first barrier — so it too loads while tile j is used.
    const std::int64_t base0 = -i0 - (kBi - 1) + (n - 1); // relk row of band row 0 at j0 = 0
    if constexpr (kLdsm) {
        if (p.vec) {
            kv_async(0, 0);
            if constexpr (tile::kPrefetch)
                load_rows_async<kThreads>(band, kLd, 0, kBand, p.kp, src.rel_k, HK, base0, 2 * n - 1, K, same);
            mma::cp_async_commit();
        }
    }
    int buf = 0;
    for (std::int64_t j0 = 0; j0 < n; j0 += kBj, rot = rot + 1 == tile::kSegments ? 0 : rot + 1, buf ^= 1) {
        __syncthreads(); // the previous tile is consumed by every warp
        const unsigned kv = kLdsm ? buf * p.kv_stride : 0u; // TF32: one K/V pair
        T* const ks_tile = reinterpret_cast<T*>(smem + kv);
        T* const vt_tile = reinterpret_cast<T*>(smem + kv + p.off_v);
        const auto ring = [rot](int r) { return (r + kBj * rot) % kRing; };
        const std::int64_t base = base0 + j0; // relk row of band row 0
        const int band_first = j0 == 0 ? 0 : kBand - kBj;
        const int keys = static_cast<int>(n - j0 < kBj ? n - j0 : kBj); // keys of this tile inside the sequence
        if constexpr (kLdsm) {
            if (p.vec && tile::kPrefetch) {
                if (j0 + kBj < n) {
                    kv_async(buf ^ 1, j0 + kBj);
                    const int rot_next = rot + 1 == tile::kSegments ? 0 : rot + 1;
                    const auto ring_next = [rot_next](int r) { return (r + kBj * rot_next) % kRing; };
                    load_rows_async<kThreads>(band, kLd, kBand - kBj, kBand, p.kp, src.rel_k, HK, base + kBj,
                                              2 * n - 1, K, ring_next);
                }
                mma::cp_async_commit();  // possibly empty: the wait below counts groups
                mma::cp_async_wait<1>(); // all but the prefetch: this tile's K, V and band
            } else if (p.vec) {
                load_rows_async<kThreads>(band, kLd, band_first, kBand, p.kp, src.rel_k, HK, base, 2 * n - 1, K,
                                          ring);
                mma::cp_async_commit();
                if (j0 + kBj < n) kv_async(buf ^ 1, j0 + kBj);
                mma::cp_async_commit();  // possibly empty: the wait below counts groups
                mma::cp_async_wait<1>(); // all but the prefetch: this tile's K, V and band
            } else {
                load_rows<kThreads>(ks_tile, kLd, 0, kBj, p.kp, src.k, p.width, j0, n, K, false, same);
                load_rows<kThreads>(vt_tile, ldv, 0, kBj, p.vp, src.v, p.width, j0, n, V, false, same);
                load_rows<kThreads>(band, kLd, band_first, kBand, p.kp, src.rel_k, HK, base, 2 * n - 1, K, false,
                                    ring);
            }
        } else {
            load_rows<kThreads>(ks_tile, kLd, 0, kBj, p.kp, src.k, p.width, j0, n, K, p.vec, same);
            load_v_transposed<kThreads, T, kBj>(vt_tile, kLdV, p.vp, src.v, p.width, j0, n, V, p.vec);
            load_rows<kThreads>(band, kLd, band_first, kBand, p.kp, src.rel_k, HK, base, 2 * n - 1, K, p.vec, ring);
        }
        __syncthreads();

        // Content logits in registers.
        float s[tile::kSTiles][4];
#pragma unroll
        for (int nt = 0; nt < tile::kSTiles; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
        if constexpr (kLdsm) {
#pragma unroll
            for (int nt = 0; nt < tile::kSTiles; nt += 2) {
                const T* rows = ks_tile + (8 * (nt + lm_tile) + lm_row) * kLd + 8 * lm_half;
#pragma unroll
                for (int ks = 0; ks < kSteps; ++ks) {
                    if (ks >= nsteps) break;
                    std::uint32_t bf[4];
                    mma::ldmatrix<4, false>(bf, rows + ks * op::kStep);
                    op::mma(s[nt], qu[ks], {bf[0], bf[1]});
                    op::mma(s[nt + 1], qu[ks], {bf[2], bf[3]});
                }
            }
        } else {
#pragma unroll
            for (int nt = 0; nt < tile::kSTiles; ++nt)
#pragma unroll
                for (int ks = 0; ks < kSteps; ++ks) {
                    if (ks >= nsteps) break;
                    std::uint32_t bf[2];
                    op::load_b(bf, ks_tile, kLd, 8 * nt, ks * op::kStep, g, t);
                    op::mma(s[nt], qu[ks], bf);
                }
        }
        // Relative logits over the warp's window, through its R tile.
        const auto store_r = [&](int nt, const float (&r)[4]) {
            *reinterpret_cast<float2*>(R + g * kLdR + 8 * nt + 2 * t) = make_float2(r[0], r[1]);
            *reinterpret_cast<float2*>(R + (g + 8) * kLdR + 8 * nt + 2 * t) = make_float2(r[2], r[3]);
        };
        if constexpr (kLdsm) {
#pragma unroll
            for (int nt = 0; nt < tile::kRTiles; nt += 2) {
                float r0[4] = {0.0f, 0.0f, 0.0f, 0.0f}, r1[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                const T* rows = band + ((s_w + 8 * (nt + lm_tile) + lm_row + kBj * rot) % kRing) * kLd + 8 * lm_half;
#pragma unroll
                for (int ks = 0; ks < kSteps; ++ks) {
                    if (ks >= nsteps) break;
                    std::uint32_t bf[4];
                    mma::ldmatrix<4, false>(bf, rows + ks * op::kStep);
                    op::mma(r0, qw[ks], {bf[0], bf[1]});
                    op::mma(r1, qw[ks], {bf[2], bf[3]});
                }
                store_r(nt, r0);
                store_r(nt + 1, r1);
            }
        } else {
#pragma unroll
            for (int nt = 0; nt < tile::kRTiles; ++nt) {
                float r[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                const int phys = (s_w + 8 * nt + kBj * rot) % kRing; // 8 rows never straddle a segment
#pragma unroll
                for (int ks = 0; ks < kSteps; ++ks) {
                    if (ks >= nsteps) break;
                    std::uint32_t bf[2];
                    op::load_b(bf, band, kLd, phys, ks * op::kStep, g, t);
                    op::mma(r, qw[ks], bf);
                }
                store_r(nt, r);
            }
        }
        __syncwarp();

        // Shifted sum, masked past the end; this lane's row maxima.
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < tile::kSTiles; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int r = g + 8 * (e >> 1), jl = 8 * nt + 2 * t + (e & 1);
                const float x = jl < keys ? s[nt][e] + R[r * kLdR + jl - r + 15] : -INFINITY;
                s[nt][e] = x;
                mx[e >> 1] = fmaxf(mx[e >> 1], x);
            }
        float alpha[2];
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(0xffffffffu, mx[hf], 1));
            mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(0xffffffffu, mx[hf], 2));
            const float m_new = fmaxf(m_run[hf], mx[hf]); // finite: key j0 < n is in every tile
            alpha[hf] = __expf(m_run[hf] - m_new);        // 0 on the first tile
            m_run[hf] = m_new;
            l_run[hf] *= alpha[hf];
        }
#pragma unroll
        for (int nt = 0; nt < tile::kSTiles; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float pr = op::round(__expf(s[nt][e] - m_run[e >> 1])); // the weight P·v uses
                s[nt][e] = pr;
                l_run[e >> 1] += pr;
            }
        // Once the running maxima settle (after the first tiles, mostly) alpha is exactly 1 in
        // every lane: skip the 4·V/8 multiplications then (a warp-uniform branch).
        if (!__all_sync(0xffffffffu, alpha[0] == 1.0f && alpha[1] == 1.0f)) {
#pragma unroll
            for (int v = 0; v < kMaxVt; ++v) {
                o[v][0] *= alpha[0];
                o[v][1] *= alpha[0];
                o[v][2] *= alpha[1];
                o[v][3] *= alpha[1];
            }
        }
        // O += P·v.
#pragma unroll
        for (int ks = 0; ks < kKeySteps; ++ks) {
            std::uint32_t a[4];
            op::p_as_a(a, s, ks);
            if constexpr (kLdsm) {
                // Matrices: keys (16ks …, 16ks + 8 …) × value columns (8v …, 8(v + 1) …).
                const T* rows = vt_tile + (16 * ks + 8 * lm_half + lm_row) * ldv + 8 * lm_tile;
#pragma unroll
                for (int v = 0; v < kMaxVt; v += 2) {
                    if (v >= nvt) break;
                    if (v + 1 < nvt) {
                        std::uint32_t bf[4];
                        mma::ldmatrix<4, true>(bf, rows + 8 * v);
                        op::mma(o[v], a, {bf[0], bf[1]});
                        op::mma(o[v + 1], a, {bf[2], bf[3]});
                    } else {
                        std::uint32_t bf[2];
                        mma::ldmatrix<2, true>(bf, rows + 8 * v);
                        op::mma(o[v], a, bf);
                    }
                }
            } else {
#pragma unroll
                for (int v = 0; v < kMaxVt; ++v) {
                    if (v >= nvt) break;
                    std::uint32_t bf[2];
                    op::load_b(bf, vt_tile, kLdV, 8 * v, ks * op::kStep, g, t);
                    op::mma(o[v], a, bf);
                }
            }
        }
    }

    // out = O / l (the quad's partial sums added first).
    float inv[2];
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
        float l = l_run[hf];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        inv[hf] = 1.0f / l;
    }
    T* const out = static_cast<T*>(p.out);
    const std::int64_t HV = p.heads * V;
#pragma unroll
    for (int v = 0; v < kMaxVt; ++v) {
        if (v >= nvt) break;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const std::int64_t i = row[e >> 1];
            const int c = 8 * v + 2 * t + (e & 1);
            if (i < n && c < V) out[(b * n + i) * HV + h * V + c] = from_f32<T>(o[v][e] * inv[e >> 1]);
        }
    }
}

/// Fills p's padded sizes and shared-memory offsets for element type T; returns the bytes of
/// dynamic shared memory a block needs.
template <class T, int Bi>
unsigned plan_shared(flash_params& p) {
    p.kp = static_cast<int>((p.key + operand<T>::kStep - 1) / operand<T>::kStep * operand<T>::kStep);
    p.vp = static_cast<int>((p.value + 7) / 8 * 8);
    using tile = typename operand<T>::template tile<Bi>;
    constexpr bool kBf16 = std::is_same_v<T, __nv_bfloat16>;
    p.off_v = align128(static_cast<std::size_t>(tile::kBj) * kLd * sizeof(T));
    // V tile: BF16 rows of keys (vp + 8 apart: ldmatrix rows 16 bytes off in the banks), TF32 rows of columns.
    const std::size_t v_tile = kBf16 ? static_cast<std::size_t>(tile::kBj) * (p.vp + 8)
                                     : static_cast<std::size_t>(p.vp) * tile::kLdV;
    p.kv_stride = p.off_v + align128(v_tile * sizeof(T));
    p.off_band = p.kv_stride * (kBf16 ? 2 : 1);
    p.off_r = p.off_band + align128(static_cast<std::size_t>(tile::kRing) * kLd * sizeof(T));
    return p.off_r + static_cast<unsigned>(tile::kWarps * 16 * tile::kLdR * sizeof(float));
}

template <class T, bool kFull, int Bi>
void launch(flash_params p, std::int64_t batch, cudaStream_t stream) {
    const unsigned total = plan_shared<T, Bi>(p);
    int device = 0, optin = 0;
    SCPX_CUDA_CHECK(query_shared_optin(device, optin));
    if (total > static_cast<unsigned>(optin))
        throw usage_error("rel_attention_flash: V = " + std::to_string(p.value) + " needs " + std::to_string(total) +
                          " bytes of shared memory, the device allows " + std::to_string(optin));
    // The largest carve-out: two blocks of BF16's double-buffered 64-row tiles (2 × 109 KiB on
    // sm_90) fit only in it.
    static shared_optin_record opted;
    opt_in_shared(rel_attention_flash_kernel<T, kFull, Bi>, total, device, opted, /*max_carveout=*/true);
    const dim3 grid(static_cast<unsigned>(div_up(p.n, Bi)), static_cast<unsigned>(p.heads),
                    static_cast<unsigned>(batch));
    SCPX_LAUNCH(grid, 2 * Bi, total, stream, rel_attention_flash_kernel<T, kFull, Bi>)(p);
    SCPX_CUDA_CHECK_LAUNCH();
}

/// Precision, head sizes and block height the kernel is written for (no device needed to tell).
bool shape_supported(const rel_attention_args& a) {
    return (a.prec == precision::BF16 || a.prec == precision::TF32) && a.key >= 1 && a.key <= kMaxKey &&
           a.value >= 1 && a.value <= kMaxValue &&
           (a.flash_query_rows == 0 || a.flash_query_rows == 64 || a.flash_query_rows == 128);
}

bool tall_blocks(const rel_attention_args& a) { return a.flash_query_rows == 128; }

/// Shared memory per block for these arguments (rel_attention_flash_supports compares it with
/// the device's limit; launch computes it again with the pointers set).
unsigned shared_bytes(const rel_attention_args& a) {
    flash_params p;
    p.key = a.key;
    p.value = a.value;
    if (a.prec == precision::BF16)
        return tall_blocks(a) ? plan_shared<__nv_bfloat16, 128>(p) : plan_shared<__nv_bfloat16, 64>(p);
    return tall_blocks(a) ? plan_shared<float, 128>(p) : plan_shared<float, 64>(p);
}

template <class T>
void launch_rows(const flash_params& p, const rel_attention_args& a, bool full, cudaStream_t stream) {
    if (tall_blocks(a)) full ? launch<T, true, 128>(p, a.batch, stream) : launch<T, false, 128>(p, a.batch, stream);
    else full ? launch<T, true, 64>(p, a.batch, stream) : launch<T, false, 64>(p, a.batch, stream);
}

} // namespace

bool rel_attention_flash_supports(const rel_attention_args& a) {
    if (!shape_supported(a)) return false;
    const unsigned need = shared_bytes(a);
    // 108 KiB in BF16: not on every card. No usable device: not supported (and no error left set).
    int device = 0, optin = 0;
    if (query_shared_optin(device, optin) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return need <= static_cast<unsigned>(optin);
}

void rel_attention_flash(const rel_attention_args& a, cudaStream_t stream) {
    check_rel_attention_args(a, "rel_attention_flash");
    // Argument errors first, without touching the device; the launch checks the shared memory.
    if (!shape_supported(a))
        throw usage_error("rel_attention_flash: BF16 or TF32 with K ≤ " + std::to_string(kMaxKey) + " and V ≤ " +
                          std::to_string(kMaxValue) + ", blocks of 64 or 128 query rows only (got " +
                          gpu::to_string(a.prec) + ", K = " + std::to_string(a.key) + ", V = " +
                          std::to_string(a.value) + ", " + std::to_string(a.flash_query_rows) + " rows)");
    flash_params p;
    static_cast<rel_attention_view&>(p) = rel_attention_view_of(a);
    const bool full = a.key == kMaxKey && a.value == kMaxValue;
    if (a.prec == precision::BF16) launch_rows<__nv_bfloat16>(p, a, full, stream);
    else launch_rows<float>(p, a, full, stream);
}

} // namespace scpx::cuda
