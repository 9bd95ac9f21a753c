// `features personal`: each gene's reference window and its haplotypes' distinct windows, read
// from the FASTA and the phased VCF files (pipeline.md §2).
#pragma once

#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "scpx/seq/fasta.hpp"
#include "scpx/seq/haplotypes.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace scpx::cli {

/// With --indels apply: the reference read on each side of the window beyond it at first. A
/// haplotype whose deletions pull more than this into its window (or a record reaching past it)
/// makes the gene be read again with a wider margin.
constexpr std::int64_t initial_indel_margin = 1024;

/// The VCF files of a run: one (all chromosomes), one per chromosome, or several holding parts of
/// one chromosome (split by region), each holding the first file's samples. A gene's window is
/// read from every file whose index has records on its contig.
class vcf_set {
public:
    /// Opens every file with `opt` (the later ones with the first file's samples, in its order).
    /// @throws input_error for a file without index, sample columns or records
    vcf_set(const std::vector<std::string>& paths, io::vcf_options opt);
    const std::vector<std::string>& samples() const { return readers_.front().samples(); }
    /// The counters since the last commit_stats() are a gene's; a gene read again (a wider
    /// margin) drops those of the attempt that was not kept.
    void discard_stats();
    void commit_stats();
    /// The readers with records on `chrom` (any spelling), in --vcf order; empty when none.
    std::vector<io::vcf_reader*> readers_for(const std::string& chrom);
    bool has_contig(const std::string& chrom) const;
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
    std::int64_t n_snvs = 0;   ///< carried (and applied) SNVs inside the window
    std::int64_t n_indels = 0; ///< carried (and applied) indels and MNPs whose REF overlaps the window
    std::size_t repeated = 0;  ///< variants also read from an earlier --vcf file, not applied again
    std::size_t unwritten_alts = 0; ///< carried ALTs of kept multi-allelic records not written (indel
                                    ///< without --indels apply, symbolic, non-A/C/G/T)
    bool widened = false;      ///< read again with a margin wider than initial_indel_margin
    double seconds = 0.0;      ///< time spent reading the FASTA and the VCF
};

/// The reference window of gene `g` and its haplotypes' distinct windows. With `indels` the
/// reference is read with a margin on each side (a haplotype with deletions upstream of the TSS
/// draws bases from before the window), widened until every haplotype's window lies inside it.
gene_windows read_gene(seq::fasta_reader& fa, vcf_set& vcfs, const io::gene_record& g, hsize_t row,
                       std::int64_t seq_len, std::size_t n_haplotypes, bool indels);

/// The counters of the VCF readers, summed over ranks (every rank calls it).
io::vcf_stats vcf_stats_over_ranks(io::vcf_stats s);

} // namespace scpx::cli
