// `scpx ctpred targets|train|predict`: the ctPred stage (pipeline.md §3). Options map one-to-one
// onto scpx::ctpred jobs; all checks on values happen here or in the job before any output opens.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ctpred/ctpred.hpp"

#include <memory>
#include <string>

namespace scpx::cli {

namespace {

struct ctpred_train_args {
    common_options common;
    ctpred::train_job job;
    std::string precision = "fp32";
    std::string device = "auto";
    std::string head = "linear";
    std::string checkpoint = "post-epoch";
    bool untied = false;
};

struct ctpred_predict_args {
    common_options common;
    ctpred::predict_job job;
    std::string device = "cpu";
};

struct ctpred_targets_args {
    common_options common;
    ctpred::targets_job job;
};

void add_train(CLI::App& ct) {
    auto a = std::make_shared<ctpred_train_args>();
    auto* sub = ct.add_subcommand("train", "Train the ctPred MLP (one per cell type) on reference features");
    add_common_options(*sub, a->common, "output HDF5 file (weights under PyTorch state_dict names, losses, metrics)");
    drop_options(*sub, {"--split", "--job"}); // cell types are shared by MPI ranks, not array jobs
    auto& j = a->job;
    sub->add_option("--features", j.features, "features FILE.h5:/dataset [genes x 5313]")->required()->group("Input");
    sub->add_option("--targets", j.targets, "targets FILE.h5:/dataset [genes] or [genes x cell types]")
        ->required()->group("Input");
    sub->add_option("--gene-chrom", j.gene_chrom, "chromosome of each feature row, FILE.h5:/dataset")
        ->required()->group("Input");
    sub->add_option("--feature-ids", j.feature_ids, "gene ids of the feature rows (default: sibling gene_id)")
        ->group("Input");
    sub->add_option("--target-ids", j.target_ids, "gene ids of the target rows (default: sibling gene_id)")
        ->group("Input");
    sub->add_option("--cell-types", j.cell_types, "comma list of cell types to train (default: all)")->group("Input");
    sub->add_option("--init-weights", j.init_weights, "initial weights FILE.h5:/group (state_dict names)")
        ->group("Input");
    sub->add_option("--batch-order", j.batch_order, "row order per epoch FILE.h5:/dataset [epochs x n_train]")
        ->group("Input");
    sub->add_option("--min-overlap", j.min_overlap, "fail when fewer than this fraction of target genes have features")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0))->group("Input");
    sub->add_option("--epochs", j.opts.epochs, "epochs")->capture_default_str()->check(integer_at_least(1))
        ->group("Training");
    sub->add_option("--batch-size", j.opts.batch_size, "batch size")->capture_default_str()
        ->check(integer_at_least(1))->group("Training");
    sub->add_option("--lr", j.opts.lr, "Adam learning rate")->capture_default_str()->group("Training");
    sub->add_option("--weight-decay", j.opts.weight_decay, "L2 added to the gradient (torch Adam)")
        ->capture_default_str()->group("Training");
    sub->add_option("--dropout", j.opts.dropout, "dropout probability")->capture_default_str()
        ->check(CLI::Range(0.0, 0.99))->group("Training");
    sub->add_option("--checkpoint", a->checkpoint,
                    "post-epoch: keep the weights with the best val loss; official: the official code's choice")
        ->capture_default_str()->check(CLI::IsMember({"post-epoch", "official"}))->group("Training");
    sub->add_option("--hidden", j.shape.hidden, "hidden width")->capture_default_str()->check(integer_at_least(1))
        ->group("Model");
    sub->add_flag("--untied", a->untied, "one weight matrix per hidden block instead of the shared one")
        ->group("Model");
    sub->add_option("--head", a->head, "output head: linear | bounded")->capture_default_str()
        ->check(CLI::IsMember({"linear", "bounded"}))->group("Model");
    sub->add_flag("--zscore", j.zscore, "z-score features with training-set mean and sd")->group("Model");
    sub->add_option("--precision", a->precision, "fp32 | fp64")->capture_default_str()
        ->check(CLI::IsMember({"fp32", "fp64"}))->group("Run");
    sub->add_option("--device", a->device, "auto | cpu | cuda")->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}))->group("Run");
    sub->callback([sub, a] {
        run_scope scope(*sub, a->common, log_path_for(a->common.out));
        auto job = a->job;
        // An empty --cell-types would read as "all"; say so instead of training every cell type.
        if (sub->count("--cell-types") > 0 && job.cell_types.find_first_not_of(", ") == std::string::npos)
            throw usage_error("--cell-types is empty: give a comma list of cell types, or leave it out to train all");
        job.out = a->common.out;
        job.overwrite = a->common.overwrite;
        job.opts.seed = a->common.seed;
        job.opts.threads = a->common.threads;
        job.prec = ctpred::parse_precision(a->precision);
        job.shape.head = ctpred::parse_head(a->head);
        job.shape.tied = !a->untied;
        job.opts.checkpoint =
            a->checkpoint == "official" ? ctpred::checkpoint_rule::OFFICIAL : ctpred::checkpoint_rule::POST_EPOCH;
        job.use_cuda = gpu::resolve_device(gpu::parse_device_choice(a->device));
        ctpred::run_train(job);
    });
}

