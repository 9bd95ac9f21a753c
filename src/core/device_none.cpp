// The device query when scpx is built without CUDA (SCPX_ENABLE_CUDA=OFF).
#include "scpx/core/device.hpp"

#include "scpx/core/error.hpp"

namespace scpx::gpu {

bool available() { return false; }

std::string describe() { return "scpx was built without CUDA (SCPX_ENABLE_CUDA=OFF)"; }

int device_for_this_process() { return 0; }

void use_device(int device) {
    throw usage_error("CUDA device " + std::to_string(device) + " asked for, but " + describe());
}

} // namespace scpx::gpu
