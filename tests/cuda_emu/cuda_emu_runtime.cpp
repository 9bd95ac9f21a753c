// The emulator's scheduler (fibers, barriers, warp exchange) and the subset of the CUDA runtime
// API the kernels and their tests call. See cuda_emu.hpp for the model and what is checked.
#include "cuda_emu.hpp"

#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SCPX_EMU_ASAN 1 // tell ASan about every stack switch, so kernels can run under it
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

// Fiber switch without a system call (swapcontext saves the signal mask with one, which made it
// most of the emulator's run time): x86-64 System V, callee-saved registers on the stack, stack
// pointers exchanged. scpx_emu_switch(&save, load): saves the current fiber's stack pointer in
// *save and resumes the one whose saved stack pointer is `load`.
extern "C" void scpx_emu_switch(void** save, void* load);
asm(R"(
    .text
    .globl scpx_emu_switch
    .type scpx_emu_switch,@function
scpx_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size scpx_emu_switch, .-scpx_emu_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");

namespace scpx_emu {

namespace {

constexpr std::size_t kStackBytes = 256 * 1024;
constexpr std::size_t kGuardBytes = 4096; // PROT_NONE page below each stack: overflow faults
constexpr std::size_t kDefaultSmem = 48 * 1024;
constexpr std::size_t kMaxSmemOptin = 232448; // H100: 227 KiB per block

enum class fiber_state { runnable, block_wait, warp_wait, done };

struct fiber {
    void* sp = nullptr; ///< saved stack pointer while not running
    unsigned char* stack_lo = nullptr;
    void* asan_fake_stack = nullptr;
    fiber_state state = fiber_state::runnable;
    thread_state ts{};
};

/// One block in flight (blocks run one at a time per OS thread).
struct block_run {
    std::vector<fiber> threads;
    std::vector<std::array<const void*, 32>> slots; // per warp, per lane
    std::vector<unsigned char> smem;
    void* scheduler = nullptr; ///< the scheduler's saved stack pointer while a fiber runs
    const void* scheduler_stack_lo = nullptr; ///< the scheduler's stack, for ASan
    std::size_t scheduler_stack_size = 0;
    void* scheduler_fake_stack = nullptr;
    const std::function<void()>* body = nullptr;
    fiber* running = nullptr;
    bool failed = false;
    std::string error;
};

thread_local block_run* tls_block = nullptr;

/// Stacks for one launch's threads, each above a guard page; reused by every block of the launch.
class stack_pool {
public:
    explicit stack_pool(std::size_t n) : n_(n), bytes_(n * (kStackBytes + kGuardBytes)) {
        base_ = static_cast<unsigned char*>(mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (base_ == MAP_FAILED) throw std::runtime_error("cuda_emu: cannot map fiber stacks");
        for (std::size_t i = 0; i < n_; ++i) mprotect(base_ + i * (kStackBytes + kGuardBytes), kGuardBytes, PROT_NONE);
    }
    ~stack_pool() { munmap(base_, bytes_); }
    stack_pool(const stack_pool&) = delete;
    stack_pool& operator=(const stack_pool&) = delete;
    unsigned char* stack(std::size_t i) const { return base_ + i * (kStackBytes + kGuardBytes) + kGuardBytes; }

private:
    std::size_t n_, bytes_;
    unsigned char* base_ = nullptr;
};

struct runtime_state {
    std::mutex mu;
    cudaError_t last_error = cudaSuccess;
    std::map<const void*, int> max_dynamic_smem; // cudaFuncAttributeMaxDynamicSharedMemorySize
};

runtime_state& rt() {
    static runtime_state s;
    return s;
}

void set_error(cudaError_t e) {
    std::lock_guard<std::mutex> lock(rt().mu);
    if (rt().last_error == cudaSuccess) rt().last_error = e;
}

enum class schedule { forward, reverse, shuffle };

schedule schedule_from_env() {
    const char* s = std::getenv("SCPX_EMU_SCHEDULE");
    if (!s || !*s || std::string(s) == "forward") return schedule::forward;
    if (std::string(s) == "reverse") return schedule::reverse;
    if (std::string(s) == "shuffle") return schedule::shuffle;
    std::fprintf(stderr, "cuda_emu: SCPX_EMU_SCHEDULE=%s is not forward|reverse|shuffle; using forward\n", s);
    return schedule::forward;
}

/// Scheduler → fiber f; returns when f yields or finishes.
void switch_to_fiber(block_run& b, fiber& f) {
#ifdef SCPX_EMU_ASAN
    __sanitizer_start_switch_fiber(&b.scheduler_fake_stack, f.stack_lo, kStackBytes);
#endif
    scpx_emu_switch(&b.scheduler, f.sp);
#ifdef SCPX_EMU_ASAN
    __sanitizer_finish_switch_fiber(b.scheduler_fake_stack, nullptr, nullptr);
#endif
}

/// Fiber f → scheduler; returns when the scheduler resumes f (never when `finished`).
void switch_to_scheduler(block_run& b, fiber& f, bool finished) {
#ifdef SCPX_EMU_ASAN
    __sanitizer_start_switch_fiber(finished ? nullptr : &f.asan_fake_stack, b.scheduler_stack_lo, b.scheduler_stack_size);
#endif
    scpx_emu_switch(&f.sp, b.scheduler);
#ifdef SCPX_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.asan_fake_stack, nullptr, nullptr);
#else
    (void)finished;
#endif
}

void yield_to_scheduler(fiber_state why) {
    block_run* b = tls_block;
    fiber* f = b->running;
    f->state = why;
    switch_to_scheduler(*b, *f, false);
}

void fiber_entry() {
    block_run* b = tls_block;
#ifdef SCPX_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b->scheduler_stack_lo, &b->scheduler_stack_size);
#endif
    try {
        (*b->body)();
    } catch (const std::exception& e) {
        // kernel_fault (from fail()) or anything the kernel code threw.
        if (!b->failed) {
            b->failed = true;
            b->error = e.what();
        }
    }
    b->running->state = fiber_state::done;
    switch_to_scheduler(*b, *b->running, true);
    std::abort(); // a finished fiber is never resumed
}

std::string where(const thread_state& t) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "block (%u,%u,%u) thread (%u,%u,%u)", t.block_idx.x, t.block_idx.y, t.block_idx.z,
                  t.thread_idx.x, t.thread_idx.y, t.thread_idx.z);
    return buf;
}

/// Releases what can be released; false when nothing can (deadlock).
bool release(block_run& b) {
    bool released = false;
    const int n = static_cast<int>(b.threads.size());
    for (int w0 = 0; w0 < n; w0 += 32) {
        int waiting = 0, live = 0;
        for (int i = w0; i < std::min(n, w0 + 32); ++i) {
            if (b.threads[i].state == fiber_state::done) continue;
            ++live;
            if (b.threads[i].state == fiber_state::warp_wait) ++waiting;
        }
        if (live > 0 && waiting == live) {
            for (int i = w0; i < std::min(n, w0 + 32); ++i)
                if (b.threads[i].state == fiber_state::warp_wait) b.threads[i].state = fiber_state::runnable;
            released = true;
        }
    }
    if (released) return true;
    int live = 0, at_block = 0;
    for (auto& f : b.threads) {
        if (f.state == fiber_state::done) continue;
        ++live;
        if (f.state == fiber_state::block_wait) ++at_block;
    }
    if (live > 0 && at_block == live) {
        for (auto& f : b.threads) if (f.state == fiber_state::block_wait) f.state = fiber_state::runnable;
        return true;
    }
    return false;
}

std::string run_block(block_run& b, const stack_pool& stacks, const std::vector<int>& order) {
    tls_block = &b;
    for (std::size_t i = 0; i < b.threads.size(); ++i) {
        fiber& f = b.threads[i];
        f.state = fiber_state::runnable;
        // A fresh stack as scpx_emu_switch leaves it: six zeroed callee-saved registers, then
        // fiber_entry as the return address, placed so that rsp ≡ 8 (mod 16) on entry, as
        // after a call.
        f.stack_lo = stacks.stack(i);
#ifdef SCPX_EMU_ASAN
        // The previous block's frames may have left redzones on this stack.
        ASAN_UNPOISON_MEMORY_REGION(f.stack_lo, kStackBytes);
#endif
        auto* top = reinterpret_cast<void**>(stacks.stack(i) + kStackBytes - 16);
        top[0] = reinterpret_cast<void*>(&fiber_entry);
        top[1] = nullptr;
        for (int r = 1; r <= 6; ++r) top[-r] = nullptr;
        f.sp = top - 6;
    }
    for (;;) {
        for (int i : order) {
            fiber& f = b.threads[static_cast<std::size_t>(i)];
            if (f.state != fiber_state::runnable) continue;
            b.running = &f;
            tls_thread = &f.ts;
            switch_to_fiber(b, f);
            if (b.failed) return where(f.ts) + ": " + b.error;
        }
        if (std::all_of(b.threads.begin(), b.threads.end(), [](const fiber& f) { return f.state == fiber_state::done; }))
            return {};
        if (!release(b)) {
            int at_block = 0, at_warp = 0, done = 0;
            for (auto& f : b.threads) {
                at_block += f.state == fiber_state::block_wait;
                at_warp += f.state == fiber_state::warp_wait;
                done += f.state == fiber_state::done;
            }
            return where(b.threads.front().ts) + ": deadlock (" + std::to_string(at_block) + " threads at __syncthreads, " +
                   std::to_string(at_warp) + " at a warp collective whose warp is split, " + std::to_string(done) +
                   " exited)";
        }
    }
}

} // namespace

unsigned char* dynamic_shared() {
    // 128-byte aligned, as `extern __shared__ __align__(128)` is on the device.
    const auto base = reinterpret_cast<std::uintptr_t>(tls_block->smem.data());
    return reinterpret_cast<unsigned char*>((base + 127) / 128 * 128);
}

void block_barrier() { yield_to_scheduler(fiber_state::block_wait); }

void warp_barrier() { yield_to_scheduler(fiber_state::warp_wait); }

void warp_publish(const void* p) {
    const thread_state& t = *tls_thread;
    tls_block->slots[static_cast<std::size_t>(t.warp)][static_cast<std::size_t>(t.lane)] = p;
}

const void* warp_peer_or_null(int lane) {
    const thread_state& t = *tls_thread;
    const std::size_t i = static_cast<std::size_t>(t.warp) * 32 + static_cast<std::size_t>(lane);
    if (lane < 0 || lane >= 32 || i >= tls_block->threads.size() || tls_block->threads[i].state == fiber_state::done)
        return nullptr;
    return tls_block->slots[static_cast<std::size_t>(t.warp)][static_cast<std::size_t>(lane)];
}

const void* warp_peer(int lane) {
    const void* p = warp_peer_or_null(lane);
    if (!p) fail("warp collective reads lane " + std::to_string(lane) + ", which has exited or does not exist");
    return p;
}

namespace {
/// A fault found by the emulator: unwinds the thread's fiber (destructors run) to fiber_entry.
struct kernel_fault : std::runtime_error {
    using std::runtime_error::runtime_error;
};
} // namespace

void fail(const std::string& what) { throw kernel_fault(what); }

void require_full_mask(unsigned mask, const char* op) {
    if (mask != 0xffffffffu) fail(std::string(op) + ": the emulator supports full-warp masks only");
}

void run_grid(const void* func, dim3 grid, dim3 block, std::size_t smem, cudaStream_t, const std::function<void()>& body) {
    const std::size_t threads = static_cast<std::size_t>(block.x) * block.y * block.z;
    std::size_t smem_limit = kDefaultSmem;
    {
        std::lock_guard<std::mutex> lock(rt().mu);
        auto it = rt().max_dynamic_smem.find(func);
        if (it != rt().max_dynamic_smem.end()) smem_limit = static_cast<std::size_t>(it->second);
    }
    if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 ||
        grid.x > 2147483647u) {
        std::fprintf(stderr, "cuda_emu: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)\n", grid.x, grid.y,
                     grid.z, block.x, block.y, block.z);
        set_error(cudaErrorInvalidConfiguration);
        return;
    }
    if (smem > smem_limit || smem > kMaxSmemOptin) {
        std::fprintf(stderr, "cuda_emu: launch asks %zu bytes of dynamic shared memory; the limit for this kernel is %zu\n",
                     smem, std::min(smem_limit, kMaxSmemOptin));
        set_error(cudaErrorInvalidValue);
        return;
    }
    stack_pool stacks(threads);
    block_run b;
    b.threads.resize(threads);
    b.slots.resize((threads + 31) / 32);
    b.smem.resize(std::max<std::size_t>(smem, 1) + 128);
    b.body = &body;

    std::vector<int> order(threads);
    std::iota(order.begin(), order.end(), 0);
    const schedule sched = schedule_from_env();
    if (sched == schedule::reverse) std::reverse(order.begin(), order.end());
    std::mt19937 rng(12345);

    // The scheduler points the thread-locals at its fibers; leave them as found on every return.
    struct restore_tls {
        thread_state* thread = tls_thread;
        block_run* block = tls_block;
        ~restore_tls() {
            tls_thread = thread;
            tls_block = block;
        }
    } restore;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                std::fill(b.smem.begin(), b.smem.end(), static_cast<unsigned char>(0xCD));
                std::size_t i = 0;
                for (unsigned tz = 0; tz < block.z; ++tz)
                    for (unsigned ty = 0; ty < block.y; ++ty)
                        for (unsigned tx = 0; tx < block.x; ++tx, ++i) {
                            thread_state& t = b.threads[i].ts;
                            t.thread_idx = make_uint3(tx, ty, tz);
                            t.block_idx = make_uint3(bx, by, bz);
                            t.block_dim = block;
                            t.grid_dim = grid;
                            t.linear = static_cast<int>(i);
                            t.lane = static_cast<int>(i % 32);
                            t.warp = static_cast<int>(i / 32);
                        }
                if (sched == schedule::shuffle) std::shuffle(order.begin(), order.end(), rng);
                const std::string err = run_block(b, stacks, order);
                if (!err.empty()) {
                    std::fprintf(stderr, "cuda_emu: kernel fault: %s\n", err.c_str());
                    set_error(cudaErrorLaunchFailure);
                    return;
                }
            }
}

} // namespace scpx_emu

