#pragma once
/// @file cuda_emu.hpp
/// A CUDA execution emulator for the kernel cross-tests, so that the kernels in kernels/ run — and
/// their tests check them — on a machine without a GPU. Force-included (`-include cuda_emu.hpp`)
/// before a kernel or test .cu is compiled as C++ by the host compiler.
///
/// Model: every CUDA thread of a block is a fiber (own stack, x86-64 register switch); a block runs on
/// one OS thread, blocks run one after another. A fiber runs until it reaches a barrier
/// (`__syncthreads`, `__syncwarp`, a shuffle, a wmma collective) or returns; the scheduler then
/// releases a warp whose live lanes all wait at a warp barrier, or the block when all its live
/// threads wait at `__syncthreads`; anything else is reported as a deadlock. Between two barriers
/// threads run in a configurable order (SCPX_EMU_SCHEDULE=forward|reverse|shuffle), so a missing
/// barrier shows up as a result that depends on the order — the CTest suite runs two orders.
///
/// Strict where hardware is lenient: a shuffle that reads an exited lane, a wmma pointer that is
/// not 256-bit aligned or a leading dimension that is not a multiple of 16 bytes, dynamic shared
/// memory above the function's opt-in attribute (48 KiB without it) or the H100's 227 KiB, and a
/// block above 1024 threads all fail the launch with a message on stderr (cudaErrorLaunchFailure /
/// cudaErrorInvalidConfiguration, as the real runtime would report a fault). Dynamic shared memory
/// is filled with 0xCD at block start, so reading it before writing shows as garbage.
///
/// Numerics: wmma multiplies in fp32 from the fragment values (tf32/bf16 operands are exact in
/// fp32) and accumulates in fp32 in k order — within the error bounds the tests allow hardware.
/// The two warp-level mma.sync shapes of kernels/enformer/mma_sm80.cuh (bf16 m16n8k16, tf32 m16n8k8)
/// are emulated with the register fragment layouts the PTX ISA documents (ptx_mma_* below).
/// `ldmatrix` (x2/x4, plain and .trans) gathers each lane's registers from the row addresses the
/// warp's lanes give, by the PTX ISA's layout (ptx_ldmatrix below); `cp.async` copies at once
/// (its waits are no-ops), zero-filling as the src-size operand asks.
/// Not emulated: timing, cuBLAS/cuDNN, streams (every call is synchronous), atomics, other PTX.

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <string>
#include <tuple>
#include <utility>

// The host compiler's view of CUDA's execution-space qualifiers: ordinary functions.
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __shared__ static_assert(false, "cuda_emu: static __shared__ is not emulated; use SCPX_DYNAMIC_SHARED");
#define __launch_bounds__(...)
#define SCPX_CUDA_EMULATION 1

namespace scpx_emu {

/// What a device function sees as its built-in variables.
struct thread_state {
    uint3 thread_idx;
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
    int linear;   ///< thread index within the block
    int lane;     ///< linear % 32
    int warp;     ///< linear / 32
};

/// The running CUDA thread (set by the scheduler before each switch). Inline and constant-
/// initialised, so every access is a plain TLS load without a C++ TLS wrapper call.
inline thread_local thread_state* tls_thread = nullptr;

/// Base of the running block's dynamic shared memory.
unsigned char* dynamic_shared();
/// `__syncthreads()`.
void block_barrier();
/// Every warp-collective operation: returns when all live lanes of the warp have called it.
void warp_barrier();
/// Publishes this lane's pointer for a warp collective (valid until the next warp_barrier pair).
void warp_publish(const void* p);
/// The pointer lane `lane` published; fails the launch when that lane has exited.
const void* warp_peer(int lane);
/// Same, but null for an exited lane (collectives that ignore absent lanes).
const void* warp_peer_or_null(int lane);
/// Fails the running launch with a message: throws, unwinding the calling CUDA thread.
[[noreturn]] void fail(const std::string& what);
/// Requires a full-warp mask (the only form the kernels use).
void require_full_mask(unsigned mask, const char* op);

/// Runs `body` once per thread of the grid (see the file comment); records launch errors.
void run_grid(const void* func, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
              const std::function<void()>& body);

/// `kernel<<<grid, block, smem, stream>>>(args...)` spelled as SCPX_LAUNCH(...)(args...).
template <class... P>
struct launcher {
    void (*kernel)(P...);
    dim3 grid, block;
    std::size_t smem;
    cudaStream_t stream;

