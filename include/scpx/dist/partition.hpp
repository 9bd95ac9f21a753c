#pragma once
/// @file partition.hpp
/// Deterministic work partitioning: an ordered list of items (genes) is cut into contiguous
/// blocks of near-equal total cost, one per MPI rank or per SLURM array job. The result depends
/// only on the costs and the number of parts, so every rank computes the same cut without
/// communicating, and a rerun gets the same blocks.
///
/// Two levels compose: `--split N --job K` first picks the job's block of the whole list
/// (split_range), then the job's ranks share that block (partition_block with `within`).

#include <cstddef>
#include <string>
#include <vector>

namespace scpx::dist {

/// Half-open range [begin, end) of item indices; may be empty.
struct index_range {
    std::size_t begin = 0; ///< first item
    std::size_t end = 0;   ///< one past the last item
    /// Number of items.
    std::size_t size() const { return end - begin; }
    /// True when it holds no item.
    bool empty() const { return end == begin; }
    bool operator==(const index_range& o) const { return begin == o.begin && end == o.end; }
    bool operator!=(const index_range& o) const { return !(*this == o); }
};

/// Cuts items [within.begin, within.end) into `parts` contiguous blocks, in order, covering every
/// item exactly once. Cut k is placed at the item boundary whose prefix cost is nearest to
/// k/parts of the total (ties go to the earlier boundary), so each block's cost is within about
/// one item's cost of total/parts, except that no block is left empty when there are at least
/// as many items as parts (a cut moves by the fewest items needed). When every cost is zero,
/// items are split by count instead. Blocks are empty only when there are fewer items than parts.
/// @param costs  cost of each item (e.g. number of cis SNPs, or 1); finite and ≥ 0
/// @throws usage_error when parts == 0, a cost is negative or not finite, or `within` is outside
std::vector<index_range> partition_by_cost(const std::vector<double>& costs, std::size_t parts,
                                           index_range within);
/// Same over the whole list.
std::vector<index_range> partition_by_cost(const std::vector<double>& costs, std::size_t parts);

/// Block `part` of partition_by_cost(costs, parts, within).
index_range partition_block(const std::vector<double>& costs, std::size_t parts, std::size_t part,
                            index_range within);
/// Block `part` of the whole list.
index_range partition_block(const std::vector<double>& costs, std::size_t parts, std::size_t part);

/// Equal-count blocks of n items (the first n % parts blocks get one more item).
std::vector<index_range> partition_even(std::size_t n, std::size_t parts);

/// `--split N --job K`: this SLURM array job does part K of N.
struct split_spec {
    std::size_t n_splits = 1; ///< N ≥ 1 (1 = no split)
    std::size_t job = 0;      ///< K in [0, N)
};

/// Validates `--split N --job K` as given on the command line (negative values included).
/// @throws usage_error "--job K must be in [0, N) for --split N" and similar
split_spec make_split(long long n_splits, long long job);

/// Every job of a split refuses one finer than its list (`items` of them, e.g. "gene"), not only
/// the jobs that would be left empty: such a split cannot be merged.
/// @throws usage_error naming the largest --split that fits (or none for one item)
void require_split_fits(const split_spec& split, std::size_t items, const std::string& item);

/// The job's block of the whole list (by cost).
index_range split_range(const std::vector<double>& costs, const split_spec& split);

/// The block this MPI rank handles inside the job's block: split first, then ranks.
/// Uses mpi::comm_rank()/comm_size().
index_range rank_range(const std::vector<double>& costs, const split_spec& split = {});

/// Number of collective rounds needed when each rank processes its `local_items` in batches of
/// `batch`: the maximum over ranks of ceil(local_items / batch). Collective (MPI_Allreduce);
/// every rank then loops that many times, some with empty batches.
std::size_t collective_rounds(std::size_t local_items, std::size_t batch);

} // namespace scpx::dist
