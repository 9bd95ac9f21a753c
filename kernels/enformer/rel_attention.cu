// Fused relative-position attention core (contract in rel_attention.cuh).
//
// Grid: one block per (query tile of kBi = 64 rows, head, sequence); 4 warps, warp w owning query
// rows [16w, 16w + 16) of the tile from start to end. The block loops over key tiles of kBj = 32:
//   1. all threads load the key tile K[j0, j0+32), the value tile V[j0, j0+32) and the band of
//      96 relative keys the whole tile needs into shared memory (zero outside the sequence; the
//      band is a ring shared with the previous tile, so only its 32 new rows are loaded);
//   2. each warp, on its own rows only (no block barrier until the next tile):
//      S = (q_s+u)·Kᵀ                      16 × 32  (two 16×16 products)
//      R = (q_s+u)·band[lo, lo+48)ᵀ        16 × 48  (three 16×16 products)
//      d = (w−u)·band[lo, lo+48)ᵀ          48       (fp32 dot products, one per band row)
//      logits[r][j] = S[r][j] + R[r][c] + d[c], c = j − r + 15  (the relative shift as a gather)
//      online softmax (running max and sum per row, fp32), P = exp(logits − max)
//      O = O·exp(max_old − max_new) + P·V        16 × Vpad, kept in shared memory (fp32)
//   3. out = O / sum.
// (q_s+w)·relk is split as (q_s+u)·relk + (w−u)·relk so that one query tile serves both products:
// a second [64, K] tile for q_s+w would cost 17 KB of shared memory (fp32), which is what makes the
// kernel fit the 163 KB per block of an A100 and two blocks per SM on an H100 in BF16. P reuses
// the bytes of S (each lane holds its 16 logits in registers while the row's P is written).
// Why the band is 48 wide per warp: query row i (tile row il) and key j (tile column jl) need
// relative key row j − i + n − 1, i.e. band row jl − il + kBi − 1 when the band starts at relk row
// r0 = j0 − i0 − kBi + n. For the 16 rows of warp w these rows form the window
// [kBi − 16 − 16w, kBi + kBj − 1 − 16w) of kBj + 15 rows; as whole 16-row products that is
// kBj/16 + 1 = 3 products, so the relative logits cost 1.5× the content logits instead of the
// (kBi + kBj − 1)/kBj ≈ 3× of multiplying the whole band.
//
// The 16×16 products are the only precision-dependent part: FP32 does them with fp32 FMAs on
// CUDA cores (the reference arithmetic), TF32 with wmma m16n16k8 (operands rounded to tf32 in the
// fragments), BF16 with wmma m16n16k16 on bf16 operands (q_s + u and the softmax probabilities P
// are rounded to bf16 in shared memory). All accumulation, d, the softmax and O are fp32. K and V
// are padded to multiples of 16 with zeros, so any head size works (the small test shapes use
// K = 8, V = 12). Shared memory at K = 64, V = 192: 148 KiB (fp32/tf32), 112 KiB (bf16).
#include "rel_attention.cuh"

#include "common.cuh"

#include <mma.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace scpx::cuda {