    template <class... A>
    void operator()(A&&... a) const {
        // Arguments are converted to the parameter types once, as a launch copies them into the
        // kernel's parameter space; every thread then receives its own copy.
        const std::tuple<P...> args(std::forward<A>(a)...);
        auto* k = kernel;
        run_grid(reinterpret_cast<const void*>(k), grid, block, smem, stream, [&args, k] { std::apply(k, args); });
    }
};

template <class... P>
launcher<P...> make_launcher(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem = 0,
                             cudaStream_t stream = nullptr) {
    return {kernel, grid, block, smem, stream};
}

template <class T>
T shuffle_from(T v, int src) {
    T mine = v;
    warp_publish(&mine);
    warp_barrier();
    const T out = *static_cast<const T*>(warp_peer(src));
    warp_barrier(); // every lane has read before any lane's `mine` goes away
    return out;
}

} // namespace scpx_emu

/// cuda_runtime.h's typed overload (only declared for nvcc).
template <class T>
cudaError_t cudaFuncSetAttribute(T* entry, cudaFuncAttribute attr, int value) {
    return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(entry), attr, value);
}

#define threadIdx (::scpx_emu::tls_thread->thread_idx)
#define blockIdx (::scpx_emu::tls_thread->block_idx)
#define blockDim (::scpx_emu::tls_thread->block_dim)
#define gridDim (::scpx_emu::tls_thread->grid_dim)

inline void __syncthreads() { ::scpx_emu::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    ::scpx_emu::require_full_mask(mask, "__syncwarp");
    ::scpx_emu::warp_barrier();
}

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
    ::scpx_emu::require_full_mask(mask, "__shfl_sync");
    const int lane = ::scpx_emu::tls_thread->lane;
    return ::scpx_emu::shuffle_from(v, (lane & ~(width - 1)) | (src_lane & (width - 1)));
}

template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    ::scpx_emu::require_full_mask(mask, "__shfl_xor_sync");
    const int lane = ::scpx_emu::tls_thread->lane;
    int src = lane ^ lane_mask;
    if (src >= ((lane / width) + 1) * width) src = lane; // outside the segment: own value
    return ::scpx_emu::shuffle_from(v, src);
}

inline int __all_sync(unsigned mask, int pred) {
    ::scpx_emu::require_full_mask(mask, "__all_sync");
    int mine = pred ? 1 : 0;
    ::scpx_emu::warp_publish(&mine);
    ::scpx_emu::warp_barrier();
    int all = 1;
    for (int l = 0; l < 32; ++l) {
        const void* p = ::scpx_emu::warp_peer_or_null(l);
        if (p && !*static_cast<const int*>(p)) all = 0;
    }
    ::scpx_emu::warp_barrier();
    return all;
}

template <class T> T __ldg(const T* p) { return *p; }
inline float __expf(float x) { return std::exp(x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}

namespace scpx_emu {

// ---- PTX mma.sync (warp level) -----------------------------------------------------------
// Fragment layouts of the PTX ISA ("Matrix fragments for mma.m16n8k16 / mma.m16n8k8"), with
// group g = lane / 4 and t = lane % 4 (rows of A and C by g, columns by t):
//   m16n8k16 .bf16  A 16×16: a[0] = (g, 2t | 2t+1)   a[1] = (g+8, 2t | 2t+1)
//                            a[2] = (g, 2t+8 | 2t+9) a[3] = (g+8, 2t+8 | 2t+9)
//                   B 16×8:  b[0] = (k 2t | 2t+1, n g)  b[1] = (k 2t+8 | 2t+9, n g)
//                   (two bf16 per register, the lower index in the low 16 bits)
//   m16n8k8 .tf32   A 16×8:  a[0] = (g, t)  a[1] = (g+8, t)  a[2] = (g, t+4)  a[3] = (g+8, t+4)
//                   B 8×8:   b[0] = (k t, n g)  b[1] = (k t+4, n g)
//                   (fp32 bit patterns; the unit reads the top 19 bits, i.e. truncates)
//   C/D 16×8 f32:   c[0] = (g, 2t)  c[1] = (g, 2t+1)  c[2] = (g+8, 2t)  c[3] = (g+8, 2t+1)
// D = A·B + C with fp32 products summed in k order onto C.

inline float bf16_bits_to_float(unsigned bits16) { return __uint_as_float(bits16 << 16); }

template <int K, class Unpack>
void ptx_mma_m16n8(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2], Unpack unpack) {
    struct operands { const unsigned* a; const unsigned* b; } mine{a, b};
    warp_publish(&mine);
    warp_barrier();
    float A[16][K], B[K][8];
    for (int l = 0; l < 32; ++l) {
        const auto* o = static_cast<const operands*>(warp_peer(l));
        unpack(l, o->a, o->b, A, B);
    }
    const int lane = tls_thread->lane, g = lane / 4, t = lane % 4;
    float out[4];
    for (int e = 0; e < 4; ++e) {
        const int r = g + 8 * (e / 2), c = 2 * t + e % 2;
        float acc = d[e];
        for (int k = 0; k < K; ++k) acc += A[r][k] * B[k][c];
        out[e] = acc;
    }
    warp_barrier(); // every lane has read the operands before any lane's d changes
    for (int e = 0; e < 4; ++e) d[e] = out[e];
}

/// `mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 d, a, b, d` (layout above).
inline void ptx_mma_m16n8k16_bf16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    ptx_mma_m16n8<16>(d, a, b, [](int l, const unsigned* ra, const unsigned* rb, float (&A)[16][16], float (&B)[16][8]) {
        const int g = l / 4, t = l % 4;
        for (int q = 0; q < 4; ++q) {
            const int r = g + 8 * (q % 2), c = 2 * t + 8 * (q / 2);
            A[r][c] = bf16_bits_to_float(ra[q] & 0xffffu);
            A[r][c + 1] = bf16_bits_to_float(ra[q] >> 16);
        }
        for (int q = 0; q < 2; ++q) {
            const int k = 2 * t + 8 * q;
            B[k][g] = bf16_bits_to_float(rb[q] & 0xffffu);
            B[k + 1][g] = bf16_bits_to_float(rb[q] >> 16);
        }
    });
}