namespace nvcuda::wmma::detail {
void check_pointer(const void* p, unsigned ldm, std::size_t elem_bytes, const char* op) {
    if (reinterpret_cast<std::uintptr_t>(p) % 32 != 0)
        ::scpx_emu::fail(std::string(op) + ": pointer is not 256-bit aligned");
    if ((static_cast<std::size_t>(ldm) * elem_bytes) % 16 != 0)
        ::scpx_emu::fail(std::string(op) + ": leading dimension " + std::to_string(ldm) + " is not a multiple of 16 bytes");
}
} // namespace nvcuda::wmma::detail

// ---- the CUDA runtime API subset (synchronous; one emulated H100-like device) -----------------

namespace {
struct emu_event {
    std::chrono::steady_clock::time_point t;
};
struct emu_stream {
    unsigned flags = 0;
};
} // namespace

cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
    *device = 0; // the one emulated device
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    if (device != 0) return cudaErrorInvalidDevice;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
    if (device != 0) return cudaErrorInvalidDevice;
    std::memset(p, 0, sizeof *p);
    std::snprintf(p->name, sizeof p->name, "scpx CUDA emulator (sm_90 limits)");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 132;
    p->totalGlobalMem = std::size_t{80} << 30;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 232448;
    p->sharedMemPerMultiprocessor = 233472;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->regsPerBlock = 65536;
    p->l2CacheSize = 50 << 20;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
    if (device != 0) return cudaErrorInvalidDevice;
    switch (attr) {
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = 232448; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = 132; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; return cudaSuccess;
    default: return cudaErrorInvalidValue;
    }
}
cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || static_cast<std::size_t>(value) > scpx_emu::kMaxSmemOptin) return cudaErrorInvalidValue;
        std::lock_guard<std::mutex> lock(scpx_emu::rt().mu);
        scpx_emu::rt().max_dynamic_smem[func] = value;
    }
    return cudaSuccess;
}
cudaError_t cudaGetLastError() {
    std::lock_guard<std::mutex> lock(scpx_emu::rt().mu);
    const cudaError_t e = scpx_emu::rt().last_error;
    scpx_emu::rt().last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() {
    std::lock_guard<std::mutex> lock(scpx_emu::rt().mu);
    return scpx_emu::rt().last_error;
}
const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaError (emulated)";
    }
}
const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorLaunchFailure: return "kernel fault in the CUDA emulator (details on stderr)";
    case cudaErrorInvalidConfiguration: return "invalid launch configuration";
    case cudaErrorInvalidValue: return "invalid argument";
    default: return "emulated CUDA error";
    }
}
/// The emulated device's memory: 80 GiB, or SCPX_EMU_DEVICE_BYTES (read at every call, so a test
/// can shrink the device to make an allocation fail, as on a card whose memory is taken).
static std::size_t emu_device_bytes() {
    const char* v = std::getenv("SCPX_EMU_DEVICE_BYTES");
    return v && *v ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : std::size_t{80} << 30;
}

