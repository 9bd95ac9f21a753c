#include "scpx/dist/partition.hpp"

#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/dist/mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace scpx::dist {

std::vector<index_range> partition_even(std::size_t n, std::size_t parts) {
    if (parts == 0) throw usage_error("cannot partition into 0 parts");
    std::vector<index_range> out(parts);
    const std::size_t base = n / parts, extra = n % parts;
    std::size_t at = 0;
    for (std::size_t k = 0; k < parts; ++k) {
        const std::size_t len = base + (k < extra ? 1 : 0);
        out[k] = {at, at + len};
        at += len;
    }
    return out;
}

std::vector<index_range> partition_by_cost(const std::vector<double>& costs, std::size_t parts,
                                           index_range within) {
    if (parts == 0) throw usage_error("cannot partition into 0 parts");
    if (within.begin > within.end || within.end > costs.size())
        throw usage_error("partition range [" + std::to_string(within.begin) + ", " +
                          std::to_string(within.end) + ") is outside the " + std::to_string(costs.size()) +
                          " items");
    const std::size_t n = within.size();
    // prefix[i] = cost of the first i items of the range. Summed in one fixed order, so every
    // rank and every rerun gets bit-identical cut points.
    std::vector<double> prefix(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double c = costs[within.begin + i];
        if (!std::isfinite(c) || c < 0)
            throw usage_error("cost of item " + std::to_string(within.begin + i) +
                              " must be finite and >= 0, got " + std::to_string(c));
        prefix[i + 1] = prefix[i] + c;
    }
    const double total = prefix[n];
    std::vector<index_range> out(parts);
    if (total <= 0) {
        out = partition_even(n, parts);
        for (auto& r : out) {
            r.begin += within.begin;
            r.end += within.begin;
        }
        return out;
    }
    std::size_t prev = 0; // cut positions are relative to within.begin
    std::size_t cut = 0;
    for (std::size_t k = 0; k < parts; ++k) {
        std::size_t next = n;
        if (k + 1 < parts) {
            const double target = total * static_cast<double>(k + 1) / static_cast<double>(parts);
            // First boundary at or past the target, then step back when the earlier one is at
            // least as close: nearest boundary, ties to the earlier.
            while (cut < n && prefix[cut] < target)
                ++cut;
            next = cut;
            if (next > prev && target - prefix[next - 1] <= prefix[next] - target) --next;
            if (next < prev) next = prev;
            // No empty block while there are items enough: a costly item would otherwise leave a
            // neighbouring block (a SLURM array job, a rank) with nothing to do.
            if (n >= parts) next = std::min(std::max(next, prev + 1), n - (parts - 1 - k));
        }
        out[k] = {within.begin + prev, within.begin + next};
        prev = next;
    }
    return out;
}

std::vector<index_range> partition_by_cost(const std::vector<double>& costs, std::size_t parts) {
    return partition_by_cost(costs, parts, {0, costs.size()});
}

index_range partition_block(const std::vector<double>& costs, std::size_t parts, std::size_t part,
                            index_range within) {
    if (part >= parts)
        throw usage_error("part " + std::to_string(part) + " does not exist among " + std::to_string(parts) +
                          " parts");
    return partition_by_cost(costs, parts, within)[part];
}

index_range partition_block(const std::vector<double>& costs, std::size_t parts, std::size_t part) {
    return partition_block(costs, parts, part, {0, costs.size()});
}

split_spec make_split(long long n_splits, long long job) {
    if (n_splits < 1) throw usage_error("--split N must be >= 1, got " + std::to_string(n_splits));
    if (job < 0 || job >= n_splits)
        throw usage_error("--job K must be in [0, " + std::to_string(n_splits) + ") for --split " +
                          std::to_string(n_splits) + ", got " + std::to_string(job) +
                          " (SLURM arrays: submit with --array=0-" + std::to_string(n_splits - 1) + ")");
    return {static_cast<std::size_t>(n_splits), static_cast<std::size_t>(job)};
}

void require_split_fits(const split_spec& split, std::size_t items, const std::string& item) {
    if (split.n_splits <= items) return;
    throw usage_error(
        "--split " + std::to_string(split.n_splits) + " cuts " + std::to_string(items) + " " + item +
        "(s) into more parts than there are " + item + "s; " +
        (items <= 1 ? "run without --split" : "use --split " + std::to_string(items) + " or fewer"));
}

index_range split_range(const std::vector<double>& costs, const split_spec& split) {
    return partition_block(costs, split.n_splits, split.job);
}

index_range rank_range(const std::vector<double>& costs, const split_spec& split) {
    const index_range job = split_range(costs, split);
    return partition_block(costs, static_cast<std::size_t>(mpi::comm_size()),
                           static_cast<std::size_t>(mpi::comm_rank()), job);
}

std::size_t collective_rounds(std::size_t local_items, std::size_t batch) {
    if (batch == 0) throw usage_error("batch size must be >= 1");
    unsigned long long mine = (local_items + batch - 1) / batch, most = mine;
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        SCPX_MPI_CHECK(MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD));
    return static_cast<std::size_t>(most);
}

} // namespace scpx::dist