namespace {

constexpr int kBi = 64;            ///< query rows per block
constexpr int kBj = 32;            ///< keys per iteration
constexpr int kWarps = kBi / 16;   ///< one warp per 16 query rows
constexpr int kThreads = kWarps * 32;
constexpr int kBand = kBi + kBj;   ///< relative-key rows per iteration (kBi + kBj − 1, rounded)
constexpr int kBandBlocks = kBand / 16; ///< the band is a ring of 16-row blocks ...
constexpr int kShiftBlocks = kBj / 16;  ///< ... that slides by kBj rows per key tile
constexpr int kRCols = kBj + 16;   ///< relative-logit columns per warp (kBj/16 + 1 products)

enum class mma_kind { FMA, TF32, BF16 };

/// Shared-memory carve-up, computed on the host and passed by value. Leading dimensions are
/// padded by 16 bytes (keeps wmma's 16-byte ldm rule and breaks the bank pattern of power-of-two
/// rows); every region starts 128-byte aligned (wmma needs 32-byte aligned fragment pointers).
struct smem_layout {
    int kp = 0, vp = 0;                      ///< K, V rounded up to 16
    int ldk = 0, ldv = 0, lds = 0, ldr = 0, ldp = 0, ldo = 0;
    unsigned q_u = 0, wu = 0, k = 0, v = 0, band = 0; ///< byte offsets of the block-wide regions
    unsigned warp0 = 0, warp_bytes = 0;      ///< per-warp regions: warp0 + w·warp_bytes
    unsigned s = 0, r = 0, d = 0, o = 0;     ///< byte offsets inside a warp's region (P aliases S)
    unsigned total = 0;
};

smem_layout make_layout(std::int64_t key, std::int64_t value, std::size_t elem) {
    smem_layout L;
    const int pad = static_cast<int>(16 / elem); // 16 bytes in elements
    L.kp = static_cast<int>((key + 15) / 16 * 16);
    L.vp = static_cast<int>((value + 15) / 16 * 16);
    L.ldk = L.kp + pad;
    L.ldv = L.vp + pad;
    L.lds = kBj + 4;
    L.ldr = kRCols + 4;
    L.ldp = kBj + pad;
    L.ldo = L.vp + 4;
    std::size_t at = 0;
    const auto carve = [&](std::size_t bytes) {
        const unsigned here = align128(at);
        at = here + bytes;
        return here;
    };
    L.q_u = carve(static_cast<std::size_t>(kBi) * L.ldk * elem);
    L.wu = carve(static_cast<std::size_t>(L.kp) * sizeof(float));
    L.k = carve(static_cast<std::size_t>(kBj) * L.ldk * elem);
    L.v = carve(static_cast<std::size_t>(kBj) * L.ldv * elem);
    L.band = carve(static_cast<std::size_t>(kBand) * L.ldk * elem);
    L.warp0 = align128(at);
    std::size_t w = 0;
    const auto carve_w = [&](std::size_t bytes) {
        const unsigned here = align128(w);
        w = here + bytes;
        return here;
    };
    L.s = carve_w(16u * std::max(L.lds * sizeof(float), L.ldp * elem)); // S, then P over it
    L.r = carve_w(16u * L.ldr * sizeof(float));
    L.d = carve_w(kRCols * sizeof(float));
    L.o = carve_w(16u * L.ldo * sizeof(float));
    L.warp_bytes = align128(w);
    L.total = L.warp0 + kWarps * L.warp_bytes;
    return L;
}

using kernel_params = rel_attention_view;

// ---- 16×16 warp products ------------------------------------------------------------------

/// Physical row of logical band row `lr` when logical block 0 sits in physical block `rot`.
__device__ __forceinline__ int band_row(int lr, int rot) { return ((lr >> 4) + rot) % kBandBlocks * 16 + (lr & 15); }

/// C[16×16] = A[16×kd] · Btᵀ, where Bt is [16×kd] row-major (rows of keys). C fp32, row-major.
template <mma_kind M, class T>
__device__ __forceinline__ void mm_abt(const T* A, int lda, const T* Bt, int ldb, int kd, float* C, int ldc) {
    using namespace nvcuda;
    if constexpr (M == mma_kind::FMA) {
        // Lane → row lane/2, columns 8·(lane%2) … +7; the 16 lanes of one column half read the
        // same Bt element (a broadcast).
        const int lane = threadIdx.x % 32, r = lane >> 1, c0 = (lane & 1) * 8;
        float acc[8] = {};
        for (int k = 0; k < kd; ++k) {
            const float a = to_f32(A[r * lda + k]);
#pragma unroll
            for (int e = 0; e < 8; ++e) acc[e] = fmaf(a, to_f32(Bt[(c0 + e) * ldb + k]), acc[e]);
        }
#pragma unroll
        for (int e = 0; e < 8; ++e) C[r * ldc + c0 + e] = acc[e];
    } else if constexpr (M == mma_kind::TF32) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b;
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> c;
        wmma::fill_fragment(c, 0.0f);
        for (int k = 0; k < kd; k += 8) {
            wmma::load_matrix_sync(a, A + k, lda);
            wmma::load_matrix_sync(b, Bt + k, ldb);
#pragma unroll
            for (int t = 0; t < a.num_elements; ++t) a.x[t] = wmma::__float_to_tf32(a.x[t]);
#pragma unroll
            for (int t = 0; t < b.num_elements; ++t) b.x[t] = wmma::__float_to_tf32(b.x[t]);
            wmma::mma_sync(c, a, b, c);
        }
        wmma::store_matrix_sync(C, c, ldc, wmma::mem_row_major);
    } else {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
        wmma::fill_fragment(c, 0.0f);
        for (int k = 0; k < kd; k += 16) {
            wmma::load_matrix_sync(a, A + k, lda);
            wmma::load_matrix_sync(b, Bt + k, ldb);
            wmma::mma_sync(c, a, b, c);
        }
        wmma::store_matrix_sync(C, c, ldc, wmma::mem_row_major);
    }
}

