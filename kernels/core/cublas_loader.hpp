#pragma once
/// @file cublas_loader.hpp
/// cuBLAS and cuBLASLt are opened with dlopen on first use instead of being linked. Linked, the
/// 540 MB libcublasLt is mapped and relocated at every start of every scpx process: a third of a
/// second before `main`, on CPU-only commands and on every rank, for a library only the GPU paths
/// call. cublas_entry_points.cpp and cublaslt_entry_points.cpp define the functions scpx calls with
/// the headers' own signatures and forward to the loaded library, so the call sites are plain
/// cuBLAS code (and the CUDA emulator's cuBLASLt can replace them at link time).
///
/// Search order for lib<name>.so.<major of the headers>: the dynamic linker's (LD_LIBRARY_PATH,
/// the executable's RUNPATH, ldconfig), then the CUDA toolkit folder scpx was built against.
/// The loaded library's major version must be the headers' (the ABI is kept within a major).

#include <string>

namespace scpx::cuda::detail {

/// Every entry point of one library, resolved at load time (so a missing one is named at once).
struct cublaslt_api;
struct cublas_api;

/// The loaded cuBLASLt (once per process, thread-safe, never unloaded).
/// @throws scpx::cuda_error naming the file and what failed, on every call when it cannot load.
const cublaslt_api& cublaslt();
/// The same, or nullptr when it cannot load (for destructors and error formatting).
const cublaslt_api* cublaslt_or_null() noexcept;
/// The loaded legacy cuBLAS (ctPred's GEMMs), as cublaslt().
const cublas_api& cublas();
const cublas_api* cublas_or_null() noexcept;

/// "cuBLASLt 13.1.0 (/usr/local/cuda/lib/libcublasLt.so.13)". @throws as cublaslt().
std::string describe_cublaslt();
/// "cuBLAS 13.1.0 (/usr/local/cuda/lib/libcublas.so.13)". @throws as cublas().
std::string describe_cublas();

} // namespace scpx::cuda::detail
