// `scpx features personal`: Enformer features of each individual's two haplotypes (pipeline.md
// §2), one TSS-centred window per gene with the individual's phased SNV alleles written into the
// reference. The input of `ctpred predict`. Enformer runs once per distinct window (haplotypes
// carrying the same alleles share it; those carrying none are the reference window). MPI ranks
// share the genes; a killed run resumes with --resume, byte-identical to an uninterrupted one.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/features_common.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/dist/rank_report.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "scpx/seq/contig.hpp"
#include "scpx/seq/haplotypes.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
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

/// With --indels apply: the reference read on each side of the window beyond it at first. A
/// haplotype whose deletions pull more than this into its window (or a record reaching past it)
/// makes the gene be read again with a wider margin.
constexpr std::int64_t initial_indel_margin = 1024;

/// The individuals of --samples, with the line each ID is on (for messages).
struct sample_list {
    std::string path;
    std::vector<std::string> ids;
    std::vector<std::size_t> lines;
};

/// Sample IDs of --samples: one per line; blank lines and lines starting with '#' are skipped; a
/// UTF-8 byte-order mark (spreadsheet exports) is ignored.
sample_list read_sample_list(const std::string& path) {
    if (!path_exists(path)) throw missing_file_error(path, "sample list");
    std::ifstream in(path);
    if (!in) throw io_error("cannot open the sample list '" + path + "'");
    sample_list out;
    out.path = path;
    std::map<std::string, std::size_t> line_of;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (n == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.pop_back();
        std::size_t b = 0;
        while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b])))
            ++b;
        line.erase(0, b);
        if (line.empty() || line[0] == '#') continue;
        if (line.find_first_of(" \t") != std::string::npos)
            throw input_error(path, "line " + std::to_string(n), "sample",
                              "'" + line + "' holds white space: one sample ID per line");
        const auto [it, added] = line_of.emplace(line, n);
        if (!added)
            throw input_error(path, "line " + std::to_string(n), "sample",
                              "sample '" + line + "' repeats line " + std::to_string(it->second));
        out.ids.push_back(line);
        out.lines.push_back(n);
    }
    if (out.ids.empty()) throw input_error(path, "", "sample", "no sample ID in the file");
    return out;
}

/// Every ID of `list` must be a sample of `vcf`: the error names the list's line and the VCF.
void require_samples_in(const sample_list& list, const std::string& vcf) {
    io::vcf_options header_only;
    header_only.want_haplotypes = false;
    const io::vcf_reader r(vcf, header_only);
    const std::set<std::string> have(r.samples().begin(), r.samples().end());
    std::vector<std::size_t> absent;
    for (std::size_t i = 0; i < list.ids.size(); ++i)
        if (have.count(list.ids[i]) == 0) absent.push_back(i);
    if (absent.empty()) return;
    std::string msg = "sample '" + list.ids[absent[0]] + "' is not in " + vcf + " (" +
                      std::to_string(have.size()) + " samples)";
    if (absent.size() > 1) {
        std::vector<std::string> more;
        for (std::size_t k = 1; k < absent.size() && k < 6; ++k)
            more.push_back(list.ids[absent[k]] + " (line " + std::to_string(list.lines[absent[k]]) + ")");
        msg += "; nor are " + std::to_string(absent.size() - 1) + " other ID(s): " + join(more, ", ") +
               (absent.size() > 6 ? ", ..." : "");
    }
    throw input_error(list.path, "line " + std::to_string(list.lines[absent[0]]), "sample", msg);
}

