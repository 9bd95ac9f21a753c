// The l-ctPred HDF5 summary: its datasets, and one rank's block of rows.
#include "lctpred_steps.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scpx::enet::detail {

namespace {
constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
} // namespace

std::vector<io::h5_dataset_spec> summary_datasets(hsize_t genes, hsize_t lambdas, hsize_t folds,
                                                  std::size_t id_len) {
    using io::h5_dtype;
    const hsize_t ng = genes, W = lambdas, F = folds;
    return {
        {"gene_id", h5_dtype::str, {ng}, id_len, "gene id as in the expression table", {}},
        {"gene_name", h5_dtype::str, {ng}, 64, "gene name from the annotation (truncated to 64 bytes)", {}},
        {"status",
         h5_dtype::str,
         {ng},
         24,
         "ok | too_few_snps | constant_expression | missing_expression | no_convergence | not_autosomal",
         {}},
        {"chromosome", h5_dtype::i32, {ng}, 0, "1..22; 0 = not autosomal", {}},
        {"tss", h5_dtype::i64, {ng}, 0, "transcription start site (1-based) from the gene annotation", {}},
        {"n_snps_in_window", h5_dtype::i32, {ng}, 0, "", {}},
        {"n_snps_in_model", h5_dtype::i32, {ng}, 0, "", {}},
        {"included", h5_dtype::u8, {ng}, 0, "zscore_pval < 0.05 and rho_avg > 0.1 and >= 1 SNP", {}},
        {"lambda_iteration",
         h5_dtype::i32,
         {ng},
         0,
         "1-based index of the chosen lambda; 0 when not fitted",
         {}},
        {"lambda_min", h5_dtype::f64, {ng}, 0, "", {}},
        {"cv_mse", h5_dtype::f64, {ng}, 0, "mean over repeats of cvm at lambda_min", {}},
        {"cv_R2_avg", h5_dtype::f64, {ng}, 0, "", {}},
        {"cv_R2_sd", h5_dtype::f64, {ng}, 0, "", {}},
        {"in_sample_R2", h5_dtype::f64, {ng}, 0, "", {}},
        {"rho_avg", h5_dtype::f64, {ng}, 0, "", {}},
        {"rho_se", h5_dtype::f64, {ng}, 0, "sd of the per-fold rho", {}},
        {"rho_zscore", h5_dtype::f64, {ng}, 0, "Stouffer sum of Fisher z / sqrt(k)", {}},
        {"zscore_pval", h5_dtype::f64, {ng}, 0, "pred.perf.pval", {}},
        {"cv_fisher_pval", h5_dtype::f64, {ng}, 0, "", {}},
        {"cv/lambda", h5_dtype::f64, {ng, W}, 0, "lambda path (NaN padded)", {}},
        {"cv/cvm", h5_dtype::f64, {ng, W}, 0, "cvm averaged over the repeats", {}},
        {"cv/cvsd", h5_dtype::f64, {ng, W}, 0, "first repeat's cvsd", {}},
        {"cv/nzero", h5_dtype::i32, {ng, W}, 0, "non-zero weights of the full-data fit (-1 padded)", {}},
        {"folds/n", h5_dtype::i32, {ng, F}, 0, "held-out samples per fold of the first repeat", {}},
        {"folds/R2", h5_dtype::f64, {ng, F}, 0, "", {}},
        {"folds/rho", h5_dtype::f64, {ng, F}, 0, "", {}},
        {"folds/z", h5_dtype::f64, {ng, F}, 0, "", {}},
        {"folds/pval", h5_dtype::f64, {ng, F}, 0, "", {}},
    };
}

