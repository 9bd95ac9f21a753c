#pragma once
/// @file fasta.hpp
/// Reference FASTA access through htslib faidx (plain or bgzip-compressed), with the window
/// conventions the Enformer stages use.
///
/// Coordinates: every window in this header is **0-based, half-open** `[start, end)`, as in BED:
/// the first base of a chromosome is position 0 and a window holds `end - start` bases.
/// (VCF POS and GTF start/end are 1-based: VCF POS p is 0-based position p - 1.)

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::seq {

/// One sequence of the FASTA index.
struct contig_info {
    std::string name;        ///< name as written in the FASTA / .fai
    std::int64_t length = 0; ///< number of bases
};

/// A window on a chromosome, 0-based half-open `[start, end)`. `start` may be negative and `end`
/// may exceed the chromosome length: fasta_reader::fetch pads those parts with 'N'.
struct genomic_window {
    std::string chrom;
    std::int64_t start = 0;
    std::int64_t end = 0;
    std::int64_t length() const { return end - start; }
};

/// The window of `length` bases centred on a TSS given as a **1-based** position (GTF/VCF style).
///
/// With t0 = tss_1based - 1 (the TSS base, 0-based) the window is
/// `[t0 - length/2, t0 - length/2 + length)`: the TSS base is at offset `length/2` of the window
/// (integer division). For Enformer (L a multiple of 128, 896 output bins of 128 bp centred in the
/// input) this puts the TSS at the first base of output bin 448, so the central bins 446..449 cover
/// TSS-256 .. TSS+256 (pipeline.md §1), and it equals kipoiseq's
/// `Interval(chrom, t0, t0).resize(L)` used by the TF-Hub pipelines.
/// @throws usage_error when length < 1 or tss_1based < 1
genomic_window tss_window(std::string_view chrom, std::int64_t tss_1based, std::int64_t length);

/// RAII reader of an indexed FASTA file (htslib faidx).
///
/// Plain FASTA and bgzip-compressed FASTA (`.fa.gz` written by `bgzip`, with `.fai` and `.gzi`)
/// are supported; a plain-gzip FASTA cannot be read at random and is rejected with a message
/// saying how to recompress it. Contig names given to the member functions are resolved with
/// contig_aliases() ("chr20" finds "20", "chrM" finds "MT").
///
/// Not thread-safe (htslib keeps one file position per index): use one reader per thread.
class fasta_reader {
public:
    /// Opens `path` and loads its index `<path>.fai` (and `<path>.gzi` when bgzip-compressed).
    /// @param build_index when the index is missing, build it next to the FASTA (fai_build);
    ///                    when false a missing index is an error.
    /// An existing index older than the FASTA is warned about; for a plain FASTA every index
    /// entry is checked against the file (header before the offset, first line length, end
    /// within the file), since htslib would otherwise return wrong bases from a stale index.
    /// When scpx builds the index it first reads the FASTA for duplicate names and blanks in
    /// sequence lines (errors), non-letter characters and empty records (warnings).
    /// @throws io_error when the file or its index cannot be opened or built (message says how
    ///         to fix it: `samtools faidx`, `bgzip`), input_error when the FASTA is malformed
    ///         or the index does not match it (the message names the .fai and the contig).
    explicit fasta_reader(const std::string& path, bool build_index = true);
    ~fasta_reader();
    fasta_reader(fasta_reader&&) noexcept;
    fasta_reader& operator=(fasta_reader&&) noexcept;
    fasta_reader(const fasta_reader&) = delete;
    fasta_reader& operator=(const fasta_reader&) = delete;

    /// Path given to the constructor.
    const std::string& path() const;
    /// All sequences in index order.
    const std::vector<contig_info>& contigs() const;
    /// True when `chrom` (or one of its aliases) is in the index.
    bool has_contig(std::string_view chrom) const;
    /// The index's own spelling of `chrom`, e.g. "20" for "chr20".
    /// @throws input_error naming the FASTA, the contig and a few available names when unknown.
    std::string resolve_contig(std::string_view chrom) const;
    /// Length of `chrom` (aliases accepted). @throws input_error when unknown.
    std::int64_t contig_length(std::string_view chrom) const;

    /// Bases of `[start, end)` (0-based, half-open) on `chrom`, upper-cased (soft-masked
    /// lower case becomes upper case). Positions before 0 or at/after the contig end are 'N'.
    /// Letters other than ACGT (N, IUPAC codes) are returned as they are, upper-cased.
    /// @throws usage_error when end < start, input_error when the contig is unknown,
    ///         hts_error when htslib cannot read the bases (corrupt or truncated file).
    std::string fetch(std::string_view chrom, std::int64_t start, std::int64_t end);
    /// Same as fetch(w.chrom, w.start, w.end).
    std::string fetch(const genomic_window& w);
    /// Same as fetch, writing into `out` (resized to end - start) to reuse its buffer.
    void fetch_into(std::string_view chrom, std::int64_t start, std::int64_t end, std::string& out);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace scpx::seq