/// The VCF files of a run: one (all chromosomes), one per chromosome, or several holding parts of
/// one chromosome (split by region), each holding the first file's samples. A gene's window is
/// read from every file whose index has records on its contig.
class vcf_set {
public:
    vcf_set(const std::vector<std::string>& paths, io::vcf_options opt) {
        for (const auto& p : paths) {
            readers_.emplace_back(p, opt);
            if (readers_.size() == 1) {
                opt.samples = readers_.front().samples(); // the others in the first file's order
            }
            const auto& r = readers_.back();
            r.require_index();
            if (r.samples().empty()) throw input_error(p, "", "samples", "the file has no sample columns");
            // Contigs with records, from the index: per-chromosome files often declare every
            // chromosome in their header, and the chr1 file must not answer for chr2.
            const std::vector<std::string> contigs = r.indexed_contigs();
            if (contigs.empty())
                throw input_error(p, "", "", "the file holds no records (its index lists none)");
            for (const auto& c : contigs)
                contigs_[c].push_back(readers_.size() - 1);
        }
    }
    const std::vector<std::string>& samples() const { return readers_.front().samples(); }
    /// The counters since the last commit_stats() are a gene's; a gene read again (a wider
    /// margin) drops those of the attempt that was not kept.
    void discard_stats() {
        for (auto& r : readers_)
            r.reset_stats();
    }
    void commit_stats() {
        for (auto& r : readers_) {
            committed_.merge(r.stats());
            r.reset_stats();
        }
    }
    /// The readers with records on `chrom` (any spelling), in --vcf order; empty when none.
    std::vector<io::vcf_reader*> readers_for(const std::string& chrom) {
        std::vector<io::vcf_reader*> out;
        const std::string name =
            seq::match_contig(chrom, [&](const std::string& c) { return contigs_.count(c) > 0; });
        if (!name.empty())
            for (const std::size_t k : contigs_.at(name))
                out.push_back(&readers_[k]);
        return out;
    }
    bool has_contig(const std::string& chrom) const {
        return !seq::match_contig(chrom, [&](const std::string& c) { return contigs_.count(c) > 0; }).empty();
    }
    /// Counters of every file over the genes read (committed), summed.
    const io::vcf_stats& stats() const { return committed_; }

private:
    std::vector<io::vcf_reader> readers_;
    io::vcf_stats committed_;
    std::map<std::string, std::vector<std::size_t>> contigs_; ///< contig name -> readers with records on it
};

/// One gene's windows, read on the worker thread while the previous gene runs.
struct gene_windows {
    hsize_t row = 0;
    bool has_gene = false;
    std::string reference;   ///< the reference bases: the window (and with --indels apply a margin)
    seq::window_frame frame; ///< where the window lies in `reference`
    std::vector<seq::window_variant> variants; ///< variants read, carried by some haplotype
    seq::haplotype_windows haps;
    std::int64_t n_snvs = 0;   ///< carried SNVs inside the window
    std::int64_t n_indels = 0; ///< carried indels and MNPs whose REF overlaps the window
    std::size_t repeated = 0;  ///< variants also read from an earlier --vcf file, not applied again
    bool widened = false;      ///< read again with a margin wider than initial_indel_margin
    double seconds = 0.0;      ///< time spent reading the FASTA and the VCF
};

/// Reads the carried variants of [start, end) (0-based) on `chrom` into w.variants, offsets from
/// `start`. Returns how far the REF of a carried variant reached beyond the region (a deletion
/// starting before it, or running past its end; 0 when none did): the region must then grow.
std::int64_t read_variants(vcf_set& vcfs, const std::string& chrom, std::int64_t start, std::int64_t end,
                           gene_windows& w) {
    w.variants.clear();
    w.repeated = 0;
    std::int64_t beyond = 0;
    // [start, end) 0-based is POS start+1 .. end; records before the contig or after its end
    // cannot exist, so the N-padded parts of the window need no care. Files split by region may
    // overlap: a later file's variant already read from an earlier one (same position, REF length
    // and ALT) is counted, not applied twice.
    std::set<std::tuple<std::int64_t, std::int64_t, std::string>> earlier_files;
    for (io::vcf_reader* r : vcfs.readers_for(chrom)) {
        const std::size_t first_of_file = w.variants.size();
        if (!r->query(chrom, start + 1, end)) continue;
        io::vcf_record rec;
        while (r->next(rec)) {
            // One variant per ALT (a multi-allelic record, with --multiallelic apply, gives each
            // haplotype the ALT its GT names); each replaces the record's whole REF.
            for (std::size_t a = 0; a < rec.alts.size(); ++a) {
                seq::window_variant v;
                v.offset = rec.pos - 1 - start;
                v.ref_length = static_cast<std::int64_t>(rec.ref.size());
                v.alt = rec.alts[a];
                for (char& c : v.alt)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                if (earlier_files.count({v.offset, v.ref_length, v.alt}) > 0) {
                    ++w.repeated;
                    continue;
                }
                const auto allele = static_cast<std::int16_t>(a + 1);
                for (std::size_t h = 0; h < rec.haplotypes.size(); ++h)
                    if (rec.haplotypes[h] == allele) v.carriers.push_back(static_cast<std::uint32_t>(h));
                if (v.carriers.empty()) continue;
                beyond = std::max({beyond, -v.offset, v.offset + v.ref_length - (end - start)});
                w.variants.push_back(std::move(v));
            }
        }
        for (std::size_t k = first_of_file; k < w.variants.size(); ++k)
            earlier_files.emplace(w.variants[k].offset, w.variants[k].ref_length, w.variants[k].alt);
    }
    return beyond;
}

