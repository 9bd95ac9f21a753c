// `scpx features reference`: Enformer features of the reference genome, one window per gene
// centred on its TSS (pipeline.md §1): the ctPred training input. MPI ranks share the genes; a
// killed run resumes with --resume and the finished file is byte-identical to an uninterrupted one
// (io::h5_row_writer's protocol).
#include "scpx/cli/commands.hpp"
#include "scpx/cli/enformer_options.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/dist/rank_report.hpp"
#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/h5_writer.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/model/enformer_runner.hpp"
#include "scpx/ops/parallel.hpp"
#include "scpx/seq/fasta.hpp"
#include "scpx/seq/onehot.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scpx::cli {

namespace {

struct features_options {
    common_options common;
    std::string fasta, annotation, weights;
    std::int64_t seq_len = 393216;
    std::int64_t batch = 0; ///< 0: enformer_runner::choose_batch decides
    std::int64_t center_bins = 4;
    std::string n_mode = "zero";
    std::vector<std::string> gene_types{"protein_coding"};
    bool resume = false;
    model::enformer_device_options dev;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

/// One round's windows: the genes' rows in the output, their bases back to back, and the
/// identifying columns written beside the features.
struct window_batch {
    std::vector<hsize_t> part;
    std::string bases;
    std::vector<std::string> ids, names, chroms;
    std::vector<std::int64_t> tss;
    double seconds = 0.0; ///< time spent reading the FASTA
};

/// Reads the windows of rows `part` (TSS-centred, seq_len bp) from `fa`.
window_batch fetch_windows(seq::fasta_reader& fa, const std::vector<io::gene_record>& rows, std::vector<hsize_t> part,
                           std::int64_t seq_len) {
    const stopwatch fetch_clock;
    window_batch w;
    w.part = std::move(part);
    std::string one;
    w.bases.reserve(w.part.size() * static_cast<std::size_t>(seq_len));
    for (const hsize_t r : w.part) {
        const auto& g = rows[r];
        const auto win = seq::tss_window(g.chrom, g.tss, seq_len);
        fa.fetch_into(win.chrom, win.start, win.end, one);
        w.bases += one;
        w.ids.push_back(g.gene_id);
        w.names.push_back(g.gene_name);
        w.chroms.push_back(g.chrom);
        w.tss.push_back(g.tss);
    }
    w.seconds = fetch_clock.seconds();
    return w;
}

/// Opens the FASTA on every rank. A missing index is built (and the FASTA surveyed, with its
/// warnings) by rank 0 alone before the others open the file: ranks building it together would
/// write the same .fai at once, and a rank could load one that another is still writing.
seq::fasta_reader open_fasta_on_every_rank(const std::string& path) {
    if (mpi::comm_size() == 1) return seq::fasta_reader(path);
    if (!mpi::is_root()) {
        mpi::barrier(); // if rank 0 fails instead, its error ends every rank (main's fail())
        // Never a second build: a node whose view of a shared file system lags behind rank 0's
        // gets an error naming the missing index instead of a concurrent rebuild.
        return seq::fasta_reader(path, /*build_index=*/false);
    }
    seq::fasta_reader fa(path);
    mpi::barrier();
    return fa;
}

std::size_t max_len(const std::vector<io::gene_record>& genes, std::string io::gene_record::*field) {
    std::size_t n = 1;
    for (const auto& g : genes) n = std::max(n, (g.*field).size());
    return n;
}

void run_features(const features_options& o) {
    if (o.n_mode != "zero" && o.n_mode != "quarter") throw usage_error("--n-mode must be 'zero' or 'quarter'");
    const auto n_mode = o.n_mode == "zero" ? seq::onehot_n_mode::ZERO : seq::onehot_n_mode::QUARTER;
    ops::set_num_threads(o.common.threads);
    model::enformer_check_device_options(o.dev);

    model::enformer_runner model(model::enformer_weights_load(o.weights), o.dev);
    dist::log_rank_devices("Enformer", model.describe(), model.on_gpu());
    const auto& cfg = model.config();
    model::enformer_check_length(cfg, o.seq_len, "--seq-len");
    const std::int64_t batch_size = model.choose_batch(o.batch, o.seq_len, std::numeric_limits<std::int64_t>::max());
    if (model.on_gpu()) {
        SCPX_LOG_INF("GPU memory for batch {} x {} bp: {:.2f} GiB", batch_size, o.seq_len,
                     static_cast<double>(model.device_bytes()) / 1073741824.0);
    }
    const std::int64_t tracks = cfg.head_size("human");
    if (tracks < 0) throw usage_error(o.weights + ": the model has no 'human' head");
    const std::int64_t bins = cfg.target_length;
    if (o.center_bins < 1 || o.center_bins > bins || (bins - o.center_bins) % 2 != 0)
        throw usage_error("--center-bins must be in [1, " + std::to_string(bins) + "] with an even difference to " +
                          std::to_string(bins));
    const std::int64_t first_bin = (bins - o.center_bins) / 2;

    seq::fasta_reader fa = open_fasta_on_every_rank(o.fasta);
    // Genes whose chromosome is missing from the FASTA (naming mismatch, unplaced contigs) or
    // whose TSS lies beyond the contig (another genome build) cannot be windowed: count, show
    // examples, and stop when nothing is left. Windows that run past a contig end are N-padded.
    // The contig test runs inside the reader, so that a gene id repeated on a contig the FASTA
    // lacks (UCSC-style chrUn/_random/_alt copies) is not taken for a duplicate.
    std::vector<std::string> no_contig, outside;
    std::size_t n_no_contig = 0, n_outside = 0;
    io::annotation_options ao;
    ao.gene_types = gene_types_filter(o.gene_types);
    ao.keep = [&](const io::gene_record& g) {
        if (fa.has_contig(g.chrom)) return true;
        if (no_contig.size() < 3) no_contig.push_back(g.gene_id + " on " + g.chrom);
        ++n_no_contig;
        return false;
    };
    const auto all_genes = io::read_gene_annotation(o.annotation, ao);
    std::vector<io::gene_record> genes;
    for (const auto& g : all_genes) {
        if (g.tss < 1 || g.tss > fa.contig_length(g.chrom)) {
            if (outside.size() < 3)
                outside.push_back(g.gene_id + " TSS " + g.chrom + ":" + std::to_string(g.tss) + " (contig length " +
                                  std::to_string(fa.contig_length(g.chrom)) + ")");
            ++n_outside;
            continue;
        }
        genes.push_back(g);
    }
    if (n_no_contig > 0)
        SCPX_LOG_WRN_SHARED("{} gene(s) skipped: chromosome not in {} (e.g. {})", n_no_contig, o.fasta,
                            join(no_contig, "; "));
    if (n_outside > 0)
        SCPX_LOG_WRN_SHARED("{} gene(s) skipped: TSS outside the FASTA contig, wrong genome build? (e.g. {})",
                            n_outside, join(outside, "; "));
    if (genes.empty()) {
        // Only the reasons that occurred, each with its examples.
        std::vector<std::string> why;
        if (n_no_contig > 0)
            why.push_back(std::to_string(n_no_contig) + " on unknown contigs, e.g. " + join(no_contig, ", "));
        if (n_outside > 0)
            why.push_back(std::to_string(n_outside) + " with the TSS outside their contig, e.g. " + join(outside, ", "));
        throw input_error(o.annotation, "", "chrom",
                          "no gene can be placed on " + o.fasta + " (" + join(why, "; ") +
                              "); check chromosome naming and genome build");
    }

    // This job's block of genes (--split/--job), then this rank's share of it.
    const dist::split_spec split = dist::make_split(o.common.split, o.common.job);
    const std::vector<double> costs(genes.size(), 1.0);
    const dist::index_range job = dist::split_range(costs, split);
    const std::vector<io::gene_record> rows(genes.begin() + static_cast<std::ptrdiff_t>(job.begin),
                                            genes.begin() + static_cast<std::ptrdiff_t>(job.end));
    const hsize_t n_rows = rows.size();
    if (n_rows == 0) throw usage_error("--split/--job: this job has no gene");
    SCPX_LOG_INF("{} gene(s) in this output (job {} of {}), {} bp windows, {} rank(s)", n_rows, split.job,
                 split.n_splits, o.seq_len, mpi::comm_size());

    io::h5_provenance prov;
    prov.stage = "features-reference";
    prov.command = "scpx features reference --fasta " + o.fasta + " --annotation " + o.annotation + " --weights " +
                   o.weights + " --seq-len " + std::to_string(o.seq_len) + " --center-bins " +
                   std::to_string(o.center_bins) + " --n-mode " + o.n_mode + " --gene-types " +
                   join(o.gene_types, ",") + " --split " + std::to_string(split.n_splits) + " --job " +
                   std::to_string(split.job);
    prov.inputs = {o.fasta, o.annotation, o.weights};
    prov.extra = {{"enformer_config", cfg.to_json()},
                  {"feature", "mean of the human head over output bins [" + std::to_string(first_bin) + ", " +
                                  std::to_string(first_bin + o.center_bins) + ") of each TSS-centred window"}};
    io::h5_writer_options wo;
    wo.done_rows = n_rows;
    wo.resume = o.resume;
    wo.overwrite = o.common.overwrite;
    auto spec = [](std::string name, io::h5_dtype t, std::vector<hsize_t> shape, std::size_t str_len,
                   std::string description) {
        io::h5_dataset_spec s;
        s.name = std::move(name);
        s.dtype = t;
        s.shape = std::move(shape);
        s.str_len = str_len;
        s.description = std::move(description);
        return s;
    };
    io::h5_row_writer w(
        o.common.out,
        {spec("gene_id", io::h5_dtype::str, {n_rows}, max_len(rows, &io::gene_record::gene_id), "as in the annotation"),
         spec("gene_name", io::h5_dtype::str, {n_rows}, max_len(rows, &io::gene_record::gene_name), ""),
         spec("chrom", io::h5_dtype::str, {n_rows}, max_len(rows, &io::gene_record::chrom), "as in the annotation"),
         spec("tss", io::h5_dtype::i64, {n_rows}, 0, "1-based TSS position"),
         spec("features", io::h5_dtype::f32, {n_rows, static_cast<hsize_t>(tracks)}, 0,
              "[genes, tracks] mean of the central output bins of the Enformer human head")},
        prov, wo);
    if (w.resumed())
        SCPX_LOG_INF("resuming {}: {} of {} gene(s) already done", w.temp_path(),
                     std::count(w.done().begin(), w.done().end(), 1), n_rows);

    const auto mine_range = dist::partition_even(n_rows, static_cast<std::size_t>(mpi::comm_size()))
                                [static_cast<std::size_t>(mpi::comm_rank())];
    const auto mine = w.pending_rows(mine_range.begin, mine_range.end);
    const std::size_t batch = static_cast<std::size_t>(batch_size);
    const std::size_t rounds = dist::collective_rounds(mine.size(), batch);
    progress prog("features reference", mine.size(), "genes", 30.0);
    // Fault injection for the resume test: SCPX_FAULT_EXIT_AFTER_ROUNDS=N ends the process after N
    // written rounds with _Exit (no unwinding, no file close), as a job killed by SLURM would.
    const char* fault = std::getenv("SCPX_FAULT_EXIT_AFTER_ROUNDS");
    const std::size_t exit_after = fault ? static_cast<std::size_t>(std::strtoul(fault, nullptr, 10)) : 0;
    // The next round's windows are read from the FASTA (a worker thread; only it touches `fa`
    // meanwhile) while this round's pass runs — on a GPU the reading (bgzip decompression, a few
    // ms per batch) would otherwise leave the device idle. Same rows, same order, same bytes.
    const auto round_part = [&](std::size_t r) {
        const std::size_t lo = std::min(mine.size(), r * batch), hi = std::min(mine.size(), lo + batch);
        return std::vector<hsize_t>(mine.begin() + static_cast<std::ptrdiff_t>(lo),
                                    mine.begin() + static_cast<std::ptrdiff_t>(hi));
    };
    const auto fetch_round = [&](std::size_t r) { return fetch_windows(fa, rows, round_part(r), o.seq_len); };
    double t_fetch = 0.0, t_model = 0.0, t_write = 0.0;
    std::future<window_batch> next;
    if (rounds > 0) next = std::async(std::launch::deferred, fetch_round, std::size_t{0});
    for (std::size_t r = 0; r < rounds; ++r) {
        window_batch cur = next.get();
        t_fetch += cur.seconds;
        if (r + 1 < rounds) next = std::async(std::launch::async, fetch_round, r + 1);
        const std::int64_t B = static_cast<std::int64_t>(cur.part.size());
        std::vector<float> feats(static_cast<size_t>(B * tracks), 0.0f);
        if (B > 0) {
            const stopwatch model_clock;
            // Only the central bins the features need: on the GPU the final pointwise and the
            // head run on those bins alone.
            model::enformer_gpu_request req;
            req.heads = {"human"};
            req.bin0 = first_bin;
            req.bins = o.center_bins;
            // Letters, not one-hot rows: the GPU uploads a byte per base and encodes there.
            const auto res = model.predict_bases(cur.bases, B, o.seq_len, n_mode, req);
            const auto& human = res.heads.at("human");  // [B, center_bins, tracks]
            for (std::int64_t b = 0; b < B; ++b)
                for (std::int64_t k = 0; k < o.center_bins; ++k)
                    for (std::int64_t t = 0; t < tracks; ++t)
                        feats[static_cast<size_t>(b * tracks + t)] +=
                            human[static_cast<size_t>((b * o.center_bins + k) * tracks + t)] /
                            static_cast<float>(o.center_bins);
            t_model += model_clock.seconds();
        }
        const stopwatch write_clock;
        w.write_rows("gene_id", cur.part, cur.ids);
        w.write_rows("gene_name", cur.part, cur.names);
        w.write_rows("chrom", cur.part, cur.chroms);
        w.write_rows("tss", cur.part, cur.tss);
        w.write_rows("features", cur.part, feats);
        w.mark_done(cur.part);
        t_write += write_clock.seconds();
        prog.add(static_cast<std::uint64_t>(B));
        if (exit_after > 0 && r + 1 == exit_after) std::_Exit(75);
    }
    prog.finish();
    // Where this rank's time went; under MPI rank 0 lists every rank's, and names the slowest.
    // "writing" includes the wait for the other ranks in each round's collective write.
    const std::string times =
        fmt::format("Enformer {:.2f} s, FASTA windows {:.2f} s (read during the passes), "
                    "writing {:.2f} s",
                    t_model, t_fetch, t_write);
    if (mpi::comm_size() == 1) SCPX_LOG_INF("time on this rank: {}", times);
    // Ranks compare by their time in Enformer: the loop's wall time would not tell them apart, as
    // each round's collective write waits for the slowest rank (that wait is in "writing").
    dist::log_rank_work("Enformer passes", {fmt::format("{} gene(s); {}", mine.size(), times), t_model});
    if (model.on_gpu() && o.dev.conv_backend == "auto") SCPX_LOG_INF("convolution choices:\n{}", model.conv_report());
    w.finish();
    SCPX_LOG_INF("wrote {} ({} genes x {} tracks)", o.common.out, n_rows, tracks);
}

} // namespace

void add_features_command(CLI::App& app) {
    auto* feat = app.add_subcommand("features", "Enformer features per gene (pipeline stage 1)");
    feat->require_subcommand(1);
    auto o = std::make_shared<features_options>();
    auto* sub = feat->add_subcommand("reference", "Reference-genome Enformer features, one TSS-centred window per gene");
    sub->add_option("--fasta", o->fasta, "reference FASTA (plain or bgzip, indexed)")->required()->group("Input");
    sub->add_option("--annotation", o->annotation, "genes: GTF/GFF3 or a TSS/gene table")->required()->group("Input");
    sub->add_option("--weights", o->weights, "Enformer weight file (HDF5)")->required()->check(CLI::ExistingFile)
        ->group("Input");
    sub->add_option("--gene-types", o->gene_types, "gene types to keep ('all' keeps every gene)")->delimiter(',')
        ->capture_default_str()->group("Input");
    sub->add_option("--seq-len", o->seq_len, "window length in bp (scPrediXcan used 393216)")->capture_default_str()
        ->group("Model");
    sub->add_option("--center-bins", o->center_bins, "output bins averaged around the TSS")->capture_default_str()
        ->group("Model");
    sub->add_option("--n-mode", o->n_mode, "encoding of N and padding: zero | quarter (0.25 each, TF-Hub pipeline)")
        ->capture_default_str()->group("Model");
    sub->add_option("--batch", o->batch, "windows per forward pass; 0: 8 on a GPU (fewer when its memory cannot hold "
                    "them), 1 on the CPU")->capture_default_str()
        ->check(integer_at_least(0))->group("Run");
    sub->add_flag("--resume", o->resume, "continue an interrupted run of the same configuration")->group("Run");
    add_enformer_device_options(*sub, o->dev);
    add_common_options(*sub, o->common, "output HDF5 file");
    sub->callback([sub, o] {
        run_scope scope(*sub, o->common, log_path_for(o->common.out));
        run_features(*o);
    });
}

} // namespace scpx::cli
