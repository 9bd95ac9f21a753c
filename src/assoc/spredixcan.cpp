// S-PrediXcan, second half: per-gene association from the harmonised z-scores, the weights and
// the SNP covariance (streamed, only the blocks of genes that will be computed), then MetaXcan's
// output table.
#include "scpx/assoc/spredixcan.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/io/covariance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace scpx::assoc {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

gene_result empty_result(const std::string& gene) {
    gene_result r;
    r.gene = gene;
    r.zscore = r.effect_size = r.pvalue = r.var_g = kNaN;
    r.best_gwas_p = r.largest_weight = kNaN;
    r.phi = r.uncalibrated_pvalue = r.uncalibrated_zscore = kNaN;
    return r;
}

// One gene's SNPs that have a harmonised z: weight row, slot in gwas.
struct gene_snps {
    io::id_index ids;
    std::vector<double> w, z, beta;
};

void collect_snps(const io::predictdb_model& model, const harmonised_gwas& gwas, std::size_t g, gene_snps& s) {
    s.ids.clear();
    s.w.clear();
    s.z.clear();
    s.beta.clear();
    for (std::size_t i = model.gene_begin[g]; i < model.gene_begin[g + 1]; ++i) {
        const std::int64_t k = gwas.keys.find(model.rsid[i]);
        if (k < 0) continue;
        const std::size_t before = s.ids.size();
        s.ids.insert(model.rsid[i]);
        if (s.ids.size() == before) continue; // the reader already merged duplicates
        s.w.push_back(model.weight[i]);
        s.z.push_back(gwas.z[static_cast<std::size_t>(k)]);
        s.beta.push_back(gwas.beta[static_cast<std::size_t>(k)]);
    }
}

// AssociationCalculation.py l.55-94 on the used SNPs `idx` (into s) with covariance `cov`.
void associate(gene_result& r, const gene_snps& s, const std::vector<std::size_t>& idx, const Eigen::MatrixXd& cov,
               bool has_beta) {
    const std::size_t n = idx.size();
    r.n_snps_used = static_cast<std::int64_t>(n);
    if (n == 0) {
        r.status = "no GWAS SNP of the gene in the covariance";
        return;
    }
    // --additional_output statistics (computed whenever SNPs are used, even if var_g = 0).
    double max_abs_z = 0, max_abs_w = 0;
    for (std::size_t a = 0; a < n; ++a) {
        max_abs_z = std::max(max_abs_z, std::fabs(s.z[idx[a]]));
        max_abs_w = std::max(max_abs_w, std::fabs(s.w[idx[a]]));
    }
    r.best_gwas_p = two_sided_p(max_abs_z);
    r.largest_weight = max_abs_w;

    // var_g = dot(dot(w, Σ), w)
    double var = 0;
    for (std::size_t b = 0; b < n; ++b) {
        double u = 0;
        for (std::size_t a = 0; a < n; ++a)
            u += s.w[idx[a]] * cov(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b));
        var += u * s.w[idx[b]];
    }
    r.var_g = var;
    if (!(var > 0)) {
        r.status = "zero variance: w'Σw <= 0 (all used weights 0 or degenerate covariance)";
        return;
    }
    const double sd = std::sqrt(var);
    double num_z = 0, num_b = 0;
    bool beta_na = false;
    for (std::size_t a = 0; a < n; ++a) {
        const double c = cov(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(a));
        const double w = s.w[idx[a]];
        num_z += w * std::sqrt(c) * s.z[idx[a]];
        const double b = s.beta[idx[a]];
        if (std::isnan(b)) beta_na = true;
        num_b += w * c * b;
    }
    r.zscore = num_z / sd;
    r.pvalue = two_sided_p(r.zscore);
    r.effect_size = has_beta ? num_b / var : kNaN;
    if (has_beta && beta_na) r.status = "effect_size NA: a used SNP has NA beta";
}

} // namespace

std::vector<std::size_t> genes_to_compute(const io::predictdb_model& model, const harmonised_gwas& gwas) {
    std::vector<std::size_t> out;
    for (std::size_t g = 0; g < model.genes.size(); ++g) {
        for (std::size_t i = model.gene_begin[g]; i < model.gene_begin[g + 1]; ++i) {
            if (gwas.keys.contains(model.rsid[i])) {
                out.push_back(g);
                break;
            }
        }
    }
    return out;
}

