#include "scpx/core/progress.hpp"

#include "scpx/core/log.hpp"

#include <fmt/format.h>

namespace scpx {

progress::progress(std::string what, std::uint64_t total, std::string unit, double interval)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval) {}

progress::~progress() {
    try {
        if (!finished_ && done_ > 0) finish();
    } catch (...) {
        // Best effort only: never throw from a destructor.
    }
}

void progress::add(std::uint64_t n) {
    done_ += n;
    const double now = watch_.seconds();
    if (now - last_print_ >= interval_ && (total_ == 0 || done_ < total_)) {
        last_print_ = now;
        SCPX_LOG_INF("{}", line());
    }
}

std::string progress::line() const {
    const double t = watch_.seconds();
    const double rate = t > 0 ? static_cast<double>(done_) / t : 0.0;
    std::string s = fmt::format("  {}: {}", what_, done_);
    if (total_ > 0) {
        s += fmt::format("/{} {} ({:.1f}%)", total_, unit_, 100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    } else {
        s += " " + unit_;
    }
    s += fmt::format(", {:.3g} {}/s", rate, unit_);
    if (total_ > 0 && done_ > 0 && done_ < total_ && rate > 0) {
        s += ", ETA " + format_duration(static_cast<double>(total_ - done_) / rate);
    }
    return s;
}

std::string rank_share_label(std::string what) {
    if (log::nranks() > 1) what += fmt::format(" (rank 0's share; {} ranks)", log::nranks());
    return what;
}

void progress::finish() {
    if (finished_) return;
    finished_ = true;
    const double t = watch_.seconds();
    const double rate = t > 0 ? static_cast<double>(done_) / t : 0.0;
    SCPX_LOG_INF("  {}: {} {} in {} ({:.3g} {}/s)", what_, done_, unit_, format_duration(t), rate, unit_);
}

} // namespace scpx
