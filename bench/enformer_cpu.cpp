// Benchmark of the Enformer CPU reference: the full-size model (dim 1536, depth 11, heads 8)
// with random weights, one sequence per run, timing each stage. Reports seconds/sequence,
// GFLOP/s (FLOPs as in shared/docs/enformer.md §6) and peak RSS.
//
//   bench_enformer_cpu [--threads 2] [--length 196608] [--repeats 1] [--batch 1] [--seed 1]
#include "scpx/core/error.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/ops/parallel.hpp"

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

double peak_rss_gib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB on Linux
}

/// CPU seconds used by this process (all threads): with a machine shared by other jobs this,
/// divided by the thread count, is what the wall time would be on dedicated cores.
double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double now_s() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

} // namespace

int main(int argc, char** argv) {
    int threads = 2, repeats = 1;
    std::int64_t length = 196608, batch = 1;
    std::uint64_t seed = 1;
    CLI::App app("Enformer CPU benchmark: seconds per sequence (and per stage) of the published model with "
                 "random weights");
    app.add_option("--threads", threads, "CPU threads")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--length", length, "input length in bp")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--repeats", repeats, "timed passes")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--batch", batch, "sequences per pass")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--seed", seed, "random weights and sequence")->capture_default_str();
    bool no_stages = false;
    app.add_flag("--no-stages", no_stages, "skip the per-stage timing pass");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    const bool stages = !no_stages;
    scpx::ops::set_num_threads(threads);
    scpx::model::enformer_config cfg;  // the published model
    try {
        scpx::model::enformer_check_length(cfg, length, "--length");
    } catch (const scpx::usage_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    const double t0 = now_s();
    scpx::model::enformer_model model(scpx::model::enformer_weights_random(cfg, seed));
    std::printf("model: dim %lld depth %lld heads %lld, %lld parameters, random weights in %.1f s\n",
                static_cast<long long>(cfg.dim), static_cast<long long>(cfg.depth), static_cast<long long>(cfg.heads),
                static_cast<long long>(scpx::model::enformer_weights_count(model.weights())), now_s() - t0);

    std::vector<float> onehot(static_cast<size_t>(batch * length * 4), 0.0f);
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (std::int64_t i = 0; i < batch * length; ++i) onehot[static_cast<size_t>(i * 4 + rng() % 4)] = 1.0f;

    const double flops = model.flops_per_sequence(length) * static_cast<double>(batch);
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < repeats; ++r) {
        scpx::model::enformer_run_options opt;
        opt.heads = {"human"};
        double last = now_s(), last_cpu = cpu_s();
        if (stages) {
            // Stage timing through the trace hook: each call marks the end of a stage.
            opt.trace = [&](const std::string& name, const float*, const std::vector<std::int64_t>&) {
                if (name.find("/conv5") != std::string::npos || name.find("/residual") != std::string::npos ||
                    name.find("/attn_residual") != std::string::npos)
                    return;
                const double t = now_s(), c = cpu_s();
                std::printf("  %-22s %7.2f s wall %7.2f s cpu\n", name.c_str(), t - last, c - last_cpu);
                last = t;
                last_cpu = c;
            };
        }
        model.relative_keys(0, length >> cfg.num_downsamples);  // per-length table: load-time work
        const double start = now_s(), start_cpu = cpu_s();
        const auto out = model.predict(onehot.data(), batch, length, opt);
        const double s = now_s() - start, cpu = cpu_s() - start_cpu;
        best_cpu = std::min(best_cpu, cpu);
        best = std::min(best, s);
        std::printf("run %d: %.2f s wall, %.2f s cpu for %lld x %lld bp (%.2f s/sequence), human[0] = %.4f\n", r + 1, s,
                    cpu, static_cast<long long>(batch), static_cast<long long>(length), s / static_cast<double>(batch),
                    static_cast<double>(out.heads.at("human")[0]));
    }
    std::printf("RESULT length %lld threads %d batch %lld: %.2f s/sequence wall, %.1f seq/min, %.1f GFLOP/s "
                "(%.2f TFLOP/sequence), peak RSS %.2f GiB; cpu %.2f s/sequence = %.2f s on %d dedicated cores "
                "(%.1f GFLOP/s per core)\n",
                static_cast<long long>(length), threads, static_cast<long long>(batch), best / static_cast<double>(batch),
                60.0 * static_cast<double>(batch) / best, flops / best / 1e9, flops / static_cast<double>(batch) / 1e12,
                peak_rss_gib(), best_cpu / static_cast<double>(batch), best_cpu / static_cast<double>(batch) / threads,
                threads, flops / best_cpu / 1e9);
    return 0;
}
