#pragma once
/// @file dl_library.hpp
/// dlopen/dlsym helpers for the libraries scpx opens at run time instead of linking them
/// (cuBLAS, cuBLASLt: core/cublas_loader.cpp; cuDNN: enformer/cudnn_conv.cu).

#include <dlfcn.h>
#include <link.h>

#include <cstring>
#include <string>
#include <vector>

namespace scpx::cuda::detail {

/// dlopen (RTLD_NOW | RTLD_LOCAL) the first of `candidates` that loads, and set `path` to the file
/// it is (from the link map). nullptr when none does, with each distinct dlerror() in `error`
/// ("; "-separated: two candidates that end in the same file say the same thing once).
inline void* open_first(const std::vector<std::string>& candidates, std::string& path, std::string& error) {
    for (const std::string& candidate : candidates) {
        void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle) {
            link_map* lm = nullptr;
            path = (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) ? lm->l_name : candidate;
            return handle;
        }
        const char* e = dlerror();
        const std::string reason = e ? e : "cannot open " + candidate;
        if (error.find(reason) == std::string::npos) error += (error.empty() ? "" : "; ") + reason;
    }
    return nullptr;
}

/// dlsym(handle, name) into the function pointer `fn` (memcpy: ISO C++ has no object→function
/// pointer cast). False, leaving `fn` as it was, when the library lacks the name.
template <class F>
bool resolve_symbol(void* handle, const char* name, F& fn) {
    void* sym = dlsym(handle, name);
    if (!sym) return false;
    static_assert(sizeof(F) == sizeof(void*), "function pointers must be pointer-sized");
    std::memcpy(&fn, &sym, sizeof fn);
    return true;
}

} // namespace scpx::cuda::detail
