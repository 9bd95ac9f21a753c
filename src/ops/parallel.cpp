#include "scpx/ops/parallel.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace scpx::ops {

namespace {
std::atomic<int> g_threads{0};

int hardware_threads() {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}
} // namespace

int available_cpus() {
    int n = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = hardware_threads();
    // Without task binding (no cgroups, no task/affinity plugin) the mask is the whole node, but
    // the job still asked for --cpus-per-task.
    if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
        char* end = nullptr;
        const long v = std::strtol(s, &end, 10);
        if (end != s && *end == '\0' && v > 0 && v < n) n = static_cast<int>(v);
    }
    return n;
}

void set_num_threads(int n) {
    g_threads.store(n <= 0 ? available_cpus() : n);
}

int num_threads() {
    const int n = g_threads.load();
    return n <= 0 ? available_cpus() : n;
}

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<std::int64_t>(grain, 1);
    const std::int64_t blocks = (n + grain - 1) / grain;
    const int workers = static_cast<int>(std::min<std::int64_t>(num_threads(), blocks));
    if (workers <= 1) {
        for (std::int64_t b = 0; b < blocks; ++b) fn(b * grain, std::min(n, (b + 1) * grain));
        return;
    }
    // Threads are started per call: an Enformer forward makes a few hundred calls, each doing
    // milliseconds to seconds of GEMM, so a pool would save nothing measurable.
    std::atomic<std::int64_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        for (;;) {
            const std::int64_t b = next.fetch_add(1);
            if (b >= blocks) return;
            try {
                fn(b * grain, std::min(n, (b + 1) * grain));
            } catch (...) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                next.store(blocks);
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(workers - 1));
    for (int t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
}

} // namespace scpx::ops