/// C[16×16] += A[16×kd] · B[kd×16], B row-major. C fp32, row-major, in shared memory.
template <mma_kind M, class T>
__device__ __forceinline__ void mm_ab_acc(const T* A, int lda, const T* B, int ldb, int kd, float* C, int ldc) {
    using namespace nvcuda;
    if constexpr (M == mma_kind::FMA) {
        const int lane = threadIdx.x % 32, r = lane >> 1, c0 = (lane & 1) * 8;
        float acc[8];
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] = C[r * ldc + c0 + e];
        for (int k = 0; k < kd; ++k) {
            const float a = to_f32(A[r * lda + k]);
#pragma unroll
            for (int e = 0; e < 8; ++e) acc[e] = fmaf(a, to_f32(B[k * ldb + c0 + e]), acc[e]);
        }
#pragma unroll
        for (int e = 0; e < 8; ++e) C[r * ldc + c0 + e] = acc[e];
    } else if constexpr (M == mma_kind::TF32) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> b;
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> c;
        wmma::load_matrix_sync(c, C, ldc, wmma::mem_row_major);
        for (int k = 0; k < kd; k += 8) {
            wmma::load_matrix_sync(a, A + k, lda);
            wmma::load_matrix_sync(b, B + k * ldb, ldb);
#pragma unroll
            for (int t = 0; t < a.num_elements; ++t) a.x[t] = wmma::__float_to_tf32(a.x[t]);
#pragma unroll
            for (int t = 0; t < b.num_elements; ++t) b.x[t] = wmma::__float_to_tf32(b.x[t]);
            wmma::mma_sync(c, a, b, c);
        }
        wmma::store_matrix_sync(C, c, ldc, wmma::mem_row_major);
    } else {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
        wmma::load_matrix_sync(c, C, ldc, wmma::mem_row_major);
        for (int k = 0; k < kd; k += 16) {
            wmma::load_matrix_sync(a, A + k, lda);
            wmma::load_matrix_sync(b, B + k * ldb, ldb);
            wmma::mma_sync(c, a, b, c);
        }
        wmma::store_matrix_sync(C, c, ldc, wmma::mem_row_major);
    }
}

// ---- tile loads ---------------------------------------------------------------------------

