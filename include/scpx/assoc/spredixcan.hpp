#pragma once
/// @file spredixcan.hpp
/// S-PrediXcan (summary-statistics TWAS), reproducing MetaXcan 0.7.5 `SPrediXcan.py` number for
/// number (docs/spredixcan.md in the shared docs; deviations are listed below).
///
/// Pipeline: load_gwas() reads the GWAS once (all files, only rows of SNPs some model uses);
/// harmonise() matches it to one model's alleles; compute_model() streams that model's
/// covariance and computes every gene; format_csv() writes MetaXcan's CSV.
///
/// Where MetaXcan aborts the whole run (a zero-variance gene, a missing covariance pair,
/// calibration without `phi`, an empty model, NA beta next to a finite z) scpx finishes, writes
/// NA for the affected gene and records the reason in gene_result::status (optional CSV
/// column `status`) and in the log.
/// Deliberate difference: `--remove_ens_version --additional_output` gives the full table
/// (MetaXcan's merge bug gives a header only).

#include "scpx/io/gwas_reader.hpp"
#include "scpx/io/id_index.hpp"
#include "scpx/io/predictdb_model.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::assoc {

/// Everything that changes the numbers or the table (MetaXcan option names in comments).
struct spredixcan_options {
    io::gwas_columns columns;                ///< --snp_column, --zscore_column, …
    delimiter separator = delimiter::WHITESPACE; ///< --separator (MetaXcan default: any blanks)
    std::string skip_until_header;               ///< --skip_until_header: header = first line with it
    double input_pvalue_fix = 1e-50;         ///< --input_pvalue_fix: cap for p = 0
    bool keep_non_rsid = false;              ///< --keep_non_rsid
    std::string model_db_snp_key = "rsid";   ///< --model_db_snp_key (rsid | varID)
    bool additional_output = false;          ///< --additional_output
    bool remove_ens_version = false;         ///< --remove_ens_version
    double gwas_h2 = std::numeric_limits<double>::quiet_NaN(); ///< --gwas_h2
    double gwas_n = std::numeric_limits<double>::quiet_NaN();  ///< --gwas_N
    bool status_column = false;              ///< scpx: add a `status` column
    /// scpx: when an id does not match, match (chromosome, position, {allele pair}) parsed from
    /// ids like chr1_123_A_G_b38 / 1:123:A:G (or the chromosome/position columns).
    bool match_by_position = false;
    bool single_snp_model = false;           ///< --single_snp_model: Σ = 1 for every SNP
};

/// One GWAS row kept for later harmonisation (raw statistics; z is derived per model because
/// MetaXcan's p = 0 cap depends on the model's SNPs).
struct gwas_entry {
    std::string a1, a2;       ///< upper-cased effect / non-effect allele
    double zscore, beta, se, odds_ratio, pvalue, beta_sign;
};

/// Counts of the GWAS read (for the report).
struct gwas_summary {
    std::vector<std::string> files;
    std::uint64_t data_lines = 0;      ///< data lines of all files
    std::uint64_t bad_field_count = 0; ///< skipped: field count ≠ header's
    std::uint64_t non_rsid = 0;        ///< dropped: id without "rs" (no --keep_non_rsid)
    std::uint64_t bad_value = 0;       ///< kept as NA: p outside [0,1], se ≤ 0, OR < 0, non-numeric
    std::string first_bad_value;       ///< first such problem, for the log
    std::uint64_t matched_position = 0; ///< rows renamed to a model id by position+alleles
    /// A few ids seen, to diagnose id-style mismatches.
    std::vector<std::string> sample_ids;
    std::uint64_t rows_kept = 0;       ///< rows of model SNPs stored
};

/// The GWAS rows of model SNPs, in file order (several rows per id when duplicated).
struct gwas_data {
    std::vector<std::string> ids;   ///< SNP id (renamed to the model id when matched by position)
    std::vector<gwas_entry> rows;
    /// One past the last row of each file, in file order: MetaXcan loads, and caps p = 0, file
    /// by file.
    std::vector<std::size_t> file_ends;
    io::gwas_columns::z_source_kind source = io::gwas_columns::z_source_kind::ZSCORE;
    bool has_beta = false;          ///< a beta or OR column was given (effect_size computable)
    std::vector<std::string> non_rsid_ids; ///< model-SNP ids dropped for not containing "rs"
    gwas_summary summary;
};

/// The SNP ids a model uses (after the `chr` prefix rule for `_b38` varIDs).
std::vector<std::string> model_snp_keys(const io::predictdb_model& model);

/// The weights' varID of each of model_snp_keys (same order; "" where the model has none): where
/// --match_by_position finds the position of a SNP keyed by rsid.
std::vector<std::string> model_snp_varids(const io::predictdb_model& model);

/// Loads and prepares a model like MetaXcan (`--model_db_snp_key`, `chr` prefix for b38 ids).
io::predictdb_model load_model(const std::string& path, const spredixcan_options& options);

/// Reads the GWAS files (concatenated in the given order), keeping rows whose id is in
/// `model_snps` (or, with match_by_position, whose position+alleles match one of them: taken
/// from the id itself, else from `model_snp_varids`, the varID of each model SNP, when given —
/// so that a GWAS keyed by position reaches a model and covariance keyed by rsid).
/// Rows of unknown SNPs are never parsed. Values that cannot be statistics (p outside [0,1],
/// se ≤ 0, OR < 0, non-numeric) become NA and are counted, not fatal.
/// @throws input_error for a missing column (listing the header's columns) or a corrupt file.
gwas_data load_gwas(const std::vector<std::string>& files, const spredixcan_options& options,
                    const std::vector<std::string>& model_snps,
                    const std::vector<std::string>& model_snp_varids = {});