/// The reference window of gene `g` and its haplotypes' distinct windows. With `indels` the
/// reference is read with a margin on each side (a haplotype with deletions upstream of the TSS
/// draws bases from before the window), widened until every haplotype's window lies inside it.
gene_windows read_gene(seq::fasta_reader& fa, vcf_set& vcfs, const io::gene_record& g, hsize_t row,
                       std::int64_t seq_len, std::size_t n_haplotypes, bool indels) {
    const stopwatch clock;
    gene_windows w;
    w.row = row;
    w.has_gene = true;
    const auto win = seq::tss_window(g.chrom, g.tss, seq_len);
    std::int64_t margin = indels ? initial_indel_margin : 0;
    for (;;) {
        vcfs.discard_stats(); // the counts of an attempt read again are not kept
        const std::int64_t start = win.start - margin, end = win.end + margin;
        fa.fetch_into(win.chrom, start, end, w.reference);
        std::int64_t short_by = read_variants(vcfs, g.chrom, start, end, w);
        w.frame = {(g.tss - 1) - start, (g.tss - 1) - win.start, seq_len};
        if (short_by == 0) {
            w.haps = seq::distinct_haplotypes(w.reference, w.variants, n_haplotypes, w.frame);
            short_by = w.haps.margin_short;
        }
        if (short_by == 0) break;
        margin = std::max(2 * margin, margin + short_by + initial_indel_margin);
        w.widened = true;
    }
    vcfs.commit_stats();
    for (const auto& v : w.variants) {
        const std::int64_t first = v.offset - margin; // REF's span in window coordinates
        if (first + v.ref_length <= 0 || first >= seq_len) continue;
        ++(v.is_snv() ? w.n_snvs : w.n_indels);
    }
    w.seconds = clock.seconds();
    return w;
}

/// The counters of the VCF readers, summed over ranks (every rank calls it).
io::vcf_stats all_ranks(io::vcf_stats s) {
    using field = std::uint64_t io::vcf_stats::*;
    static constexpr field fields[] = {&io::vcf_stats::records_read,
                                       &io::vcf_stats::records_returned,
                                       &io::vcf_stats::outside_region,
                                       &io::vcf_stats::skipped_multiallelic,
                                       &io::vcf_stats::skipped_indel,
                                       &io::vcf_stats::skipped_mnp,
                                       &io::vcf_stats::skipped_symbolic,
                                       &io::vcf_stats::skipped_no_alt,
                                       &io::vcf_stats::skipped_non_acgt,
                                       &io::vcf_stats::ref_mismatch,
                                       &io::vcf_stats::ref_mismatch_indel,
                                       &io::vcf_stats::ref_mismatch_mnp,
                                       &io::vcf_stats::ref_mismatch_multiallelic,
                                       &io::vcf_stats::missing_alleles,
                                       &io::vcf_stats::unphased_het,
                                       &io::vcf_stats::haploid_gt,
                                       &io::vcf_stats::ds_missing_used_gt,
                                       &io::vcf_stats::missing_dosage};
    for (const field f : fields)
        s.*f = static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(s.*f)));
    // REF-mismatch examples: the first few over the ranks, in rank order.
    const auto gather_examples = [](std::vector<std::string>& examples) {
        std::string mine;
        for (const auto& e : examples)
            mine += e + "\n";
        examples.clear();
        for (const auto& rank_examples : mpi::all_gather(mine)) {
            std::size_t at = 0;
            for (std::size_t nl; (nl = rank_examples.find('\n', at)) != std::string::npos; at = nl + 1)
                if (examples.size() < 5) examples.push_back(rank_examples.substr(at, nl - at));
        }
    };
    gather_examples(s.ref_mismatch_examples);
    gather_examples(s.ref_mismatch_indel_examples);
    return s;
}

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
    vo.keep_starting_before = apply_indels; // a deletion reaching into the window from before it
    const bool apply_multiallelic = po.multiallelic == "apply";
    vo.keep_multiallelic = apply_multiallelic;
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
    progress prog("features personal", mine.size(), "genes", 30.0);
    const char* fault = std::getenv("SCPX_FAULT_EXIT_AFTER_ROUNDS");
    const std::size_t exit_after = fault ? static_cast<std::size_t>(std::strtoul(fault, nullptr, 10)) : 0;
    // The next gene's windows are read (FASTA, VCF: a worker thread, the only one touching `fa`
    // and the readers meanwhile) while this gene's passes run.
    const auto fetch_round = [&](std::size_t r) {
        if (r >= mine.size()) return gene_windows{};
        return read_gene(fa, vcfs, rows[mine[r]], mine[r], o.seq_len, n_haplotypes, apply_indels);
    };
    double t_read = 0.0, t_model = 0.0, t_write = 0.0;
    std::uint64_t windows_run = 0, haplotypes_done = 0, conflicts = 0, repeated = 0, widened = 0;
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
    const io::vcf_stats vs = all_ranks(vcfs.stats());
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
