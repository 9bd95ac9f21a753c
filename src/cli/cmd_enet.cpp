// `scpx enet cv`: the single-gene elastic-net primitive of l-ctPred. Fits glmnet's path on one
// gene's cis dosages, runs cv.glmnet on the given fold ids (one column) or the PredictDb-nextflow
// k-repeat scheme (k columns), and writes the CV curve, the weights at the chosen lambda and a
// one-row summary. Useful on its own to check a gene against R, and the unit the MPI stage scales.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/enet/glmnet.hpp"
#include "scpx/enet/output_set.hpp"
#include "scpx/enet/predictdb.hpp"
#include "scpx/io/predictdb_text.hpp"

#include <fmt/format.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace scpx::cli {

namespace {

struct enet_cv_args {
    common_options common;
    std::string genotype;
    std::string expression;
    std::string foldid;
    double alpha = 0.5;
    std::string type = "auto";
    bool no_screening = false;
};

std::string num(double v) { return fmt::format("{:.17g}", v); }

void write_file(const std::string& path, const std::string& content) {
    text_writer w(path, true);
    w.write(content);
    w.close();
}

void run_enet_cv(const enet_cv_args& a) {
    enet::path_options opt;
    opt.alpha = a.alpha;
    opt.screening = !a.no_screening;
    if (a.type == "covariance") opt.type = enet::gaussian_type::covariance;
    else if (a.type == "naive") opt.type = enet::gaussian_type::naive;

    // Outputs checked before any work, and committed together at the end: a failed run
    // leaves none of them.
    const std::string& p = a.common.out;
    enet::output_set outs(a.common.overwrite);
    const std::size_t o_cv = outs.add(p + ".cv.tsv");
    const std::size_t o_weights = outs.add(p + ".weights.tsv");
    const std::size_t o_summary = outs.add(p + ".summary.tsv");

    // Inputs: all read and checked before any output is opened.
    io::expression_read_options eo;
    eo.allow_missing = false;
    io::sample_matrix expr = io::read_expression(a.expression, eo);
    if (expr.n_features() != 1)
        throw input_error(a.expression, "", "",
                          fmt::format("expected exactly one gene row, found {}", expr.n_features()));
    io::genotype_read_options go;
    go.samples = expr.sample_ids;
    go.samples_from = "the expression table " + a.expression;
    io::sample_matrix geno = io::read_genotype_dosages(a.genotype, go);
    std::vector<std::vector<int>> folds = enet::read_fold_id_table(a.foldid, expr.sample_ids);
    SCPX_LOG_INF("gene {}: {} samples, {} SNPs, {} fold assignment(s)", expr.feature_ids[0], expr.n_samples(),
                 geno.n_features(), folds.size());

    stopwatch sw;
    Eigen::Map<const Eigen::VectorXd> y(expr.feature(0), static_cast<Eigen::Index>(expr.n_samples()));
    enet::repeated_cv_fit r = enet::repeated_cv(geno.matrix(), y, folds, opt, false, a.common.threads);
    SCPX_LOG_INF("elastic net ({} mode): {} lambdas, status {}, {:.3f} s",
                 r.first.fit.covariance_mode ? "covariance" : "naive", r.first.lambda.size(),
                 enet::to_string(r.status), sw.seconds());
    if (!r.message.empty()) SCPX_LOG_WRN_SHARED("{}", r.message);

    std::string cv = "lambda\tcvm\tcvsd\tnzero\n";
    const bool have_curve = !r.cvm_mean.empty();
    if (have_curve)
        for (size_t l = 0; l < r.first.lambda.size(); ++l)
            cv += fmt::format("{}\t{}\t{}\t{}\n", num(r.first.lambda[l]), num(r.cvm_mean[l]), num(r.first.cvsd[l]),
                              r.first.nzero[l]);
    std::string weights = "varID\tweight\n";
    for (const auto& [j, w] : r.weights)
        weights += fmt::format("{}\t{}\n", geno.feature_ids[static_cast<size_t>(j)], num(w));
    std::string summary = "lambda_min\tlambda_index\tn_snps\tn_nonzero\tstatus\n";
    if (have_curve)
        summary += fmt::format("{}\t{}\t{}\t{}\t{}\n", num(r.best_lambda), r.best_index + 1, geno.n_features(),
                               r.weights.size(), enet::to_string(r.status));
    else
        summary += fmt::format("NA\tNA\t{}\t0\t{}\n", geno.n_features(), enet::to_string(r.status));
    if (have_curve)
        SCPX_LOG_INF("selected lambda {} (index {}), {} non-zero weights", num(r.best_lambda), r.best_index + 1,
                     r.weights.size());

    write_file(outs.staged(o_cv), cv);
    write_file(outs.staged(o_weights), weights);
    write_file(outs.staged(o_summary), summary);
    outs.commit();
}

} // namespace

void add_enet_command(CLI::App& app) {
    auto* enet = app.add_subcommand("enet", "Elastic net (glmnet-equivalent) primitives of l-ctPred");
    enet->require_subcommand(1);
    auto args = std::make_shared<enet_cv_args>();
    auto* cv = enet->add_subcommand(
        "cv", "One gene: glmnet path + cv.glmnet on given folds (k fold columns: PredictDB k-repeat lambda choice)");
    add_common_options(*cv, args->common, "output prefix: writes P.cv.tsv, P.weights.tsv, P.summary.tsv");
    // One gene, no random draws, no work list: the common --seed, --split and --job would do
    // nothing, so they are not accepted.
    drop_options(*cv, {"--seed", "--split", "--job"});
    // As lctpred (and MetaXcan): existing outputs are refused unless --overwrite.
    args->common.overwrite = false;
    cv->add_flag("--overwrite,!--no-overwrite", args->common.overwrite, "replace existing outputs")
        ->capture_default_str()->group("Output");
    cv->add_option("--genotype", args->genotype, "dosages: varID rows x samples (tsv, may be gzipped)")
        ->required()->group("Input");
    cv->add_option("--expression", args->expression, "expression: one gene row x samples (defines the samples)")
        ->required()->group("Input");
    cv->add_option("--foldid", args->foldid, "fold ids: a sample column then one column (1..K) per CV repeat")
        ->required()->group("Input");
    cv->add_option("--alpha", args->alpha, "elastic-net mixing parameter (glmnet alpha)")
        ->capture_default_str()->check(finite_number())->check(CLI::Range(0.0, 1.0))->group("Model");
    cv->add_option("--type-gaussian", args->type, "auto (covariance if < 500 SNPs, else naive) | covariance | naive")
        ->capture_default_str()->check(CLI::IsMember({"auto", "covariance", "naive"}))->group("Model");
    cv->add_flag("--no-screening", args->no_screening,
                 "compute every gradient glmnet computes (same output, slower; for benchmarks and checks)")
        ->group("Model");
    cv->callback([cv, args] {
        run_scope scope(*cv, args->common, log_path_for(args->common.out));
        // One gene, one set of outputs: under mpirun every rank would fit it and race to write the
        // same files (the second found them "existing" and failed the run). Rank 0 runs it.
        mpi::on_root_only([&] { run_enet_cv(*args); }, "enet cv");
    });
}

} // namespace scpx::cli
