#pragma once
/// @file error.hpp
/// Typed exceptions and the check macros used everywhere in scpx.
///
/// Library code never aborts: a failed check throws a subclass of scpx::error, and only main()
/// catches everything (it logs the message on the failing rank and calls MPI_Abort).

#include <stdexcept>
#include <string>

namespace scpx {

/// Base of every exception scpx throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A command-line option or configuration value is invalid; found by up-front validation.
class usage_error : public error {
public:
    using error::error;
};

/// An input file the user named does not exist: a usage error (exit 2), as when an option's own
/// file check finds it missing at parse time.
class missing_file_error : public usage_error {
public:
    explicit missing_file_error(const std::string& path, const std::string& what = "file")
        : usage_error("cannot open " + what + " " + path + ": no such file") {}
};

/// A file cannot be opened, read, written or renamed.
class io_error : public error {
public:
    using error::error;
};

/// Input data are malformed. The message names the file, the line or record, and the field.
class input_error : public error {
public:
    /// @param file   path of the offending file
    /// @param where  "line 12", "record chr1:12345" or similar; empty when the whole file is at fault
    /// @param field  column, attribute or tensor name; empty when not applicable
    /// @param what   what is wrong, in words a user understands
    input_error(const std::string& file, const std::string& where, const std::string& field,
                const std::string& what);

    const std::string& file() const noexcept { return file_; }
    const std::string& where() const noexcept { return where_; }
    const std::string& field() const noexcept { return field_; }

private:
    std::string file_, where_, field_;
};

/// A CUDA runtime, cuBLAS or cuDNN call failed.
class cuda_error : public error {
public:
    using error::error;
};

/// A device allocation failed for lack of memory: a caller may retry with less (a smaller batch).
class cuda_out_of_memory : public cuda_error {
public:
    using cuda_error::cuda_error;
};

/// An MPI call failed.
class mpi_error : public error {
public:
    using error::error;
};

/// An HDF5 call failed.
class h5_error : public error {
public:
    using error::error;
};

/// An htslib call failed.
class hts_error : public error {
public:
    using error::error;
};

/// An internal invariant does not hold: a bug in scpx, not in the input.
class internal_error : public error {
public:
    using error::error;
};

namespace detail {
/// Formats "<kind> failed: <stmt> -> <detail> at file:line [rank r, device d]" and throws E.
template <class E>
[[noreturn]] void throw_check_failure(const char* kind, const char* stmt, const std::string& detail,
                                      const char* file, int line);
/// Rank of this process in MPI_COMM_WORLD, or -1 before MPI_Init / after MPI_Finalize.
int world_rank_or_minus_one() noexcept;
/// Current CUDA device, or -1 when CUDA is off or no device is set. Set by the CUDA layer.
extern int (*current_cuda_device)();
/// Rank in MPI_COMM_WORLD, or -1 outside MPI. Set by scpx::mpi::session, so this header and
/// error.cpp need no MPI (the CUDA kernels library links only scpx_base).
extern int (*current_mpi_rank)();
} // namespace detail

} // namespace scpx

/// Generic check: evaluates `expr` once, compares with `ok`, and on failure throws `exc` with a
/// message built by `to_string(result)`. Specialised below and in kernels/common.cuh.
#define SCPX_CHECK_GEN(expr, ok, to_string, exc, kind)                                            \
    do {                                                                                          \
        auto scpx_check_result_ = (expr);                                                         \
        if (!(scpx_check_result_ == (ok))) {                                                      \
            ::scpx::detail::throw_check_failure<exc>(kind, #expr, to_string(scpx_check_result_),  \
                                                     __FILE__, __LINE__);                         \
        }                                                                                         \
    } while (0)

/// Internal invariant, always on (also in Release): a failure is a bug in scpx.
#define SCPX_ASSERT(cond)                                                                         \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            ::scpx::detail::throw_check_failure<::scpx::internal_error>(                          \
                "assertion", #cond, "false", __FILE__, __LINE__);                                 \
        }                                                                                         \
    } while (0)
