// The device query when scpx is built without CUDA (SCPX_ENABLE_CUDA=OFF).
#include "scpx/core/device.hpp"

namespace scpx::gpu {

bool available() { return false; }

std::string describe() { return "scpx was built without CUDA (SCPX_ENABLE_CUDA=OFF)"; }

} // namespace scpx::gpu
