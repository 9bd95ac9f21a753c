// `scpx features personal`: Enformer features of each individual's two haplotypes (pipeline.md
// §2), one TSS-centred window per gene with the individual's phased SNV alleles written into the
// reference. The input of `ctpred predict`. Enformer runs once per distinct window (haplotypes
// carrying the same alleles share it; those carrying none are the reference window). MPI ranks
// share the genes; a killed run resumes with --resume, byte-identical to an uninterrupted one.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/features_common.hpp"
#include "scpx/cli/personal_windows.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/cli/sample_list.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/dist/rank_report.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "scpx/seq/haplotypes.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>
#include <vector>

namespace scpx::cli {

namespace {

struct personal_options {
    features_options f;
    std::vector<std::string> vcfs;
    std::string samples_file;
    std::string combine = "mean";
    std::string ref_mismatch = "skip";
    std::string unphased = "error";
    std::string indels = "skip";
    std::string multiallelic = "skip";
    bool keep_haplotypes = false;
};

/// Returns false when --resume found the output finished (nothing done: its log stays).
bool run_personal(const personal_options& po) {
    const features_options& o = po.f;
    if (po.combine != "mean" && po.combine != "sum") throw usage_error("--combine must be 'mean' or 'sum'");
    const float combine_scale = po.combine == "mean" ? 0.5f : 1.0f;
    feature_model m = open_feature_model(o);
    const std::int64_t tracks = m.tracks;
    seq::fasta_reader fa = open_fasta_on_every_rank(o.fasta);

    io::vcf_options vo;
    if (!po.samples_file.empty()) {
        const sample_list list = read_sample_list(po.samples_file);
        require_samples_in(list, po.vcfs.front());
        vo.samples = list.ids;
    }
    vo.want_haplotypes = true;
    vo.reference = &fa; // REF must match the FASTA (pipeline.md §2)
    vo.ref_mismatch =
        po.ref_mismatch == "error" ? io::ref_mismatch_policy::ERROR : io::ref_mismatch_policy::SKIP;
    vo.unphased = po.unphased == "as-written" ? io::unphased_policy::AS_WRITTEN : io::unphased_policy::ERROR;
    vo.unphased_advice = "pass --unphased as-written to keep the written allele order (an arbitrary phase)";
    const bool apply_indels = po.indels == "apply";
    vo.keep_indels = apply_indels;
    const bool apply_multiallelic = po.multiallelic == "apply";
    vo.keep_multiallelic = apply_multiallelic;
    // A deletion reaching into the window from before it; a padded multi-allelic record whose
    // SNV ALT lies inside it.
    vo.keep_starting_before = apply_indels || apply_multiallelic;
    vcf_set vcfs(po.vcfs, vo);
    const std::vector<std::string>& samples = vcfs.samples();
    const std::size_t n_samples = samples.size(), n_haplotypes = 2 * n_samples;

    // Genes on contigs without records in any VCF would silently get the reference for everybody
    // (a per-chromosome file missing from --vcf, or chromosome naming): skip them, say so.
    std::vector<io::gene_record> genes;
    std::vector<std::string> no_vcf;
    std::size_t n_no_vcf = 0;
    for (const auto& g : genes_on_fasta(fa, o)) {
        if (vcfs.has_contig(g.chrom)) {
            genes.push_back(g);
        } else {
            if (no_vcf.size() < 3) no_vcf.push_back(g.gene_id + " on " + g.chrom);
            ++n_no_vcf;
        }
    }
    if (n_no_vcf > 0)
        SCPX_LOG_WRN_SHARED("{} gene(s) skipped: no --vcf file has records on their chromosome (e.g. {})",
                            n_no_vcf, join(no_vcf, "; "));
    if (genes.empty())
        throw input_error(o.annotation, "", "chrom",
                          "no gene lies on a chromosome with records in the --vcf file(s) (" +
                              join(po.vcfs, ", ") + "); check chromosome naming");
    const dist::split_spec split = dist::make_split(o.common.split, o.common.job);
    const std::vector<io::gene_record> rows = genes_of_this_job(genes, o.common);
    const hsize_t n_rows = rows.size();
    SCPX_LOG_INF("{} gene(s) x {} individual(s) in this output (job {} of {}), {} bp windows, {} rank(s)",
                 n_rows, n_samples, split.job, split.n_splits, o.seq_len, mpi::comm_size());

    io::h5_provenance prov;
    prov.stage = "features-personal";
    prov.command = "scpx features personal " + features_command_options(o) + " --vcf " + join(po.vcfs, " ") +
                   (po.samples_file.empty() ? "" : " --samples " + po.samples_file) + " --combine " +
                   po.combine + " --ref-mismatch " + po.ref_mismatch + " --unphased " + po.unphased +
                   (apply_indels ? " --indels apply" : "") +
                   (apply_multiallelic ? " --multiallelic apply" : "") +
                   (po.keep_haplotypes ? " --haplotypes" : "");
    prov.inputs = {o.fasta, o.annotation, o.weights};
    if (!o.genes_file.empty()) prov.inputs.push_back(o.genes_file);
    prov.inputs.insert(prov.inputs.end(), po.vcfs.begin(), po.vcfs.end());
    if (!po.samples_file.empty()) prov.inputs.push_back(po.samples_file);
    prov.extra = {
        {"enformer_config", m.runner->config().to_json()},
        {"feature",
         fmt::format("{} of the two haplotypes' mean of the human head over output bins [{}, {}) "
                     "of each TSS-centred window ({} of the VCF written into the reference)",
                     po.combine, m.first_bin, m.first_bin + o.center_bins,
                     std::string(apply_indels ? "SNVs, indels and MNPs, the TSS kept at the window's centre"
                                              : "SNVs") +
                         (apply_multiallelic ? "; each haplotype's ALT of multi-allelic records" : ""))}};
    const auto split_attrs = split_provenance(genes, o.common, prov.inputs);
    refuse_replacing_another_part(o.common, split_attrs);
    prov.extra.insert(prov.extra.end(), split_attrs.begin(), split_attrs.end());
    io::h5_writer_options wo;
    wo.done_rows = n_rows;
    wo.resume = o.resume;
    wo.overwrite = o.common.overwrite;
    const auto spec = features_dataset;
    const auto T = static_cast<hsize_t>(tracks), S = static_cast<hsize_t>(n_samples);
    std::size_t sample_len = 1;
    for (const auto& s : samples)
        sample_len = std::max(sample_len, s.size());
    std::vector<io::h5_dataset_spec> datasets = {
        spec("gene_id", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::gene_id),
             "as in the annotation"),
        spec("gene_name", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::gene_name), ""),
        spec("chrom", io::h5_dtype::str, {n_rows}, max_field_len(rows, &io::gene_record::chrom),
             "as in the annotation"),
        spec("tss", io::h5_dtype::i64, {n_rows}, 0, "1-based TSS position"),
        spec("sample_id", io::h5_dtype::str, {S}, sample_len,
             "individuals, in the order of the features' axis 1"),
        spec("n_snvs", io::h5_dtype::i64, {n_rows}, 0,
             "SNVs of the VCF inside the window carried by some haplotype"),
        spec("n_windows", io::h5_dtype::i64, {n_rows}, 0,
             "distinct windows the haplotypes make (Enformer passes run for the gene)"),
        spec("features", io::h5_dtype::f32, {n_rows, S, T}, 0,
             "[genes, individuals, tracks] " + po.combine +
                 " of the two haplotypes' central-bin human features")};
    datasets.back().attrs = {{"axes", "gene,sample,track"}};
    if (apply_indels)
        datasets.push_back(
            spec("n_indels", io::h5_dtype::i64, {n_rows}, 0,
                 "indels and MNPs of the VCF whose REF overlaps the window, carried by some haplotype"));
    if (po.keep_haplotypes) {
        datasets.push_back(
            spec("haplotype_features", io::h5_dtype::f32, {n_rows, S, 2, T}, 0,
                 "[genes, individuals, haplotype (GT order), tracks] central-bin human features"));
        datasets.back().attrs = {{"axes", "gene,sample,haplotype,track"}};
    }
    io::h5_row_writer w(o.common.out, datasets, prov, wo);
    if (w.complete()) {
        SCPX_LOG_INF("--resume: {} is finished (same options and inputs, every gene done): nothing to do",
                     o.common.out);
        return false;
    }
    w.write_all("sample_id", samples);