/// `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 d, a, b, d` (layout above).
inline void ptx_mma_m16n8k8_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    ptx_mma_m16n8<8>(d, a, b, [](int l, const unsigned* ra, const unsigned* rb, float (&A)[16][8], float (&B)[8][8]) {
        const int g = l / 4, t = l % 4;
        const auto tf32 = [](unsigned u) { return __uint_as_float(u & 0xffffe000u); };
        for (int q = 0; q < 4; ++q) A[g + 8 * (q % 2)][t + 4 * (q / 2)] = tf32(ra[q]);
        for (int q = 0; q < 2; ++q) B[t + 4 * q][g] = tf32(rb[q]);
    });
}

/// `ldmatrix.sync.aligned.m8n8.xN[.trans].shared.b16`: lane l gives the address of row l % 8 of
/// matrix l / 8 (lanes 0 … 8N − 1 count; 16 bytes each, 16-byte aligned). Register i of lane l
/// holds matrix i's elements (row l/4, columns 2(l%4) and 2(l%4)+1) — with .trans (rows 2(l%4)
/// and 2(l%4)+1, column l/4) — the lower one in the low 16 bits.
template <int N, bool Trans>
void ptx_ldmatrix(unsigned (&r)[N], const void* row) {
    static_assert(N == 1 || N == 2 || N == 4, "ldmatrix: .x1, .x2 or .x4");
    const int lane = tls_thread->lane;
    if (lane < 8 * N && reinterpret_cast<std::uintptr_t>(row) % 16 != 0) fail("ldmatrix: row address not 16-byte aligned");
    warp_publish(row);
    warp_barrier();
    const auto element = [](int peer, int col) {
        std::uint16_t e;
        std::memcpy(&e, static_cast<const unsigned char*>(warp_peer(peer)) + 2 * col, sizeof e);
        return static_cast<unsigned>(e);
    };
    unsigned out[N];
    for (int i = 0; i < N; ++i) {
        const int g = lane / 4, t = lane % 4;
        out[i] = Trans ? element(8 * i + 2 * t, g) | element(8 * i + 2 * t + 1, g) << 16
                       : element(8 * i + g, 2 * t) | element(8 * i + g, 2 * t + 1) << 16;
    }
    warp_barrier(); // every lane has read before any lane moves on (and may overwrite the rows)
    for (int i = 0; i < N; ++i) r[i] = out[i];
}

/// `cp.async.cg.shared.global [dst], [src], 16, src_size`: the first src_size bytes copied, the
/// rest of the 16 zero-filled, at once.
inline void ptx_cp_async_16(void* dst, const void* src, int src_size) {
    if (reinterpret_cast<std::uintptr_t>(dst) % 16 != 0 || reinterpret_cast<std::uintptr_t>(src) % 16 != 0)
        fail("cp.async: 16-byte copy with an unaligned address");
    std::memset(dst, 0, 16);
    if (src_size > 0) std::memcpy(dst, src, static_cast<std::size_t>(src_size));
}

} // namespace scpx_emu

// ---- wmma ----------------------------------------------------------------------------------
// Fragments hold their tile row-major, lane l owning elements [l·E, (l+1)·E). Kernels must not
// depend on the mapping (CUDA leaves it unspecified), only on per-element operations.
namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
} // namespace precision

