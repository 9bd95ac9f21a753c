#pragma once
/// @file timer.hpp
/// Wall-clock timing: a stopwatch, and a stage timer that logs "-<stage>... done (t s)".

#include <chrono>
#include <string>

namespace scpx {

/// Monotonic stopwatch started at construction.
class stopwatch {
public:
    stopwatch() : start_(clock::now()) {}
    /// Seconds since construction or the last reset().
    double seconds() const {
        return std::chrono::duration<double>(clock::now() - start_).count();
    }
    void reset() { start_ = clock::now(); }

private:
    using clock = std::chrono::steady_clock;
    clock::time_point start_;
};

/// Logs "-<name>..." when created and "-<name>... done (1.23 s)" when finished or destroyed
/// (regenie's stage lines), so every stage's time appears in the log; "-<name>... stopped after
/// 1.23 s" when an exception leaves the stage, so a failed stage never reads as done.
class stage_timer {
public:
    explicit stage_timer(std::string name);
    ~stage_timer();
    stage_timer(const stage_timer&) = delete;
    stage_timer& operator=(const stage_timer&) = delete;

    /// Logs the "done" line now; the destructor then does nothing. Returns the seconds taken.
    double finish();

private:
    std::string name_;
    stopwatch watch_;
    int unwinding_at_start_ = 0; ///< std::uncaught_exceptions() when the stage began
    bool done_ = false;
};

/// "1.23 s", "4m 05s", "2h 03m": a duration for humans.
std::string format_duration(double seconds);

} // namespace scpx
