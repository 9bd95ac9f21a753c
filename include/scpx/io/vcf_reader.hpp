#pragma once
/// @file vcf_reader.hpp
/// Phased genotypes and dosages from VCF/BCF files (htslib), one region at a time.
///
/// Supported files: bgzip-compressed VCF (`.vcf.gz`) with a tabix `.tbi` or `.csi` index, BCF
/// with a `.csi` index, and (for whole-file reading only) any VCF/BCF htslib can open.
/// Coordinates: record positions and region bounds are **1-based, inclusive** (VCF POS, the
/// `chr:first-last` of bcftools). A 0-based half-open window `[s, e)` is the region `s+1 .. e`.
///
/// Policies (decisions, pipeline.md §2 and §4):
/// - Only biallelic SNVs are returned by default; every other record is skipped and counted
///   by reason in vcf_stats (multi-allelic, indel, MNP, symbolic, no ALT, non-ACGT allele);
///   options return multi-allelic records, indels and MNPs, or every record.
/// - Haplotypes need phased GT. A missing allele ('.') is taken as REF and counted. An unphased
///   homozygous GT is unambiguous and accepted; an unphased heterozygous GT throws
///   input_error by default (option: keep the written order and count it).
/// - Dosage = ALT allele count in 0..2. Source GT, DS, or AUTO (DS when the header defines
///   FORMAT/DS, else GT). With AUTO a missing DS value falls back to the GT count (counted);
///   with DS it is missing. A dosage that cannot be computed is NaN and counted: the caller
///   imputes or drops it. A GT allele index beyond the record's ALT alleles is an input_error.
/// - REF check against a FASTA (optional): a mismatching record is skipped and counted, with
///   the first few examples kept for the log, or throws input_error (option).

#include "scpx/seq/fasta.hpp"

#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::io {

/// Closes an htsFile with hts_close.
struct hts_file_deleter {
    void operator()(htsFile* p) const noexcept;
};
/// Frees a VCF header with bcf_hdr_destroy.
struct bcf_hdr_deleter {
    void operator()(bcf_hdr_t* p) const noexcept;
};
/// Frees a VCF record with bcf_destroy.
struct bcf1_deleter {
    void operator()(bcf1_t* p) const noexcept;
};
/// Frees a BCF/CSI index with hts_idx_destroy.
struct hts_idx_deleter {
    void operator()(hts_idx_t* p) const noexcept;
};
/// Frees a tabix index with tbx_destroy.
struct tbx_deleter {
    void operator()(tbx_t* p) const noexcept;
};
/// Frees a region iterator with hts_itr_destroy.
struct hts_itr_deleter {
    void operator()(hts_itr_t* p) const noexcept;
};
using hts_file_ptr = std::unique_ptr<htsFile, hts_file_deleter>;
using bcf_hdr_ptr = std::unique_ptr<bcf_hdr_t, bcf_hdr_deleter>;
using bcf1_ptr = std::unique_ptr<bcf1_t, bcf1_deleter>;
using hts_idx_ptr = std::unique_ptr<hts_idx_t, hts_idx_deleter>;
using tbx_ptr = std::unique_ptr<tbx_t, tbx_deleter>;
using hts_itr_ptr = std::unique_ptr<hts_itr_t, hts_itr_deleter>;

/// Where dosages come from.
enum class dosage_source {
    AUTO, ///< FORMAT/DS when the header defines it, else GT
    GT,   ///< ALT allele count of the GT field
    DS    ///< FORMAT/DS (imputed dosage); the header must define it; '.' is missing
};

/// What to do with an unphased heterozygous GT when haplotypes are requested.
enum class unphased_policy {
    ERROR,     ///< throw input_error naming the file, record and sample (default)
    AS_WRITTEN ///< use the allele order as written (an arbitrary phase) and count it
};

/// What to do with a record whose REF does not match the FASTA.
enum class ref_mismatch_policy {
    SKIP, ///< skip the record, count it, keep the first examples (default)
    ERROR ///< throw input_error naming the file, record, REF and FASTA base
};

