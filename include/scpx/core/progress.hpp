#pragma once
/// @file progress.hpp
/// Progress lines for long loops: count, percentage, rate and ETA, printed by rank 0 at most
/// once per interval so logs stay readable under SLURM.

#include "scpx/core/timer.hpp"

#include <cstdint>
#include <string>

namespace scpx {

/// Counts finished work items and reports on rank 0, throttled.
///
///     progress p("enet fit", genes.size(), "genes");
///     for (...) { ...; p.add(); }
///     p.finish();
///
/// Under MPI each rank counts its own items; pass the rank-local total and a label from
/// rank_share_label(). Rank 0's count and rate are the ones reported, representative when work
/// is balanced by cost.
class progress {
public:
    /// @param what      label at the start of each line
    /// @param total     items expected (0 when unknown: no percentage or ETA)
    /// @param unit      plural noun for the items
    /// @param interval  minimum seconds between two lines
    progress(std::string what, std::uint64_t total, std::string unit = "items",
             double interval = 5.0);
    ~progress();
    progress(const progress&) = delete;
    progress& operator=(const progress&) = delete;

    /// Marks `n` more items done; may print a line.
    void add(std::uint64_t n = 1);
    /// Prints the final line (count, elapsed, mean rate) once.
    void finish();

    std::uint64_t done() const { return done_; }

    /// The line that would be printed now; exposed for tests.
    std::string line() const;

private:
    std::string what_, unit_;
    std::uint64_t total_, done_ = 0;
    double interval_, last_print_ = 0.0;
    stopwatch watch_;
    bool finished_ = false;
};

/// `what`, and under MPI " (rank 0's share; N ranks)": the progress lines are rank 0's count, which
/// a user would otherwise read as the run's (half the genes "missing" at 2 ranks).
std::string rank_share_label(std::string what);

} // namespace scpx