std::vector<gene_result> compute_genes(const io::predictdb_model& model, const harmonised_gwas& gwas,
                                       const std::string& covariance_path, const std::vector<std::size_t>& genes,
                                       const spredixcan_options& options, model_summary* summary) {
    const bool has_beta = !options.columns.beta.empty() || !options.columns.odds_ratio.empty();
    std::vector<gene_result> out;
    out.reserve(genes.size());
    for (std::size_t g : genes)
        out.push_back(empty_result(model.genes[g]));
    gene_snps s;
    std::vector<std::size_t> idx;

    if (options.single_snp_model) {
        // Σ = 1 for every SNP (MetaXcan --single_snp_model): no covariance is read.
        for (std::size_t k = 0; k < genes.size(); ++k) {
            collect_snps(model, gwas, genes[k], s);
            idx.resize(s.w.size());
            std::iota(idx.begin(), idx.end(), 0);
            const Eigen::MatrixXd one = Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(idx.size()),
                                                                  static_cast<Eigen::Index>(idx.size()));
            out[k].n_snps_in_cov = static_cast<std::int64_t>(idx.size());
            associate(out[k], s, idx, one, has_beta);
        }
        return out;
    }

    // Which result slot each wanted gene fills.
    io::id_index wanted(genes.size());
    for (std::size_t g : genes)
        wanted.insert(model.genes[g]);
    std::vector<char> seen(genes.size(), 0);
    io::covariance_reader reader(covariance_path, [&wanted](std::string_view gene) { return wanted.contains(gene); });
    io::covariance_block block;
    std::vector<char> keep;
    while (reader.next(block)) {
        const std::int64_t k = wanted.find(block.gene);
        if (k < 0) continue;
        seen[k] = 1;
        gene_result& r = out[static_cast<std::size_t>(k)];
        collect_snps(model, gwas, genes[static_cast<std::size_t>(k)], s);
        keep.assign(block.ids.size(), 0);
        for (std::size_t i = 0; i < block.ids.size(); ++i)
            keep[i] = s.ids.contains(block.ids[i]) ? 1 : 0;
        r.n_snps_in_cov = static_cast<std::int64_t>(block.n_ids_in_cov());
        const auto m = block.to_matrix(keep);
        idx.clear();
        for (std::uint32_t id : m.snps)
            idx.push_back(static_cast<std::size_t>(s.ids.find(block.ids[id])));
        if (m.n_missing > 0) {
            // MetaXcan: KeyError, the whole run aborts.
            r.n_snps_used = static_cast<std::int64_t>(idx.size());
            r.status = fmt::format("covariance incomplete: {} SNP pair(s) of used SNPs have no (non-NA) value",
                                   m.n_missing / 2 + m.n_missing % 2);
            continue;
        }
        associate(r, s, idx, m.values, has_beta);
    }
    std::size_t not_in_cov = 0;
    for (std::size_t k = 0; k < genes.size(); ++k) {
        if (seen[k]) continue;
        ++not_in_cov;
        out[k].n_snps_in_cov = -1;
        out[k].n_snps_used = 0;
        out[k].status = "gene not in the covariance file";
    }
    if (summary) {
        summary->genes_not_in_cov += not_in_cov;
        summary->cov_rows += reader.stats().rows;
        summary->cov_rows_skipped += reader.stats().rows_skipped;
        if (summary->cov_asymmetric_pairs == 0)
            summary->cov_first_asymmetric = reader.stats().first_asymmetric;
        summary->cov_asymmetric_pairs += reader.stats().asymmetric_pairs;
    }
    return out;
}

std::vector<gene_result> finish_results(std::vector<gene_result> computed, const io::predictdb_model& model,
                                        const spredixcan_options& options, model_summary* summary) {
    std::vector<gene_result> out;
    out.reserve(computed.size());
    std::size_t no_extra = 0;
    for (auto& r : computed) {
        const std::size_t e = model.find_extra(r.gene);
        if (e == io::predictdb_model::npos) {
            ++no_extra;
            SCPX_LOG_DBG("gene {} has weights but no row in `extra`: not reported (as MetaXcan)", r.gene);
            continue;
        }
        const auto& x = model.extra[e];
        r.gene_name = x.genename;
        r.pred_perf_r2 = x.pred_perf_r2;
        r.pred_perf_pval = x.pred_perf_pval;
        r.pred_perf_qval = x.pred_perf_qval;
        r.n_snps_in_model = x.n_snps_in_model;
        r.phi = x.phi.is_null ? kNaN : x.phi.value;
        out.push_back(std::move(r));
    }
    if (no_extra)
        SCPX_LOG_WRN_SHARED("{} gene(s) with weights but no row in `extra` are not reported (as MetaXcan)",
                            no_extra);

    // Sort by p-value, NA last (ties keep gene order, so the table is deterministic).
    std::stable_sort(out.begin(), out.end(), [](const gene_result& a, const gene_result& b) {
        const bool na = std::isnan(a.pvalue), nb = std::isnan(b.pvalue);
        if (na || nb) return !na && nb;
        return a.pvalue < b.pvalue;
    });

    const bool calibrate = !std::isnan(options.gwas_h2) && !std::isnan(options.gwas_n);
    if (calibrate) {
        // M04_zscores.py l.37-56: z / sqrt(1 + phi·N·h2), after sorting (not re-sorted).
        std::vector<gene_result> kept;
        std::size_t null_phi = 0;
        for (auto& r : out) {
            r.uncalibrated_pvalue = r.pvalue;
            r.uncalibrated_zscore = r.zscore;
            if (!model.has_phi) {
                r.phi = kNaN;
                r.zscore = r.pvalue = kNaN;
                r.status = "not calibrated: the model has no phi column";
            } else if (std::isnan(r.phi)) {
                ++null_phi;
                continue; // MetaXcan's inner join with phi drops it
            } else {
                if (r.phi < 0) r.phi = 0;
                r.zscore = r.zscore / std::sqrt(1 + r.phi * options.gwas_n * options.gwas_h2);
                r.pvalue = two_sided_p(r.zscore);
            }
            kept.push_back(std::move(r));
        }
        out.swap(kept);
        if (!model.has_phi)
            SCPX_LOG_WRN_SHARED(
                "{}: --gwas_h2/--gwas_N given but the model has no `phi` column: zscore/pvalue are NA, "
                "the uncalibrated values are in uncalibrated_zscore/uncalibrated_pvalue (MetaXcan "
                "aborts: 'no such column: phi')",
                model.path);
        if (null_phi) SCPX_LOG_WRN_SHARED("{} gene(s) with NULL phi dropped (as MetaXcan)", null_phi);
    }

    if (options.remove_ens_version)
        for (auto& r : out)
            r.gene = r.gene.substr(0, r.gene.find('.'));

    if (summary) {
        summary->genes_reported = out.size();
        summary->genes_na = 0;
        summary->status_counts.clear();
        for (const auto& r : out) {
            if (std::isnan(r.zscore)) ++summary->genes_na;
            ++summary->status_counts[r.status];
        }
    }
    return out;
}

