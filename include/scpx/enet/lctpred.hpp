#pragma once
/// @file lctpred.hpp
/// The l-ctPred stage (pipeline.md §4): per-gene PredictDB elastic net over all genes of an
/// expression table, split across MPI ranks by cost, written as one PredictDB .db, one
/// covariance file and one HDF5 summary that are byte-identical at any rank count.
///
/// Flow: expression (genes × samples) ∩ genotype samples → training samples (expression order);
/// genotypes QC'd into a sorted panel; gene annotation gives each gene's cis window
/// (start − window .. end + window, inclusive); genes cut into contiguous blocks of near-equal
/// n·p cost (dist::partition_by_cost); each rank fits its block (enet::fit_gene); results are
/// gathered to rank 0, which writes the .db (included genes; extra, weights, sample_info,
/// construction) and the covariance (model SNPs, n − 1); the HDF5 summary (every gene, its
/// status, statistics and CV curve) is written collectively. Outputs are opened (so an
/// unwritable path fails) before any fitting, and renamed into place only when all succeeded.
/// Every finished gene is journaled (lctpred_options::journal_dir), so a killed run continues
/// with `resume` and still writes byte-identical outputs.

#include "scpx/enet/genotype_panel.hpp"
#include "scpx/enet/predictdb.hpp"
#include "scpx/dist/partition.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scpx::enet {

/// Settings of one lctpred run.
struct lctpred_options {
    // Inputs
    /// genes × samples: a table (PredictDB layout / ctPred's TSV), or ctPred predict's HDF5 as
    /// "FILE.h5:/<cell type>/pred" ([genes, samples]; ids from /gene_id and /sample_id)
    std::string expression;
    std::string genotype;           ///< PredictDB dosage matrix (varID × samples) …
    std::string snp_annotation;     ///< … with its SNP annotation
    std::string vcf;                ///< or a VCF/BCF (exclusive with genotype)
    io::dosage_source dosage = io::dosage_source::AUTO;
    std::string gene_annotation;    ///< GTF/GFF3 or PredictDB gene table
    std::vector<std::string> gene_types; ///< keep only these types (empty: all)
    std::string foldid;             ///< optional fold-id table (sample + one column per repeat)
    bool skip_unannotated = false;  ///< expression genes absent from the annotation: skip (else error)
    dist::split_spec split;         ///< SLURM arrays: this job fits only its block of genes (by cost)
    // Model
    gene_fit_options fit;
    int nfolds = 10;
    int repeats = 3;
    /// --nfolds / --repeats were given explicitly: a --foldid table that disagrees is an error
    /// (otherwise the table silently decides).
    bool nfolds_given = false;
    bool repeats_given = false;
    std::uint64_t seed = 1024;
    /// Generator of the fold ids when `foldid` is empty. fold_rng::r reproduces
    /// PredictDb-nextflow's fast_elasticnet.R: `set.seed(seed)` once per chromosome, then for each
    /// gene of that chromosome in gene-annotation order that has >= 2 SNPs in its window,
    /// `repeats` × `sample(1:nfolds, n, replace = TRUE)`; seed must then fit R's integer
    /// (<= 2147483647). fold_rng::scpx: draw_fold_ids per (seed, gene id).
    fold_rng fold_generator = fold_rng::r;
    std::int64_t window = 1000000;
    snp_qc_options qc;
    bool scale_expression = true;   ///< centre and scale y (sd n − 1) as PredictDB does after adjustment
    // Outputs
    std::string out_db;
    std::string out_covariance;
    std::string out_h5;
    bool overwrite = true;
    std::string population = "";    ///< sample_info.population
    /// Write extra.phi, the inflation factor S-PrediXcan's calibration reads (enet/phi.hpp).
    bool phi = false;
    /// phi's M: SNPs genome-wide that carry the trait's h2 (> 0 writes phi without `phi`); 0 = the
    /// training genotypes' SNPs after QC.
    double phi_snps = 0;
    std::string command;            ///< options in effect, for the HDF5 provenance
    // Resume
    /// Per-gene journal folder (rank<r>.tsv per rank; see lctpred_journal.hpp); empty: none.
    /// Removed when the outputs are in place; a fresh run removes a stale one first.
    std::string journal_dir;
    /// Continue a killed run: genes in `journal_dir` are not refitted (same fingerprint required).
    bool resume = false;
};

/// What a run did (same on every rank).
struct lctpred_summary {
    std::size_t genes = 0;    ///< rows of the summary
    std::size_t fitted = 0;   ///< status ok
    std::size_t included = 0; ///< passed the filter (in the .db)
    std::size_t weights = 0;  ///< weight rows written
    std::size_t samples = 0;  ///< training samples
    std::size_t snps = 0;     ///< SNPs after QC
    /// --resume found the outputs finished by this configuration (no journal left, the summary's
    /// command and scpx build the same, no input newer): nothing was done or written.
    bool already_complete = false;
};

/// Runs the stage. Collective over MPI_COMM_WORLD.
/// @throws usage_error / input_error / io_error with one clear message; no output is left.
lctpred_summary run_lctpred(const lctpred_options& opt);

} // namespace scpx::enet
