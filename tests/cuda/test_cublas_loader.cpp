// cuBLAS / cuBLASLt opened on first use (kernels/core/cublas_loader.hpp). Needs the libraries (they
// come with the CUDA toolkit this binary is built with), not a GPU: descriptors and status names
// are host-side, so the forwarders are exercised on CPU-only machines too.
#include "core/cublas_api.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <string>

namespace {

using namespace scpx::cuda::detail;

TEST(CublasLoader, OpensBothLibrariesOfTheHeadersMajorVersion) {
    const std::string lt = describe_cublaslt();
    EXPECT_EQ(lt.rfind("cuBLASLt " + std::to_string(CUBLAS_VER_MAJOR) + ".", 0), 0u) << lt;
    EXPECT_NE(lt.find("libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR)), std::string::npos) << lt;
    const std::string legacy = describe_cublas();
    EXPECT_EQ(legacy.rfind("cuBLAS " + std::to_string(CUBLAS_VER_MAJOR) + ".", 0), 0u) << legacy;
    EXPECT_NE(cublaslt_or_null(), nullptr);
    EXPECT_NE(cublas_or_null(), nullptr);
}

TEST(CublasLoader, EveryEntryPointIsTheLibrarysOwn) {
    // Each table entry is the address dlsym gives for the name in the loaded library, not one of
    // the forwarders this binary defines under the same name (which would recurse forever).
    const auto& lt = cublaslt();
    void* handle =
        dlopen(("libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR)).c_str(), RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(handle, nullptr) << "cuBLASLt is not loaded in this process";
    EXPECT_EQ(reinterpret_cast<void*>(lt.cublasLtMatmul), dlsym(handle, "cublasLtMatmul"));
    EXPECT_NE(reinterpret_cast<void*>(lt.cublasLtMatmul), reinterpret_cast<void*>(&::cublasLtMatmul));
    EXPECT_NE(reinterpret_cast<void*>(lt.cublasLtCreate), reinterpret_cast<void*>(&::cublasLtCreate));
    dlclose(handle);
    const auto& legacy = cublas();
    EXPECT_NE(reinterpret_cast<void*>(legacy.cublasSgemm_v2), reinterpret_cast<void*>(&::cublasSgemm_v2));
}

TEST(CublasLoader, ForwardersReachTheLibraryWithoutAGpu) {
    // Status names come from the library (cuBLASLt's copy of the legacy function).
    EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");
    EXPECT_NE(std::string(cublasGetStatusString(CUBLAS_STATUS_NOT_SUPPORTED)), "");
    // A layout and a matmul descriptor are host objects: create, set, destroy through the forwarders.
    cublasLtMatrixLayout_t layout = nullptr;
    ASSERT_EQ(cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, 4, 3, 4), CUBLAS_STATUS_SUCCESS);
    const int32_t batch = 2;
    EXPECT_EQ(
        cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch),
        CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(cublasLtMatrixLayoutDestroy(layout), CUBLAS_STATUS_SUCCESS);
    cublasLtMatmulDesc_t desc = nullptr;
    ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
    const cublasOperation_t t = CUBLAS_OP_T;
    EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t),
              CUBLAS_STATUS_SUCCESS);
    // The library's own check answers through the forwarder: an attribute buffer of the wrong size.
    EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, 1),
              CUBLAS_STATUS_INVALID_VALUE);
    EXPECT_EQ(cublasLtMatmulDescDestroy(desc), CUBLAS_STATUS_SUCCESS);
    cublasLtMatmulPreference_t pref = nullptr;
    ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(cublasLtMatmulPreferenceDestroy(pref), CUBLAS_STATUS_SUCCESS);
}

} // namespace
