#include "scpx/core/error.hpp"

#include <sstream>

namespace scpx {

namespace {
std::string join_input_error(const std::string& file, const std::string& where,
                             const std::string& field, const std::string& what) {
    std::string msg = file.empty() ? std::string("<input>") : file;
    if (!where.empty()) msg += ", " + where;
    if (!field.empty()) msg += ", field '" + field + "'";
    msg += ": " + what;
    return msg;
}

int no_cuda_device() { return -1; }
int no_mpi_rank() { return -1; }
} // namespace

input_error::input_error(const std::string& file, const std::string& where,
                         const std::string& field, const std::string& what)
    : error(join_input_error(file, where, field, what)), file_(file), where_(where),
      field_(field) {}

namespace detail {

int (*current_cuda_device)() = no_cuda_device;
int (*current_mpi_rank)() = no_mpi_rank;

int world_rank_or_minus_one() noexcept { return current_mpi_rank(); }

template <class E>
[[noreturn]] void throw_check_failure(const char* kind, const char* stmt, const std::string& detail,
                                      const char* file, int line) {
    std::ostringstream os;
    os << kind << " failed: " << stmt << " -> " << detail << " at " << file << ':' << line;
    const int rank = world_rank_or_minus_one();
    const int device = current_cuda_device();
    if (rank >= 0 || device >= 0) {
        os << " [";
        if (rank >= 0) os << "rank " << rank;
        if (rank >= 0 && device >= 0) os << ", ";
        if (device >= 0) os << "device " << device;
        os << ']';
    }
    throw E(os.str());
}

template void throw_check_failure<error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<io_error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<cuda_error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<mpi_error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<h5_error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<hts_error>(const char*, const char*, const std::string&, const char*, int);
template void throw_check_failure<internal_error>(const char*, const char*, const std::string&, const char*, int);

} // namespace detail
} // namespace scpx
