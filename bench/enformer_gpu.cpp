// Benchmark of the Enformer GPU path (enformer_gpu.hpp): the published model (dim 1536, depth 11,
// heads 8) with random weights, for each precision × length × batch: one warm-up pass, then
// `--reps` timed passes (host-synchronous predict: input upload, trunk, crop, final pointwise,
// human head, result download). The input is DNA letters uploaded as bytes and encoded on the
// device (predict_bases, what `scpx features` does); `--input onehot` uploads fp32 one-hot rows. By default the heads run on the 4 central bins only, as
// `scpx features` asks (the trunk, ~99 % of the FLOPs, always runs in full); `--bins 0` computes
// and downloads all 896 bins (19 MB per sequence through pageable memory).
// Reports seq/s, achieved TFLOP/s (enformer_model::flops_per_sequence,
// shared/docs/enformer.md §6 accounting), device memory (the model's own count and the
// cudaMemGetInfo delta, which also sees cuBLAS/cuDNN workspaces), and per precision a table of
// the convolution shapes timed custom vs cuDNN vs GEMM, then the tuned cuBLASLt algorithms
// (conv_backend "auto").
//
//   bench_enformer_gpu [--lengths 196608,393216] [--batches 1,4,8] [--precisions fp32,tf32,bf16]
//                      [--reps 3] [--conv-backend auto|custom|cudnn] [--attention auto|gemm|fused|flash] [--pool gemm|fused]
//                      [--input bases|onehot] [--gemm-tune N] [--gemm-chunk ROWS] [--pool-chunk PAIRS]
//                      [--pool-bf16-logits 0|1] [--batch-gemms -1|0|1]
//                      [--table-length BP]
//                      [--table-batch B] [--no-table] [--csv FILE] [--seed S] [--device N] [--bins 4]
//
// Peer baseline at 196,608 bp on an H100 (enformer.md §8, enformer-pytorch eager): fp32 8.8,
// TF32 31.8, bf16 38.1 seq/s at batch 8; 97 seq/s with torch.compile bf16.
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/model/enformer_gpu.hpp"
#include "scpx/ops/parallel.hpp"
#include "scpx/seq/onehot.hpp"

#include <CLI/CLI.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using scpx::gpu::precision;

double now_s() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

/// Bytes of device memory in use (all processes), or 0 when the query fails.
double used_bytes() {
    std::size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return static_cast<double>(total_b - free_b);
}

struct result {
    std::string prec, backend;
    std::int64_t length = 0, batch = 0;
    int reps = 0;
    double best_s = 0, mean_s = 0, seq_per_s = 0, tflops = 0, model_gib = 0, used_gib = 0;
    std::string stages; ///< mean device ms per pass and share of each stage (the timed passes)
    std::string status = "ok";
};

struct bench_options {
    int reps = 3;
    std::int64_t bins = 4; ///< central output bins per sequence (0: all)
    std::uint64_t seed = 1;
    std::string input = "bases"; ///< bases | onehot
};

/// Random A/C/G/T letters, batch·length of them.
std::string random_bases(std::int64_t batch, std::int64_t length, std::uint64_t seed) {
    std::string bases(static_cast<std::size_t>(batch * length), 'A');
    std::mt19937_64 rng(seed);
    for (auto& b : bases) b = "ACGT"[rng() % 4];
    return bases;
}

/// "stem 1.23 ms (4%) | conv tower …": mean device time per pass of each stage and its share.
std::string stage_summary(const std::vector<scpx::model::enformer_stage_time>& times) {
    double total = 0;
    for (const auto& t : times) total += t.calls > 0 ? t.ms / static_cast<double>(t.calls) : 0.0;
    std::string out;
    for (const auto& t : times) {
        if (t.calls == 0) continue;
        const double ms = t.ms / static_cast<double>(t.calls);
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %.2f ms (%.0f%%)", out.empty() ? "" : " | ", t.stage.c_str(), ms,
                      total > 0 ? 100.0 * ms / total : 0.0);
        out += buf;
    }
    return out;
}

