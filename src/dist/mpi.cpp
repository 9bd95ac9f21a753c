#include "scpx/dist/mpi.hpp"

#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/dist/singleton.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <thread>
#include <unistd.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace scpx::mpi {

namespace {
// Open MPI keeps allocations of MPI_Init (some in plugins it unloads again) until process exit;
// LeakSanitizer would report them as ours, unsymbolised. Allocations made while MPI initialises or
// finalises are therefore exempt from leak checking; everything scpx allocates is still checked.
struct lsan_exempt {
#if defined(__SANITIZE_ADDRESS__)
    lsan_exempt() { __lsan_disable(); }
    ~lsan_exempt() { __lsan_enable(); }
#else
    lsan_exempt() {} // user-provided, so a scope guard that does nothing draws no unused warning
    ~lsan_exempt() {}
#endif
};

bool active() {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

int rank_for_errors() { return active() ? comm_rank() : -1; }

// A communicator of its own for failed_alike_everywhere: its collective must never be matched
// with a collective another rank is in on MPI_COMM_WORLD when the failure happens.
MPI_Comm g_failure_comm = MPI_COMM_NULL;

void make_failure_comm() {
    if (g_failure_comm == MPI_COMM_NULL) MPI_Comm_dup(MPI_COMM_WORLD, &g_failure_comm);
}

void free_failure_comm() {
    if (g_failure_comm != MPI_COMM_NULL) MPI_Comm_free(&g_failure_comm);
}
} // namespace

session::session(int& argc, char**& argv) {
    if (active()) return;
    prepare_singleton(); // a plain run without mpirun: no orted, no UCX (singleton.hpp)
    int provided = 0;
    // FUNNELED: worker threads compute, only the main thread talks to MPI.
    {
        lsan_exempt exempt;
        SCPX_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    }
    singleton_started();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    detail::current_mpi_rank = rank_for_errors;
    make_failure_comm();
}

void ensure_initialized() {
    if (active()) return;
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (finalised) throw mpi_error("MPI is needed after MPI_Finalize was called");
    int argc = 0;
    char** argv = nullptr;
    prepare_singleton();
    int provided = 0;
    {
        lsan_exempt exempt;
        SCPX_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    }
    singleton_started();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    detail::current_mpi_rank = rank_for_errors;
    make_failure_comm();
    std::atexit([] {
        lsan_exempt exempt;
        if (active()) {
            free_failure_comm();
            MPI_Finalize();
        }
    });
}

session::~session() {
    lsan_exempt exempt;
    if (active()) {
        free_failure_comm();
        MPI_Finalize();
    }
}

int comm_rank() {
    if (!active()) return 0;
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int comm_size() {
    if (!active()) return 1;
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void barrier() {
    if (active()) SCPX_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

namespace {

// Waits for a non-blocking collective asleep. MPI's blocking collectives busy-poll in Open MPI: a
// rank waiting minutes for rank 0's work (on_root_only) would keep a core at 100 % that rank 0's
// threads could use. Every rank of one collective must use the same form: an MPI_Iallreduce does
// not match an MPI_Allreduce (mixing them hangs).
void wait_idle(MPI_Request& req) {
    for (int done = 0;;) {
        SCPX_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (done) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// Runs `step` on rank 0 and returns what it threw (nothing on the other ranks).
std::exception_ptr run_on_root(const std::function<void()>& step) {
    if (!is_root()) return nullptr;
    try {
        step();
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// all_ok(), waiting asleep (wait_idle).
bool all_ok_idle(bool ok) {
    int mine = ok ? 1 : 0, all = 0;
    MPI_Request req = MPI_REQUEST_NULL;
    SCPX_MPI_CHECK(MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD, &req));
    wait_idle(req);
    return all != 0;
}

} // namespace

void on_root_only(const std::function<void()>& work, const std::string& what) {
    if (!active() || comm_size() == 1) {
        work();
        return;
    }
    if (!what.empty()) SCPX_LOG_INF("{} runs on rank 0 only ({} ranks given)", what, comm_size());
    // Every rank learns whether the work failed, so the waiting ranks defer to rank 0's message at
    // once instead of main() waiting out its 3 s for their word before the abort.
    const std::exception_ptr failure = run_on_root(work);
    if (all_ok_idle(!failure)) return;
    if (failure) std::rethrow_exception(failure);
    throw other_rank_failed("rank 0 failed (its message says why)");
}

std::string host_name() {
    char host[256] = "?";
    ::gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    return host;
}

void abort_all(int code) {
    if (active()) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

void on_root_agreed(const std::function<void()>& step, const std::string& elsewhere,
                    const std::function<void()>& cleanup) {
    const std::exception_ptr failure = run_on_root(step);
    if (all_ok(!failure)) return;
    if (cleanup) cleanup();
    if (failure) std::rethrow_exception(failure);
    throw other_rank_failed(elsewhere);
}

void on_every_rank_agreed(const std::function<void()>& step, const std::string& elsewhere) {
    std::exception_ptr failure;
    try {
        step();
    } catch (...) {
        failure = std::current_exception();
    }
    if (all_ok(!failure)) return;
    if (failure) std::rethrow_exception(failure);
    // Rank 0 says that another rank failed (that rank reports its own error); the rest are quiet.
    if (is_root()) throw io_error(elsewhere);
    throw other_rank_failed(elsewhere);
}

bool failed_alike_everywhere(const std::string& message, double timeout_s) {
    if (!active() || comm_size() == 1 || g_failure_comm == MPI_COMM_NULL) return false;
    // 0 is a deferring rank's word; a message's hash is never 0.
    const std::uint64_t hash = message.empty() ? 0 : (fnv1a64(message) | 1u);
    // Static: when the exchange does not finish, MPI may still write into them until the abort.
    static std::vector<std::uint64_t> all;
    static std::uint64_t mine;
    all.assign(static_cast<std::size_t>(comm_size()), 0);
    mine = hash;
    MPI_Request req = MPI_REQUEST_NULL;
    if (MPI_Iallgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, g_failure_comm, &req) !=
        MPI_SUCCESS)
        return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    int done = 0;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done) return false;
    return std::all_of(all.begin(), all.end(), [](std::uint64_t h) { return h == mine || h == 0; });
}

bool all_ok(bool ok) {
    if (!active()) return ok;
    int in = ok ? 1 : 0, out = 0;
    SCPX_MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    return out == 1;
}

double sum(double v) {
    if (!active()) return v;
    double out = 0;
    SCPX_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    return out;
}

long long sum(long long v) {
    if (!active()) return v;
    long long out = 0;
    SCPX_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD));
    return out;
}

std::string broadcast(const std::string& s) {
    if (!active()) return s;
    long long n = static_cast<long long>(s.size());
    SCPX_MPI_CHECK(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD));
    std::string out = comm_rank() == 0 ? s : std::string(static_cast<size_t>(n), '\0');
    if (n > 0) SCPX_MPI_CHECK(MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD));
    return out;
}

std::vector<std::string> all_gather(const std::string& s) {
    if (!active()) return {s};
    const int n = comm_size();
    int len = static_cast<int>(s.size());
    std::vector<int> lens(static_cast<size_t>(n)), displs(static_cast<size_t>(n));
    SCPX_MPI_CHECK(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD));
    int total = 0;
    for (int i = 0; i < n; ++i) {
        displs[static_cast<size_t>(i)] = total;
        total += lens[static_cast<size_t>(i)];
    }
    std::string all(static_cast<size_t>(total), '\0');
    SCPX_MPI_CHECK(MPI_Allgatherv(s.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                                  MPI_COMM_WORLD));
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        out.push_back(all.substr(static_cast<size_t>(displs[static_cast<size_t>(i)]),
                                 static_cast<size_t>(lens[static_cast<size_t>(i)])));
    return out;
}

} // namespace scpx::mpi
