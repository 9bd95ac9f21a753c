#include "scpx/core/timer.hpp"

#include "scpx/core/log.hpp"

#include <cmath>
#include <cstdio>
#include <exception>

namespace scpx {

stage_timer::stage_timer(std::string name) : name_(std::move(name)), unwinding_at_start_(std::uncaught_exceptions()) {
    SCPX_LOG_INF("-{}...", name_);
}

stage_timer::~stage_timer() {
    if (done_) return;
    try {
        // An exception leaving the stage means it did not finish: no "done" line before the
        // error that main() reports.
        if (std::uncaught_exceptions() > unwinding_at_start_)
            SCPX_LOG_INF("-{}... stopped after {}", name_, format_duration(watch_.seconds()));
        else
            finish();
    } catch (...) {
        // A destructor must not throw; the log is best effort here.
    }
}

double stage_timer::finish() {
    const double t = watch_.seconds();
    if (!done_) SCPX_LOG_INF("-{}... done ({})", name_, format_duration(t));
    done_ = true;
    return t;
}

std::string format_duration(double seconds) {
    char buf[64];
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    if (seconds < 60) {
        std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    } else if (seconds < 3600) {
        const long s = std::lround(seconds);
        std::snprintf(buf, sizeof buf, "%ldm %02lds", s / 60, s % 60);
    } else {
        const long m = std::lround(seconds / 60);
        std::snprintf(buf, sizeof buf, "%ldh %02ldm", m / 60, m % 60);
    }
    return buf;
}

} // namespace scpx