/// Warm-up + timed passes of one (length, batch) on an existing GPU model.
result measure(scpx::model::enformer_gpu_model& gm, const scpx::model::enformer_model& cpu, const std::string& prec,
               const std::string& backend, std::int64_t length, std::int64_t batch, const bench_options& o,
               double used_before) {
    result r;
    r.prec = prec;
    r.backend = backend;
    r.length = length;
    r.batch = batch;
    r.reps = o.reps;
    try {
        const std::string bases = random_bases(batch, length, o.seed + static_cast<std::uint64_t>(batch));
        const std::vector<float> onehot =
            o.input == "onehot" ? scpx::seq::onehot_ref(bases, scpx::seq::onehot_n_mode::ZERO) : std::vector<float>{};
        scpx::model::enformer_gpu_request req;
        req.heads = {"human"};
        if (o.bins > 0) {
            const std::int64_t target = cpu.config().target_length;
            req.bins = std::min(o.bins, target);
            req.bin0 = (target - req.bins) / 2;
        }
        gm.reserve(batch, length);
        const auto pass = [&] {
            return o.input == "onehot" ? gm.predict(onehot.data(), batch, length, req)
                                       : gm.predict_bases(bases, batch, length, scpx::seq::onehot_n_mode::ZERO, req);
        };
        const auto warm = pass();  // also AUTO's per-shape timing
        if (warm.heads.at("human").empty()) throw scpx::error("empty human head output");
        double best = 1e30, total = 0;
        gm.reset_stage_times();
        for (int i = 0; i < o.reps; ++i) {
            const double t0 = now_s();
            pass();
            const double s = now_s() - t0;
            best = std::min(best, s);
            total += s;
        }
        r.best_s = best;
        r.mean_s = total / std::max(1, o.reps);
        r.seq_per_s = static_cast<double>(batch) / best;
        r.tflops = cpu.flops_per_sequence(length) * static_cast<double>(batch) / best / 1e12;
        r.model_gib = static_cast<double>(gm.device_bytes()) / kGiB;
        r.used_gib = (used_bytes() - used_before) / kGiB;
        r.stages = stage_summary(gm.stage_times());
    } catch (const std::exception& e) {
        r.status = std::string("FAILED: ") + e.what();
        cudaGetLastError();
    }
    return r;
}

void print_header() {
    std::printf("%-5s %-7s %8s %5s %9s %9s %8s %8s %9s %9s  %s\n", "prec", "conv", "length", "batch", "best s",
                "mean s", "seq/s", "TFLOP/s", "model GiB", "used GiB", "status");
}