/// dst[map(r)][0, cols_pad) = src row (row_first + r), columns [0, cols), for r in [0, rows); zero
/// for columns ≥ cols and for rows outside [0, row_end). 16-byte accesses when `vec` (row starts
/// and `cols` are multiples of 16 bytes, checked by the launcher), elementwise otherwise.
template <class T, class RowMap>
__device__ __forceinline__ void load_tile(T* dst, int ld, int rows, int cols_pad, const T* src, std::int64_t src_ld,
                                          std::int64_t row_first, std::int64_t row_end, int cols, bool vec,
                                          RowMap map) {
    constexpr int kVec = 16 / sizeof(T);
    if (vec) {
        const int chunks = cols_pad / kVec; // cols_pad is a multiple of 16 elements
        for (int idx = threadIdx.x; idx < rows * chunks; idx += kThreads) {
            const int r = idx / chunks, c = (idx % chunks) * kVec;
            const std::int64_t g = row_first + r;
            uint4 val = make_uint4(0, 0, 0, 0);
            if (g >= 0 && g < row_end && c < cols) val = *reinterpret_cast<const uint4*>(src + g * src_ld + c);
            *reinterpret_cast<uint4*>(dst + map(r) * ld + c) = val;
        }
    } else {
        for (int idx = threadIdx.x; idx < rows * cols_pad; idx += kThreads) {
            const int r = idx / cols_pad, c = idx % cols_pad;
            const std::int64_t g = row_first + r;
            dst[map(r) * ld + c] = (g >= 0 && g < row_end && c < cols) ? src[g * src_ld + c] : from_f32<T>(0.0f);
        }
    }
}

// ---- the kernel ---------------------------------------------------------------------------

