// The legacy cuBLAS functions ctPred's GPU trainer calls (kernels/ctpred/mlp_cuda.cu), defined
// with the headers' signatures and forwarded to the library cublas_loader.cpp opens on first use
// (the conventions of cublaslt_entry_points.cpp). cublasGetStatusName/String are defined there.
#include "cublas_api.hpp"

using scpx::cuda::detail::call_if_usable;
using scpx::cuda::detail::cublas;
using scpx::cuda::detail::cublas_api;
using scpx::cuda::detail::cublas_or_null;

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) {
    return cublas().cublasCreate_v2(handle);
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle) {
    return call_if_usable(cublas_or_null(), &cublas_api::cublasDestroy_v2, handle);
}

cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    return cublas().cublasSetMathMode(handle, mode);
}

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
    return cublas().cublasSetStream_v2(handle, stream);
}

cublasStatus_t CUBLASWINAPI cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                                           cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                           const float* A, int lda, const float* B, int ldb,
                                           const float* beta, float* C, int ldc) {
    return cublas().cublasSgemm_v2(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t CUBLASWINAPI cublasDgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                                           cublasOperation_t transb, int m, int n, int k, const double* alpha,
                                           const double* A, int lda, const double* B, int ldb,
                                           const double* beta, double* C, int ldc) {
    return cublas().cublasDgemm_v2(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