/// Why a model SNP did not reach the association (first reason that applies).
struct harmonisation_report {
    std::size_t model_snps = 0;       ///< distinct SNP ids in the model
    std::size_t used = 0;             ///< matched with a finite z
    std::size_t absent = 0;           ///< not in the GWAS
    std::size_t allele_mismatch = 0;  ///< alleles differ (not a strand flip)
    std::size_t strand_complement = 0; ///< alleles are the complement (MetaXcan never flips)
    std::size_t na_statistic = 0;     ///< present, but z is NA / not finite
    std::size_t dropped_non_rsid = 0; ///< GWAS id has no "rs" and --keep_non_rsid is off
    std::size_t duplicated = 0;       ///< SNPs with more than one GWAS row (last finite wins)
    std::size_t swapped = 0;          ///< used with A1/A2 swapped (sign flipped)
    std::uint64_t non_rsid_rows = 0;  ///< GWAS rows dropped as non-rsid (from gwas_summary)
    /// Id styles (e.g. "rsid", "chr_pos_ref_alt_b38", "chr:pos:a1:a2 (no chr)") → count.
    std::map<std::string, std::size_t> model_styles, gwas_styles;
    /// Non-empty when (almost) nothing matched: what is wrong and which flag would fix it.
    std::string diagnosis;
};

/// Harmonised statistics of one model: per model SNP key, the z (float32-rounded as MetaXcan)
/// and beta aligned to eff_allele.
struct harmonised_gwas {
    io::id_index keys;           ///< model SNP keys that have a finite z
    std::vector<double> z, beta; ///< parallel to keys
    harmonisation_report report;
};

/// Harmonises the GWAS to one model: set equality of alleles, sign flip when swapped,
/// z derivation (zscore > pvalue+sign > beta/se), float32 rounding, last finite row wins.
harmonised_gwas harmonise(const gwas_data& gwas, const io::predictdb_model& model,
                          const spredixcan_options& options);

/// Classifies an id: "rsid", "chr_pos_ref_alt_b38", "pos:ref:alt (no chr)", … (for messages).
std::string id_style(std::string_view id);

/// One gene of the result table.
struct gene_result {
    std::string gene, gene_name;
    double zscore, effect_size, pvalue, var_g;
    io::db_number pred_perf_r2, pred_perf_pval, pred_perf_qval, n_snps_in_model;
    std::int64_t n_snps_used = 0;
    std::int64_t n_snps_in_cov = -1; ///< -1: gene not in the covariance (NA)
    double best_gwas_p, largest_weight;
    double phi, uncalibrated_pvalue, uncalibrated_zscore;
    std::string status = "ok"; ///< "ok" or why the numbers are NA
    bool in_extra = true;      ///< false: computed, then dropped (MetaXcan's merge with extra)
};

/// Per-model counters for the log.
struct model_summary {
    std::size_t genes_in_model = 0;   ///< genes with weights
    std::size_t genes_with_gwas = 0;  ///< with ≥ 1 model SNP in the GWAS (computed)
    std::size_t genes_reported = 0;
    std::size_t genes_na = 0;
    std::size_t genes_not_in_cov = 0;
    std::map<std::string, std::size_t> status_counts;
    std::uint64_t cov_rows = 0, cov_rows_skipped = 0;
    std::uint64_t cov_asymmetric_pairs = 0; ///< io::covariance_read_stats::asymmetric_pairs
    std::string cov_first_asymmetric;       ///< the first of them ("line N: (a, b) = x, …")
};

/// The genes (indices into model.genes) that will be computed: ≥ 1 SNP with a finite z.
std::vector<std::size_t> genes_to_compute(const io::predictdb_model& model, const harmonised_gwas& gwas);

/// Computes the genes `genes` (indices into model.genes, ascending) reading only their blocks
/// of the covariance file. Results are in the order of `genes`.
std::vector<gene_result> compute_genes(const io::predictdb_model& model, const harmonised_gwas& gwas,
                                       const std::string& covariance_path,
                                       const std::vector<std::size_t>& genes,
                                       const spredixcan_options& options, model_summary* summary = nullptr);

/// MetaXcan's format_output: merge with extra, optional calibration and ens-version strip,
/// sort by p-value (NA last). Genes without an `extra` row are dropped here.
std::vector<gene_result> finish_results(std::vector<gene_result> computed, const io::predictdb_model& model,
                                        const spredixcan_options& options, model_summary* summary = nullptr);

/// The CSV text (header + rows) in MetaXcan's format (pandas float repr, NA, the 61 / 61.0
/// int/float column rule).
std::string format_csv(const std::vector<gene_result>& results, const io::predictdb_model& model,
                       const spredixcan_options& options);

/// Python's repr() of a double ("0.1", "1e-05", "61.0", "nan" → "NA").
std::string py_float(double v);

/// 2·Φ(−|z|) (scipy 2*norm.sf(|z|)); NaN for non-finite z.
double two_sided_p(double z);
/// −Φ⁻¹(p/2) for p in (0, 1]: the |z| of a two-sided p-value; +inf where p/2 is 0 (p = 0 or
/// the smallest denormal).
double z_from_two_sided_p(double p);

/// Serialises results for MPI gathering (exact: doubles as bit patterns).
std::string serialize(const std::vector<gene_result>& results);
/// Inverse of serialize(); appends to `out`.
void deserialize(const std::string& data, std::vector<gene_result>& out);

} // namespace scpx::assoc
