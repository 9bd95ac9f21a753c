#pragma once
/// @file mma_sm80.cuh
/// Warp-level tensor-core products with register fragments (PTX `mma.sync`, sm_80 and later),
/// for kernels that must keep accumulators in registers and touch them element by element —
/// which the opaque wmma fragments do not allow. Layouts (PTX ISA, "Matrix fragments for
/// mma.m16n8k16 / mma.m16n8k8"), with g = lane / 4 and t = lane % 4:
///
///   C/D 16×8 fp32:  c[0] = (g, 2t)  c[1] = (g, 2t+1)  c[2] = (g+8, 2t)  c[3] = (g+8, 2t+1)
///   bf16 m16n8k16:  A 16×16  a[0] = (g, 2t|2t+1)  a[1] = (g+8, 2t|2t+1)
///                            a[2] = (g, 2t+8|2t+9)  a[3] = (g+8, 2t+8|2t+9)
///                   B 16×8   b[0] = (k 2t|2t+1, n g)  b[1] = (k 2t+8|2t+9, n g)
///                   (two bf16 per register, the lower index in the low half)
///   tf32 m16n8k8:   A 16×8   a[0] = (g, t)  a[1] = (g+8, t)  a[2] = (g, t+4)  a[3] = (g+8, t+4)
///                   B 8×8    b[0] = (k t, n g)  b[1] = (k t+4, n g)
///
/// Under the CUDA emulator (tests/cuda_emu) the same calls run the emulator's implementation of
/// these documented layouts; `CudaMma.*` in tests/cuda checks them against plain products on the
/// card.

#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>
#include <cstring>

namespace scpx::cuda::mma {

/// d += a·b, bf16 operands, fp32 accumulation (m16n8k16, layouts above).
__device__ __forceinline__ void bf16_m16n8k16(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#ifdef SCPX_CUDA_EMULATION
    ::scpx_emu::ptx_mma_m16n8k16_bf16(d, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/// d += a·b, tf32 operands (fp32 bit patterns already rounded to tf32), fp32 accumulation
/// (m16n8k8, layouts above).
__device__ __forceinline__ void tf32_m16n8k8(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#ifdef SCPX_CUDA_EMULATION
    ::scpx_emu::ptx_mma_m16n8k8_tf32(d, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/// `ldmatrix.sync.aligned.m8n8.xN[.trans].shared.b16`: N 8×8 matrices of 16-bit elements from
/// shared memory in one warp instruction. Lane l gives `row`, the address of row l % 8 of matrix
/// l / 8 (16 bytes, 16-byte aligned; lanes from 8N on are ignored). Register i of lane l gets
/// matrix i's elements (row l/4, columns 2(l%4), 2(l%4)+1) — the B fragment of m16n8k16 when the
/// matrix rows are its n index — or, with Trans, (rows 2(l%4), 2(l%4)+1, column l/4): the same
/// fragment from a matrix stored k-major.
template <int N, bool Trans>
__device__ __forceinline__ void ldmatrix(std::uint32_t (&r)[N], const void* row) {
#ifdef SCPX_CUDA_EMULATION
    ::scpx_emu::ptx_ldmatrix<N, Trans>(r, row);
#else
    const auto a = static_cast<unsigned>(__cvta_generic_to_shared(row));
    if constexpr (N == 4 && Trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
    else if constexpr (N == 4)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
    else if constexpr (N == 2 && Trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
    else {
        static_assert(N == 2, "ldmatrix: .x2 or .x4");
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
    }
#endif
}

/// 16 bytes global → shared without passing through registers (`cp.async.cg`, sm_80+): the first
/// `src_bytes` (0 or 16) come from `src`, the rest are zero. Both addresses 16-byte aligned; `src`
/// must be a valid address even when src_bytes is 0. Visible after cp_async_wait_all() and a barrier.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
#ifdef SCPX_CUDA_EMULATION
    ::scpx_emu::ptx_cp_async_16(dst, src, src_bytes);
#else
    const auto d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
#endif
}

/// Closes the group of cp.async copies this thread issued since the last commit.
__device__ __forceinline__ void cp_async_commit() {
#ifndef SCPX_CUDA_EMULATION
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

/// Waits until at most `Pending` of this thread's committed groups are still in flight (the most
/// recent ones); the emulator's copies are complete at issue.
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
#ifndef SCPX_CUDA_EMULATION
    asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
#endif
}

/// Waits for every cp.async this thread issued.
__device__ __forceinline__ void cp_async_wait_all() {
    cp_async_commit();
    cp_async_wait<0>();
}

/// Two floats as one register of bf16 (round to nearest even; `lo` in the low half).
__device__ __forceinline__ std::uint32_t pack_bf16(float lo, float hi) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

/// x rounded to tf32 (cvt.rna: nearest, ties away), as a float.
__device__ __forceinline__ float round_tf32(float x) { return nvcuda::wmma::__float_to_tf32(x); }

/// The register image of a float.
__device__ __forceinline__ std::uint32_t bits(float x) { return __float_as_uint(x); }

} // namespace scpx::cuda::mma
