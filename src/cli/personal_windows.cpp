// `features personal`'s windows (personal_windows.hpp): the VCF files of a run, a gene's
// carried variants and its haplotypes' distinct windows.
#include "scpx/cli/personal_windows.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/seq/contig.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace scpx::cli {

vcf_set::vcf_set(const std::vector<std::string>& paths, io::vcf_options opt) {
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
        if (contigs.empty()) throw input_error(p, "", "", "the file holds no records (its index lists none)");
        for (const auto& c : contigs)
            contigs_[c].push_back(readers_.size() - 1);
    }
}

void vcf_set::discard_stats() {
    for (auto& r : readers_)
        r.reset_stats();
}

void vcf_set::commit_stats() {
    for (auto& r : readers_) {
        committed_.merge(r.stats());
        r.reset_stats();
    }
}

std::vector<io::vcf_reader*> vcf_set::readers_for(const std::string& chrom) {
    std::vector<io::vcf_reader*> out;
    const std::string name =
        seq::match_contig(chrom, [&](const std::string& c) { return contigs_.count(c) > 0; });
    if (!name.empty())
        for (const std::size_t k : contigs_.at(name))
            out.push_back(&readers_[k]);
    return out;
}

bool vcf_set::has_contig(const std::string& chrom) const {
    return !seq::match_contig(chrom, [&](const std::string& c) { return contigs_.count(c) > 0; }).empty();
}

namespace {

/// Reads the carried variants of [start, end) (0-based) on `chrom` into w.variants, offsets from
/// `start`; `indels`: indel and MNP ALTs are written too. Returns how far the REF of a carried
/// variant reached beyond the region (a deletion starting before it, or running past its end; 0
/// when none did): the region must then grow.
std::int64_t read_variants(vcf_set& vcfs, const std::string& chrom, std::int64_t start, std::int64_t end,
                           bool indels, gene_windows& w) {
    w.variants.clear();
    w.repeated = 0;
    w.unwritten_alts = 0;
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
            // haplotype the ALT its GT names), each as its own normalised record would be: a
            // multi-allelic record pads its ALTs to the longest REF ("CGTC AGTC,C": C>A at POS).
            for (std::size_t a = 0; a < rec.alts.size(); ++a) {
                const auto allele = static_cast<std::int16_t>(a + 1);
                seq::window_variant v;
                for (std::size_t h = 0; h < rec.haplotypes.size(); ++h)
                    if (rec.haplotypes[h] == allele) v.carriers.push_back(static_cast<std::uint32_t>(h));
                if (v.carriers.empty()) continue;
                const io::trimmed_allele t = io::trim_allele(rec.ref, rec.alts[a]);
                if (!io::writable_allele(t, indels)) {
                    // '*' (inside a deletion of its own record) and ALT = REF change nothing; an
                    // indel without --indels apply, or a symbolic ALT, is not written: counted.
                    if (rec.alts[a] != "*" && t.ref != t.alt) ++w.unwritten_alts;
                    continue;
                }
                v.offset = rec.pos - 1 - start + t.shift;
                v.ref_length = static_cast<std::int64_t>(t.ref.size());
                v.alt = t.alt;
                // Without indels an SNV outside the region (the padding of a record starting
                // before it) changes nothing here.
                if (!indels && (v.offset < 0 || v.offset >= end - start)) continue;
                if (earlier_files.count({v.offset, v.ref_length, v.alt}) > 0) {
                    ++w.repeated;
                    continue;
                }
                beyond = std::max({beyond, -v.offset, v.offset + v.ref_length - (end - start)});
                w.variants.push_back(std::move(v));
            }
        }
        for (std::size_t k = first_of_file; k < w.variants.size(); ++k)
            earlier_files.emplace(w.variants[k].offset, w.variants[k].ref_length, w.variants[k].alt);
    }
    return beyond;
}

} // namespace

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
        std::int64_t short_by = read_variants(vcfs, g.chrom, start, end, indels, w);
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
    for (std::size_t k = 0; k < w.variants.size(); ++k) {
        const auto& v = w.variants[k];
        const std::int64_t first = v.offset - margin; // REF's span in window coordinates
        // Alleles in conflict on every carrier (a variant written twice) are in no sequence.
        if (first + v.ref_length <= 0 || first >= seq_len || !w.haps.applied[k]) continue;
        ++(v.is_snv() ? w.n_snvs : w.n_indels);
    }
    w.seconds = clock.seconds();
    return w;
}

/// The counters of the VCF readers, summed over ranks (every rank calls it).
io::vcf_stats vcf_stats_over_ranks(io::vcf_stats s) {
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
            for (std::size_t nl; (nl = rank_examples.find('\n', at)) != std::string::npos; at = nl + 1) {
                std::string e = rank_examples.substr(at, nl - at);
                if (examples.size() < 5 && std::find(examples.begin(), examples.end(), e) == examples.end())
                    examples.push_back(std::move(e));
            }
        }
    };
    gather_examples(s.ref_mismatch_examples);
    gather_examples(s.ref_mismatch_indel_examples);
    gather_examples(s.ref_mismatch_multiallelic_examples);
    return s;
}

} // namespace scpx::cli
