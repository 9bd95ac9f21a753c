#pragma once
/// @file features_common.hpp
/// What `scpx features reference` and `scpx features personal` share: the Enformer set-up for
/// central-bin features, the genes that can be placed on the FASTA, the FASTA opened on every
/// MPI rank, and the central-bin mean.

#include "scpx/cli/run.hpp"
#include "scpx/core/provenance.hpp"
#include "scpx/core/text.hpp"
#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/h5_writer.hpp"
#include "scpx/model/enformer_runner.hpp"
#include "scpx/seq/fasta.hpp"
#include "scpx/seq/onehot.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scpx::cli {

/// Options both features commands take.
struct features_options {
    common_options common;
    std::string fasta, annotation, weights;
    std::int64_t seq_len = 393216;
    bool seq_len_given = false; ///< --seq-len on the command line (or config), not the default
    std::int64_t batch = 0; ///< 0: enformer_runner::choose_batch decides
    std::int64_t center_bins = 4;
    std::string n_mode = "zero";
    std::vector<std::string> gene_types{"protein_coding"};
    std::string genes_file;               ///< --genes: only these gene ids ("" = all)
    std::vector<std::string> chromosomes; ///< --chromosomes: only genes on these ({} = all)
    bool resume = false;
    model::enformer_device_options dev;
};

/// Adds the options of features_options to a features subcommand (inputs other than the FASTA,
/// annotation and weights are the caller's).
void add_features_options(CLI::App& sub, features_options& o);

/// The model and the feature geometry of a run.
struct feature_model {
    std::unique_ptr<model::enformer_runner> runner;
    std::int64_t tracks = 0;    ///< human-head tracks (5313 in the published model)
    std::int64_t first_bin = 0; ///< first central output bin averaged
    std::int64_t batch = 1;     ///< windows per forward pass
    seq::onehot_n_mode n_mode = seq::onehot_n_mode::ZERO;
};

/// Loads the weights, picks the device (reporting every rank's), checks --seq-len,
/// --center-bins and --n-mode, and picks the batch.
/// @throws usage_error naming the option at fault
feature_model open_feature_model(const features_options& o);

/// Opens the FASTA on every rank; a missing index is built by rank 0 alone first.
seq::fasta_reader open_fasta_on_every_rank(const std::string& path);

/// The genes of the annotation (of --gene-types, --genes and --chromosomes) whose TSS lies on a
/// FASTA contig. Genes on
/// contigs the FASTA lacks, or with the TSS beyond their contig, are skipped with a warning and
/// examples; none left is an input_error.
std::vector<io::gene_record> genes_on_fasta(seq::fasta_reader& fa, const features_options& o);

/// This job's block of `genes` (--split/--job). A split into more parts than there are genes is a
/// usage_error on every job, not only on those left without genes.
std::vector<io::gene_record> genes_of_this_job(const std::vector<io::gene_record>& genes,
                                               const common_options& c);

/// Output attributes that let `features merge` check a split's parts: `scpx_split_genes` ("begin
/// end total": this job's rows of the whole gene list), `scpx_gene_list` (gene count and a
/// fingerprint of every gene's id, chromosome and TSS, in order), `scpx_part_gene_list` (the
/// same of this job's rows) and `scpx_input_stamps`
/// (input_stamps of `inputs`: an input replaced between the jobs shows).
std::vector<std::pair<std::string, std::string>> split_provenance(const std::vector<io::gene_record>& genes,
                                                                  const common_options& c,
                                                                  const std::vector<std::string>& inputs);

/// The scpx_stage values of features outputs (what `features merge` joins).
extern const std::vector<std::string> features_stages;

/// With --split N > 1: refuses an --out that holds another job's part of the same split (same
/// gene list, another job or --split; read as `features merge` reads parts), which this job would
/// replace: jobs of an array given one --out by mistake, run one after the other (two at once are
/// stopped by the output's lock). `split_attrs`: split_provenance of this job.
/// @throws usage_error naming the file, its job and rows, and this job
void refuse_replacing_another_part(const common_options& c,
                                   const std::vector<std::pair<std::string, std::string>>& split_attrs);

/// Runs the model on `count` windows of `seq_len` bases laid back to back in `bases`, keeping only
/// the central bins, and adds `scale` × (their mean per track) of window w to `out[w·tracks ..]`.
void add_central_features(feature_model& m, std::string_view bases, std::int64_t count, std::int64_t seq_len,
                          std::int64_t center_bins, float scale, float* out);

/// The options every features output's provenance records, as command-line text.
std::string features_command_options(const features_options& o);

/// A dataset of a features output.
io::h5_dataset_spec features_dataset(std::string name, io::h5_dtype t, std::vector<hsize_t> shape,
                                     std::size_t str_len, std::string description);

/// Longest value of a string field of `genes` (at least 1): the fixed string length to store.
std::size_t max_field_len(const std::vector<io::gene_record>& genes, std::string io::gene_record::*field);

/// Adds `scpx features personal` to the `features` command (cmd_features_personal.cpp).
void add_features_personal_command(CLI::App& features);
/// Adds `features merge` (the --split parts of a features run joined into one file).
void add_features_merge_command(CLI::App& features);

} // namespace scpx::cli
