// Error strings of the C libraries behind SCPX_MPI_CHECK, SCPX_H5_CHECK and SCPX_HTS_CHECK.
#include "scpx/core/check.hpp"

#include <hdf5.h>
#include <mpi.h>

#include <cerrno>
#include <cstring>

namespace scpx::detail {

std::string mpi_error_string(int code) {
    char buf[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
    return std::string(buf, static_cast<size_t>(len));
}

namespace {
herr_t take_innermost(unsigned n, const H5E_error2_t* e, void* out) {
    // Walking upward starts at the innermost frame (n == 0): the root cause, e.g. errno text.
    if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
    return 0;
}

/// HDF5's file drivers describe a failed read or write with every detail ("file write failed:
/// time = ..., filename = ..., errno = 28, error message = 'No space left on device', buf =
/// 0x..., ..."): keep what happened and why.
std::string tidy(const std::string& desc) {
    const std::string key = "error message = '";
    const auto at = desc.find(key);
    const auto head_end = desc.find(": time = ");
    if (at == std::string::npos || head_end == std::string::npos) return desc;
    const auto from = at + key.size();
    const auto to = desc.find('\'', from);
    return desc.substr(0, head_end) + ": " +
           desc.substr(from, to == std::string::npos ? std::string::npos : to - from);
}
} // namespace

std::string h5_error_string(long long code) {
    std::string msg;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &msg);
    if (msg.empty()) msg = "HDF5 returned " + std::to_string(code);
    return tidy(msg);
}

std::string hts_error_string(long long code) {
    std::string msg = "returned " + std::to_string(code);
    if (errno != 0) msg += " (" + std::string(std::strerror(errno)) + ")";
    return msg;
}

} // namespace scpx::detail
