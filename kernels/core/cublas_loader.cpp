// Opens cuBLAS / cuBLASLt with dlopen on first use (why: cublas_loader.hpp).
#include "cublas_api.hpp"

#include "dl_library.hpp"
#include "scpx/core/error.hpp"

#include <memory>
#include <string>
#include <vector>

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

struct library_version {
    int major = 0;
    std::string text; // "13.1.0"
};

/// lib<stem>.so.<headers' major>: opened by the dynamic linker's search, then from the toolkit
/// folder of the build; every entry point resolved (`resolve_all` gives the missing names) and the
/// major version (`version_of`) checked.
template <class Api, class ResolveAll, class VersionOf>
loaded<Api> load(const std::string& label, const std::string& stem, ResolveAll resolve_all,
                 VersionOf version_of) {
    loaded<Api> r;
    const std::string not_usable = label + " not usable: ";
    const std::string file = stem + ".so." + std::to_string(CUBLAS_VER_MAJOR);
    const std::string dir = SCPX_CUDA_LIBRARY_DIR;
    std::vector<std::string> candidates{file};
    if (!dir.empty()) candidates.push_back(dir + "/" + file);
    std::string path, error;
    void* handle = open_first(candidates, path, error);
    if (!handle) {
        r.description = not_usable + "cannot load " + file + ": " + error +
                        ". The CUDA toolkit (or the nvidia-cublas package) provides it; LD_LIBRARY_PATH "
                        "decides which copy is loaded";
        return r;
    }
    auto api = std::make_unique<Api>();
    const std::string missing = resolve_all(handle, *api);
    if (!missing.empty()) {
        r.description = not_usable + path + " lacks" + missing;
        return r; // the handle stays open: a half-usable library is never unloaded under a caller
    }
    const library_version version = version_of(*api);
    if (version.major != CUBLAS_VER_MAJOR) {
        r.description = not_usable + path + " is version " + version.text + ", scpx was built for " +
                        std::to_string(CUBLAS_VER_MAJOR) + ".x";
        return r;
    }
    r.description = label + " " + version.text + " (" + path + ")";
    r.api = std::move(api);
    return r;
}

loaded<cublaslt_api> load_cublaslt() {
    return load<cublaslt_api>(
        "cuBLASLt", "libcublasLt",
        [](void* handle, cublaslt_api& api) {
            std::string missing;
#define SCPX_RESOLVE(name)                                                                                   \
    if (!resolve_symbol(handle, #name, api.name)) missing += " " #name;
            SCPX_CUBLASLT_FUNCTIONS(SCPX_RESOLVE)
#undef SCPX_RESOLVE
            return missing;
        },
        [](const cublaslt_api& api) {
            const std::size_t v = api.cublasLtGetVersion(); // major·10000 + minor·100 + patch
            return library_version{static_cast<int>(v / 10000), std::to_string(v / 10000) + "." +
                                                                    std::to_string(v / 100 % 100) + "." +
                                                                    std::to_string(v % 100)};
        });
}

loaded<cublas_api> load_cublas() {
    return load<cublas_api>(
        "cuBLAS", "libcublas",
        [](void* handle, cublas_api& api) {
            std::string missing;
#define SCPX_RESOLVE(name)                                                                                   \
    if (!resolve_symbol(handle, #name, api.name)) missing += " " #name;
            SCPX_CUBLAS_FUNCTIONS(SCPX_RESOLVE)
#undef SCPX_RESOLVE
            return missing;
        },
        [](const cublas_api& api) {
            int major = 0, minor = 0, patch = 0;
            api.cublasGetProperty(MAJOR_VERSION, &major);
            api.cublasGetProperty(MINOR_VERSION, &minor);
            api.cublasGetProperty(PATCH_LEVEL, &patch);
            return library_version{major, std::to_string(major) + "." + std::to_string(minor) + "." +
                                              std::to_string(patch)};
        });
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

template <class Api>
const Api& usable_or_throw(const loaded<Api>& (*state)()) {
    const loaded<Api>& s = state();
    if (!s.api) throw cuda_error(s.description);
    return *s.api;
}

template <class Api>
const Api* usable_or_null(const loaded<Api>& (*state)()) noexcept {
    try {
        return state().api.get();
    } catch (...) { // std::bad_alloc while loading
        return nullptr;
    }
}

} // namespace

const cublaslt_api& cublaslt() {
    return usable_or_throw(cublaslt_state);
}
const cublaslt_api* cublaslt_or_null() noexcept {
    return usable_or_null(cublaslt_state);
}
const cublas_api& cublas() {
    return usable_or_throw(cublas_state);
}
const cublas_api* cublas_or_null() noexcept {
    return usable_or_null(cublas_state);
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
