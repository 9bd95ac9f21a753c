#pragma once
/// @file cublas_api.hpp
/// The function tables of cublas_loader.hpp: one pointer per entry point scpx calls, typed from
/// the CUDA headers' own declarations (a signature change there is a compile error here).
/// Adding a cuBLAS call: add its name to the list below and a forwarder to the entry-points file.

#include "cublas_loader.hpp"

#include <cublasLt.h>
#include <cublas_v2.h>

// X(name) for each cuBLASLt function scpx calls (kernels/enformer/gemm.cu) or the loader needs.
#define SCPX_CUBLASLT_FUNCTIONS(X)                                                                           \
    X(cublasLtGetVersion)                                                                                    \
    X(cublasLtGetStatusName)                                                                                 \
    X(cublasLtGetStatusString)                                                                               \
    X(cublasLtCreate)                                                                                        \
    X(cublasLtDestroy)                                                                                       \
    X(cublasLtMatmul)                                                                                        \
    X(cublasLtMatmulDescCreate)                                                                              \
    X(cublasLtMatmulDescDestroy)                                                                             \
    X(cublasLtMatmulDescSetAttribute)                                                                        \
    X(cublasLtMatrixLayoutCreate)                                                                            \
    X(cublasLtMatrixLayoutDestroy)                                                                           \
    X(cublasLtMatrixLayoutSetAttribute)                                                                      \
    X(cublasLtMatmulPreferenceCreate)                                                                        \
    X(cublasLtMatmulPreferenceDestroy)                                                                       \
    X(cublasLtMatmulPreferenceSetAttribute)                                                                  \
    X(cublasLtMatmulAlgoGetHeuristic)

// The same for the legacy cuBLAS (kernels/ctpred/mlp_cuda.cu). The _v2 names are what
// cublas_v2.h's macros (cublasCreate → cublasCreate_v2, …) make of the calls.
#define SCPX_CUBLAS_FUNCTIONS(X)                                                                             \
    X(cublasGetProperty)                                                                                     \
    X(cublasCreate_v2)                                                                                       \
    X(cublasDestroy_v2)                                                                                      \
    X(cublasSetMathMode)                                                                                     \
    X(cublasSetStream_v2)                                                                                    \
    X(cublasSgemm_v2)                                                                                        \
    X(cublasDgemm_v2)

namespace scpx::cuda::detail {

#define SCPX_CUBLAS_POINTER(name) decltype(&::name) name = nullptr;
struct cublaslt_api {
    SCPX_CUBLASLT_FUNCTIONS(SCPX_CUBLAS_POINTER)
};
struct cublas_api {
    SCPX_CUBLAS_FUNCTIONS(SCPX_CUBLAS_POINTER)
};
#undef SCPX_CUBLAS_POINTER

/// (api->*fn)(args...), or CUBLAS_STATUS_NOT_INITIALIZED when the library is not usable (api is
/// null): for the destroy functions, which destructors call and so must not throw.
template <class Api, class Fn, class... Args>
cublasStatus_t call_if_usable(const Api* api, Fn Api::*fn, Args... args) noexcept {
    return api ? (api->*fn)(args...) : CUBLAS_STATUS_NOT_INITIALIZED;
}

} // namespace scpx::cuda::detail