void print_row(const result& r, std::FILE* csv) {
    std::printf("%-5s %-7s %8lld %5lld %9.4f %9.4f %8.2f %8.1f %9.2f %9.2f  %s\n", r.prec.c_str(), r.backend.c_str(),
                static_cast<long long>(r.length), static_cast<long long>(r.batch), r.best_s, r.mean_s, r.seq_per_s,
                r.tflops, r.model_gib, r.used_gib, r.status.c_str());
    if (!r.stages.empty()) std::printf("      stages: %s\n", r.stages.c_str());
    std::fflush(stdout);
    if (csv) {
        std::string status = r.status;
        std::replace(status.begin(), status.end(), ',', ';');
        std::replace(status.begin(), status.end(), '\n', ' ');
        std::string stages = r.stages;
        std::replace(stages.begin(), stages.end(), ',', ';');
        std::fprintf(csv, "%s,%s,%lld,%lld,%d,%.6f,%.6f,%.4f,%.3f,%.4f,%.4f,%s,%s\n", r.prec.c_str(), r.backend.c_str(),
                     static_cast<long long>(r.length), static_cast<long long>(r.batch), r.reps, r.best_s, r.mean_s,
                     r.seq_per_s, r.tflops, r.model_gib, r.used_gib, status.c_str(), stages.c_str());
        std::fflush(csv);
    }
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::int64_t> lengths = {196608, 393216}, batches = {1, 4, 8};
    std::vector<std::string> precisions = {"fp32", "tf32", "bf16"};
    std::string backend = "auto", attention = "auto", pool = "gemm", csv_path;
    std::int64_t table_length = 0, table_batch = 1;
    bool no_table = false;
    int device = 0, threads = 0, gemm_tune = -1;
    const scpx::model::enformer_gpu_options defaults;
    std::int64_t gemm_chunk = defaults.gemm_chunk_rows, pool_chunk = defaults.pool_chunk_pairs;
    int pool_bf16_logits = defaults.pool_bf16_logits ? 1 : 0, batch_gemms = defaults.batch_gemms;
    int flash_rows = defaults.flash_query_rows, fused_stem = defaults.fused_stem ? 1 : 0;
    int fold_bias = defaults.fold_conv_bias ? 1 : 0, batch_steps = defaults.batch_steps;
    bench_options o;
    CLI::App app("Enformer GPU benchmark: seq/s, TFLOP/s and memory per precision x length x batch, plus "
                 "the custom-vs-cuDNN convolution table");
    app.add_option("--lengths", lengths, "input lengths in bp")->delimiter(',')->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--batches", batches, "batch sizes")->delimiter(',')->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--precisions", precisions, "fp32, tf32, bf16")->delimiter(',')->capture_default_str();
    app.add_option("--reps", o.reps, "timed passes per configuration (the best is reported)")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--bins", o.bins, "central output bins of the heads (0: all 896, downloaded)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--conv-backend", backend, "convolutions of the timed runs")
        ->check(CLI::IsMember({"custom", "cudnn", "auto"}))->capture_default_str();
    app.add_option("--attention", attention, "attention core of the timed runs (flash: tf32/bf16; fp32 runs gemm)")
        ->check(CLI::IsMember({"auto", "gemm", "fused", "flash"}))->capture_default_str();
    app.add_option("--pool", pool, "softmax pooling of the timed runs")
        ->check(CLI::IsMember({"gemm", "fused"}))->capture_default_str();
    app.add_option("--gemm-tune", gemm_tune, "cuBLASLt algorithms timed per GEMM shape (-1: 8 under --conv-backend "
                   "auto, else 0; 0: the heuristic's first)")->check(CLI::Range(-1, 64))->capture_default_str();
    app.add_option("--gemm-chunk", gemm_chunk, "rows per transform + GEMM step of the GEMM convolutions (0: a whole "
                   "sequence)")->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--pool-chunk", pool_chunk, "pairs per chunk of the cuBLASLt softmax pool (0: a whole sequence)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--pool-bf16-logits", pool_bf16_logits, "bf16: the pool's logit differences in bf16 (1) or fp32 (0)")
        ->check(CLI::Range(0, 1))->capture_default_str();
    app.add_option("--batch-gemms", batch_gemms, "transformer and head GEMMs over the whole batch (1), per sequence (0), "
                   "or -1: batched under --conv-backend auto")->check(CLI::Range(-1, 1))->capture_default_str();
    app.add_option("--batch-steps", batch_steps, "pointwise-conv GEMM steps and pool chunks across sequences (1), per "
                   "sequence (0), or -1: as --batch-gemms")->check(CLI::Range(-1, 1))->capture_default_str();
    app.add_option("--flash-rows", flash_rows, "query rows per block of the flash attention core (0: 64)")
        ->check(CLI::IsMember({0, 64, 128}))->capture_default_str();
    app.add_option("--fused-stem", fused_stem, "bf16: the stem conv writes the pointwise block's input too (1) or "
                   "a separate BN-GELU pass makes it (0)")->check(CLI::Range(0, 1))->capture_default_str();
    app.add_option("--fold-bias", fold_bias, "the stem's and tower's wide convolutions hand their bias to the pointwise block "
                   "after them (1), or add it themselves (0; cuDNN then needs a bias pass)")->check(CLI::Range(0, 1))
        ->capture_default_str();
    app.add_option("--input", o.input, "how the sequences reach the GPU: bases (a byte per base, encoded there) | "
                   "onehot (fp32 rows)")
        ->check(CLI::IsMember({"bases", "onehot"}))->capture_default_str();
    app.add_option("--table-length", table_length, "length of the conv-shape table (default: the shortest)")
        ->check(CLI::PositiveNumber);
    app.add_option("--table-batch", table_batch, "batch of the conv-shape table")->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_flag("--no-table", no_table, "skip the custom-vs-cuDNN table");
    app.add_option("--csv", csv_path, "also write the rows as CSV");
    app.add_option("--seed", o.seed, "random weights and sequences")->capture_default_str();
    app.add_option("--device", device, "CUDA device ordinal")->capture_default_str();
    app.add_option("--threads", threads, "CPU threads for the random weights (0: all)")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        for (const std::string& p : precisions) scpx::gpu::parse_precision(p);
    } catch (const scpx::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    std::sort(lengths.begin(), lengths.end());  // ascending: the arena only grows
    std::sort(batches.begin(), batches.end());
    if (table_length == 0) table_length = lengths.front();

    if (!scpx::gpu::available()) {
        std::printf("RESULT no GPU: %s\n", scpx::gpu::describe().c_str());
        return 1;
    }
    std::printf("device: %s\n", scpx::gpu::describe().c_str());
    scpx::ops::set_num_threads(threads);

    scpx::model::enformer_config cfg;  // the published model
    const double t0 = now_s();
    const scpx::model::enformer_model cpu(scpx::model::enformer_weights_random(cfg, o.seed));
    std::printf("model: dim %lld depth %lld heads %lld, %lld parameters, random weights in %.1f s; "
                "%.2f TFLOP/sequence at %lld bp; human head on %s\n",
                static_cast<long long>(cfg.dim), static_cast<long long>(cfg.depth), static_cast<long long>(cfg.heads),
                static_cast<long long>(scpx::model::enformer_weights_count(cpu.weights())), now_s() - t0,
                cpu.flops_per_sequence(lengths.front()) / 1e12, static_cast<long long>(lengths.front()),
                o.bins > 0 ? (std::to_string(o.bins) + " central bins").c_str() : "all bins");

    std::FILE* csv = nullptr;
    if (!csv_path.empty()) {
        csv = std::fopen(csv_path.c_str(), "w");
        if (!csv) {
            std::fprintf(stderr, "cannot write %s\n", csv_path.c_str());
            return 2;
        }
        std::fprintf(csv, "precision,conv_backend,length,batch,reps,best_s,mean_s,seq_per_s,tflops,model_gib,used_gib,"
                          "status,stages\n");
    }

    std::vector<result> results;
    std::vector<std::string> reports;
    int failures = 0;
    print_header();
    for (const std::string& prec : precisions) {
        scpx::model::enformer_gpu_options opt;
        opt.prec = scpx::gpu::parse_precision(prec);
        opt.conv_backend = backend;
        opt.attention = attention;
        opt.pool = pool;
        opt.gemm_tune = gemm_tune;
        opt.gemm_chunk_rows = gemm_chunk;
        opt.pool_chunk_pairs = pool_chunk;
        opt.pool_bf16_logits = pool_bf16_logits != 0;
        opt.batch_gemms = batch_gemms;
        opt.flash_query_rows = flash_rows;
        opt.fused_stem = fused_stem != 0;
        opt.fold_conv_bias = fold_bias != 0;
        opt.batch_steps = batch_steps;
        opt.device = device;
        opt.profile_stages = true; // CUDA events between stages: a few µs per pass
        // Each precision gets a fresh model, so memory and conv choices do not carry over.
        for (const bool table_run : {false, true}) {
            if (table_run && (no_table || backend == "auto")) continue;
            if (table_run) opt.conv_backend = "auto";
            const double used_before = used_bytes();
            try {
                const double tu = now_s();
                scpx::model::enformer_gpu_model gm(cpu.weights(), opt);
                if (!table_run && prec == precisions.front())
                    std::printf("# %s; weights uploaded in %.1f s\n", gm.describe().c_str(), now_s() - tu);
                if (!table_run) {
                    for (std::int64_t length : lengths)
                        for (std::int64_t batch : batches) {
                            results.push_back(measure(gm, cpu, prec, opt.conv_backend, length, batch, o, used_before));
                            print_row(results.back(), csv);
                            failures += results.back().status != "ok";
                        }
                } else {
                    results.push_back(measure(gm, cpu, prec, "auto", table_length, table_batch, o, used_before));
                    print_row(results.back(), csv);
                    failures += results.back().status != "ok";
                }
                if (table_run || backend == "auto")
                    reports.push_back("conv shapes " + prec + " (" + std::to_string(table_run ? table_length : lengths.back()) +
                                      " bp, auto: custom vs cuDNN vs GEMM, best of 3; then the tuned GEMM algorithms):\n" + gm.conv_report());
            } catch (const std::exception& e) {
                result r;
                r.prec = prec;
                r.backend = opt.conv_backend;
                r.status = std::string("FAILED: ") + e.what();
                results.push_back(r);
                print_row(r, csv);
                ++failures;
                cudaGetLastError();
            }
        }
    }
    if (csv) std::fclose(csv);

    for (const std::string& rep : reports) std::printf("\n%s", rep.c_str());
    std::printf("\nRESULT enformer_gpu (seq/s; peer enformer-pytorch H100 196,608 bp b=8: fp32 8.8, tf32 31.8, bf16 38.1)\n");
    print_header();
    for (const result& r : results) print_row(r, nullptr);
    return failures == 0 ? 0 : 1;
}