/// Live cudaMalloc blocks and their sizes: allocations fail when the device is full, and
/// cudaMemGetInfo reports what is left, as on a card.
struct emu_device_memory {
    std::mutex lock;
    std::map<void*, std::size_t> blocks;
    std::size_t used = 0;
};
static emu_device_memory& device_memory() {
    static auto* m = new emu_device_memory; // never destroyed: frees may come from static destructors
    return *m;
}

cudaError_t cudaMalloc(void** p, std::size_t bytes) {
    *p = nullptr;
    if (bytes == 0) return cudaSuccess;
    emu_device_memory& dm = device_memory();
    std::lock_guard<std::mutex> g(dm.lock);
    const std::size_t size = emu_device_bytes();
    if (dm.used > size || bytes > size - dm.used) return cudaErrorMemoryAllocation;
    // 256-byte alignment, as cudaMalloc guarantees; poison so uninitialised reads show.
    void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!m) return cudaErrorMemoryAllocation;
    std::memset(m, 0xCD, bytes);
    dm.blocks[m] = bytes;
    dm.used += bytes;
    *p = m;
    return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
    if (p) {
        emu_device_memory& dm = device_memory();
        std::lock_guard<std::mutex> g(dm.lock);
        const auto it = dm.blocks.find(p);
        if (it != dm.blocks.end()) {
            dm.used -= it->second;
            dm.blocks.erase(it);
        }
    }
    std::free(p);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total) {
    emu_device_memory& dm = device_memory();
    std::lock_guard<std::mutex> g(dm.lock);
    *total = emu_device_bytes();
    *free_bytes = dm.used < *total ? *total - dm.used : 0;
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t count, cudaMemcpyKind) {
    if (count) std::memmove(dst, src, count);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, count, kind);
}
cudaError_t cudaMemset(void* p, int value, std::size_t count) {
    if (count) std::memset(p, value, count);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, std::size_t count, cudaStream_t) { return cudaMemset(p, value, count); }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t* s) {
    *s = reinterpret_cast<cudaStream_t>(new emu_stream{});
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int flags) {
    *s = reinterpret_cast<cudaStream_t>(new emu_stream{flags});
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete reinterpret_cast<emu_stream*>(s);
    return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus* status) {
    *status = cudaStreamCaptureStatusNone;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = reinterpret_cast<cudaEvent_t>(new emu_event{});
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete reinterpret_cast<emu_event*>(e);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    reinterpret_cast<emu_event*>(e)->t = std::chrono::steady_clock::now();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = std::chrono::duration<float, std::milli>(reinterpret_cast<emu_event*>(b)->t - reinterpret_cast<emu_event*>(a)->t).count();
    return cudaSuccess;
}