void add_predict(CLI::App& ct) {
    auto a = std::make_shared<ctpred_predict_args>();
    auto* sub = ct.add_subcommand("predict", "Predict expression (genes x individuals) per cell type");
    add_common_options(*sub, a->common, "output prefix: P.h5 and P.<cell type>.tsv");
    drop_options(*sub, {"--seed", "--split", "--job"});
    auto& j = a->job;
    sub->add_option(
           "--features", j.features,
           "features FILE.h5:/dataset [genes x 5313], [individuals x genes x 5313], or `features personal`'s "
           "[genes x individuals x 5313] (attribute axes=gene,sample,track)")
        ->required()
        ->group("Input");
    sub->add_option("--weights", j.weights, "trained model FILE.h5[:/group] (from ctpred train or convert_ctpred_pt.py)")
        ->required()->group("Input");
    sub->add_option("--gene-ids", j.gene_ids, "gene ids of the feature genes (default: sibling gene_id)")
        ->group("Input");
    sub->add_option("--sample-ids", j.sample_ids, "sample ids of 3-D features (default: sibling sample_id)")
        ->group("Input");
    sub->add_flag("--final", j.use_final, "use the final weights, not the best-validation checkpoint")
        ->group("Model");
    sub->add_option("--device", a->device, "auto | cpu | cuda")->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}))->group("Run");
    sub->callback([sub, a] {
        run_scope scope(*sub, a->common, log_path_for(a->common.out));
        auto job = a->job;
        job.out = a->common.out;
        job.overwrite = a->common.overwrite;
        job.threads = a->common.threads;
        job.use_cuda = gpu::resolve_device(gpu::parse_device_choice(a->device));
        ctpred::run_predict(job);
    });
}

void add_targets(CLI::App& ct) {
    auto a = std::make_shared<ctpred_targets_args>();
    auto* sub = ct.add_subcommand("targets", "Pseudobulk percentile targets [genes x cell types] from CSV or .h5ad");
    add_common_options(*sub, a->common, "output HDF5 file (/y, /gene_id, /cell_type, /n_donors)");
    drop_options(*sub, {"--seed", "--split", "--job"});
    auto& j = a->job;
    sub->add_option("--pseudobulk", j.pseudobulk,
                    "per-donor pseudobulk CSV (genes x donors), one per cell type; NAME=FILE names the cell type")
        ->group("Input");
    sub->add_option("--h5ad", j.h5ad, "AnnData .h5ad with raw counts (X dense or CSR)")->group("Input");
    sub->add_option("--matrix", j.matrix, "counts matrix in the .h5ad: X, raw/X or layers/<name>")
        ->capture_default_str()->group("Input");
    sub->add_option("--celltype-column", j.celltype_column, "obs column with the cell type")->capture_default_str()
        ->group("Input");
    sub->add_option("--donor-column", j.donor_column, "obs column with the donor")->capture_default_str()
        ->group("Input");
    sub->add_option("--gene-column", j.gene_column, "var column with gene ids (default: the var index)")
        ->group("Input");
    sub->add_option("--genes", j.genes, "gene list (one id per line): output rows; genes absent from the data get 0")
        ->group("Input");
    sub->add_flag("--log1p", j.log1p, "log1p(CPM) before the mean over donors")->group("Model");
    sub->add_option("--min-donors", j.min_donors, "fail for a cell type with fewer donors")->capture_default_str()
        ->check(integer_at_least(1))->group("Model");
    sub->callback([sub, a] {
        run_scope scope(*sub, a->common, log_path_for(a->common.out));
        auto job = a->job;
        job.out = a->common.out;
        job.overwrite = a->common.overwrite;
        if (job.pseudobulk.empty() == job.h5ad.empty())
            throw usage_error("give either --pseudobulk (one or more CSV files) or --h5ad");
        ctpred::run_targets(job);
    });
}

} // namespace

void add_ctpred_command(CLI::App& app) {
    auto* ct = app.add_subcommand("ctpred", "ctPred: pseudobulk targets, MLP training and prediction");
    ct->require_subcommand(1);
    add_targets(*ct);
    add_train(*ct);
    add_predict(*ct);
}

} // namespace scpx::cli