/// Reading options.
struct vcf_options {
    /// Samples to return, in this order (empty: all samples of the file, in file order).
    std::vector<std::string> samples;
    /// Fill vcf_record::haplotypes.
    bool want_haplotypes = true;
    /// Fill vcf_record::dosages.
    bool want_dosages = false;
    dosage_source dosage = dosage_source::AUTO;
    unphased_policy unphased = unphased_policy::ERROR;
    /// The end of the unphased-genotype error's advice: how the caller's user allows them (a
    /// command names its option).
    std::string unphased_advice = "allow unphased genotypes";
    /// Return multi-allelic records too (haplotype allele indices may then exceed 1; dosage =
    /// count of non-REF alleles, or the first DS value) when one of their ALTs, trimmed
    /// (trim_allele), is writable_allele (with keep_indels for indels and MNPs); the caller skips
    /// the others. '*' ALTs (haplotypes spanned by an upstream deletion, as GATK writes) are
    /// returned as "*". A record with no writable ALT is counted by its worst ALT.
    bool keep_multiallelic = false;
    /// Return biallelic non-SNV records too (indels, MNPs, symbolic, no ALT).
    bool keep_non_snv = false;
    /// Return biallelic indels and MNPs too when REF and ALT are A/C/G/T only (symbolic, no-ALT
    /// and other records stay skipped and counted): the sequence edits a haplotype can apply.
    bool keep_indels = false;
    /// Return records that start before a query's first position and reach into it (a
    /// deletion's REF); by default they are skipped and counted as outside_region, so that
    /// adjacent regions never return a record twice.
    bool keep_starting_before = false;
    /// Check REF against this FASTA (non-owning; may be null).
    seq::fasta_reader* reference = nullptr;
    ref_mismatch_policy ref_mismatch = ref_mismatch_policy::SKIP;
    /// How many REF-mismatch examples vcf_stats keeps (of one-base REFs, and of longer ones).
    std::size_t max_examples = 5;
};

/// Counters of one reader since open (or reset_stats()).
struct vcf_stats {
    std::uint64_t records_read = 0;      ///< records in the queried regions (or the whole file)
    std::uint64_t records_returned = 0;  ///< records handed to the caller
    std::uint64_t outside_region = 0;    ///< overlapping the region but starting before it (skipped)
    std::uint64_t skipped_multiallelic = 0;
    std::uint64_t skipped_indel = 0;     ///< REF and ALT of different lengths
    std::uint64_t skipped_mnp = 0;       ///< REF and ALT of equal length > 1
    std::uint64_t skipped_symbolic = 0;  ///< <DEL>, '*', breakends
    std::uint64_t skipped_no_alt = 0;    ///< ALT '.'
    std::uint64_t skipped_non_acgt = 0;  ///< REF or ALT holds a letter other than A/C/G/T
    std::uint64_t ref_mismatch = 0;      ///< REF differs from the FASTA (skipped by default)
    std::uint64_t ref_mismatch_indel = 0; ///< of which biallelic indels (returned only with keep_indels)
    std::uint64_t ref_mismatch_mnp = 0;   ///< of which biallelic MNPs (likewise)
    std::uint64_t ref_mismatch_multiallelic = 0;    ///< of which multi-allelic (only with keep_multiallelic)
    std::vector<std::string> ref_mismatch_examples; ///< "20:61098 REF=C FASTA=T", first few of one-base REFs
    /// "20:99 REF=AAA FASTA=AAC", first few indels and MNPs (REF of more than one base)
    std::vector<std::string> ref_mismatch_indel_examples;
    /// The same of multi-allelic records (only with keep_multiallelic), apart from both above
    std::vector<std::string> ref_mismatch_multiallelic_examples;
    std::uint64_t missing_alleles = 0;   ///< haplotype alleles missing in GT, set to REF
    std::uint64_t unphased_het = 0;      ///< unphased heterozygous GTs kept in written order
    std::uint64_t haploid_gt = 0;        ///< one-allele GTs, copied to both haplotypes
    std::uint64_t ds_missing_used_gt = 0; ///< missing DS replaced by the GT ALT count
    std::uint64_t missing_dosage = 0;    ///< dosages left NaN (no DS and no GT)