    const auto mine_range = dist::partition_even(
        n_rows, static_cast<std::size_t>(mpi::comm_size()))[static_cast<std::size_t>(mpi::comm_rank())];
    const auto mine = w.pending_rows(mine_range.begin, mine_range.end);
    const std::size_t rounds = dist::collective_rounds(mine.size(), 1); // a gene per rank and round
    progress prog(rank_share_label("features personal"), mine.size(), "genes", 30.0);
    const char* fault = std::getenv("SCPX_FAULT_EXIT_AFTER_ROUNDS");
    const std::size_t exit_after = fault ? static_cast<std::size_t>(std::strtoul(fault, nullptr, 10)) : 0;
    // The next gene's windows are read (FASTA, VCF: a worker thread, the only one touching `fa`
    // and the readers meanwhile) while this gene's passes run.
    const auto fetch_round = [&](std::size_t r) {
        if (r >= mine.size()) return gene_windows{};
        return read_gene(fa, vcfs, rows[mine[r]], mine[r], o.seq_len, n_haplotypes, apply_indels);
    };
    double t_read = 0.0, t_model = 0.0, t_write = 0.0;
    std::uint64_t windows_run = 0, haplotypes_done = 0, conflicts = 0, repeated = 0, widened = 0,
                  unwritten = 0;
    std::future<gene_windows> next;
    if (rounds > 0) next = std::async(std::launch::deferred, fetch_round, std::size_t{0});
    const auto batch = static_cast<std::size_t>(m.batch);
    std::string bases;
    for (std::size_t r = 0; r < rounds; ++r) {
        gene_windows cur = next.get();
        t_read += cur.seconds;
        if (r + 1 < rounds) next = std::async(std::launch::async, fetch_round, r + 1);
        std::vector<hsize_t> part;
        std::vector<float> feats, hap_feats;
        std::vector<std::int64_t> n_snvs, n_indels, n_windows;
        if (cur.has_gene) {
            part = {cur.row};
            const stopwatch model_clock;
            const std::size_t D = cur.haps.size();
            std::vector<float> per_window(D * static_cast<std::size_t>(tracks), 0.0f);
            for (std::size_t d0 = 0; d0 < D; d0 += batch) {
                const std::size_t nb = std::min(batch, D - d0);
                bases.clear();
                for (std::size_t d = d0; d < d0 + nb; ++d)
                    cur.haps.append_sequence(d, cur.reference, cur.variants, cur.frame, bases);
                add_central_features(m, bases, static_cast<std::int64_t>(nb), o.seq_len, o.center_bins, 1.0f,
                                     per_window.data() + d0 * static_cast<std::size_t>(tracks));
            }
            feats.assign(n_samples * static_cast<std::size_t>(tracks), 0.0f);
            if (po.keep_haplotypes) hap_feats.resize(2 * feats.size());
            for (std::size_t s = 0; s < n_samples; ++s) {
                const float* a =
                    per_window.data() + cur.haps.sequence_of[2 * s] * static_cast<std::size_t>(tracks);
                const float* b =
                    per_window.data() + cur.haps.sequence_of[2 * s + 1] * static_cast<std::size_t>(tracks);
                float* f = feats.data() + s * static_cast<std::size_t>(tracks);
                for (std::int64_t t = 0; t < tracks; ++t)
                    f[t] = (a[t] + b[t]) * combine_scale;
                if (po.keep_haplotypes) {
                    std::copy(a, a + tracks, hap_feats.data() + (2 * s) * static_cast<std::size_t>(tracks));
                    std::copy(b, b + tracks,
                              hap_feats.data() + (2 * s + 1) * static_cast<std::size_t>(tracks));
                }
            }
            n_snvs = {cur.n_snvs};
            n_indels = {cur.n_indels};
            n_windows = {static_cast<std::int64_t>(D)};
            windows_run += D;
            haplotypes_done += n_haplotypes;
            conflicts += cur.haps.conflicts;
            repeated += cur.repeated;
            unwritten += cur.unwritten_alts;
            widened += cur.widened ? 1 : 0;
            t_model += model_clock.seconds();
        }
        const stopwatch write_clock;
        std::vector<std::string> ids, names, chroms;
        std::vector<std::int64_t> tss;
        for (const hsize_t row : part) {
            ids.push_back(rows[row].gene_id);
            names.push_back(rows[row].gene_name);
            chroms.push_back(rows[row].chrom);
            tss.push_back(rows[row].tss);
        }
        w.write_rows("gene_id", part, ids);
        w.write_rows("gene_name", part, names);
        w.write_rows("chrom", part, chroms);
        w.write_rows("tss", part, tss);
        w.write_rows("n_snvs", part, n_snvs);
        if (apply_indels) w.write_rows("n_indels", part, n_indels);
        w.write_rows("n_windows", part, n_windows);
        w.write_rows("features", part, feats);
        if (po.keep_haplotypes) w.write_rows("haplotype_features", part, hap_feats);
        w.mark_done(part);
        t_write += write_clock.seconds();
        prog.add(part.size());
        if (exit_after > 0 && r + 1 == exit_after) std::_Exit(75);
    }
    prog.finish();

