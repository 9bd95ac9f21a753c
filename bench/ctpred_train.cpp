// Benchmark: ctPred training of one cell type at full size (19.5k genes x 5313 features, random
// positive skewed features, chromosome split as the pipeline's, 100 epochs, batch 1000, dropout
// 0.05). Links only the training core (Eigen) and, with CUDA, scpx_kernels, so the binary runs on
// the GPU machine without HDF5/MPI. Prints one line per epoch at --verbose and a RESULT line.
//
//   bench_ctpred_train [--device cpu|cuda] [--precision fp32|fp64] [--epochs 100] [--genes 19500]
//                      [--features 5313] [--threads 2]
#include "scpx/config.hpp"
#include "scpx/core/device.hpp"
#include "scpx/ctpred/mlp.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace ct = scpx::ctpred;

namespace {

template <class T>
int run(const std::string& device, int epochs, std::int64_t genes, std::int64_t d, int threads, bool verbose) {
    using clock = std::chrono::steady_clock;
    std::mt19937_64 rng(1024);
    std::gamma_distribution<float> gam(0.5f, 1.0f); // positive and skewed, like Enformer outputs
    std::vector<T> x(static_cast<size_t>(genes * d));
    for (auto& v : x) v = static_cast<T>(gam(rng));
    std::vector<T> y(static_cast<size_t>(genes));
    for (std::int64_t i = 0; i < genes; ++i) y[static_cast<size_t>(i)] = static_cast<T>((i % 997 + 1) / 997.0);
    // Roughly the share of genes on the validation (chr7/11/14) and test (chr5/12/20) chromosomes.
    ct::split_rows split;
    for (std::int64_t i = 0; i < genes; ++i) {
        const auto r = i % 100;
        (r < 13 ? split.val : r < 25 ? split.test : split.train).push_back(i);
    }
    ct::train_options o;
    o.epochs = epochs;
    o.threads = threads;
    ct::mlp_layout lay{ct::mlp_shape{}};
    ct::mlp_shape s;
    s.d_in = d;
    lay = ct::mlp_layout(s);
    const auto init = ct::default_init<T>(lay, 1024);
    ct::mlp_data<T> data{x.data(), y.data(), genes};
    const auto t0 = clock::now();
    const std::clock_t c0 = std::clock();
    auto be = device == "cuda" ? ct::make_cuda_backend<T>(lay, data, o) : ct::make_cpu_backend<T>(lay, data, o);
    const auto t1 = clock::now();
    double first = 0;
    auto res = ct::train<T>(*be, lay, init, split, {}, o, [&](const ct::epoch_report& r) {
        if (r.epoch == 0) first = r.seconds;
        if (verbose)
            std::printf("epoch %d: train %.6f val %.6f %.3f s\n", r.epoch + 1, r.train_loss, r.val_loss, r.seconds);
    });
    const auto t2 = clock::now();
    // Process CPU time of all threads: on a shared machine it shows what dedicated cores take.
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const double setup = std::chrono::duration<double>(t1 - t0).count();
    const double total = std::chrono::duration<double>(t2 - t1).count();
    // GEMM work per epoch: forward+backward of dW0 on train rows, plus the full-pass train and
    // val evaluations (the 64x64 layers are < 3% and ignored).
    const double rows = 3.0 * static_cast<double>(split.train.size()) + static_cast<double>(split.val.size());
    const double flop = 2.0 * rows * static_cast<double>(d) * 64.0 * epochs;
    std::printf("RESULT ctpred_train device=%s precision=%s genes=%lld features=%lld epochs=%d threads=%d "
                "setup_s=%.2f total_s=%.2f cpu_s=%.2f per_epoch_s=%.3f first_epoch_s=%.3f gflops=%.1f final_train_mse=%.6f "
                "final_val_mse=%.6f\n",
                device.c_str(), sizeof(T) == 4 ? "fp32" : "fp64", static_cast<long long>(genes),
                static_cast<long long>(d), epochs, threads, setup, total, cpu, total / epochs, first, flop / total * 1e-9,
                res.train_loss.back(), res.val_loss.back());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::string device = "cpu", prec = "fp32";
    int epochs = 100, threads = 2;
    std::int64_t genes = 19500, d = 5313;
    bool verbose = false;
    CLI::App app("ctPred training benchmark: 100 epochs at full size (genes x 5313 features) on the CPU or CUDA");
    app.add_option("--device", device, "cpu | cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    app.add_option("--precision", prec, "fp32 | fp64")->check(CLI::IsMember({"fp32", "fp64"}))
        ->capture_default_str();
    app.add_option("--epochs", epochs, "training epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--genes", genes, "training genes")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--features", d, "features per gene")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--threads", threads, "CPU threads")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_flag("--verbose", verbose, "print the loss of every epoch");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        if (device == "cuda") {
#ifdef SCPX_WITH_CUDA
            if (!scpx::gpu::available()) {
                std::printf("SKIP ctpred_train: %s\n", scpx::gpu::describe().c_str());
                return 3;
            }
#else
            std::printf("SKIP ctpred_train: built without CUDA\n");
            return 3;
#endif
        }
        return prec == "fp64" ? run<double>(device, epochs, genes, d, threads, verbose)
                              : run<float>(device, epochs, genes, d, threads, verbose);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ERROR: %s\n", e.what());
        return 1;
    }
}
