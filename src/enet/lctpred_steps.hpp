// Internal to the l-ctPred stage (src/enet/lctpred*.cpp): the gene list every rank holds and the
// steps of run_lctpred that live in files of their own. Not installed.
#pragma once

#include "scpx/dist/partition.hpp"
#include "scpx/enet/genotype_panel.hpp"
#include "scpx/enet/lctpred.hpp"
#include "scpx/enet/predictdb.hpp"
#include "scpx/io/covariance.hpp"
#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/h5_writer.hpp"
#include "scpx/io/predictdb_model.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace scpx::enet::detail {

/// One gene to fit (same on every rank).
struct gene_job {
    std::string gene_id;
    io::gene_record rec;
    int chrom = 0;               ///< 1..22, 0 = not autosomal
    std::size_t expr_index = 0;  ///< feature index in the expression table
    std::size_t annot_index = 0; ///< row of the gene in the annotation (R's visiting order)
    std::size_t snp_begin = 0, snp_end = 0;
};

// ---- the HDF5 summary (lctpred_summary_rows.cpp)

/// The summary's datasets for `genes` rows, `lambdas` path columns and `folds` fold columns;
/// `id_len`: the longest gene id.
std::vector<io::h5_dataset_spec> summary_datasets(hsize_t genes, hsize_t lambdas, hsize_t folds,
                                                  std::size_t id_len);

/// Writes the rows `mine` of the summary (collective: every rank calls it with its block);
/// `fits[k]` is the fit of gene `mine.begin + k`.
void write_summary_rows(io::h5_row_writer& h5, const std::vector<gene_job>& jobs,
                        const std::vector<gene_fit>& fits, dist::index_range mine, hsize_t lambdas,
                        hsize_t folds);

// ---- the PredictDB model and covariance (lctpred_model_out.cpp)

/// What the .db records of the run beside the genes.
struct model_run_facts {
    std::size_t training_samples = 0;
    std::string population;
    std::uint64_t seed = 0;
    bool with_phi = false;
    std::vector<double> phi; ///< per gene row when with_phi (NaN: none)
};

/// The PredictDB model of the kept genes (`fits[g]` of `jobs[g]`, every gene), their covariance
/// rows written to `cov` in the db's gene order (byte-wise sorted ids).
io::predictdb_model build_model_and_covariance(const std::vector<gene_job>& jobs,
                                               const std::vector<gene_fit>& fits, const genotype_panel& panel,
                                               const model_run_facts& facts, io::covariance_writer& cov);

} // namespace scpx::enet::detail