    // What the VCF gave, over every rank: SNVs only by default, every other record counted.
    const io::vcf_stats vs = vcf_stats_over_ranks(vcfs.stats());
    // The counts go in the warning itself: the INFO line is hidden at --verbosity warn.
    const char* counted =
        apply_indels ? "per gene window with its margin, and file" : "per gene window and file";
    if (vs.skipped() > 0)
        SCPX_LOG_WRN_SHARED(
            "{} VCF record(s) not written into the windows (only {}{} whose REF matches the "
            "FASTA are{}{}); VCF counts {} (overlapping windows or --vcf files count a record again): {}",
            vs.skipped(), apply_multiallelic ? "" : "biallelic ",
            apply_indels ? "SNVs, indels and MNPs of A/C/G/T" : "SNVs",
            !apply_indels && vs.skipped_indel + vs.skipped_mnp > 0
                ? "; --indels apply writes indels and MNPs too"
                : "",
            !apply_multiallelic && vs.skipped_multiallelic > 0
                ? "; --multiallelic apply writes multi-allelic records too"
                : "",
            counted, vs.summary());
    else
        SCPX_LOG_INF("VCF (counted {}; overlapping windows or --vcf files count a record again): {}", counted,
                     vs.summary());
    const auto all_conflicts = static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(conflicts)));
    if (all_conflicts > 0)
        SCPX_LOG_WRN_SHARED(
            "{} ALT allele(s) not applied to a haplotype: their REF overlaps an allele the haplotype already "
            "carries (split multi-allelic records{}); the allele of the first record, in position order, was "
            "used",
            all_conflicts, apply_indels ? ", or a variant inside a deletion" : "");
    const auto all_unwritten = static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(unwritten)));
    if (all_unwritten > 0)
        SCPX_LOG_WRN_SHARED("{} carried ALT allele(s) of multi-allelic records not written ({}symbolic or "
                            "non-A/C/G/T ALTs; counted per gene window); the records' other ALTs were",
                            all_unwritten, apply_indels ? "" : "indel or MNP ALTs without --indels apply, ");
    const auto all_repeated = static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(repeated)));
    if (all_repeated > 0)
        SCPX_LOG_INF("{} variant(s) were in two --vcf files (overlapping regions); each was applied once",
                     all_repeated);
    const auto all_widened = static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(widened)));
    if (all_widened > 0)
        SCPX_LOG_INF("{} gene(s) read again with a wider margin than {} bp (deletions reaching beyond it)",
                     all_widened, initial_indel_margin);
    const auto all_windows = static_cast<double>(mpi::sum(static_cast<long long>(windows_run)));
    const auto all_haplotypes = static_cast<double>(mpi::sum(static_cast<long long>(haplotypes_done)));
    if (all_windows > 0)
        SCPX_LOG_INF("Enformer passes: {:.0f} distinct windows for {:.0f} haplotype windows ({:.1f}x fewer)",
                     all_windows, all_haplotypes, all_haplotypes / all_windows);
    const std::string times =
        fmt::format("Enformer {:.2f} s, FASTA + VCF windows {:.2f} s (read during the passes), "
                    "writing {:.2f} s",
                    t_model, t_read, t_write);
    if (mpi::comm_size() == 1) SCPX_LOG_INF("time on this rank: {}", times);
    dist::log_rank_work(
        "Enformer passes",
        {fmt::format("{} gene(s), {} windows; {}", mine.size(), windows_run, times), t_model});
    if (m.runner->on_gpu() && o.dev.conv_backend == "auto")
        SCPX_LOG_INF("convolution choices:\n{}", m.runner->conv_report());
    w.finish();
    SCPX_LOG_INF("wrote {} ({} genes x {} individuals x {} tracks)", o.common.out, n_rows, n_samples, tracks);
    return true;
}

} // namespace

