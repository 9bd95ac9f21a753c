#include "scpx/dist/rank_report.hpp"

#include "scpx/core/log.hpp"
#include "scpx/dist/mpi.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

namespace scpx::dist {

namespace {

// Fields of one gathered record: the unit separator appears in no host name, device description
// or summary.
constexpr char kSep = '\x1f';

std::vector<std::string> split_fields(const std::string& s) {
    std::vector<std::string> out(1);
    for (const char c : s) {
        if (c == kSep)
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

} // namespace

std::string rank_list(const std::vector<int>& ranks) {
    std::string s;
    for (std::size_t i = 0; i < ranks.size();) {
        std::size_t j = i;
        while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1)
            ++j;
        if (!s.empty()) s += ", ";
        s += std::to_string(ranks[i]);
        if (j > i) s += (j == i + 1 ? ", " : "–") + std::to_string(ranks[j]);
        i = j + 1;
    }
    return s;
}

device_report describe_rank_devices(const std::string& what, const std::vector<rank_device>& ranks) {
    device_report r;
    std::vector<int> cpu, gpu;
    for (std::size_t i = 0; i < ranks.size(); ++i)
        (ranks[i].gpu ? gpu : cpu).push_back(static_cast<int>(i));
    if (ranks.size() <= kListedRanks) {
        r.lines.push_back(what + " device per rank:");
        for (std::size_t i = 0; i < ranks.size(); ++i)
            r.lines.push_back(fmt::format("  rank {} ({}): {}", i, ranks[i].host, ranks[i].description));
    } else {
        r.lines.push_back(
            fmt::format("{} devices: {} rank(s) on a GPU, {} on the CPU{}", what, gpu.size(), cpu.size(),
                        cpu.empty() || gpu.empty() ? "" : " (CPU: ranks " + rank_list(cpu) + ")"));
    }
    if (!cpu.empty() && !gpu.empty()) {
        // The job ends when its slowest rank does: name the CPU ranks' nodes so the user can see
        // which lack a GPU (or were given none by the scheduler).
        std::vector<std::string> hosts;
        for (const int i : cpu)
            if (std::find(hosts.begin(), hosts.end(), ranks[static_cast<std::size_t>(i)].host) == hosts.end())
                hosts.push_back(ranks[static_cast<std::size_t>(i)].host);
        std::string host_list;
        for (std::size_t k = 0; k < hosts.size() && k < 4; ++k)
            host_list += (k ? ", " : "") + hosts[k];
        if (hosts.size() > 4) host_list += fmt::format(" and {} more", hosts.size() - 4);
        r.warning = fmt::format(
            "{}: rank(s) {} run on the CPU (no GPU found on {}) while {} rank(s) use a GPU; "
            "a CPU rank is hundreds of times slower and sets the job's pace — request GPUs on every node "
            "(e.g. --gpus-per-task=1) or pass --device cuda to stop instead",
            what, rank_list(cpu), host_list, gpu.size());
    }
    return r;
}

void log_rank_devices(const std::string& what, const std::string& description, bool gpu) {
    if (mpi::comm_size() < 2) return;
    const auto all = mpi::all_gather(mpi::host_name() + kSep + description + kSep + (gpu ? "1" : "0"));
    if (!mpi::is_root()) return;
    std::vector<rank_device> ranks;
    for (const auto& rec : all) {
        const auto f = split_fields(rec);
        rank_device d;
        d.host = f.at(0);
        d.description = f.at(1);
        d.gpu = f.at(2) == "1";
        ranks.push_back(std::move(d));
    }
    const device_report r = describe_rank_devices(what, ranks);
    for (const auto& line : r.lines)
        SCPX_LOG_INF("{}", line);
    if (!r.warning.empty()) SCPX_LOG_WRN("{}", r.warning);
}

std::vector<std::string> describe_rank_work(const std::string& stage, const std::vector<rank_work>& ranks) {
    std::vector<std::string> lines;
    if (ranks.empty()) return lines;
    if (ranks.size() <= kListedRanks) {
        lines.push_back(stage + " per rank:");
        for (std::size_t i = 0; i < ranks.size(); ++i)
            lines.push_back(fmt::format("  rank {}: {:.2f} s, {}", i, ranks[i].seconds, ranks[i].summary));
    }
    std::vector<std::size_t> order(ranks.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Stable: among equal times the order is by rank, so the ranks named do not depend on the sort.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return ranks[a].seconds < ranks[b].seconds; });
    const std::size_t fastest = order.front(), slowest = order.back();
    const double median = ranks[order[(order.size() - 1) / 2]].seconds;
    lines.push_back(fmt::format(
        "{}: slowest rank {} {:.2f} s, fastest rank {} {:.2f} s, median {:.2f} s over {} ranks", stage,
        slowest, ranks[slowest].seconds, fastest, ranks[fastest].seconds, median, ranks.size()));
    return lines;
}

void log_rank_work(const std::string& stage, const rank_work& mine) {
    if (mpi::comm_size() < 2) return;
    const auto all = mpi::all_gather(fmt::format("{}{}{}", mine.seconds, kSep, mine.summary));
    if (!mpi::is_root()) return;
    std::vector<rank_work> ranks;
    for (const auto& rec : all) {
        const auto f = split_fields(rec);
        rank_work w;
        w.seconds = std::strtod(f.at(0).c_str(), nullptr);
        w.summary = f.at(1);
        ranks.push_back(std::move(w));
    }
    for (const auto& line : describe_rank_work(stage, ranks))
        SCPX_LOG_INF("{}", line);
}

} // namespace scpx::dist
