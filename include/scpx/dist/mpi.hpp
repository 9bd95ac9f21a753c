#pragma once
/// @file mpi.hpp
/// Small helpers over MPI_COMM_WORLD. scpx always runs under MPI: a plain `scpx ...` is one rank.

#include "scpx/core/error.hpp"

#include <functional>
#include <string>
#include <vector>

namespace scpx::mpi {

/// RAII MPI_Init_thread(FUNNELED) / MPI_Finalize, owned by main().
class session {
public:
    session(int& argc, char**& argv);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;
};

/// Initialises MPI (single rank) if nobody has yet, finalising it at exit. For library users and
/// tests that reach MPI-IO without going through main(); the scpx binary uses session instead.
/// Rules for a program built on libscpx: a program that starts MPI itself must do so before its
/// first scpx call (MPI cannot be initialised twice); MPI runs FUNNELED, so only the thread that
/// initialised it calls MPI-needing scpx functions (HDF5 outputs, anything collective), and this
/// function is not thread-safe.
/// @throws mpi_error when the temporary folder for a plain run's MPI session cannot be used
/// (singleton.hpp); a later call checks again.
void ensure_initialized();

/// Rank in MPI_COMM_WORLD (0 when MPI is not initialised).
int comm_rank();
/// Size of MPI_COMM_WORLD (1 when MPI is not initialised).
int comm_size();
/// True on rank 0.
inline bool is_root() { return comm_rank() == 0; }
/// MPI_Barrier on the world (no-op when MPI is not initialised).
void barrier();
/// Runs `work` on rank 0 alone while the other ranks wait for it asleep (an MPI_Barrier would keep
/// a core each spinning): for a step with one input and one output and no work list to share.
/// Every rank calls it. If `work` throws, the exception leaves on rank 0 and the other ranks throw
/// other_rank_failed, so main() reports rank 0's error once and ends every rank at once. With
/// several ranks and a `what` ("enet cv"), the log says "<what> runs on rank 0 only (N ranks given)".
void on_root_only(const std::function<void()>& work, const std::string& what = "");
/// Name of the node this process runs on ("?" when unknown).
std::string host_name();
/// For main()'s catch-all: did every rank fail with this same message (bad input every rank
/// read)? Then only rank 0 need report it. Waits at most `timeout_s` for the other ranks' word
/// (a rank that is not failing never gives it: false). A rank that failed only because another
/// did (other_rank_failed) passes an empty message: it defers, counting as alike for the others,
/// so rank 0 need not wait the timeout for it. Uses a communicator of its own, so it cannot match
/// a collective the other ranks are in.
bool failed_alike_everywhere(const std::string& message, double timeout_s);
/// Aborts every rank with `code`; for main()'s catch-all only.
[[noreturn]] void abort_all(int code);

/// Logical AND of `ok` over all ranks: lets every rank agree that a collective step succeeded
/// before anyone commits output.
bool all_ok(bool ok);
/// Sum of a value over all ranks.
double sum(double v);
long long sum(long long v);
/// Broadcasts a string from rank 0.
std::string broadcast(const std::string& s);
/// Gathers one string per rank on every rank (in rank order).
std::vector<std::string> all_gather(const std::string& s);

/// Thrown on the ranks other than 0 when a step of rank 0 failed (on_root_agreed): rank 0 reports
/// the error itself, so main() ends these ranks without repeating it.
class other_rank_failed : public io_error {
public:
    using io_error::io_error;
};

/// Runs `step` on rank 0 only and lets every rank know whether it worked, so no rank is left
/// waiting in a later collective: on failure every rank runs `cleanup`, then rank 0 rethrows the
/// step's exception and the other ranks throw other_rank_failed(`elsewhere`). Every rank calls it.
void on_root_agreed(const std::function<void()>& step, const std::string& elsewhere,
                    const std::function<void()>& cleanup = {});
/// Runs `step` on every rank and lets every rank know whether it worked everywhere: a rank whose
/// step failed rethrows its exception; of the others, rank 0 throws io_error(`elsewhere`) and the
/// rest other_rank_failed(`elsewhere`) (the failed rank reports its own error). For a
/// check every rank makes before collective work (outputs opened on every rank), so that one
/// rank's refusal leaves no rank waiting in a later collective. Every rank calls it.
void on_every_rank_agreed(const std::function<void()>& step, const std::string& elsewhere);

} // namespace scpx::mpi
