#include "scpx/core/device.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <cstdlib>

namespace scpx::gpu {

device_choice parse_device_choice(const std::string& text) {
    if (text == "auto") return device_choice::AUTO;
    if (text == "cpu") return device_choice::CPU;
    if (text == "cuda" || text == "gpu") return device_choice::CUDA;
    throw usage_error("--device must be auto, cpu or cuda (got '" + text + "')");
}

precision parse_precision(const std::string& text) {
    if (text == "fp32") return precision::FP32;
    if (text == "tf32") return precision::TF32;
    if (text == "bf16") return precision::BF16;
    throw usage_error("--precision must be fp32, tf32 or bf16 (got '" + text + "')");
}

bool resolve_device(device_choice choice) {
    bool gpu = false;
    switch (choice) {
    case device_choice::CPU: return false;
    case device_choice::CUDA:
        if (!available()) throw usage_error("--device cuda was asked for, but " + describe());
        gpu = true;
        break;
    case device_choice::AUTO:
    default:
        if (!available()) {
            // describe() already says why ("no usable GPU (…)", "built without CUDA").
            SCPX_LOG_INF("Running on the CPU: {}", describe());
            return false;
        }
        gpu = true;
        break;
    }
    // One GPU per node-local rank, so ranks sharing a node do not all pile onto device 0.
    const int d = device_for_this_process();
    use_device(d);
    SCPX_LOG_DBG("node-local rank {} uses CUDA device {}", local_rank(), d);
    return gpu;
}

} // namespace scpx::gpu
