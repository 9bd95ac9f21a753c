#pragma once
/// @file predictdb_text.hpp
/// The text inputs of PredictDB model training (docs/elastic_net.md §1.1–1.3; fixture
/// fixtures/enet/case2_p2000/):
///  * genotype dosages: header `varID` (any first name) + sample ids; one row per variant:
///    varID then ALT dosages 0..2; tab (or any delimiter detected from the header), plain/gzip;
///  * SNP annotation: columns chr pos varID ref_vcf alt_vcf rsid (PredictDb-nextflow also
///    accepts refAllele/effectAllele; v7 rsid_dbSNP150), any order, extra columns ignored;
///  * expression (and covariates, same layout): features × samples with header `gene_id`
///    (any first name) + sample ids, or the transposed PredictDB convention samples × genes,
///    including R's write.table(row.names = TRUE) form whose header lacks the first column.
///
/// Matrices are column-major with samples as rows, so one variant's (or gene's) values are
/// contiguous: values[k * n_samples + s] — exactly the X columns / y vectors the elastic net
/// uses. matrix() maps them as Eigen without copying.

#include "scpx/core/text.hpp"

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::io {

/// A samples × features matrix with ids (features are variants or genes).
struct sample_matrix {
    std::vector<std::string> sample_ids;
    std::vector<std::string> feature_ids;
    std::vector<double> values; ///< column-major n_samples × n_features

    std::size_t n_samples() const { return sample_ids.size(); }
    std::size_t n_features() const { return feature_ids.size(); }
    /// [n_samples, n_features] view, column k = feature k.
    Eigen::Map<const Eigen::MatrixXd> matrix() const {
        return {values.data(), static_cast<Eigen::Index>(n_samples()),
                static_cast<Eigen::Index>(n_features())};
    }
    /// Values of feature k (n_samples contiguous doubles).
    const double* feature(std::size_t k) const { return values.data() + k * n_samples(); }
};

/// Genotype reading options.
struct genotype_read_options {
    delimiter delim = delimiter::AUTO;
    /// When set, only variants for which it returns true are kept (others are not parsed).
    std::function<bool(std::string_view var_id)> variant_filter;
    /// When non-empty, only these samples are kept, in this order; a sample missing from the
    /// header → input_error listing how many are missing and the first few.
    std::vector<std::string> samples;
    /// Where `samples` came from (e.g. "the expression table E.tsv"), named in that message.
    std::string samples_from;
    /// NA tokens, NaN and an empty field become NaN (missing, for the caller's QC to drop or
    /// impute, as a VCF's ./.); when false they are an input_error.
    bool allow_missing = false;
};

/// Reads a dosage matrix (variants as features).
/// @throws input_error for an empty file, duplicated sample or variant ids, an empty sample
///         name, a wrong field count, a non-numeric dosage, a dosage outside 0..2, or (without
///         allow_missing) a missing one, naming file, line and the sample column.
sample_matrix read_genotype_dosages(const std::string& path, const genotype_read_options& options = {});

/// SNP annotation, column-wise.
struct snp_annotation {
    std::vector<std::string> chromosome; ///< as written ("2", "chr2")
    std::vector<std::int64_t> position;
    std::vector<std::string> var_id;
    std::vector<std::string> ref_allele; ///< ref_vcf / refAllele
    std::vector<std::string> alt_allele; ///< alt_vcf / effectAllele (the dosage allele)
    std::vector<std::string> rsid;       ///< "" when NA / "." / empty (PredictDB drops those)
    std::size_t n_duplicate_var_ids = 0; ///< later rows of a repeated varID, dropped

    std::size_t size() const { return var_id.size(); }
};

/// Reads a SNP annotation. Duplicated varIDs keep the first row (PredictDb-nextflow's
/// `distinct(varID)`), counted and logged. No strand-ambiguity or rsid filtering here.
/// A UTF-8 byte-order mark before the header is ignored.
/// @throws input_error for a missing column (listing the columns present), a position that is
///         not a positive integer (file, line, field), or an empty file.
snp_annotation read_snp_annotation(const std::string& path, delimiter delim = delimiter::AUTO);

/// Orientation of an expression/covariate table.
enum class expression_layout {
    FEATURES_BY_SAMPLES, ///< header: id column name + sample ids; rows: gene then values
    SAMPLES_BY_FEATURES  ///< transposed: header: (optional id name +) gene ids; rows: sample
};

/// Expression reading options.
struct expression_read_options {
    expression_layout layout = expression_layout::FEATURES_BY_SAMPLES;
    delimiter delim = delimiter::AUTO;
    /// NA tokens become NaN when true; otherwise they are an input_error.
    bool allow_missing = true;
};

/// Reads an expression (or covariate) table into samples × features.
/// @throws input_error for an empty file, wrong field count, duplicated ids or a non-numeric
///         value (file, line, field = sample or gene id).
sample_matrix read_expression(const std::string& path, const expression_read_options& options = {});

} // namespace scpx::io