void write_summary_rows(io::h5_row_writer& h5, const std::vector<gene_job>& jobs,
                        const std::vector<gene_fit>& fits, dist::index_range mine, hsize_t lambdas,
                        hsize_t folds) {
    const hsize_t W = lambdas, F = folds;
    std::vector<std::string> ids, names, status;
    std::vector<std::int32_t> chrom, nwin, nmod, liter, nzero, fn;
    std::vector<std::int64_t> tss;
    std::vector<std::uint8_t> inc;
    std::vector<double> lmin, mse, r2a, r2s, isr2, ra, rs, rz, zp, fp, lam, cvm, cvsd, fr2, frho, fz, fpv;
    for (std::size_t g = mine.begin; g < mine.end; ++g) {
        const gene_job& j = jobs[g];
        const gene_fit& f = fits[g - mine.begin];
        const bool ok = f.status == gene_status::ok;
        ids.push_back(j.gene_id);
        names.push_back(j.rec.gene_name.substr(0, 64));
        status.emplace_back(to_string(f.status));
        chrom.push_back(j.chrom);
        tss.push_back(j.rec.tss);
        nwin.push_back(static_cast<std::int32_t>(j.snp_end - j.snp_begin));
        nmod.push_back(f.n_snps_in_model());
        inc.push_back(f.included ? 1 : 0);
        liter.push_back(ok ? f.lambda_index + 1 : 0);
        auto v = [ok](double x) { return ok ? x : nan_v; };
        lmin.push_back(v(f.lambda_min));
        mse.push_back(v(f.cv_mse));
        r2a.push_back(v(f.cv_r2_avg));
        r2s.push_back(v(f.cv_r2_sd));
        isr2.push_back(v(f.in_sample_r2));
        ra.push_back(v(f.rho_avg));
        rs.push_back(v(f.rho_se));
        rz.push_back(v(f.rho_zscore));
        zp.push_back(v(f.zscore_pval));
        fp.push_back(v(f.cv_fisher_pval));
        for (hsize_t l = 0; l < W; ++l) {
            const bool have = l < f.lambda.size();
            lam.push_back(have ? f.lambda[l] : nan_v);
            cvm.push_back(have ? f.cvm[l] : nan_v);
            cvsd.push_back(have ? f.cvsd[l] : nan_v);
            nzero.push_back(have ? f.nzero[l] : -1);
        }
        const std::size_t base = fn.size();
        fn.resize(base + F, 0);
        fr2.resize(base + F, nan_v);
        frho.resize(base + F, nan_v);
        fz.resize(base + F, nan_v);
        fpv.resize(base + F, nan_v);
        for (const fold_stats& s : f.folds) {
            if (s.fold < 1 || static_cast<hsize_t>(s.fold) > F) continue;
            const std::size_t at = base + static_cast<std::size_t>(s.fold - 1);
            fn[at] = s.n;
            fr2[at] = s.r2;
            frho[at] = s.rho;
            fz[at] = s.z;
            fpv[at] = s.pval;
        }
    }
    const hsize_t first = mine.begin, count = mine.size();
    h5.write_rows("gene_id", first, count, ids);
    h5.write_rows("gene_name", first, count, names);
    h5.write_rows("status", first, count, status);
    h5.write_rows("chromosome", first, count, chrom);
    h5.write_rows("tss", first, count, tss);
    h5.write_rows("n_snps_in_window", first, count, nwin);
    h5.write_rows("n_snps_in_model", first, count, nmod);
    h5.write_rows("included", first, count, inc);
    h5.write_rows("lambda_iteration", first, count, liter);
    h5.write_rows("lambda_min", first, count, lmin);
    h5.write_rows("cv_mse", first, count, mse);
    h5.write_rows("cv_R2_avg", first, count, r2a);
    h5.write_rows("cv_R2_sd", first, count, r2s);
    h5.write_rows("in_sample_R2", first, count, isr2);
    h5.write_rows("rho_avg", first, count, ra);
    h5.write_rows("rho_se", first, count, rs);
    h5.write_rows("rho_zscore", first, count, rz);
    h5.write_rows("zscore_pval", first, count, zp);
    h5.write_rows("cv_fisher_pval", first, count, fp);
    h5.write_rows("cv/lambda", first, count, lam);
    h5.write_rows("cv/cvm", first, count, cvm);
    h5.write_rows("cv/cvsd", first, count, cvsd);
    h5.write_rows("cv/nzero", first, count, nzero);
    h5.write_rows("folds/n", first, count, fn);
    h5.write_rows("folds/R2", first, count, fr2);
    h5.write_rows("folds/rho", first, count, frho);
    h5.write_rows("folds/z", first, count, fz);
    h5.write_rows("folds/pval", first, count, fpv);
}

} // namespace scpx::enet::detail
