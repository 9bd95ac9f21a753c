// `scpx lctpred`: the l-ctPred stage — per-gene PredictDB elastic net over an expression table
// (ctPred predictions or measured expression) and genotype dosages, written as a PredictDB .db,
// its covariance file and an HDF5 summary. The work is in enet::run_lctpred; this file maps
// options.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/error.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/enet/lctpred.hpp"
#include "scpx/ops/parallel.hpp"

#include <memory>
#include <string>
#include <vector>

namespace scpx::cli {

namespace {

struct lctpred_args {
    common_options common;
    enet::lctpred_options opt;
    std::string dosage = "auto";
    double alpha = 0.5;
    int nfolds = 10;
    int repeats = 3;
    std::string fold_rng = "r";
};

/// The options in effect without those that do not change the results (output names, threads,
/// verbosity, overwrite, resume): the HDF5 provenance must be equal for runs that must be
/// byte-identical (any rank count, any thread count, any output prefix, resumed or not).
std::string provenance_command(const std::string& cmd) {
    const std::string sep = " \\\n    ";
    std::string out;
    std::size_t at = 0;
    bool first = true;
    while (at <= cmd.size()) {
        std::size_t next = cmd.find(sep, at);
        if (next == std::string::npos) next = cmd.size();
        const std::string part = cmd.substr(at, next - at);
        at = next + sep.size();
        bool drop = false;
        for (const char* p : {"--out ", "--threads ", "--verbosity ", "--overwrite", "--no-overwrite", "--resume"})
            if (part.rfind(p, 0) == 0) drop = true;
        if (drop) continue;
        out += first ? part : sep + part;
        first = false;
    }
    return out;
}

} // namespace

void add_lctpred_command(CLI::App& app) {
    auto a = std::make_shared<lctpred_args>();
    auto* sub = app.add_subcommand(
        "lctpred", "l-ctPred: per-gene elastic net (PredictDb-nextflow procedure) -> PredictDB .db + covariance");
    add_common_options(*sub, a->common,
                       "output prefix: writes P.db, P.covariance.txt.gz and P.summary.h5 (log: P.log)");
    enet::lctpred_options& o = a->opt;
    sub->add_option("--expression", o.expression, "expression: genes x samples table (gene_id + sample columns), or ctPred predict's FILE.h5:/<cell type>/pred")
        ->required()->group("Input");
    sub->add_option("--genotype", o.genotype, "PredictDB dosages: varID rows x samples (tsv, may be gzipped)")
        ->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--snp-annotation", o.snp_annotation, "PredictDB SNP annotation: chr pos varID ref_vcf alt_vcf rsid")
        ->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--vcf", o.vcf, "genotypes as VCF/BCF (instead of --genotype): biallelic SNVs, ID = rsid")
        ->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--dosage-field", a->dosage, "VCF dosage: auto (DS if defined, else GT) | DS | GT")
        ->capture_default_str()->check(CLI::IsMember({"auto", "DS", "GT"}))->group("Input");
    sub->add_option("--gene-annotation", o.gene_annotation, "genes: GTF/GFF3 or PredictDB table (chr gene_id gene_name start end gene_type)")
        ->required()->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--gene-types", o.gene_types, "keep only these gene types (e.g. protein_coding lincRNA)")
        ->group("Input");
    sub->add_flag("--skip-unannotated", o.skip_unannotated,
                  "skip expression genes absent from the annotation (default: error)")->group("Input");
    sub->add_option("--foldid", o.foldid, "fold ids: a sample column then one column (1..K) per CV repeat, for all genes "
                                          "(default: drawn per gene from --seed, see --fold-rng)")
        ->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--fold-rng", a->fold_rng,
                    "generator of the fold ids drawn from --seed: r = R's (Mersenne-Twister, R >= 3.6 sample()) in "
                    "PredictDb-nextflow fast_elasticnet.R's order: set.seed(seed) per chromosome, genes in "
                    "gene-annotation order, sample(1:nfolds, n, replace = TRUE) x repeats for each gene with >= 2 "
                    "SNPs in its window (seed <= 2147483647); scpx = scpx's own stream per (seed, gene id)")
        ->capture_default_str()->check(CLI::IsMember({"r", "scpx"}))->group("Model");
    sub->add_option("--alpha", a->alpha, "elastic-net mixing parameter (glmnet alpha)")
        ->capture_default_str()->check(finite_number())->check(CLI::Range(0.0, 1.0))->group("Model");
    sub->add_option("--nfolds", a->nfolds, "CV folds (ids drawn with replacement, as fast_elasticnet.R)")
        ->capture_default_str()->check(CLI::Range(3, 1000))->group("Model");
    sub->add_option("--repeats", a->repeats, "CV repeats averaged for the lambda choice")
        ->capture_default_str()->check(CLI::Range(1, 100))->group("Model");
    // A --foldid table decides folds and repeats: the defaults do not apply (and, written into the
    // logged command, would make a rerun with a table of other shape fail).
    default_yields_to(sub->get_option("--nfolds"), sub->get_option("--foldid"));
    default_yields_to(sub->get_option("--repeats"), sub->get_option("--foldid"));
    sub->add_option("--window", o.window, "cis window: gene start - W .. gene end + W (bp, inclusive)")
        ->capture_default_str()->check(CLI::Range(std::int64_t{0}, std::int64_t{100000000}))->group("Model");
    sub->add_option("--maf", o.qc.maf, "keep SNPs with maf <= af <= 1 - maf in the training samples")
        ->capture_default_str()->check(finite_number())->check(CLI::Range(0.0, 0.5))->group("SNP QC");
    sub->add_option("--hwe-p", o.qc.hwe_p, "drop SNPs with exact HWE p below this (0 = off)")
        ->capture_default_str()->check(finite_number())->check(CLI::Range(0.0, 1.0))->group("SNP QC");
    sub->add_option("--max-missing", o.qc.max_missing,
                    "drop SNPs missing in more than this fraction and mean-impute the rest (default off: any "
                    "missing dosage drops the SNP)")
        ->check(finite_number())->check(CLI::Range(0.0, 1.0))->group("SNP QC");
    sub->add_option("--pval-threshold", o.fit.pval_threshold, "keep a model when zscore_pval < this")
        ->capture_default_str()->check(finite_number())->group("Filter");
    sub->add_option("--rho-threshold", o.fit.rho_threshold, "... and rho_avg > this (and >= 1 SNP)")
        ->capture_default_str()->check(finite_number())->group("Filter");
    sub->add_flag("!--no-scale-expression", o.scale_expression,
                  "use expression as given (default: centre and scale each gene, sd n-1, as PredictDB)")->group("Model");
    sub->add_option("--population", o.population, "sample_info.population in the .db")->group("Output");
    sub->add_flag("--phi", o.phi,
                  "also write extra.phi, the inflation factor spredixcan --gwas_h2/--gwas_N calibrate with "
                  "(LD score of the predicted expression / M)")
        ->group("Output");
    sub->add_option(
           "--phi-snps", o.phi_snps,
           "phi's M: SNPs genome-wide carrying the trait's h2 (default: the genotypes' SNPs after QC); "
           "implies --phi")
        ->check(positive_number())
        ->group("Output");
    // Existing outputs are refused unless --overwrite, as MetaXcan's tools (and spredixcan) do:
    // a finished model set is hours of fitting.
    a->common.overwrite = false;
    sub->add_flag("--overwrite,!--no-overwrite", a->common.overwrite, "replace existing outputs (default: refuse)")
        ->capture_default_str()->group("Output");
    sub->add_flag("--resume", o.resume, "continue an interrupted run of the same configuration")->group("Run");

