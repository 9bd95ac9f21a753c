// `scpx features reference`: Enformer features of the reference genome, one window per gene
// centred on its TSS (pipeline.md §1): the ctPred training input. MPI ranks share the genes; a
// killed run resumes with --resume and the finished file is byte-identical to an uninterrupted one
// (io::h5_row_writer's protocol).
#include "scpx/cli/commands.hpp"
#include "scpx/cli/features_common.hpp"
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

/// Returns false when --resume found the output finished (nothing done: its log stays).
bool run_features(const features_options& o) {
    feature_model m = open_feature_model(o);
    model::enformer_runner& model = *m.runner;
    const std::int64_t tracks = m.tracks, batch_size = m.batch;
    seq::fasta_reader fa = open_fasta_on_every_rank(o.fasta);
    const std::vector<io::gene_record> genes = genes_on_fasta(fa, o);

    // This job's block of genes (--split/--job), then this rank's share of it.
    const dist::split_spec split = dist::make_split(o.common.split, o.common.job);
    const std::vector<io::gene_record> rows = genes_of_this_job(genes, o.common);
    const hsize_t n_rows = rows.size();
    SCPX_LOG_INF("{} gene(s) in this output (job {} of {}), {} bp windows, {} rank(s)", n_rows, split.job,
                 split.n_splits, o.seq_len, mpi::comm_size());

    io::h5_provenance prov;
    prov.stage = "features-reference";
    prov.command = "scpx features reference " + features_command_options(o);
    prov.inputs = {o.fasta, o.annotation, o.weights};
    if (!o.genes_file.empty()) prov.inputs.push_back(o.genes_file);
    prov.extra = {{"enformer_config", model.config().to_json()},
                  {"feature", "mean of the human head over output bins [" + std::to_string(m.first_bin) +
                                  ", " + std::to_string(m.first_bin + o.center_bins) +
                                  ") of each TSS-centred window"}};
    const auto split_attrs = split_provenance(genes, o.common, prov.inputs);
    refuse_replacing_another_part(o.common, split_attrs);
    prov.extra.insert(prov.extra.end(), split_attrs.begin(), split_attrs.end());
    io::h5_writer_options wo;
    wo.done_rows = n_rows;
    wo.resume = o.resume;
    wo.overwrite = o.common.overwrite;
    const auto spec = features_dataset;
    io::h5_row_writer w(
        o.common.out,
        {spec("gene_id", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::gene_id),
              "as in the annotation"),
         spec("gene_name", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::gene_name), ""),
         spec("chrom", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::chrom),
              "as in the annotation"),
         spec("tss", io::h5_dtype::i64, {n_rows}, 0, "1-based TSS position"),
         spec("features", io::h5_dtype::f32, {n_rows, static_cast<hsize_t>(tracks)}, 0,
              "[genes, tracks] mean of the central output bins of the Enformer human head")},
        prov, wo);
    if (w.complete()) {
        SCPX_LOG_INF("--resume: {} is finished (same options and inputs, every gene done): nothing to do",
                     o.common.out);
        return false;
    }

    const auto mine_range = dist::partition_even(n_rows, static_cast<std::size_t>(mpi::comm_size()))
                                [static_cast<std::size_t>(mpi::comm_rank())];
    const auto mine = w.pending_rows(mine_range.begin, mine_range.end);
    const std::size_t batch = static_cast<std::size_t>(batch_size);
    const std::size_t rounds = dist::collective_rounds(mine.size(), batch);
    progress prog(rank_share_label("features reference"), mine.size(), "genes", 30.0);
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
            add_central_features(m, cur.bases, B, o.seq_len, o.center_bins, 1.0f, feats.data());
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
    return true;
}

} // namespace

void add_features_command(CLI::App& app) {
    auto* feat = app.add_subcommand("features", "Enformer features per gene (pipeline stage 1)");
    feat->require_subcommand(1);
    auto o = std::make_shared<features_options>();
    auto* sub = feat->add_subcommand("reference", "Reference-genome Enformer features, one TSS-centred window per gene");
    add_features_options(*sub, *o);
    add_common_options(*sub, o->common, "output HDF5 file");
    drop_options(*sub, {"--seed"}); // Enformer is deterministic
    sub->callback([sub, o] {
        run_scope scope(*sub, o->common, log_path_for(o->common.out));
        if (!run_features(*o)) scope.keep_previous_log();
    });
    add_features_personal_command(*feat);
    add_features_merge_command(*feat);
}

} // namespace scpx::cli
