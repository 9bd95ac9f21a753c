#pragma once
/// @file check.hpp
/// Check macros for the C libraries scpx calls on the host: MPI, HDF5 and htslib.
/// CUDA/cuBLAS checks live in kernels/common.cuh so host code needs no CUDA headers.

#include "scpx/core/error.hpp"

#include <string>

namespace scpx::detail {
/// MPI error code → MPI's own error string.
std::string mpi_error_string(int code);
/// HDF5 return value (negative on failure) → the innermost message on HDF5's error stack.
std::string h5_error_string(long long code);
/// htslib return value → "return value N" plus errno text when errno is set.
std::string hts_error_string(long long code);
} // namespace scpx::detail

/// Throws scpx::mpi_error unless the MPI call returns MPI_SUCCESS (0).
#define SCPX_MPI_CHECK(expr)                                                                      \
    SCPX_CHECK_GEN((expr), 0, ::scpx::detail::mpi_error_string, ::scpx::mpi_error, "MPI call")

/// Throws scpx::h5_error when the HDF5 call returns a negative value (herr_t or hid_t).
#define SCPX_H5_CHECK(expr)                                                                       \
    do {                                                                                          \
        long long scpx_h5_rc_ = static_cast<long long>(expr);                                     \
        if (scpx_h5_rc_ < 0) {                                                                    \
            ::scpx::detail::throw_check_failure<::scpx::h5_error>(                                \
                "HDF5 call", #expr, ::scpx::detail::h5_error_string(scpx_h5_rc_), __FILE__,       \
                __LINE__);                                                                        \
        }                                                                                         \
    } while (0)

/// Throws scpx::hts_error when the htslib call returns a negative value.
#define SCPX_HTS_CHECK(expr)                                                                      \
    do {                                                                                          \
        long long scpx_hts_rc_ = static_cast<long long>(expr);                                    \
        if (scpx_hts_rc_ < 0) {                                                                   \
            ::scpx::detail::throw_check_failure<::scpx::hts_error>(                               \
                "htslib call", #expr, ::scpx::detail::hts_error_string(scpx_hts_rc_), __FILE__,   \
                __LINE__);                                                                        \
        }                                                                                         \
    } while (0)
