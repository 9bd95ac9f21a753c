#pragma once
/// @file ctpred.hpp
/// The ctPred stage on files: training from HDF5 references, weights under PyTorch state_dict
/// names, prediction, and pseudobulk targets. Every output is written under a temporary name and
/// renamed when complete, so a failed run leaves nothing behind.

#include "scpx/ctpred/mlp.hpp"

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace scpx::ctpred {

/// Numeric precision of a run.
enum class precision { FP32, FP64 };

/// Parses "fp32|fp64". @throws usage_error
precision parse_precision(const std::string& text);
/// Parses "linear|bounded". @throws usage_error
head_kind parse_head(const std::string& text);

/// Weights read from (or written to) an HDF5 group.
template <class T>
struct mlp_weights {
    mlp_layout layout;
    std::vector<T> params; ///< flat, in layout order
    std::vector<double> feature_mean, feature_sd; ///< z-scoring (empty when off)
};

/// Reads a model from the group `path` of an open file: net.0.* fixes d_in and hidden, the
/// number of blocks comes from the net.<3k>.* present, tied when net.6/net.9 are absent or
/// bit-identical copies of net.3 (`tied` false forces untied). The head comes from the group's
/// attribute `head` when present, else `head_default`. Optional /feature_mean, /feature_sd.
/// @throws input_error naming the file and tensor when one is missing or of the wrong shape
template <class T>
mlp_weights<T> read_weights(hid_t file, const std::string& path, bool tied, head_kind head_default);

/// Writes every tensor under `group` ("" = root) with state_dict names; a tied shared layer is
/// also written under each block's name (net.6.*, net.9.*), as torch's state_dict lists it.
template <class T>
void write_weights(hid_t file, const std::string& group, const mlp_layout& layout, const std::vector<T>& params);

/// Everything `scpx ctpred train` needs.
struct train_job {
    std::string features;     ///< FILE.h5:/X  [genes, d_in]
    std::string targets;      ///< FILE.h5:/y  [genes] or [genes, cell types] (from `ctpred targets`)
    std::string gene_chrom;   ///< FILE.h5:/gene_chrom, aligned with the feature rows
    std::string feature_ids;  ///< FILE.h5:/gene_id of the feature rows ("" = sibling `gene_id` if any)
    std::string target_ids;   ///< FILE.h5:/gene_id of the target rows ("" = sibling `gene_id` if any)
    std::string cell_types;   ///< comma list of cell types to train (2-D targets); "" = all
    std::string init_weights; ///< FILE.h5:/group with state_dict names ("" = seeded default init)
    std::string batch_order;  ///< FILE.h5:/batch_order [epochs, n_train] global rows ("" = shuffled)
    std::string out;          ///< output HDF5 file
    bool overwrite = true;
    precision prec = precision::FP32;
    bool use_cuda = false;
    bool zscore = false;
    double min_overlap = 0.5; ///< fraction of target genes that must have features
    std::vector<std::string> val_chroms{"chr7", "chr11", "chr14"};
    std::vector<std::string> test_chroms{"chr5", "chr12", "chr20"};
    mlp_shape shape;
    train_options opts;
};

/// Trains one model per target column (cell types split across MPI ranks) and writes `job.out`.
/// One 1-D target: weights at the root; several: one group per cell type.
void run_train(const train_job& job);

/// Everything `scpx ctpred predict` needs.
struct predict_job {
    std::string features;  ///< FILE.h5:/X, [genes, d_in] or [individuals, genes, d_in]
    std::string weights;   ///< FILE.h5[:/group]: a train output (root, /best, or /<cell type>/…)
    std::string gene_ids;  ///< FILE.h5:/gene_id of the feature genes ("" = sibling `gene_id`)
    std::string sample_ids; ///< FILE.h5:/sample_id for 3-D features ("" = sibling or ind1…)
    std::string out;       ///< output prefix: <out>.h5 and <out>.<cell type>.tsv
    bool use_final = false; ///< use the final weights instead of the best-validation checkpoint
    bool use_cuda = false;
    bool overwrite = true;
    int threads = 0;
};

/// Predicts expression genes × individuals per cell type: <out>.h5 (/<cell type>/pred [genes,
/// samples], /gene_id, /sample_id) and one TSV per cell type (gene_id + sample columns).
void run_predict(const predict_job& job);

/// Everything `scpx ctpred targets` needs.
struct targets_job {
    std::vector<std::string> pseudobulk; ///< CSV files genes × donors, one per cell type (name = file stem or NAME=FILE)
    std::string h5ad;                    ///< AnnData file (alternative to pseudobulk)
    std::string matrix = "X";            ///< counts matrix in the .h5ad: X, raw/X or layers/<name>
    std::string celltype_column = "cell_type";
    std::string donor_column = "donor_id";
    std::string gene_column;             ///< var column with gene ids ("" = var index)
    std::string genes;                   ///< optional file listing the output genes (one per line); absent → 0
    bool log1p = false;
    int min_donors = 3; ///< fail for a cell type with fewer donors that have counts
    std::string out;
    bool overwrite = true;
};

/// Pseudobulk targets: sum per donor and cell type, CPM (log1p option), mean over donors,
/// percentile rank across genes (average ties, (0,1]). Writes /y [genes, cell types], /gene_id,
/// /cell_type, /n_donors.
void run_targets(const targets_job& job);

/// The HDF5 link (and file-name part) of a cell type: '%', '/' and control characters become
/// %XX (upper-case hex), and a name equal to ".", "..", "cell_types", "gene_id" or "sample_id" has
/// its first character encoded too ("%2E"). Every other name is itself ("CD4+ T/NK" →
/// "CD4+ T%2FNK"). cell_type_from_link undoes it.
std::string cell_type_link(const std::string& name);
/// Decodes every %XX of a link made by cell_type_link; other text is kept as it is.
std::string cell_type_from_link(const std::string& link);

/// Cell-type names must be non-empty and distinct. @throws input_error naming `file`, the
/// entry (both entries for a repeat) and `field`.
void check_cell_type_names(const std::vector<std::string>& names, const std::string& file, const std::string& field);

/// Ids (`what`: "gene id", "sample id") must be distinct and free of tab, newline and CR, which
/// would shift or split the TSV output. @throws input_error naming `file`, the entry (both
/// entries for a duplicate) and `field`.
void check_ids(const std::vector<std::string>& ids, const std::string& file, const std::string& field,
               const std::string& what);

/// Percentile ranks rankdata(v, "average") / n.
std::vector<double> percentile_ranks(const std::vector<double>& v);

} // namespace scpx::ctpred