namespace detail {
template <class T> struct storage { using type = T; };
template <> struct storage<precision::tf32> { using type = float; };
template <class Use, int M, int N, int K> struct shape;
template <int M, int N, int K> struct shape<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct shape<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct shape<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };
inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
void check_pointer(const void* p, unsigned ldm, std::size_t elem_bytes, const char* op);
/// Memory offset of this lane's element e of fragment F (see the mapping above).
template <class F> std::size_t element_offset(int lane, int e, unsigned ldm, bool col_major) {
    const int id = lane * F::num_elements + e, r = id / F::cols, c = id % F::cols;
    return col_major ? static_cast<std::size_t>(c) * ldm + r : static_cast<std::size_t>(r) * ldm + c;
}
} // namespace detail

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    using element_type = typename detail::storage<T>::type;
    static constexpr int rows = detail::shape<Use, M, N, K>::rows;
    static constexpr int cols = detail::shape<Use, M, N, K>::cols;
    static constexpr int num_elements = rows * cols / 32;
    element_type x[num_elements];
};

/// Round to tf32 (10 mantissa bits), nearest with ties away from zero, as cvt.rna.tf32.f32.
inline float __float_to_tf32(float v) {
    if (!std::isfinite(v)) return v;
    unsigned u = __float_as_uint(v);
    u = (u + 0x1000u) & 0xffffe000u;
    return __uint_as_float(u);
}

template <class Use, int M, int N, int K, class T, class Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const typename fragment<Use, M, N, K, T, Layout>::element_type& v) {
    for (auto& e : f.x) e = v;
}

template <class Use, int M, int N, int K, class T, class Layout, class P>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const P* p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, Layout>;
    detail::check_pointer(p, ldm, sizeof(P), "wmma::load_matrix_sync");
    const int lane = ::scpx_emu::tls_thread->lane;
    for (int e = 0; e < F::num_elements; ++e)
        f.x[e] = p[detail::element_offset<F>(lane, e, ldm, std::is_same<Layout, col_major>::value)];
    ::scpx_emu::warp_barrier(); // warp-collective in CUDA: keep the lanes in step
}

template <int M, int N, int K, class P>
void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const P* p, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, float>;
    detail::check_pointer(p, ldm, sizeof(P), "wmma::load_matrix_sync");
    const int lane = ::scpx_emu::tls_thread->lane;
    for (int e = 0; e < F::num_elements; ++e) f.x[e] = p[detail::element_offset<F>(lane, e, ldm, layout == mem_col_major)];
    ::scpx_emu::warp_barrier();
}

template <int M, int N, int K, class P>
void store_matrix_sync(P* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, float>;
    detail::check_pointer(p, ldm, sizeof(P), "wmma::store_matrix_sync");
    const int lane = ::scpx_emu::tls_thread->lane;
    for (int e = 0; e < F::num_elements; ++e) p[detail::element_offset<F>(lane, e, ldm, layout == mem_col_major)] = f.x[e];
    ::scpx_emu::warp_barrier();
}

template <int M, int N, int K, class T, class LA, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
              const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    using FA = fragment<matrix_a, M, N, K, T, LA>;
    using FB = fragment<matrix_b, M, N, K, T, LB>;
    using FC = fragment<accumulator, M, N, K, float>;
    struct operands { const FA* a; const FB* b; } mine{&a, &b};
    ::scpx_emu::warp_publish(&mine);
    ::scpx_emu::warp_barrier();
    // Gather both tiles once (lane l owns elements [l·E, (l+1)·E) of each, row-major).
    float ta[FA::rows * FA::cols], tb[FB::rows * FB::cols];
    for (int l = 0; l < 32; ++l) {
        const auto* o = static_cast<const operands*>(::scpx_emu::warp_peer(l));
        for (int e = 0; e < FA::num_elements; ++e) ta[l * FA::num_elements + e] = detail::to_float(o->a->x[e]);
        for (int e = 0; e < FB::num_elements; ++e) tb[l * FB::num_elements + e] = detail::to_float(o->b->x[e]);
    }
    const int lane = ::scpx_emu::tls_thread->lane;
    float out[FC::num_elements];
    for (int e = 0; e < FC::num_elements; ++e) {
        const int id = lane * FC::num_elements + e, r = id / FC::cols, col = id % FC::cols;
        float acc = c.x[e];
        for (int k = 0; k < K; ++k) acc += ta[r * FA::cols + k] * tb[k * FB::cols + col];
        out[e] = acc;
    }
    ::scpx_emu::warp_barrier(); // all lanes have read a and b before d (possibly c) changes
    for (int e = 0; e < FC::num_elements; ++e) d.x[e] = out[e];
}

} // namespace nvcuda::wmma
