// The cuBLASLt functions scpx calls, defined here with the headers' signatures and forwarded to
// the library cublas_loader.cpp opens on first use. Creating functions throw scpx::cuda_error
// (naming the file) when the library cannot be loaded; the rest are only reached with an object
// a create made, except the destroyers, which must not throw (destructors call them) and so return
// CUBLAS_STATUS_NOT_INITIALIZED instead. The CUDA emulator's cublaslt_emu.cpp defines the same
// functions, so its binaries never pull this file from the archive.
#include "cublas_api.hpp"

using scpx::cuda::detail::call_if_usable;
using scpx::cuda::detail::cublaslt;
using scpx::cuda::detail::cublaslt_api;
using scpx::cuda::detail::cublaslt_or_null;

const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status) {
    // cuBLASLt's own copy of the legacy library's function (same enum), so naming a GEMM's error
    // does not load libcublas as well.
    const auto* api = cublaslt_or_null();
    return api ? api->cublasLtGetStatusName(status) : "CUBLAS_STATUS_(cuBLASLt not usable)";
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
    const auto* api = cublaslt_or_null();
    return api ? api->cublasLtGetStatusString(status)
               : "cuBLASLt is not usable (see the error that loading it gave)";
}

cublasStatus_t CUBLASWINAPI cublasLtCreate(cublasLtHandle_t* handle) {
    return cublaslt().cublasLtCreate(handle);
}

cublasStatus_t CUBLASWINAPI cublasLtDestroy(cublasLtHandle_t handle) {
    return call_if_usable(cublaslt_or_null(), &cublaslt_api::cublasLtDestroy, handle);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                           const void* alpha, const void* A, cublasLtMatrixLayout_t Adesc,
                                           const void* B, cublasLtMatrixLayout_t Bdesc, const void* beta,
                                           const void* C, cublasLtMatrixLayout_t Cdesc, void* D,
                                           cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t* algo,
                                           void* workspace, size_t workspace_bytes, cudaStream_t stream) {
    return cublaslt().cublasLtMatmul(handle, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo,
                                     workspace, workspace_bytes, stream);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                                     cudaDataType_t scale) {
    return cublaslt().cublasLtMatmulDescCreate(desc, compute, scale);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
    return call_if_usable(cublaslt_or_null(), &cublaslt_api::cublasLtMatmulDescDestroy, desc);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                                           cublasLtMatmulDescAttributes_t attr,
                                                           const void* buf, size_t bytes) {
    return cublaslt().cublasLtMatmulDescSetAttribute(desc, attr, buf, bytes);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type,
                                                       uint64_t rows, uint64_t cols, int64_t ld) {
    return cublaslt().cublasLtMatrixLayoutCreate(layout, type, rows, cols, ld);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
    return call_if_usable(cublaslt_or_null(), &cublaslt_api::cublasLtMatrixLayoutDestroy, layout);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                             cublasLtMatrixLayoutAttribute_t attr,
                                                             const void* buf, size_t bytes) {
    return cublaslt().cublasLtMatrixLayoutSetAttribute(layout, attr, buf, bytes);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
    return cublaslt().cublasLtMatmulPreferenceCreate(pref);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
    return call_if_usable(cublaslt_or_null(), &cublaslt_api::cublasLtMatmulPreferenceDestroy, pref);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                                 cublasLtMatmulPreferenceAttributes_t attr,
                                                                 const void* buf, size_t bytes) {
    return cublaslt().cublasLtMatmulPreferenceSetAttribute(pref, attr, buf, bytes);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t Adesc,
    cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t results[],
    int* returned) {
    return cublaslt().cublasLtMatmulAlgoGetHeuristic(handle, desc, Adesc, Bdesc, Cdesc, Ddesc, pref,
                                                     requested, results, returned);
}