    // `lctpred merge` shares the name: the fit's required options are checked by hand, only when
    // no merge was asked for (CLI11 would demand them of `lctpred merge` too).
    add_lctpred_merge_command(*sub);
    const std::vector<CLI::Option*> needed = {sub->get_option("--out"), sub->get_option("--expression"),
                                              sub->get_option("--gene-annotation")};
    for (CLI::Option* opt : needed) {
        opt->required(false);
        opt->description(opt->get_description() + " (required)");
    }

    sub->callback([sub, a, needed] {
        if (sub->got_subcommand("merge")) return; // its own callback ran
        for (const CLI::Option* opt : needed)
            if (opt->count() == 0) throw CLI::RequiredError(opt->get_name());
        // --out is a prefix (P.db, …): the log is P.log, whatever P ends with.
        run_scope scope(*sub, a->common, a->common.out + ".log");
        enet::lctpred_options& opt = a->opt;
        opt.dosage = a->dosage == "DS" ? io::dosage_source::DS
                     : a->dosage == "GT" ? io::dosage_source::GT
                                         : io::dosage_source::AUTO;
        opt.fit.path.alpha = a->alpha;
        opt.fit.threads = a->common.threads; // 0: all cores (glmnet core rule)
        ops::set_num_threads(a->common.threads); // phi's per-gene loop
        opt.nfolds = a->nfolds;
        opt.repeats = a->repeats;
        opt.nfolds_given = sub->count("--nfolds") > 0;
        opt.repeats_given = sub->count("--repeats") > 0;
        opt.seed = a->common.seed;
        opt.fold_generator = a->fold_rng == "scpx" ? enet::fold_rng::scpx : enet::fold_rng::r;
        opt.overwrite = a->common.overwrite;
        opt.split = dist::make_split(a->common.split, a->common.job);
        opt.out_db = a->common.out + ".db";
        opt.out_covariance = a->common.out + ".covariance.txt.gz";
        opt.out_h5 = a->common.out + ".summary.h5";
        opt.journal_dir = a->common.out + ".journal";
        opt.command = provenance_command(options_in_effect(*sub));
        if (enet::run_lctpred(opt).already_complete) scope.keep_previous_log();
    });
}

} // namespace scpx::cli
