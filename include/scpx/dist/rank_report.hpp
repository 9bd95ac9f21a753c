#pragma once
/// @file rank_report.hpp
/// What rank 0 says about all the ranks of a job: which device each rank runs on (every rank picks
/// its own: its node-local GPU, or the CPU on a node without one) and how long each took over its
/// share. Only rank 0 writes the log, so without this a multi-node job's log would describe rank 0
/// alone — a rank that fell back to the CPU, or one that set the pace, would go unseen.
///
/// The log_* functions are collective (every rank calls them, in the same order) and do nothing
/// on a single rank; the describe_* functions build the lines from gathered values (no MPI).

#include <string>
#include <vector>

namespace scpx::dist {

/// Ranks listed one per line up to this many; beyond, a summary.
inline constexpr std::size_t kListedRanks = 16;

/// One rank's device as gathered.
struct rank_device {
    std::string host;        ///< node name
    std::string description; ///< e.g. "cuda:0 NVIDIA H100 80GB HBM3, bf16, …" or "CPU (fp32, 8 threads)"
    bool gpu = false;
};

/// Lines rank 0 logs about the devices, and a warning (empty when none is due): some ranks on a
/// GPU, others on the CPU — the CPU ranks set the job's pace.
struct device_report {
    std::vector<std::string> lines;
    std::string warning;
};
device_report describe_rank_devices(const std::string& what, const std::vector<rank_device>& ranks);

/// "0–3, 7, 9, 10": rank numbers (ascending), runs of three or more shortened.
std::string rank_list(const std::vector<int>& ranks);

/// Collective: gathers each rank's device; rank 0 logs describe_rank_devices' lines (information)
/// and its warning. `what` names the model, e.g. "Enformer".
void log_rank_devices(const std::string& what, const std::string& description, bool gpu);

/// One rank's share of a stage as gathered: its wall time over the share, which decides the stage's
/// length, and a summary of what it did (e.g. "12 gene(s), Enformer 10.2 s, …").
struct rank_work {
    std::string summary;
    double seconds = 0.0;
};

/// Lines rank 0 logs: one per rank (up to kListedRanks), then the slowest and fastest rank and the
/// (lower) median, which show an uneven split or a slow node. `seconds` must be time the rank spent
/// on its own share: a time read after a collective step includes the wait for the slowest rank.
std::vector<std::string> describe_rank_work(const std::string& stage, const std::vector<rank_work>& ranks);

/// Collective: gathers each rank's work; rank 0 logs describe_rank_work's lines.
void log_rank_work(const std::string& stage, const rank_work& mine);

} // namespace scpx::dist
