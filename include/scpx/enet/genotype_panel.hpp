#pragma once
/// @file genotype_panel.hpp
/// Training genotypes of l-ctPred (pipeline.md §4, elastic_net.md §1.1–1.2): the SNPs that pass
/// PredictDB's QC, with their ALT dosages over the training samples, sorted by (chromosome,
/// position) so a gene's cis window is one contiguous range.
///
/// QC, in order: autosomes 1..22 only; drop strand-ambiguous pairs (A/T, T/A, C/G, G/C); drop
/// SNPs without an rsid; one row per variant ID (the first); missing dosages (option); HWE
/// (option); MAF >= 0.01 on the training samples (af = mean/2 in [maf, 1 - maf]).

#include "scpx/io/vcf_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::enet {

/// SNP QC settings. Missingness and HWE filters are off by default (PredictDB has neither).
struct snp_qc_options {
    double maf = 0.01;        ///< keep 0.01 <= af <= 0.99
    double hwe_p = 0;         ///< > 0: drop SNPs with exact HWE p < hwe_p (dosages rounded to 0/1/2)
    double max_missing = -1;  ///< >= 0: drop SNPs missing in more than this fraction of samples and
                              ///< mean-impute the rest; < 0 (default): drop any SNP with a missing dosage
};

/// What QC removed (counts of SNP rows).
struct snp_qc_stats {
    std::uint64_t input = 0;
    std::uint64_t not_autosomal = 0;
    std::uint64_t ambiguous = 0;
    std::uint64_t missing_rsid = 0;
    std::uint64_t not_snv = 0;           ///< VCF records skipped: multi-allelic, indel, MNP, symbolic
    std::uint64_t duplicate_id = 0;
    std::uint64_t duplicate_rsid = 0;    ///< a later variant with an rsid already kept (first wins)
    std::uint64_t not_in_annotation = 0; ///< dosage rows without an annotation row (text input)
    std::uint64_t missing_dosage = 0;
    std::uint64_t hwe = 0;
    std::uint64_t low_maf = 0;
    std::uint64_t imputed_values = 0;    ///< dosages mean-imputed (max_missing >= 0)
    std::uint64_t kept = 0;
    /// "SNPs: 1200 read, 1000 kept; dropped: 10 non-autosomal, ..." (non-zero counters only).
    std::string summary() const;
};

/// QC-passed SNPs × training samples.
struct genotype_panel {
    std::vector<std::string> samples;
    std::vector<int> chrom;          ///< 1..22
    std::vector<std::int64_t> pos;   ///< 1-based
    std::vector<std::string> var_id;
    std::vector<std::string> ref;
    std::vector<std::string> alt;    ///< the dosage (effect) allele
    std::vector<std::string> rsid;
    std::vector<double> dosages;     ///< column-major n_samples × n_snps

    std::size_t n_samples() const { return samples.size(); }
    std::size_t n_snps() const { return var_id.size(); }
    const double* snp(std::size_t k) const { return dosages.data() + k * n_samples(); }
    /// SNPs with chrom == c and first <= pos <= last: [begin, end) indices.
    std::pair<std::size_t, std::size_t> range(int c, std::int64_t first, std::int64_t last) const;
};

/// 1..22 for "7", "chr7", "CHR7"; 0 for anything else (X, Y, MT, contigs).
int autosome_number(std::string_view chrom);

/// True for the strand-ambiguous allele pairs A/T, T/A, C/G, G/C (case-insensitive).
bool strand_ambiguous(std::string_view ref, std::string_view alt);

/// Exact SNP-HWE test (Wigginton, Cutler & Abecasis 2005) mid-p-free version, as PLINK 1.9 --hwe.
double hwe_exact_pvalue(std::int64_t n_het, std::int64_t n_hom1, std::int64_t n_hom2);

/// Sample ids in the header of a PredictDB dosage file (first field is the variant column).
/// @throws io_error / input_error (empty file)
std::vector<std::string> predictdb_dosage_samples(const std::string& path);

/// Sample ids of a VCF/BCF.
std::vector<std::string> vcf_samples(const std::string& path);

/// Loads PredictDB text genotypes (dosage matrix + SNP annotation) for `samples` (in that order;
/// all must be in the file) and applies the QC.
/// @throws input_error for malformed files (reader messages name file, line, field)
genotype_panel load_predictdb_genotypes(const std::string& dosage_path, const std::string& annotation_path,
                                        const std::vector<std::string>& samples, const snp_qc_options& qc,
                                        snp_qc_stats& stats);

/// Loads biallelic SNVs of a VCF/BCF (dosage from DS or GT) for `samples` and applies the QC. The
/// rsid is the ID column ('.' = missing); varID is `chrom_pos_ref_alt` with chrom as written.
genotype_panel load_vcf_genotypes(const std::string& path, const std::vector<std::string>& samples,
                                  io::dosage_source source, const snp_qc_options& qc, snp_qc_stats& stats);

} // namespace scpx::enet