    /// Total of the skipped_* counters and ref_mismatch.
    std::uint64_t skipped() const;
    /// One line per non-zero counter, e.g. "records read: 120; returned: 100; skipped
    /// multi-allelic: 12; ...", with the mismatch examples and a genome-build hint when most
    /// records mismatch the FASTA.
    std::string summary() const;
    /// Adds the counters of `o` (examples up to 5 of each kind kept).
    void merge(const vcf_stats& o);
};

/// One ALT of a record against its REF as a split, normalised record gives it (`bcftools norm
/// -m-`): the bases the two share at the end, then at the start, dropped (one base of each kept),
/// uppercased; the variant starts `shift` bases after the record's POS. Multi-allelic records pad
/// every ALT to the longest REF: in "CGTC AGTC,C" the first ALT is the SNV C>A at POS.
struct trimmed_allele {
    std::int64_t shift = 0;
    std::string ref, alt;
};
trimmed_allele trim_allele(std::string_view ref, std::string_view alt);

/// Whether a haplotype can carry `a` into its sequence: an SNV, or with `indels` an indel or MNP,
/// of A/C/G/T only; not '*', a symbolic allele, or an ALT equal to its REF.
bool writable_allele(const trimmed_allele& a, bool indels);

/// One returned record. Sample vectors follow vcf_reader::samples() order.
struct vcf_record {
    std::string chrom;              ///< as written in the VCF
    std::int64_t pos = 0;           ///< 1-based
    std::string id;                 ///< ID column ("." when missing)
    std::string ref;
    std::vector<std::string> alts;
    /// [n_samples, 2] allele index per haplotype (0 = REF, 1 = first ALT...), `2*s + h`.
    std::vector<std::int16_t> haplotypes;
    /// [n_samples] ALT dosage 0..2, NaN when unknown.
    std::vector<float> dosages;
};

/// RAII VCF/BCF reader: open once, then query() a region and next() through its records, or
/// call next() without a query to stream the whole file. Not thread-safe.
class vcf_reader {
public:
    /// Opens the file and its index (when present), selects the samples.
    /// @throws io_error when the file cannot be opened or is not VCF/BCF, input_error when a
    ///         requested sample is absent (naming it and the file) or DS is requested but not
    ///         defined, usage_error for duplicate sample IDs.
    explicit vcf_reader(const std::string& path, vcf_options options = {});
    ~vcf_reader();
    vcf_reader(vcf_reader&&) noexcept;
    vcf_reader& operator=(vcf_reader&&) noexcept;
    vcf_reader(const vcf_reader&) = delete;
    vcf_reader& operator=(const vcf_reader&) = delete;

    const std::string& path() const;
    /// Selected sample IDs, in output order.
    const std::vector<std::string>& samples() const;
    /// Contig names known to the file (header ##contig lines, else the index).
    std::vector<std::string> contigs() const;
    /// Contigs that hold records, from the index (empty without one). Per-chromosome files often
    /// declare every chromosome in their header; only this list says which one a file holds.
    std::vector<std::string> indexed_contigs() const;
    /// True when an index (.tbi/.csi) was found.
    bool has_index() const;
    /// @throws input_error when the file has no index, saying how to make one (bgzip, tabix,
    ///         bcftools index) for the kind of file it is.
    void require_index() const;
    /// True when dosages are read from FORMAT/DS (AUTO resolved at open).
    bool dosage_from_ds() const;
    /// The raw header, for advanced use.
    const bcf_hdr_t* header() const;

    /// Positions the reader on records with `first <= POS <= last` (1-based, inclusive) on
    /// `chrom` ("chr20" finds "20" and vice versa). `first` below 1 is taken as 1.
    /// @return false (and no records) when the file has no such contig under any spelling:
    ///         a per-chromosome VCF asked about another chromosome is normal.
    /// @throws input_error when the file has no index (as require_index), usage_error when
    ///         last < first.
    bool query(std::string_view chrom, std::int64_t first, std::int64_t last);

    /// Reads the next record passing the filters into `rec`. Returns false at the end of the
    /// region (or of the file when no query was made).
    /// @throws input_error naming file, record and field on malformed or truncated input.
    bool next(vcf_record& rec);

    const vcf_stats& stats() const;
    void reset_stats();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace scpx::io
