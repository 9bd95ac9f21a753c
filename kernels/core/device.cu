// Device discovery when CUDA is compiled in. Any failure of cudaGetDeviceCount (no driver: 35,
// no device: 100, …) means "no GPU", and the sticky error is cleared so later calls start clean.
#include "scpx/core/device.hpp"

#include "common.cuh"

#include <cstdio>

namespace scpx::gpu {

namespace {
int current_device_or_minus_one() {
    int d = -1;
    if (cudaGetDevice(&d) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return d;
}
} // namespace

bool available() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    if (n > 0) detail::current_cuda_device = current_device_or_minus_one;
    return n > 0;
}

std::string describe() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return std::string("no usable GPU (") + cudaGetErrorString(e) + ")";
    }
    if (n == 0) return "no usable GPU (no CUDA device)";
    cudaDeviceProp p{};
    SCPX_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
    int driver = 0;
    cudaDriverGetVersion(&driver);
    char details[128];
    std::snprintf(details, sizeof details, " (sm_%d%d, %.1f GiB, driver %d.%d)", p.major, p.minor,
                  static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), driver / 1000,
                  (driver % 1000) / 10);
    return std::string(p.name) + details + (n > 1 ? " and more devices" : "");
}

int device_for_this_process() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n > 0 ? local_rank() % n : 0;
}

void use_device(int device) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        n = 0;
    }
    if (device < 0 || device >= n)
        throw usage_error("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) +
                          " visible)");
    SCPX_CUDA_CHECK(cudaSetDevice(device));
}

} // namespace scpx::gpu
