#pragma once
/// @file device.hpp
/// Which compute device a run uses. Implemented by kernels/core/device.cu when CUDA is compiled
/// in, and by src/core/device_none.cpp otherwise, so host code never needs CUDA headers.

#include <cstdlib>
#include <string>

namespace scpx::gpu {

/// True when a CUDA device can be used: CUDA compiled in, a driver present and ≥ 1 device.
/// Any CUDA error (no driver, no device) counts as "no GPU" and is cleared.
bool available();

/// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB, driver 13.0)", or why no GPU can be used.
std::string describe();

/// The node-local rank of this process as the MPI launcher or SLURM tells it
/// (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID, PMI_LOCAL_RANK, MV2_COMM_WORLD_LOCAL_RANK),
/// or 0 when none is set. Pure environment lookup: no MPI call, no CUDA call (inline: the kernels
/// library uses it without linking scpx_lib).
inline int local_rank() {
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "PMI_LOCAL_RANK",
                             "MV2_COMM_WORLD_LOCAL_RANK"}) {
        const char* v = std::getenv(name);
        if (!v || !*v) continue;
        char* end = nullptr;
        const long r = std::strtol(v, &end, 10);
        if (end && *end == '\0' && r >= 0 && r < (1L << 20)) return static_cast<int>(r);
    }
    return 0;
}


/// The CUDA device this process should use on a multi-GPU node: local_rank() modulo the number of
/// visible devices (so 4 ranks on a 4-GPU node take one GPU each; with CUDA_VISIBLE_DEVICES set
/// per task by SLURM, every rank sees one device and gets 0). 0 without CUDA or devices.
int device_for_this_process();

/// Makes `device` the current CUDA device of this process (cudaSetDevice).
/// @throws usage_error when there is no such device
void use_device(int device);

/// Device requested on the command line.
enum class device_choice { AUTO, CPU, CUDA };

/// Parses "auto|cpu|cuda". @throws usage_error otherwise.
device_choice parse_device_choice(const std::string& text);

/// Arithmetic of the GPU Enformer path (the CPU path is always fp32).
/// FP32: fp32 storage and products (no tensor cores; the reference); TF32: fp32 storage, TF32
/// tensor-core products with fp32 accumulation; BF16: bf16 weights and activations, fp32
/// accumulation and fp32 per-channel parameters (bias, norms).
enum class precision { FP32, TF32, BF16 };

/// Parses "fp32|tf32|bf16". @throws usage_error otherwise.
precision parse_precision(const std::string& text);

/// "fp32", "tf32" or "bf16" (inline: the kernels library uses it without linking scpx_lib).
inline const char* to_string(precision p) {
    switch (p) {
    case precision::FP32: return "fp32";
    case precision::TF32: return "tf32";
    case precision::BF16: return "bf16";
    }
    return "?";
}

/// Resolves a choice: AUTO → CUDA when available() else CPU (logging why); CUDA when no GPU can
/// be used → usage_error. Returns true when the CUDA path is to be used.
bool resolve_device(device_choice choice);

} // namespace scpx::gpu