namespace {

// pandas writes a column as int when every value is an integer (and none is missing).
bool integer_column(const std::vector<io::predictdb_extra>& extra, io::db_number io::predictdb_extra::*field) {
    for (const auto& x : extra)
        if ((x.*field).is_null || !(x.*field).is_integer) return false;
    return true;
}

void append_number(std::string& o, const io::db_number& n, bool as_int) {
    if (n.is_null) o += "NA";
    else if (as_int) o += fmt::format("{}", static_cast<long long>(n.value));
    else o += py_float(n.value);
}

void append_text(std::string& o, const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) {
        o += s;
        return;
    }
    o += '"';
    for (char c : s) {
        if (c == '"') o += '"';
        o += c;
    }
    o += '"';
}

} // namespace

std::string format_csv(const std::vector<gene_result>& results, const io::predictdb_model& model,
                       const spredixcan_options& options) {
    const bool calibrate = !std::isnan(options.gwas_h2) && !std::isnan(options.gwas_n);
    std::string o = "gene,gene_name,zscore,effect_size,pvalue,var_g,pred_perf_r2,pred_perf_pval,pred_perf_qval,"
                    "n_snps_used,n_snps_in_cov,n_snps_in_model";
    if (options.additional_output) o += ",best_gwas_p,largest_weight";
    if (calibrate) o += ",phi,uncalibrated_pvalue,uncalibrated_zscore";
    if (options.status_column) o += ",status";
    o += '\n';
    using X = io::predictdb_extra;
    const bool int_r2 = integer_column(model.extra, &X::pred_perf_r2);
    const bool int_pval = integer_column(model.extra, &X::pred_perf_pval);
    const bool int_qval = integer_column(model.extra, &X::pred_perf_qval);
    const bool int_nsnps = integer_column(model.extra, &X::n_snps_in_model);
    // n_snps_in_cov: an int column unless some gene is absent from the covariance (NA → float).
    bool cov_float = false;
    for (const auto& r : results)
        if (r.n_snps_in_cov < 0) cov_float = true;
    for (const auto& r : results) {
        append_text(o, r.gene);
        o += ',';
        append_text(o, r.gene_name.empty() ? std::string("NA") : r.gene_name);
        for (double v : {r.zscore, r.effect_size, r.pvalue, r.var_g}) {
            o += ',';
            o += py_float(v);
        }
        o += ',';
        append_number(o, r.pred_perf_r2, int_r2);
        o += ',';
        append_number(o, r.pred_perf_pval, int_pval);
        o += ',';
        append_number(o, r.pred_perf_qval, int_qval);
        o += ',';
        o += std::to_string(r.n_snps_used);
        o += ',';
        if (r.n_snps_in_cov < 0) o += "NA";
        else o += cov_float ? py_float(static_cast<double>(r.n_snps_in_cov)) : std::to_string(r.n_snps_in_cov);
        o += ',';
        append_number(o, r.n_snps_in_model, int_nsnps);
        if (options.additional_output) {
            o += ',' + py_float(r.best_gwas_p);
            o += ',' + py_float(r.largest_weight);
        }
        if (calibrate) {
            o += ',' + py_float(r.phi);
            o += ',' + py_float(r.uncalibrated_pvalue);
            o += ',' + py_float(r.uncalibrated_zscore);
        }
        if (options.status_column) {
            o += ',';
            append_text(o, r.status);
        }
        o += '\n';
    }
    return o;
}

} // namespace scpx::assoc