void add_features_personal_command(CLI::App& features) {
    auto o = std::make_shared<personal_options>();
    auto* sub = features.add_subcommand(
        "personal",
        "Personalised Enformer features: each individual's two haplotypes (phased VCF) per gene window");
    add_features_options(*sub, o->f);
    sub->add_option("--vcf", o->vcfs,
                    "phased VCF/BCF: bgzip-compressed .vcf.gz with a .tbi/.csi index, or BCF with a .csi "
                    "(several: e.g. one per chromosome or per region, same samples)")
        ->required()
        ->group("Input");
    sub->add_option("--samples", o->samples_file,
                    "individuals to use, one ID per line (default: all of the VCF)")
        ->check(CLI::ExistingFile)
        ->group("Input");
    sub->add_option("--combine", o->combine, "individual's feature from its two haplotypes: mean | sum")
        ->capture_default_str()
        ->check(CLI::IsMember({"mean", "sum"}))
        ->group("Model");
    sub->add_option("--ref-mismatch", o->ref_mismatch,
                    "a VCF REF that differs from the FASTA: skip (counted) | error")
        ->capture_default_str()
        ->check(CLI::IsMember({"skip", "error"}))
        ->group("Input");
    sub->add_option("--unphased", o->unphased,
                    "an unphased heterozygous GT: error | as-written (arbitrary phase, counted)")
        ->capture_default_str()
        ->check(CLI::IsMember({"error", "as-written"}))
        ->group("Input");
    sub->add_option(
           "--indels", o->indels,
           "VCF indels and MNPs: skip (counted; the original SNV-only windows) | apply (written into "
           "the haplotype, its window cut so the TSS stays at the centre)")
        ->capture_default_str()
        ->check(CLI::IsMember({"skip", "apply"}))
        ->group("Input");
    sub->add_option("--multiallelic", o->multiallelic,
                    "VCF records with several ALT alleles: skip (counted; the original pipeline) | apply "
                    "(each haplotype gets the ALT its GT names; with --indels apply also indel ALTs)")
        ->capture_default_str()
        ->check(CLI::IsMember({"skip", "apply"}))
        ->group("Input");
    sub->add_flag("--haplotypes", o->keep_haplotypes,
                  "also store each haplotype's features (/haplotype_features, twice the size of /features)")
        ->group("Model");
    add_common_options(*sub, o->f.common, "output HDF5 file");
    drop_options(*sub, {"--seed"}); // Enformer is deterministic
    sub->callback([sub, o] {
        run_scope scope(*sub, o->f.common, log_path_for(o->f.common.out));
        if (!run_personal(*o)) scope.keep_previous_log();
    });
}

} // namespace scpx::cli
