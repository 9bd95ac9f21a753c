// MPI test program for the collective row-block writer.
//
//   mpi_h5_writer_test --out FILE [--genes N] [--batch B] [--resume] [--crash-after R]
//                      [--split N --job K]
//
// Partitions N synthetic genes with uneven costs across the ranks, computes a deterministic row
// per gene (float, double, int and string columns) and writes them through io::h5_row_writer.
// The output must be byte-identical at any rank count (checked by scpx_add_mpi_test).
// --crash-after R: after R collective rounds every rank exits at once, without closing the file
// or finalising MPI, like a job killed by its time limit (exit code 3). --resume then finishes
// the temporary output; the result must equal an uninterrupted run.
// --split N --job K (SLURM arrays): only the job's block of genes (by cost), as rows 0..n_job-1;
// the N parts concatenated equal the unsplit output's datasets.
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/io/h5_writer.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace io = scpx::io;
namespace dist = scpx::dist;

namespace {

constexpr hsize_t kTracks = 6;

double cost_of(std::size_t g) {
    // Uneven, with some zero-cost genes: exercises the cost partition.
    const std::size_t h = (g * 2654435761u) % 101;
    return h < 10 ? 0.0 : static_cast<double>(1 + h % 37);
}

struct args {
    std::string out;
    std::size_t genes = 1000, batch = 37;
    bool resume = false;
    long crash_after = -1;
    long long split = 1, job = 0;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw scpx::usage_error(k + " needs a value");
            return argv[++i];
        };
        if (k == "--out")
            a.out = value();
        else if (k == "--genes")
            a.genes = std::stoul(value());
        else if (k == "--batch")
            a.batch = std::stoul(value());
        else if (k == "--resume")
            a.resume = true;
        else if (k == "--crash-after")
            a.crash_after = std::stol(value());
        else if (k == "--split")
            a.split = std::stoll(value());
        else if (k == "--job")
            a.job = std::stoll(value());
        else
            throw scpx::usage_error("unknown option " + k);
    }
    if (a.out.empty()) throw scpx::usage_error("--out is required");
    return a;
}

void run(const args& a) {
    std::vector<double> costs(a.genes);
    for (std::size_t g = 0; g < a.genes; ++g)
        costs[g] = cost_of(g);
    const dist::split_spec split = dist::make_split(a.split, a.job);
    const dist::index_range job = dist::split_range(costs, split);
    const dist::index_range in_job = dist::rank_range(costs, split);
    // Rows of this output are genes job.begin.. renumbered from 0.
    const std::size_t n = job.size(), g0 = job.begin;
    const dist::index_range mine{in_job.begin - g0, in_job.end - g0};

    io::h5_provenance prov;
    prov.stage = "mpi-h5-writer-test";
    // Only options that change the output: not --resume, --crash-after or the rank count.
    prov.command = "mpi_h5_writer_test --genes " + std::to_string(a.genes) + " --batch " +
                   std::to_string(a.batch) + " --split " + std::to_string(a.split) + " --job " +
                   std::to_string(a.job);
    prov.inputs = {"synthetic"};
    io::h5_writer_options opt;
    opt.done_rows = n;
    opt.resume = a.resume;
    const std::vector<io::h5_dataset_spec> layout = {
        {"gene_id", io::h5_dtype::str, {n}, 16, "synthetic gene id", {}},
        {"/pred/expr", io::h5_dtype::f32, {n, kTracks}, 0, "per-track value", {{"unit", "none"}}},
        {"stats", io::h5_dtype::f64, {n, 2}, 0, "", {}},
        {"n_snps", io::h5_dtype::i32, {n}, 0, "", {}},
        {"position", io::h5_dtype::i64, {n}, 0, "", {}},
        {"fit_status", io::h5_dtype::u8, {n}, 0, "", {}},
        {"tracks", io::h5_dtype::str, {kTracks}, 12, "", {}},
    };
    io::h5_row_writer w(a.out, layout, prov, opt);
    std::vector<std::string> tracks;
    for (hsize_t t = 0; t < kTracks; ++t)
        tracks.push_back("track_" + std::to_string(t));
    w.write_all("tracks", tracks);

    // Rows still to do, visited in an interleaved order so batches are non-contiguous lists.
    std::vector<hsize_t> todo = w.pending_rows(mine.begin, mine.end);
    std::stable_partition(todo.begin(), todo.end(), [](hsize_t r) { return r % 2 == 0; });
    const std::size_t rounds = dist::collective_rounds(todo.size(), a.batch);
    for (std::size_t round = 0; round < rounds; ++round) {
        if (a.crash_after >= 0 && round == static_cast<std::size_t>(a.crash_after)) {
            scpx::mpi::barrier();
            std::fflush(nullptr);
            std::_Exit(3); // no close, no MPI_Finalize: the file is left as a kill would
        }
        const std::size_t lo = std::min(todo.size(), round * a.batch);
        const std::size_t hi = std::min(todo.size(), lo + a.batch);
        const std::vector<hsize_t> rows(todo.begin() + static_cast<long>(lo),
                                        todo.begin() + static_cast<long>(hi));
        std::vector<std::string> ids;
        std::vector<float> expr;
        std::vector<double> stats;
        std::vector<std::int32_t> nsnp;
        std::vector<std::int64_t> pos;
        std::vector<std::uint8_t> status;
        for (hsize_t row : rows) {
            const hsize_t r = row + g0; // the gene
            ids.push_back("ENSG" + std::to_string(100000 + r));
            for (hsize_t t = 0; t < kTracks; ++t)
                expr.push_back(static_cast<float>(std::sin(0.01 * static_cast<double>(r * kTracks + t))));
            stats.push_back(costs[r] / 3.0);
            stats.push_back(std::sqrt(static_cast<double>(r)));
            nsnp.push_back(static_cast<std::int32_t>(costs[r]));
            pos.push_back(static_cast<std::int64_t>(r) * 1000003LL + (std::int64_t{1} << 32));
            status.push_back(static_cast<std::uint8_t>(r % 4));
        }
        w.write_rows("gene_id", rows, ids);
        w.write_rows("pred/expr", rows, expr);
        w.write_rows("stats", rows, stats);
        w.write_rows("n_snps", rows, nsnp);
        w.write_rows("position", rows, pos);
        w.write_rows("fit_status", rows, status);
        w.mark_done(rows);
    }
    w.finish();
    if (scpx::mpi::is_root())
        SCPX_LOG_INF("wrote {} ({} genes, {} ranks{})", a.out, n, scpx::mpi::comm_size(),
                     w.resumed() ? ", resumed" : "");
}

} // namespace

int main(int argc, char** argv) {
    scpx::mpi::session mpi(argc, argv);
    scpx::log::init(scpx::mpi::comm_rank(), scpx::mpi::comm_size(), scpx::log::level::info);
    try {
        run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "[rank %d] ERROR: %s\n", scpx::mpi::comm_rank(), e.what());
        scpx::mpi::abort_all(1);
    }
    return 0;
}
