// Opens cuBLAS / cuBLASLt with dlopen on first use (why: cublas_loader.hpp).
#include "cublas_api.hpp"

#include "scpx/core/error.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cstring>
#include <memory>
#include <string>

#ifndef SCPX_CUDA_LIBRARY_DIR
#define SCPX_CUDA_LIBRARY_DIR ""
#endif

namespace scpx::cuda::detail {

namespace {

/// A loaded library's table, or why it could not be loaded.
template <class Api>
struct loaded {
    std::unique_ptr<Api> api;
    std::string description; // "cuBLASLt 13.1.0 (path)" or the reason it is not usable
};

/// dlsym into a typed function pointer (memcpy: ISO C++ has no object→function pointer cast).
template <class F>
bool resolve(void* handle, const char* name, F& fn) {
    void* sym = dlsym(handle, name);
    if (!sym) return false;
    static_assert(sizeof(F) == sizeof(void*), "function pointers must be pointer-sized");
    std::memcpy(&fn, &sym, sizeof fn);
    return true;
}

/// dlopen(file) by the dynamic linker's search, then from the toolkit folder of the build.
/// Returns the handle and its path, or nullptr with why not in `error` (each distinct reason
/// once: when the linker's search ends in the toolkit folder too, both attempts say the same).
void* open_library(const std::string& file, std::string& path, std::string& error) {
    const std::string dir = SCPX_CUDA_LIBRARY_DIR;
    const std::string candidates[2] = {file, dir + "/" + file};
    const int n = dir.empty() ? 1 : 2;
    for (int i = 0; i < n; ++i) {
        void* handle = dlopen(candidates[i].c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle) {
            link_map* lm = nullptr;
            path =
                (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) ? lm->l_name : candidates[i];
            return handle;
        }
        const char* e = dlerror();
        const std::string reason = e ? e : "cannot open " + candidates[i];
        if (error.find(reason) == std::string::npos) error += (error.empty() ? "" : "; ") + reason;
    }
    error += ". The CUDA toolkit (or the nvidia-cublas package) provides it; LD_LIBRARY_PATH decides which "
             "copy is loaded";
    return nullptr;
}

std::string version_text(std::size_t v) { // major·10000 + minor·100 + patch
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

loaded<cublaslt_api> load_cublaslt() {
    loaded<cublaslt_api> r;
    const std::string file = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
    std::string path, error;
    void* handle = open_library(file, path, error);
    if (!handle) {
        r.description = "cuBLASLt not usable: cannot load " + file + ": " + error;
        return r;
    }
    auto api = std::make_unique<cublaslt_api>();
    std::string missing;
#define SCPX_RESOLVE(name)                                                                                   \
    if (!resolve(handle, #name, api->name)) missing += " " #name;
    SCPX_CUBLASLT_FUNCTIONS(SCPX_RESOLVE)
#undef SCPX_RESOLVE
    if (!missing.empty()) {
        r.description = "cuBLASLt not usable: " + path + " lacks" + missing;
        return r; // the handle stays open: a half-usable library is never unloaded under a caller
    }
    const std::size_t version = api->cublasLtGetVersion();
    if (version / 10000 != CUBLAS_VER_MAJOR) {
        r.description = "cuBLASLt not usable: " + path + " is version " + version_text(version) +
                        ", scpx was built for " + std::to_string(CUBLAS_VER_MAJOR) + ".x";
        return r;
    }
    r.description = "cuBLASLt " + version_text(version) + " (" + path + ")";
    r.api = std::move(api);
    return r;
}

loaded<cublas_api> load_cublas() {
    loaded<cublas_api> r;
    const std::string file = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    std::string path, error;
    void* handle = open_library(file, path, error);
    if (!handle) {
        r.description = "cuBLAS not usable: cannot load " + file + ": " + error;
        return r;
    }
    auto api = std::make_unique<cublas_api>();
    std::string missing;
#define SCPX_RESOLVE(name)                                                                                   \
    if (!resolve(handle, #name, api->name)) missing += " " #name;
    SCPX_CUBLAS_FUNCTIONS(SCPX_RESOLVE)
#undef SCPX_RESOLVE
    if (!missing.empty()) {
        r.description = "cuBLAS not usable: " + path + " lacks" + missing;
        return r;
    }
    int major = 0, minor = 0, patch = 0;
    api->cublasGetProperty(MAJOR_VERSION, &major);
    api->cublasGetProperty(MINOR_VERSION, &minor);
    api->cublasGetProperty(PATCH_LEVEL, &patch);
    const std::string version =
        std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (major != CUBLAS_VER_MAJOR) {
        r.description = "cuBLAS not usable: " + path + " is version " + version + ", scpx was built for " +
                        std::to_string(CUBLAS_VER_MAJOR) + ".x";
        return r;
    }
    r.description = "cuBLAS " + version + " (" + path + ")";
    r.api = std::move(api);
    return r;
}

// Loaded once per process (a function-local static: thread-safe) and never unloaded: handles
// owned by objects with static storage may be destroyed after any other static.
const loaded<cublaslt_api>& cublaslt_state() {
    static const auto* state = new loaded<cublaslt_api>(load_cublaslt());
    return *state;
}
const loaded<cublas_api>& cublas_state() {
    static const auto* state = new loaded<cublas_api>(load_cublas());
    return *state;
}

} // namespace

const cublaslt_api& cublaslt() {
    const auto& s = cublaslt_state();
    if (!s.api) throw cuda_error(s.description);
    return *s.api;
}
const cublaslt_api* cublaslt_or_null() noexcept {
    try {
        return cublaslt_state().api.get();
    } catch (...) { // std::bad_alloc while loading
        return nullptr;
    }
}
const cublas_api& cublas() {
    const auto& s = cublas_state();
    if (!s.api) throw cuda_error(s.description);
    return *s.api;
}
const cublas_api* cublas_or_null() noexcept {
    try {
        return cublas_state().api.get();
    } catch (...) {
        return nullptr;
    }
}

std::string describe_cublaslt() {
    cublaslt();
    return cublaslt_state().description;
}
std::string describe_cublas() {
    cublas();
    return cublas_state().description;
}

} // namespace scpx::cuda::detail