template <mma_kind M, class T>
__global__ void __launch_bounds__(kThreads) rel_attention_kernel(const kernel_params p, const smem_layout L) {
    SCPX_DYNAMIC_SHARED(smem);
    T* const qu = reinterpret_cast<T*>(smem + L.q_u);
    float* const wu = reinterpret_cast<float*>(smem + L.wu);
    T* const kt = reinterpret_cast<T*>(smem + L.k);
    T* const vt = reinterpret_cast<T*>(smem + L.v);
    T* const band = reinterpret_cast<T*>(smem + L.band);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    unsigned char* const wbase = smem + L.warp0 + static_cast<std::size_t>(warp) * L.warp_bytes;
    float* const S = reinterpret_cast<float*>(wbase + L.s);
    T* const P = reinterpret_cast<T*>(wbase + L.s); // same bytes as S, see the softmax below
    float* const R = reinterpret_cast<float*>(wbase + L.r);
    float* const D = reinterpret_cast<float*>(wbase + L.d);
    float* const O = reinterpret_cast<float*>(wbase + L.o);

    const std::int64_t n = p.n, HK = p.heads * p.key;
    const int K = static_cast<int>(p.key), V = static_cast<int>(p.value);
    const std::int64_t i0 = static_cast<std::int64_t>(blockIdx.x) * kBi;
    const std::int64_t h = blockIdx.y, b = blockIdx.z;
    const auto src = p.template head<T>(b, h);

    // Query tile with the scale and the content bias applied once (zero rows past the sequence
    // end: their results are computed but never stored), and w − u for the relative term.
    for (int idx = threadIdx.x; idx < kBi * L.kp; idx += kThreads) {
        const int r = idx / L.kp, c = idx % L.kp;
        const std::int64_t i = i0 + r;
        float a = 0.0f;
        if (i < n && c < K) {
            // Rounded product then sum, as the reference (no contraction into one FMA).
            const float qs = __fmul_rn(to_f32(src.q[i * p.width + c]), p.q_scale);
            a = qs + p.u[h * K + c];
        }
        qu[r * L.ldk + c] = from_f32<T>(a);
    }
    for (int c = threadIdx.x; c < L.kp; c += kThreads) wu[c] = c < K ? p.w[h * K + c] - p.u[h * K + c] : 0.0f;
    for (int idx = lane; idx < 16 * L.ldo; idx += 32) O[idx] = 0.0f;

    // Row state: lanes 2r and 2r+1 both hold row r's running max and sum.
    const int rr = lane >> 1, half = lane & 1;
    float m_run = -INFINITY, l_run = 0.0f;
    const T* const qu_w = qu + 16 * warp * L.ldk;
    const int band_lo = kBi - 16 - 16 * warp; // first (logical) band row this warp's rows use
    const auto linear = [](int r) { return r; };

    // The band of key tile j0 starts at relk row j0 − i0 − kBi + n, so the next tile's band is this
    // one shifted by kBj rows: its first kBand − kBj rows are already in shared memory. The band is
    // kept as a ring of 16-row blocks (a 16×16 product never straddles the wrap) and only the
    // last kBj rows are loaded per tile after the first.
    int rot = 0;
    for (std::int64_t j0 = 0; j0 < n; j0 += kBj, rot = (rot + kShiftBlocks) % kBandBlocks) {
        __syncthreads(); // previous tile fully consumed (and, first time, the Q tile written)
        load_tile(kt, L.ldk, kBj, L.kp, src.k, p.width, j0, n, K, p.vec, linear);
        load_tile(vt, L.ldv, kBj, L.vp, src.v, p.width, j0, n, V, p.vec, linear);
        const int first = j0 == 0 ? 0 : kBand - kBj;
        load_tile(band, L.ldk, kBand - first, L.kp, src.rel_k, HK, j0 - i0 - kBi + n + first, 2 * n - 1, K, p.vec,
                  [first, rot](int r) { return band_row(first + r, rot); });
        __syncthreads();

#pragma unroll
        for (int jb = 0; jb < kBj / 16; ++jb)
            mm_abt<M>(qu_w, L.ldk, kt + jb * 16 * L.ldk, L.ldk, L.kp, S + jb * 16, L.lds);
#pragma unroll
        for (int cb = 0; cb < kRCols / 16; ++cb)
            mm_abt<M>(qu_w, L.ldk, band + band_row(band_lo + cb * 16, rot) * L.ldk, L.ldk, L.kp, R + cb * 16, L.ldr);
        // d[c] = (w − u)·band row (band_lo + c), in fp32 on the stored band values.
        for (int c = lane; c < kRCols; c += 32) {
            const T* row = band + band_row(band_lo + c, rot) * L.ldk;
            float acc = 0.0f;
            for (int k = 0; k < L.kp; ++k) acc = fmaf(wu[k], to_f32(row[k]), acc);
            D[c] = acc;
        }
        __syncwarp();

        // Logits of row rr, columns [half·kBj/2, (half+1)·kBj/2): content + shifted relative,
        // kept in registers because P overwrites S.
        constexpr int kHalf = kBj / 2;
        float lg[kHalf];
        float mx = -INFINITY;
#pragma unroll
        for (int t = 0; t < kHalf; ++t) {
            const int jl = half * kHalf + t, c = jl - rr + 15;
            lg[t] = j0 + jl < n ? S[rr * L.lds + jl] + (R[rr * L.ldr + c] + D[c]) : -INFINITY;
            mx = fmaxf(mx, lg[t]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float m_new = fmaxf(m_run, mx);   // finite: every key tile has a valid key
        const float alpha = expf(m_run - m_new); // 0 on the first tile (m_run = −inf)
        __syncwarp(); // every lane has read its S before any lane writes P over it
        float sum = 0.0f;
#pragma unroll
        for (int t = 0; t < kHalf; ++t) {
            const T pv = from_f32<T>(expf(lg[t] - m_new));
            P[rr * L.ldp + half * kHalf + t] = pv;
            sum += to_f32(pv); // the rounded weights, the ones P·V uses
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l_run = l_run * alpha + sum;
        m_run = m_new;
        // Rescale O row by row with all lanes on one row (conflict-free, coalesced in smem); skipped
        // when no row's max moved (the usual case after the first key tiles; ×1 is exact anyway).
        if (!__all_sync(0xffffffffu, alpha == 1.0f)) {
            for (int r = 0; r < 16; ++r) {
                const float ar = __shfl_sync(0xffffffffu, alpha, 2 * r);
                for (int c = lane; c < L.vp; c += 32) O[r * L.ldo + c] *= ar;
            }
        }
        __syncwarp();
        for (int vb = 0; vb < L.vp / 16; ++vb)
            mm_ab_acc<M>(static_cast<const T*>(P), L.ldp, vt + vb * 16, L.ldv, kBj, O + vb * 16, L.ldo);
        __syncwarp();
    }

    // out[b, i, h·V + v] = O[r][v] / l, one row at a time so that a warp's stores are contiguous.
    T* const out = static_cast<T*>(p.out);
    const std::int64_t HV = p.heads * V;
    for (int r = 0; r < 16; ++r) {
        const float inv = 1.0f / __shfl_sync(0xffffffffu, l_run, 2 * r);
        const std::int64_t i = i0 + 16 * warp + r;
        if (i >= n) break;
        T* const dst = out + (b * n + i) * HV + h * V;
        for (int c = lane; c < V; c += 32) dst[c] = from_f32<T>(O[r * L.ldo + c] * inv);
    }
}

template <mma_kind M, class T>
void launch(const kernel_params& p, std::int64_t batch, cudaStream_t stream) {
    const smem_layout L = make_layout(p.key, p.value, sizeof(T));
    int device = 0, optin = 0;
    SCPX_CUDA_CHECK(query_shared_optin(device, optin));
    if (L.total > static_cast<unsigned>(optin))
        throw usage_error("rel_attention: head sizes K = " + std::to_string(p.key) + ", V = " + std::to_string(p.value) +
                          " need " + std::to_string(L.total) + " bytes of shared memory, the device allows " +
                          std::to_string(optin));
    static shared_optin_record opted;
    opt_in_shared(rel_attention_kernel<M, T>, L.total, device, opted);
    const dim3 grid(static_cast<unsigned>(div_up(p.n, kBi)), static_cast<unsigned>(p.heads),
                    static_cast<unsigned>(batch));
    SCPX_LAUNCH(grid, kThreads, L.total, stream, rel_attention_kernel<M, T>)(p, L);
    SCPX_CUDA_CHECK_LAUNCH();
}

bool aligned16(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; }

} // namespace

void check_rel_attention_args(const rel_attention_args& a, const char* who) {
    const std::string w = who;
    if (!a.qkv || !a.rel_k || !a.content_bias || !a.pos_bias || !a.out) throw usage_error(w + ": missing tensor");
    if (a.batch < 1 || a.n < 1 || a.heads < 1 || a.key < 1 || a.value < 1) throw usage_error(w + ": empty shape");
    if (a.batch > 65535 || a.heads > 65535 || a.n > (std::int64_t{1} << 30) || a.key > 4096 || a.value > 4096)
        throw usage_error(w + ": shape beyond the kernel's grid limits");
}

rel_attention_view rel_attention_view_of(const rel_attention_args& a) {
    rel_attention_view p;
    p.n = a.n;
    p.heads = a.heads;
    p.key = a.key;
    p.value = a.value;
    p.width = 2 * a.heads * a.key + a.heads * a.value;
    p.qkv = a.qkv;
    p.rel_k = a.rel_k;
    p.u = a.content_bias;
    p.w = a.pos_bias;
    p.q_scale = a.q_scale;
    p.out = a.out;
    const std::int64_t vec_elems = static_cast<std::int64_t>(16 / element_bytes(a.prec));
    // 16-byte loads need every row start of every head's slice aligned: K, V, the row strides
    // and both base pointers.
    p.vec = a.key % vec_elems == 0 && a.value % vec_elems == 0 && p.width % vec_elems == 0 && aligned16(a.qkv) &&
            aligned16(a.rel_k);
    return p;
}

void rel_attention(const rel_attention_args& a, cudaStream_t stream) {
    check_rel_attention_args(a, "rel_attention");
    const kernel_params p = rel_attention_view_of(a);
    switch (a.prec) {
    case precision::FP32: launch<mma_kind::FMA, float>(p, a.batch, stream); break;
    case precision::TF32: launch<mma_kind::TF32, float>(p, a.batch, stream); break;
    case precision::BF16: launch<mma_kind::BF16, __nv_bfloat16>(p, a.batch, stream); break;
    }
}

} // namespace scpx::cuda
