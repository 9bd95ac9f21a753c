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
