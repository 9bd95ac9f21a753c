// The l-ctPred outputs rank 0 writes: the PredictDB model of the kept genes and their LD
// covariance, in the db's gene order.
#include "lctpred_steps.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace scpx::enet::detail {

namespace {

/// Sample covariance (n − 1) of the training dosages of the panel's SNPs `cols`.
Eigen::MatrixXd model_snp_covariance(const genotype_panel& panel, const std::vector<std::size_t>& cols) {
    const std::size_t n = panel.n_samples(), p = cols.size();
    Eigen::MatrixXd xc(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(p));
    for (std::size_t c = 0; c < p; ++c) {
        const double* d = panel.snp(cols[c]);
        double mean = 0;
        for (std::size_t i = 0; i < n; ++i)
            mean += d[i];
        mean /= static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i)
            xc(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) = d[i] - mean;
    }
    Eigen::MatrixXd cv = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(p));
    for (Eigen::Index a = 0; a < static_cast<Eigen::Index>(p); ++a)
        for (Eigen::Index b = a; b < static_cast<Eigen::Index>(p); ++b) {
            const double v = xc.col(a).dot(xc.col(b)) / static_cast<double>(n - 1);
            cv(a, b) = v;
            cv(b, a) = v;
        }
    return cv;
}

} // namespace

io::predictdb_model build_model_and_covariance(const std::vector<gene_job>& jobs,
                                               const std::vector<gene_fit>& fits, const genotype_panel& panel,
                                               const model_run_facts& facts, io::covariance_writer& cov) {
    io::predictdb_model m;
    std::set<int> chroms;
    // Covariance rows in the db's gene order (byte-wise sorted gene ids).
    std::vector<std::size_t> order;
    for (std::size_t g = 0; g < jobs.size(); ++g) {
        const gene_fit& f = fits[g];
        if (f.status == gene_status::ok) chroms.insert(jobs[g].chrom);
        if (f.included) order.push_back(g);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&jobs](std::size_t a, std::size_t b) { return jobs[a].gene_id < jobs[b].gene_id; });
    for (std::size_t g : order) {
        const gene_job& j = jobs[g];
        const gene_fit& f = fits[g];
        std::vector<std::string> rs, vid, ref, alt;
        std::vector<double> w;
        std::vector<std::size_t> cols;
        for (const auto& [c, wt] : f.weights) {
            const std::size_t k = j.snp_begin + static_cast<std::size_t>(c);
            cols.push_back(k);
            rs.push_back(panel.rsid[k]);
            vid.push_back(panel.var_id[k]);
            ref.push_back(panel.ref[k]);
            alt.push_back(panel.alt[k]);
            w.push_back(wt);
        }
        m.add_gene(j.gene_id, rs, vid, ref, alt, w);
        io::predictdb_extra e;
        e.gene = j.gene_id;
        e.genename = j.rec.gene_name;
        e.gene_type = j.rec.gene_type;
        e.alpha = io::db_number::real(f.alpha);
        e.n_snps_in_window = io::db_number::integer(f.n_snps_in_window);
        e.cv_mse = io::db_number::real(f.cv_mse);
        e.lambda_iteration = io::db_number::integer(f.lambda_index + 1);
        e.lambda_min = io::db_number::real(f.lambda_min);
        e.n_snps_in_model = io::db_number::integer(static_cast<std::int64_t>(f.weights.size()));
        e.cv_r2_avg = io::db_number::real(f.cv_r2_avg);
        e.cv_r2_sd = io::db_number::real(f.cv_r2_sd);
        e.in_sample_r2 = io::db_number::real(f.in_sample_r2);
        e.cv_fisher_pval = io::db_number::real(f.cv_fisher_pval);
        e.rho_avg = io::db_number::real(f.rho_avg);
        e.rho_se = io::db_number::real(f.rho_se);
        e.rho_zscore = io::db_number::real(f.rho_zscore);
        e.pred_perf_r2 = io::db_number::real(f.pred_perf_r2());
        e.pred_perf_pval = io::db_number::real(f.zscore_pval);
        e.pred_perf_qval = io::db_number::null();
        if (facts.with_phi)
            e.phi = std::isnan(facts.phi[g]) ? io::db_number::null() : io::db_number::real(facts.phi[g]);
        m.extra.push_back(std::move(e));

        cov.write_gene(j.gene_id, rs, model_snp_covariance(panel, cols));
    }
    io::predictdb_sample_info si;
    si.n_samples = io::db_number::integer(static_cast<std::int64_t>(facts.training_samples));
    si.population = facts.population;
    m.sample_info.push_back(si);
    for (int c : chroms) {
        io::predictdb_construction pc;
        pc.chromosome = io::db_number::integer(c);
        pc.cv_seed = io::db_number::integer(static_cast<std::int64_t>(facts.seed));
        m.construction.push_back(pc);
    }
    m.has_phi = facts.with_phi;
    m.sort_by_gene();
    return m;
}

} // namespace scpx::enet::detail
