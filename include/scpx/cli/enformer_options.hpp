#pragma once
/// @file enformer_options.hpp
/// The device options shared by the Enformer commands (`enformer predict`, `features reference`).

#include "scpx/model/enformer_runner.hpp"

#include <CLI/CLI.hpp>

namespace scpx::cli {

/// Adds --device, --precision, --conv-backend, --attention, --pool and --cuda-device (group "Device"). The values are
/// checked by model::enformer_check_device_options when the command runs (usage errors, exit 2).
inline void add_enformer_device_options(CLI::App& sub, model::enformer_device_options& o) {
    sub.add_option("--device", o.device, "auto | cpu | cuda (auto: the GPU when one is usable, else the CPU)")
        ->capture_default_str()->group("Device");
    sub.add_option("--precision", o.precision,
                   "GPU arithmetic: fp32 (reference) | tf32 | bf16 (the CPU always runs fp32)")
        ->capture_default_str()->group("Device");
    sub.add_option("--conv-backend", o.conv_backend,
                   "GPU convolutions: custom | cudnn | auto (time custom, cuDNN and, for k = 1, a cuBLASLt GEMM per "
                   "shape and keep the fastest: 2-3x faster in tf32/bf16, but not bit-reproducible across runs)")
        ->capture_default_str()->group("Device");
    sub.add_option("--attention", o.attention,
                   "GPU attention core: auto (flash for bf16, gemm otherwise: the fastest measured) | gemm (cuBLASLt "
                   "over the n x n logits) | fused (wmma flash-style kernel) | flash (register-tiled flash kernel; "
                   "tf32/bf16 only, fp32 runs gemm)")
        ->capture_default_str()->group("Device");
    sub.add_option("--pool", o.pool, "GPU softmax pooling: gemm (cuBLASLt logits) | fused (one tensor-core kernel)")
        ->capture_default_str()->group("Device");
    sub.add_option("--cuda-device", o.cuda_device,
                   "CUDA device ordinal (-1: node-local rank modulo the visible devices, one GPU per rank)")
        ->capture_default_str()->group("Device");
}

} // namespace scpx::cli
