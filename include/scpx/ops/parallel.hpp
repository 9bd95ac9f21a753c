#pragma once
/// @file parallel.hpp
/// The CPU ops' thread count and a minimal parallel-for.
///
/// Every CPU op splits its rows over `num_threads()` workers and runs Eigen's single-threaded
/// GEMM on each block: Eigen only threads through OpenMP, which scpx does not link, and row
/// blocks keep the per-thread working set (activation halo + output block) in cache.

#include <cstdint>
#include <functional>

namespace scpx::ops {

/// The CPUs this process may use: those of its CPU affinity mask (what SLURM's task binding or
/// mpirun's --bind-to leave it), at most SLURM_CPUS_PER_TASK when that is set; >= 1. What
/// `--threads 0` means, so that ranks sharing a node do not each start a thread per core.
int available_cpus();

/// Sets the number of worker threads used by every CPU op (`n` <= 0: available_cpus()).
void set_num_threads(int n);

/// Current number of worker threads (>= 1).
int num_threads();

/// Runs `fn(lo, hi)` over [0, n) cut into blocks of `grain` items (the last may be shorter),
/// handed out dynamically to up to num_threads() threads. Blocks never overlap, so `fn` may
/// write its own output rows without locks. The first exception thrown by `fn` is rethrown.
void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t lo, std::int64_t hi)>& fn);

} // namespace scpx::ops
