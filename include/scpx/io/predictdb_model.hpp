#pragma once
/// @file predictdb_model.hpp
/// PredictDB SQLite models (the format PrediXcan / S-PrediXcan read): reader and writer.
///
/// Tables (docs/elastic_net.md §1.8, docs/spredixcan.md §2.1):
///  * weights(rsid, gene, weight, ref_allele, eff_allele [, varID]) — eff_allele is the allele the
///    weight refers to. Read in storage order (MetaXcan has no ORDER BY), grouped by gene.
///  * extra(gene, genename, n.snps.in.model, pred.perf.R2, pred.perf.pval, pred.perf.qval, …)
///    — both the GTEx v6p/v7 column set and the PredictDb-nextflow set are accepted (column
///    order does not matter); `phi` is detected and read when present.
///  * sample_info, construction — informational; read best-effort, never required.
///
/// The writer produces the PredictDb-nextflow schema (make_db.R / filter_db.R):
///   extra(gene, genename, gene_type, alpha, n_snps_in_window, cv_mse, lambda_iteration,
///         lambda_min, n.snps.in.model, cv_R2_avg, cv_R2_sd, in_sample_R2, cv_fisher_pval,
///         rho_avg, rho_se, rho_zscore, pred.perf.R2, pred.perf.pval, pred.perf.qval [, phi])
///   weights(gene, rsid, varID, ref_allele, eff_allele, weight)
///   sample_info(n_samples, population), construction(chromosome, cv_seed)
///   indices weights_rsid, weights_gene, weights_rsid_gene, gene_model_summary(extra.gene).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scpx::io {

/// A numeric cell that remembers how SQLite stored it: MetaXcan prints values "as stored", so
/// an INTEGER n.snps.in.model prints as `26` but a REAL one as `26.0`, and NULL as NA.
struct db_number {
    double value = std::numeric_limits<double>::quiet_NaN();
    bool is_null = true;
    bool is_integer = false; ///< stored with SQLite type INTEGER

    static db_number null() { return {}; }
    static db_number real(double v); ///< NaN → NULL
    static db_number integer(std::int64_t v);
};

/// One row of `extra`. Columns absent from the table are NULL.
struct predictdb_extra {
    std::string gene;
    std::string genename;      ///< "" when NULL
    std::string gene_type;     ///< nextflow/v7 only; "" when absent
    db_number n_snps_in_model; ///< `n.snps.in.model`
    db_number pred_perf_r2;    ///< `pred.perf.R2`
    db_number pred_perf_pval;  ///< `pred.perf.pval`
    db_number pred_perf_qval;  ///< `pred.perf.qval`
    db_number phi;             ///< only when predictdb_model::has_phi
    // PredictDb-nextflow summary columns (NULL when the table lacks them).
    db_number alpha, n_snps_in_window, cv_mse, lambda_iteration, lambda_min, cv_r2_avg, cv_r2_sd,
        in_sample_r2, cv_fisher_pval, rho_avg, rho_se, rho_zscore;
};

/// One row of `sample_info`.
struct predictdb_sample_info {
    db_number n_samples;    ///< `n_samples` or `n.samples`
    std::string population; ///< "" when absent
};

/// One row of `construction`.
struct predictdb_construction {
    db_number chromosome; ///< `chromosome` or `chr`
    db_number cv_seed;    ///< `cv_seed` or `cv.seed`
};

/// A whole model, weights stored column-wise and grouped by gene (CSR layout):
/// the weights of genes[g] are rows [gene_begin[g], gene_begin[g+1]).
struct predictdb_model {
    std::string path; ///< file it was read from (for messages)

    std::vector<std::string> genes;      ///< distinct weights.gene, byte-wise sorted (SQLite ORDER BY)
    std::vector<std::size_t> gene_begin; ///< size genes.size() + 1

    std::vector<std::string> rsid;       ///< weights.rsid
    std::vector<std::string> varid;      ///< weights.varID; empty strings when !has_varid
    std::vector<std::string> ref_allele; ///< weights.ref_allele
    std::vector<std::string> eff_allele; ///< weights.eff_allele (the allele the weight refers to)
    std::vector<double> weight;          ///< weights.weight

    std::vector<predictdb_extra> extra; ///< `extra` ORDER BY gene
    std::vector<predictdb_sample_info> sample_info;
    std::vector<predictdb_construction> construction;

    bool has_varid = false;              ///< weights has a varID column
    bool has_phi = false;                ///< extra has a phi column
    std::size_t n_duplicate_weights = 0; ///< (gene, key) rows dropped by the last-wins rule

    std::size_t n_weights() const { return weight.size(); }
    /// Index into genes, or npos.
    std::size_t find_gene(const std::string& gene) const;
    /// Index into extra, or npos.
    std::size_t find_extra(const std::string& gene) const;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// Appends one gene's weights (for writers: the elastic-net stage builds models this way).
    /// `varids` may be empty. Call sort_by_gene() afterwards if genes were not added in order.
    void add_gene(const std::string& gene, const std::vector<std::string>& rsids,
                  const std::vector<std::string>& varids, const std::vector<std::string>& refs,
                  const std::vector<std::string>& effs, const std::vector<double>& weights);
    /// Sorts genes (byte-wise, stable within a gene) and extra by gene, as the reader returns them.
    void sort_by_gene();
};

/// Reader options.
struct predictdb_read_options {
    /// Which weights column identifies a SNP (MetaXcan --model_db_snp_key): "rsid" or "varID".
    /// Duplicated (gene, key) rows keep the *last* row's values at the *first* row's position,
    /// exactly like MetaXcan's per-gene dict.
    std::string snp_key = "rsid";
    /// Read sample_info and construction when present.
    bool read_metadata = true;
    /// Warn about duplicated (gene, key) rows (a caller that refuses them says so itself).
    bool warn_duplicates = true;
};

/// Loads a PredictDB model.
/// @throws io_error when the file cannot be opened as SQLite; input_error naming the file when
///         `weights` or `extra` is missing, a required column is absent (listing the columns
///         that exist), or a value is NULL/non-numeric (naming table, rowid and column).
predictdb_model read_predictdb_model(const std::string& path, const predictdb_read_options& options = {});

/// Writes `model` in the PredictDb-nextflow schema, inside one transaction, to a temporary
/// file that is renamed into place only when complete (scpx::atomic_output).
/// Weights are written gene by gene in model order. NaN / NULL numbers become SQL NULL.
/// @throws usage_error when `path` exists and !overwrite; io_error on any SQLite failure
///         (no partial file is left behind).
void write_predictdb_model(const std::string& path, const predictdb_model& model, bool overwrite = true);

} // namespace scpx::io
