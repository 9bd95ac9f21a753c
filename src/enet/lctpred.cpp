// The l-ctPred stage: inputs → cis windows → per-gene PredictDB elastic net on this rank's block →
// gather → one .db + covariance (rank 0) and one HDF5 summary (collective).
#include "scpx/enet/lctpred.hpp"
#include "lctpred_steps.hpp"
#include "scpx/enet/lctpred_journal.hpp"
#include "scpx/enet/output_set.hpp"
#include "scpx/enet/phi.hpp"

#include "scpx/config.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/provenance.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/ctpred/ctpred.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/dist/rank_report.hpp"
#include "scpx/dist/split_parts.hpp"
#include "scpx/io/covariance.hpp"
#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/h5_writer.hpp"
#include "scpx/io/predictdb_model.hpp"
#include "scpx/io/predictdb_text.hpp"
#include "scpx/ops/parallel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace scpx::enet {

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

using detail::gene_job;

// --- tiny binary (de)serialiser for the gather --------------------------------------------------
struct packer {
    std::string buf;
    template <class T>
    void put(const T& v) {
        buf.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void put_str(const std::string& s) {
        put<std::uint64_t>(s.size());
        buf += s;
    }
};
struct unpacker {
    const std::string& buf;
    std::size_t at = 0;
    template <class T>
    T get() {
        SCPX_ASSERT(at + sizeof(T) <= buf.size());
        T v;
        std::memcpy(&v, buf.data() + at, sizeof(T));
        at += sizeof(T);
        return v;
    }
    std::string get_str() {
        const auto n = get<std::uint64_t>();
        SCPX_ASSERT(at + n <= buf.size());
        std::string s = buf.substr(at, n);
        at += n;
        return s;
    }
};

/// What rank 0 needs of a gene to write the .db and covariance.
struct gene_record_out {
    std::uint64_t row = 0;
    gene_fit fit; // only the scalars and weights travel
};

void pack(packer& p, std::uint64_t row, const gene_fit& g) {
    p.put(row);
    p.put(static_cast<std::int32_t>(g.status));
    p.put(static_cast<std::int32_t>(g.n_snps_in_window));
    p.put(static_cast<std::int32_t>(g.lambda_index));
    for (double v : {g.alpha, g.lambda_min, g.cv_mse, g.cv_r2_avg, g.cv_r2_sd, g.in_sample_r2, g.rho_avg, g.rho_se,
                     g.rho_zscore, g.zscore_pval, g.cv_fisher_pval})
        p.put(v);
    p.put(static_cast<std::uint8_t>(g.included));
    p.put<std::uint64_t>(g.weights.size());
    for (const auto& [j, w] : g.weights) {
        p.put(static_cast<std::int32_t>(j));
        p.put(w);
    }
}

gene_record_out unpack(unpacker& u) {
    gene_record_out r;
    r.row = u.get<std::uint64_t>();
    gene_fit& g = r.fit;
    g.status = static_cast<gene_status>(u.get<std::int32_t>());
    g.n_snps_in_window = u.get<std::int32_t>();
    g.lambda_index = u.get<std::int32_t>();
    for (double* v : {&g.alpha, &g.lambda_min, &g.cv_mse, &g.cv_r2_avg, &g.cv_r2_sd, &g.in_sample_r2, &g.rho_avg,
                      &g.rho_se, &g.rho_zscore, &g.zscore_pval, &g.cv_fisher_pval})
        *v = u.get<double>();
    g.included = u.get<std::uint8_t>() != 0;
    const auto nw = u.get<std::uint64_t>();
    for (std::uint64_t k = 0; k < nw; ++k) {
        const int j = u.get<std::int32_t>();
        g.weights.emplace_back(j, u.get<double>());
    }
    return r;
}

// --- inputs ------------------------------------------------------------------------------------

bool is_h5_expression(const std::string& s) {
    return s.find(".h5:") != std::string::npos || s.find(".hdf5:") != std::string::npos || ends_with(s, ".h5") ||
           ends_with(s, ".hdf5");
}

/// ctPred predict output: /<cell type>/pred [genes, samples] with root /gene_id and /sample_id.
io::sample_matrix read_expression_h5(const std::string& spec) {
    const io::h5_ref ref = io::h5_parse_ref(spec, "--expression");
    io::h5_file f = io::h5_open_file(ref.file);
    // A `ctpred predict` output: name the cell types it holds and the path of one.
    if (!io::h5_exists(f.id(), ref.path) && io::h5_exists(f.id(), "/cell_types")) {
        const std::vector<std::string> names = io::h5_read_strings(f.id(), "/cell_types");
        if (!names.empty())
            throw input_error(
                ref.file, "", ref.path,
                fmt::format("no such dataset; this ctpred predict output holds the cell type(s) {}: "
                            "give e.g. --expression {}:/{}/pred",
                            join(names, ", "), ref.file, ctpred::cell_type_link(names.front())));
    }
    io::h5_array<double> a = io::h5_read<double>(f.id(), ref.path, 2);
    io::sample_matrix m;
    m.feature_ids = io::h5_read_strings(f.id(), "/gene_id");
    m.sample_ids = io::h5_read_strings(f.id(), "/sample_id");
    if (m.feature_ids.size() != a.shape[0] || m.sample_ids.size() != a.shape[1])
        throw input_error(ref.file, "", ref.path,
                          fmt::format("shape [{}, {}] does not match /gene_id ({}) and /sample_id ({})", a.shape[0],
                                      a.shape[1], m.feature_ids.size(), m.sample_ids.size()));
    const std::size_t ng = a.shape[0], ns = a.shape[1];
    m.values.resize(ng * ns);
    for (std::size_t g = 0; g < ng; ++g)
        for (std::size_t s = 0; s < ns; ++s) m.values[g * ns + s] = a.data[g * ns + s];
    return m;
}

std::vector<gene_job> match_genes(const lctpred_options& opt, const io::sample_matrix& expr) {
    io::annotation_options ao;
    ao.gene_types = opt.gene_types;
    std::vector<io::gene_record> genes = io::read_gene_annotation(opt.gene_annotation, ao);
    std::unordered_map<std::string, std::size_t> by_id, by_stripped;
    for (std::size_t i = 0; i < genes.size(); ++i) {
        by_id.emplace(genes[i].gene_id, i);
        by_stripped.emplace(io::strip_gene_version(genes[i].gene_id), i);
    }
    std::vector<gene_job> jobs;
    std::vector<std::string> missing;
    for (std::size_t k = 0; k < expr.n_features(); ++k) {
        const std::string& id = expr.feature_ids[k];
        std::size_t gi = genes.size();
        if (auto a = by_id.find(id); a != by_id.end()) gi = a->second;
        else if (auto b = by_stripped.find(io::strip_gene_version(id)); b != by_stripped.end()) gi = b->second;
        if (gi == genes.size()) {
            missing.push_back(id);
            continue;
        }
        gene_job j;
        j.gene_id = id;
        j.rec = genes[gi];
        j.chrom = autosome_number(j.rec.chrom);
        j.expr_index = k;
        j.annot_index = gi;
        jobs.push_back(std::move(j));
    }
    if (!missing.empty()) {
        std::string first;
        for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 3); ++i) first += (i ? ", " : "") + missing[i];
        const std::string msg = fmt::format("{} of {} expression genes are not in the gene annotation{} (first: {})",
                                            missing.size(), expr.n_features(),
                                            opt.gene_types.empty() ? "" : " (after the gene-type filter)", first);
        if (!opt.skip_unannotated)
            throw input_error(opt.gene_annotation, "", "gene_id", msg + "; use --skip-unannotated to skip them");
        SCPX_LOG_WRN_SHARED("{}; skipped", msg);
    }
    if (jobs.empty())
        throw input_error(opt.gene_annotation, "", "gene_id", "none of the expression genes is in the gene annotation");
    return jobs;
}

std::vector<std::string> intersect_samples(const lctpred_options& opt, const io::sample_matrix& expr,
                                           std::vector<std::size_t>& expr_cols) {
    const std::string& gpath = opt.vcf.empty() ? opt.genotype : opt.vcf;
    const std::vector<std::string> gs = opt.vcf.empty() ? predictdb_dosage_samples(opt.genotype) : vcf_samples(opt.vcf);
    std::set<std::string> in_geno(gs.begin(), gs.end());
    std::vector<std::string> train;
    for (std::size_t i = 0; i < expr.n_samples(); ++i)
        if (in_geno.count(expr.sample_ids[i])) {
            train.push_back(expr.sample_ids[i]);
            expr_cols.push_back(i);
        }
    SCPX_LOG_INF("samples: {} in the expression table, {} in the genotypes, {} in both (training samples)",
                 expr.n_samples(), gs.size(), train.size());
    if (train.empty())
        throw input_error(gpath, "", "",
                          fmt::format("no sample id in common with the expression table {} (e.g. '{}' vs '{}')",
                                      opt.expression, expr.sample_ids.empty() ? "" : expr.sample_ids[0],
                                      gs.empty() ? "" : gs[0]));
    if (train.size() < static_cast<std::size_t>(opt.nfolds))
        SCPX_LOG_WRN_SHARED("only {} training samples for {}-fold cross-validation", train.size(),
                            opt.nfolds);
    return train;
}

/// y over the training samples, optionally centred and scaled (sd with n − 1) like PredictDB's
/// adjusted expression.
Eigen::VectorXd training_y(const io::sample_matrix& expr, std::size_t k, const std::vector<std::size_t>& cols,
                           bool scale) {
    Eigen::VectorXd y(static_cast<Eigen::Index>(cols.size()));
    for (std::size_t i = 0; i < cols.size(); ++i) y[static_cast<Eigen::Index>(i)] = expr.feature(k)[cols[i]];
    if (!scale || !y.allFinite() || y.size() < 2) return y;
    const double m = y.mean();
    const double sd = std::sqrt((y.array() - m).square().sum() / static_cast<double>(y.size() - 1));
    if (sd > 0) y = (y.array() - m) / sd;
    return y;
}

Eigen::MatrixXd window_x(const genotype_panel& panel, std::size_t b, std::size_t e) {
    const auto n = static_cast<Eigen::Index>(panel.n_samples());
    Eigen::MatrixXd x(n, static_cast<Eigen::Index>(e - b));
    for (std::size_t k = b; k < e; ++k)
        std::memcpy(x.col(static_cast<Eigen::Index>(k - b)).data(), panel.snp(k), sizeof(double) * panel.n_samples());
    return x;
}

// --- R's fold-id stream -------------------------------------------------------------------------

/// Where a gene's fold ids lie in R's stream. fast_elasticnet.R (prepare_gene_jobs, main) calls
/// set.seed(seed) once per chromosome job and then, for the genes of that chromosome in
/// gene-annotation order, draws `repeats` × sample(1:nfolds, n, TRUE) for every gene with at
/// least 2 SNPs in its window (genes with 0 or 1 are skipped before the draw). Whatever happens
/// to the gene afterwards (constant expression, failed fit) does not change the draws.
struct r_draw_slot {
    int chrom = 0;
    std::int64_t ordinal = -1; ///< position among the drawing genes of its chromosome; -1: draws nothing
};

bool draws_folds(const gene_job& j) { return j.chrom > 0 && j.snp_end - j.snp_begin >= 2; }

std::vector<r_draw_slot> r_draw_order(const std::vector<gene_job>& jobs) {
    std::vector<std::size_t> idx;
    for (std::size_t g = 0; g < jobs.size(); ++g)
        if (draws_folds(jobs[g])) idx.push_back(g);
    // R visits intersect(gene_annot$gene_id, colnames(expr)): annotation order. Two expression
    // columns mapped to one annotation row (versioned ids) cannot occur in R (duplicate names);
    // they are taken in expression order.
    std::stable_sort(idx.begin(), idx.end(), [&jobs](std::size_t a, std::size_t b) {
        if (jobs[a].chrom != jobs[b].chrom) return jobs[a].chrom < jobs[b].chrom;
        if (jobs[a].annot_index != jobs[b].annot_index) return jobs[a].annot_index < jobs[b].annot_index;
        return jobs[a].expr_index < jobs[b].expr_index;
    });
    std::vector<r_draw_slot> slots(jobs.size());
    std::map<int, std::int64_t> next;
    for (std::size_t g : idx) {
        slots[g].chrom = jobs[g].chrom;
        slots[g].ordinal = next[jobs[g].chrom]++;
    }
    return slots;
}

/// R's generator positioned at the first draw of each drawing gene in [range.begin, range.end):
/// every chromosome restarts from set.seed(seed) and replays the draws of all genes R visits
/// before (a few thousand uniforms per gene), so any rank or job reproduces the one R stream.
std::vector<std::optional<r_rng>> r_fold_streams(const std::vector<r_draw_slot>& slots, dist::index_range range,
                                                 std::int32_t seed, int n, int nfolds, int repeats) {
    std::vector<std::optional<r_rng>> out(range.size());
    std::map<int, std::vector<std::pair<std::int64_t, std::size_t>>> by_chrom;
    for (std::size_t g = range.begin; g < range.end; ++g)
        if (slots[g].ordinal >= 0) by_chrom[slots[g].chrom].emplace_back(slots[g].ordinal, g);
    for (auto& [chrom, genes] : by_chrom) {
        std::sort(genes.begin(), genes.end());
        r_rng rng(seed);
        std::int64_t at = 0;
        for (const auto& [ordinal, g] : genes) {
            for (; at < ordinal; ++at) draw_fold_ids_r(rng, n, nfolds, repeats);
            out[g - range.begin] = rng;
        }
    }
    return out;
}

// --- journal (resume) --------------------------------------------------------------------------

/// The inputs of a run, in a fixed order (an HDF5 expression spec is stamped by its file).
std::vector<std::string> input_paths(const lctpred_options& opt) {
    return {opt.expression, opt.genotype, opt.snp_annotation, opt.vcf, opt.gene_annotation, opt.foldid};
}

/// Says in the log that the journal stays when an exception leaves the run after it was made.
struct journal_kept_notice {
    std::string dir;
    bool armed = false;
    int exceptions = std::uncaught_exceptions();
    ~journal_kept_notice() {
        if (!armed) return;
        log::note_kept_on_signal("");
        if (std::uncaught_exceptions() > exceptions)
            SCPX_LOG_WRN("journal kept for --resume: {} (rerun the same command with --resume to continue)",
                         dir);
    }
};

/// The genes to fit as a split's gene list: expression id, chromosome number (0: not autosomal)
/// and TSS, as the summary's /gene_id, /chromosome and /tss hold them (so a merge can recompute
/// its fingerprint from the rows).
dist::split_gene_list split_list_of(const std::vector<gene_job>& jobs) {
    dist::split_gene_list list;
    for (const gene_job& j : jobs)
        list.add(j.gene_id, std::to_string(j.chrom), j.rec.tss);
    return list;
}

/// With --resume: are the outputs those of a finished run of this configuration? A finished run
/// removed its journal; its summary records the command (without outputs, threads, --resume),
/// the scpx build and its inputs' sizes and modification times (an input replaced since, even by
/// an older file, would give other models). Rank 0 looks, every rank gets the answer.
bool outputs_already_finished(const lctpred_options& opt) {
    int yes = 0;
    if (mpi::is_root()) {
        std::error_code ec;
        const bool all = path_exists(opt.out_db) && path_exists(opt.out_covariance) &&
                         path_exists(opt.out_h5) && !std::filesystem::exists(opt.journal_dir, ec);
        if (all) {
            try {
                const io::h5_file f = io::h5_open_file(opt.out_h5);
                const auto attr = [&](const char* name) {
                    return io::h5_has_attr(f.id(), name) ? io::h5_read_attr_string(f.id(), name)
                                                         : std::string();
                };
                yes = attr("scpx_stage") == "lctpred" && attr("scpx_command") == opt.command &&
                      attr("scpx_version") == SCPX_VERSION && attr("scpx_git_hash") == SCPX_GIT_HASH &&
                      attr("scpx_input_stamps") == input_stamps(input_paths(opt));
            } catch (const error&) {
                yes = 0; // unreadable: not finished (the usual checks then report it)
            }
        }
    }
    return mpi::broadcast(std::to_string(yes)) == "1";
}

/// What must not change between a killed run and its resume: the options in effect (without
/// output names, threads and --resume), the model settings, the inputs' sizes and times, and
/// what was read from them.
std::vector<std::string> journal_fingerprint(const lctpred_options& opt, std::size_t genes, std::size_t samples,
                                             std::size_t snps) {
    std::vector<std::string> fp;
    // One item per option (options_in_effect puts one per line), so a refusal names the option that differs.
    std::size_t at = 0;
    while (at < opt.command.size()) {
        std::size_t next = opt.command.find(" \\\n", at);
        if (next == std::string::npos) next = opt.command.size();
        fp.push_back("option=" + opt.command.substr(at, next - at));
        at = next + 3;
        while (at < opt.command.size() && opt.command[at] == ' ') ++at;
    }
    fp.insert(fp.end(), {
        fmt::format("model=alpha {:.17g} nlambda {} nfolds {} repeats {} seed {} fold_rng {} window {} scale {} "
                    "pval {:.17g} rho {:.17g} maf {:.17g} hwe {:.17g} max_missing {:.17g}",
                    opt.fit.path.alpha, opt.fit.path.nlambda, opt.nfolds, opt.repeats, opt.seed,
                    to_string(opt.fold_generator), opt.window, opt.scale_expression ? 1 : 0, opt.fit.pval_threshold,
                    opt.fit.rho_threshold, opt.qc.maf, opt.qc.hwe_p, opt.qc.max_missing),
        fmt::format("split={}/{}", opt.split.job, opt.split.n_splits),
        fmt::format("data=genes {} samples {} snps {}", genes, samples, snps)});
    for (const input_stamp& in : stamp_inputs(input_paths(opt)))
        fp.push_back(fmt::format("input={} size={} mtime={}", in.path, in.size, in.mtime_ns));
    return fp;
}

/// The journal of this run, opened on every rank: the genes of this rank's block `mine` a killed
/// run finished (--resume), and the writer this run appends to.
struct run_journal {
    std::unordered_map<std::size_t, gene_fit> done; ///< gene row -> journaled fit
    std::unique_ptr<journal_writer> writer;         ///< null without --journal
};

/// Reads the journal (--resume) or removes a stale one, makes the folder and opens this rank's
/// writer; every rank agrees before anyone appends. Returns an empty run_journal without a folder.
run_journal open_run_journal(const lctpred_options& opt, const std::vector<gene_job>& jobs,
                             std::size_t samples, std::size_t snps, dist::index_range mine) {
    run_journal rj;
    if (opt.resume && opt.journal_dir.empty()) throw usage_error("lctpred: --resume needs a journal folder");
    if (opt.journal_dir.empty()) return rj;
    namespace fs = std::filesystem;
    const std::vector<std::string> fp = journal_fingerprint(opt, jobs.size(), samples, snps);
    std::exception_ptr jfail;
    try {
        if (opt.resume) {
            journal_contents jc = read_journal_dir(opt.journal_dir, fp, mine.begin, mine.end);
            for (journal_entry& e : jc.entries) {
                if (e.row >= jobs.size() || jobs[e.row].gene_id != e.gene_id)
                    throw usage_error(
                        fmt::format("--resume: the journal {} has gene {} at row {}, which this run "
                                    "does not have there; rerun without --resume to start over",
                                    opt.journal_dir, e.gene_id, e.row));
                rj.done.emplace(static_cast<std::size_t>(e.row), std::move(e.fit));
            }
            if (jc.files == 0)
                SCPX_LOG_WRN_SHARED("--resume: no journal in {}; starting from the beginning",
                                    opt.journal_dir);
            if (jc.incomplete > 0)
                SCPX_LOG_INF("journal: {} line(s) cut by the interruption ignored", jc.incomplete);
            SCPX_LOG_INF("resuming: {} of {} gene(s) already done", jc.complete, jobs.size());
        } else if (std::error_code ec; mpi::is_root() && fs::exists(opt.journal_dir, ec)) {
            SCPX_LOG_INF(
                "removing the stale journal {} of an earlier run (fresh run; --resume would continue it)",
                opt.journal_dir);
            fs::remove_all(opt.journal_dir, ec);
            if (ec)
                throw io_error(
                    fmt::format("cannot remove the stale journal {}: {}", opt.journal_dir, ec.message()));
        }
        if (mpi::is_root()) {
            std::error_code ec;
            fs::create_directories(opt.journal_dir, ec);
            if (ec)
                throw io_error(
                    fmt::format("cannot create the journal folder {}: {}", opt.journal_dir, ec.message()));
        }
    } catch (...) {
        jfail = std::current_exception();
    }
    // Every rank has read the journal before any appends to it; rank 0 made the folder.
    if (!mpi::all_ok(!jfail)) {
        if (jfail) std::rethrow_exception(jfail);
        throw error("lctpred: another rank failed to read or create the journal (see its log)");
    }
    try {
        rj.writer = std::make_unique<journal_writer>(opt.journal_dir, mpi::comm_rank(), journal_header(fp));
    } catch (...) {
        jfail = std::current_exception();
    }
    if (!mpi::all_ok(!jfail)) {
        if (jfail) std::rethrow_exception(jfail);
        throw error("lctpred: another rank failed to open its journal (see its log)");
    }
    // From here a failed or killed run leaves the journal for --resume: the log says so.
    if (mpi::is_root()) log::note_kept_on_signal(opt.journal_dir);
    return rj;
}

/// A --foldid table decides the folds and repeats. When --nfolds or --repeats was given too
/// and the table says otherwise, the user meant something else: refuse. Otherwise say what the
/// table implies, since the defaults (10 folds, 3 repeats) no longer hold.
void check_fold_table_against_options(const lctpred_options& opt, const std::vector<std::vector<int>>& folds) {
    int max_id = 0;
    for (const auto& rep : folds) max_id = std::max(max_id, *std::max_element(rep.begin(), rep.end()));
    const int reps = static_cast<int>(folds.size());
    if (opt.nfolds_given && max_id > opt.nfolds)
        throw usage_error(fmt::format("--foldid {} has fold ids up to {} but --nfolds is {}; drop --nfolds (the "
                                      "table decides) or fix the table",
                                      opt.foldid, max_id, opt.nfolds));
    if (opt.repeats_given && reps != opt.repeats)
        throw usage_error(fmt::format("--foldid {} has {} fold-id column(s) (CV repeats) but --repeats is {}; "
                                      "drop --repeats (the table decides) or fix the table",
                                      opt.foldid, reps, opt.repeats));
    SCPX_LOG_INF("fold ids from {}: {} repeat(s), fold ids up to {} (--nfolds/--repeats do not apply)", opt.foldid,
                 reps, max_id);
}

/// M of phi = ℓ / M: given, or the QC-passed SNPs of the training genotypes, which stand for the
/// genome only when they cover it (said in the log either way).
double phi_snp_count(const lctpred_options& opt, const genotype_panel& panel) {
    if (opt.phi_snps > 0) {
        SCPX_LOG_INF("phi: M = {} SNPs (--phi-snps)", opt.phi_snps);
        return opt.phi_snps;
    }
    if (panel.n_snps() == 0)
        throw usage_error("--phi: the genotypes have no SNP left after QC to count M from");
    const std::set<int> chromosomes(panel.chrom.begin(), panel.chrom.end());
    if (chromosomes.size() < 22)
        SCPX_LOG_WRN_SHARED(
            "--phi: M = {} SNPs after QC, on {} of the 22 autosomes; phi = LD score / M takes them for "
            "the genome's: give --phi-snps with the genome-wide count",
            panel.n_snps(), chromosomes.size());
    else
        SCPX_LOG_INF("phi: M = {} SNPs (the training genotypes after QC)", panel.n_snps());
    return static_cast<double>(panel.n_snps());
}

/// How far from its model's SNPs phi's LD score reaches (bp): LD decays within it.
constexpr std::int64_t phi_ld_reach_bp = 1000000;

/// phi of the kept models of this rank's block [begin, end) of `all`, in threads: (row, phi) pairs
/// packed for the gather.
std::string block_phi(const std::vector<gene_job>& jobs, const std::vector<gene_record_out>& all,
                      std::size_t begin, std::size_t end, const genotype_panel& panel, double m_snps) {
    std::vector<std::size_t> kept;
    for (std::size_t g = begin; g < end; ++g)
        if (all[g].fit.included) kept.push_back(g);
    std::vector<double> phi(kept.size());
    ops::parallel_for(static_cast<std::int64_t>(kept.size()), 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) {
            const std::size_t g = kept[static_cast<std::size_t>(i)];
            const gene_job& j = jobs[g];
            // Every SNP within phi_ld_reach_bp of a model SNP, not only the model's: LD with the others
            // inflates too. (Not the fit's --window, which a user may narrow.)
            std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = 0;
            for (const auto& [c, w] : all[g].fit.weights) {
                const std::int64_t pos = panel.pos[j.snp_begin + static_cast<std::size_t>(c)];
                first = std::min(first, pos);
                last = std::max(last, pos);
            }
            const auto [b, e] = panel.range(j.chrom, first - phi_ld_reach_bp, last + phi_ld_reach_bp);
            std::vector<std::pair<int, double>> weights;
            for (const auto& [c, w] : all[g].fit.weights)
                weights.emplace_back(static_cast<int>(j.snp_begin + static_cast<std::size_t>(c) - b), w);
            phi[static_cast<std::size_t>(i)] =
                inflation_phi(predicted_expression_ld_score(window_x(panel, b, e), weights), m_snps);
        }
    });
    packer pk;
    for (std::size_t i = 0; i < kept.size(); ++i) {
        pk.put<std::uint64_t>(kept[i]);
        pk.put(phi[i]);
    }
    return pk.buf;
}

} // namespace

lctpred_summary run_lctpred(const lctpred_options& opt) {
    if (opt.vcf.empty() == opt.genotype.empty())
        throw usage_error("give genotypes either as --genotype (with --snp-annotation) or as --vcf");
    if (!opt.genotype.empty() && opt.snp_annotation.empty())
        throw usage_error("--genotype needs --snp-annotation");
    if (opt.nfolds < 3) throw usage_error("--nfolds must be at least 3");
    if (opt.repeats < 1) throw usage_error("--repeats must be at least 1");
    if (opt.out_db.empty() || opt.out_covariance.empty() || opt.out_h5.empty())
        throw usage_error("lctpred: output paths not set");
    const bool r_folds = opt.foldid.empty() && opt.fold_generator == fold_rng::r;
    if (r_folds && opt.seed > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
        throw usage_error(fmt::format("--seed {} does not fit R's integer (<= 2147483647), which --fold-rng r "
                                      "passes to set.seed()",
                                      opt.seed));

    const bool write_phi = opt.phi || opt.phi_snps > 0; // an M given asks for phi
    mpi::ensure_initialized(); // library use (tests) without main()'s MPI session
    // A resubmitted array task that had finished: nothing to redo (and its outputs stay).
    if (opt.resume && !opt.overwrite && outputs_already_finished(opt)) {
        SCPX_LOG_INF(
            "--resume: {}, {} and {} are finished (same options, inputs and scpx build): nothing to do",
            opt.out_db, opt.out_covariance, opt.out_h5);
        lctpred_summary done;
        done.already_complete = true;
        return done;
    }
    // ---- every output checked before any work (a directory in the way, an existing output
    // without overwrite): the set is committed together at the very end.
    output_set outs(opt.overwrite);
    outs.add_on_every_rank({opt.out_db, opt.out_covariance, opt.out_h5}, "lctpred");
    const std::size_t o_db = 0, o_cov = 1, o_h5 = 2;
    lctpred_summary sum;
    stage_timer st_in("lctpred inputs");
    // ---- inputs (every rank reads them; all checks happen before any output is opened)
    io::expression_read_options eo;
    eo.allow_missing = true;
    io::sample_matrix expr =
        is_h5_expression(opt.expression) ? read_expression_h5(opt.expression) : io::read_expression(opt.expression, eo);
    std::vector<std::size_t> expr_cols;
    const std::vector<std::string> train = intersect_samples(opt, expr, expr_cols);
    std::vector<std::vector<int>> table_folds;
    if (!opt.foldid.empty()) {
        table_folds = read_fold_id_table(opt.foldid, train);
        check_fold_table_against_options(opt, table_folds);
    }
    std::vector<gene_job> jobs = match_genes(opt, expr);

    snp_qc_stats qst;
    genotype_panel panel = opt.vcf.empty()
                               ? load_predictdb_genotypes(opt.genotype, opt.snp_annotation, train, opt.qc, qst)
                               : load_vcf_genotypes(opt.vcf, train, opt.dosage, opt.qc, qst);
    SCPX_LOG_INF("{}", qst.summary());
    const double phi_m = write_phi ? phi_snp_count(opt, panel) : 0;
    sum.samples = train.size();
    sum.snps = panel.n_snps();
    sum.genes = jobs.size();

    std::vector<double> cost(jobs.size());
    for (std::size_t g = 0; g < jobs.size(); ++g) {
        gene_job& j = jobs[g];
        if (j.chrom > 0) {
            auto [b, e] = panel.range(j.chrom, j.rec.start - opt.window, j.rec.end + opt.window);
            j.snp_begin = b;
            j.snp_end = e;
        }
        cost[g] = static_cast<double>(train.size()) * static_cast<double>(std::max<std::size_t>(j.snp_end - j.snp_begin, 1));
    }

    // R's fold-id order is a property of all genes: fixed before a --split job drops any.
    std::vector<r_draw_slot> r_slots;
    if (r_folds) r_slots = r_draw_order(jobs);
    // What `lctpred merge` checks the parts of a split against: the whole gene list, and this
    // job's rows of it.
    const dist::split_gene_list whole_gene_list = split_list_of(jobs);
    dist::index_range rows{0, jobs.size()};
    if (opt.split.n_splits > 1) {
        // SLURM array job: keep this job's block (by cost); its outputs hold only these genes.
        dist::require_split_fits(opt.split, jobs.size(), "gene");
        const dist::index_range r = dist::split_range(cost, opt.split);
        rows = r;
        jobs = std::vector<gene_job>(jobs.begin() + static_cast<std::ptrdiff_t>(r.begin),
                                     jobs.begin() + static_cast<std::ptrdiff_t>(r.end));
        if (r_folds)
            r_slots = std::vector<r_draw_slot>(r_slots.begin() + static_cast<std::ptrdiff_t>(r.begin),
                                               r_slots.begin() + static_cast<std::ptrdiff_t>(r.end));
        cost = std::vector<double>(cost.begin() + static_cast<std::ptrdiff_t>(r.begin),
                                   cost.begin() + static_cast<std::ptrdiff_t>(r.end));
        SCPX_LOG_INF("--split {} --job {}: genes {}..{} of {}", opt.split.n_splits, opt.split.job, r.begin + 1, r.end,
                     sum.genes);
        sum.genes = jobs.size();
        // partition_by_cost leaves no block empty when there are at least as many genes as jobs.
        SCPX_ASSERT(!jobs.empty());
    }
    const int nlam = opt.fit.path.lambda.empty() ? opt.fit.path.nlambda : static_cast<int>(opt.fit.path.lambda.size());
    int nfold_cols = opt.nfolds;
    if (!table_folds.empty()) nfold_cols = *std::max_element(table_folds[0].begin(), table_folds[0].end());
    const hsize_t ng = jobs.size(), W = static_cast<hsize_t>(nlam), F = static_cast<hsize_t>(nfold_cols);
    std::size_t id_len = 1;
    for (const auto& j : jobs) id_len = std::max(id_len, j.gene_id.size());

    // ---- outputs opened now: an unwritable path fails before hours of fitting
    std::unique_ptr<io::covariance_writer> cov;
    std::unique_ptr<atomic_output> db_probe;
    mpi::on_root_agreed(
        [&] {
            cov = std::make_unique<io::covariance_writer>(outs.staged(o_cov), true);
            db_probe = std::make_unique<atomic_output>(outs.staged(o_db), true);
        },
        "lctpred: rank 0 could not open the outputs");
    db_probe.reset(); // only a writability check; write_predictdb_model is atomic itself

    // This rank's block of genes.
    const dist::index_range mine = dist::partition_block(cost, static_cast<std::size_t>(mpi::comm_size()),
                                                         static_cast<std::size_t>(mpi::comm_rank()));

    // ---- journal: genes finished by a killed run (--resume), and this run's own journal
    journal_kept_notice journal_notice{opt.journal_dir};
    run_journal rj = open_run_journal(opt, jobs, sum.samples, sum.snps, mine);
    std::unordered_map<std::size_t, gene_fit>& done = rj.done;
    std::unique_ptr<journal_writer>& journal = rj.writer;
    journal_notice.armed = journal && mpi::is_root(); // a failure from here leaves it for --resume

    const std::vector<io::h5_dataset_spec> specs = detail::summary_datasets(ng, W, F, id_len);
    io::h5_provenance prov;
    prov.stage = "lctpred";
    prov.command = opt.command;
    prov.inputs = {opt.expression, opt.vcf.empty() ? opt.genotype : opt.vcf, opt.snp_annotation, opt.gene_annotation,
                   opt.foldid};
    prov.extra = {{"seed", std::to_string(opt.seed)},
                  {"fold_rng", opt.foldid.empty() ? std::string(to_string(opt.fold_generator)) : "table"},
                  {"snp_qc", qst.summary()},
                  {"scpx_input_stamps", input_stamps(input_paths(opt))}};
    for (auto& kv : dist::split_attributes(whole_gene_list, rows))
        prov.extra.push_back(std::move(kv));
    io::h5_writer_options wo;
    wo.overwrite = true; // the staged file; the final one was checked by outs
    io::h5_row_writer h5(outs.staged(o_h5), specs, prov, wo);
    st_in.finish();

    // ---- fit this rank's block
    std::vector<gene_fit> fits(mine.size());
    // R's stream at each of this rank's drawing genes (the replay is cheap next to one fit).
    std::vector<std::optional<r_rng>> r_streams;
    if (r_folds)
        r_streams = r_fold_streams(r_slots, mine, static_cast<std::int32_t>(opt.seed), static_cast<int>(train.size()),
                                   opt.nfolds, opt.repeats);
    {
        stage_timer st_fit("lctpred fits");
        const stopwatch fit_clock;
        std::vector<std::size_t> order;
        for (std::size_t g = mine.begin; g < mine.end; ++g) {
            if (auto d = done.find(g); d != done.end()) fits[g - mine.begin] = std::move(d->second);
            else order.push_back(g);
        }
        progress prog(rank_share_label("lctpred"), order.size(), "genes", 10.0);
        std::mutex prog_mutex, journal_mutex;
        // Fault injection for the resume tests: SCPX_FAULT_EXIT_AFTER_GENES=N ends the process
        // with _Exit(75) (no unwinding, no file close, as a SLURM kill) once this rank has
        // journaled N genes.
        const char* fault = std::getenv("SCPX_FAULT_EXIT_AFTER_GENES");
        const std::size_t exit_after = fault ? static_cast<std::size_t>(std::strtoul(fault, nullptr, 10)) : 0;
        // Threads work on different genes (each gene single-threaded): genes are independent, so
        // this scales better than splitting one gene's 31 path fits, and results do not depend on
        // it (fit_gene is thread-count invariant). Largest genes first to shorten the tail.
        int nthreads = opt.fit.threads > 0 ? opt.fit.threads : ops::available_cpus();
        nthreads = std::max(1, std::min<int>(nthreads, static_cast<int>(order.size())));
        gene_fit_options fopt = opt.fit;
        fopt.threads = nthreads > 1 ? 1 : opt.fit.threads;
        std::stable_sort(order.begin(), order.end(), [&cost](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
        std::atomic<std::size_t> next{0};
        std::exception_ptr failure;
        std::mutex failure_mutex;
        auto worker = [&]() {
            for (;;) {
                const std::size_t k = next.fetch_add(1);
                if (k >= order.size()) return;
                const std::size_t g = order[k];
                try {
                    const gene_job& j = jobs[g];
                    gene_fit& f = fits[g - mine.begin];
                    if (j.chrom == 0) {
                        f.status = gene_status::not_autosomal;
                        f.message = "chromosome " + j.rec.chrom;
                        f.n_samples = static_cast<int>(train.size());
                    } else {
                        const Eigen::VectorXd y = training_y(expr, j.expr_index, expr_cols, opt.scale_expression);
                        const Eigen::MatrixXd x = window_x(panel, j.snp_begin, j.snp_end);
                        const int n = static_cast<int>(train.size());
                        std::vector<std::vector<int>> folds;
                        std::string bad_folds;
                        if (!table_folds.empty()) {
                            folds = table_folds;
                        } else if (!r_folds) {
                            folds = draw_fold_ids(n, opt.nfolds, opt.repeats, opt.seed, j.gene_id);
                        } else if (r_streams[g - mine.begin]) {
                            r_rng rng = *r_streams[g - mine.begin];
                            folds = draw_fold_ids_r(rng, n, opt.nfolds, opt.repeats);
                            // R's draws are not redrawn; cv.glmnet stops (nfolds = max(foldid) < 3)
                            // and fast_elasticnet.R's tryCatch leaves an NA row.
                            for (const auto& rep : folds) {
                                const int mx = *std::max_element(rep.begin(), rep.end());
                                if (mx < 3 || mx > n)
                                    bad_folds = fmt::format("R's fold ids have largest fold {} for {} samples; "
                                                            "cv.glmnet needs 3 <= max(foldid) <= n", mx, n);
                            }
                        } else {
                            // < 2 SNPs: R draws nothing and fit_gene stops before using folds.
                            folds.assign(static_cast<std::size_t>(opt.repeats), std::vector<int>(train.size(), 1));
                        }
                        if (bad_folds.empty()) {
                            f = fit_gene(x, y, folds, fopt);
                        } else {
                            f.status = gene_status::no_convergence;
                            f.message = bad_folds;
                            f.n_samples = n;
                            f.n_snps_in_window = static_cast<int>(x.cols());
                        }
                    }
                    if (f.status != gene_status::ok)
                        SCPX_LOG_DBG("gene {}: {} ({})", j.gene_id, to_string(f.status), f.message);
                    if (journal) {
                        std::lock_guard<std::mutex> lock(journal_mutex);
                        journal->append(g, j.gene_id, f);
                        if (exit_after > 0 && journal->appended() == exit_after) std::_Exit(75);
                    }
                } catch (...) {
                    std::lock_guard<std::mutex> lock(failure_mutex);
                    if (!failure) failure = std::current_exception();
                    next.store(order.size());
                    return;
                }
                std::lock_guard<std::mutex> lock(prog_mutex);
                prog.add();
            }
        };
        if (nthreads == 1) {
            worker();
        } else {
            std::vector<std::thread> pool;
            for (int t = 0; t < nthreads; ++t) pool.emplace_back(worker);
            for (auto& t : pool) t.join();
        }
        prog.finish();
        if (journal) journal->close();
        const double fit_seconds = fit_clock.seconds(); // before all_ok, which waits for the slowest rank
        // Every rank must agree before the collective writes, or a failed rank would hang the rest.
        if (!mpi::all_ok(!failure)) {
            h5.abandon();
            if (failure) std::rethrow_exception(failure);
            throw error("lctpred: another rank failed while fitting (see its log)");
        }
        // Ranks get blocks of equal estimated cost: rank 0 lists what each took, so a split that
        // the estimate got wrong (or a slow node) shows.
        const double total = std::accumulate(cost.begin(), cost.end(), 0.0);
        const double share = std::accumulate(cost.begin() + static_cast<std::ptrdiff_t>(mine.begin),
                                             cost.begin() + static_cast<std::ptrdiff_t>(mine.end), 0.0);
        dist::log_rank_work(
            "lctpred fits",
            {fmt::format("{} gene(s) fitted, {} from the journal, {:.1f} % of the estimated cost",
                         order.size(), mine.size() - order.size(), total > 0 ? 100.0 * share / total : 0.0),
             fit_seconds});
    }

    // ---- HDF5 rows of this block (collective)
    detail::write_summary_rows(h5, jobs, fits, mine, W, F);

    // ---- gather to rank 0 (all_gather: every rank also gets the counts for the summary)
    packer pk;
    for (std::size_t g = mine.begin; g < mine.end; ++g) pack(pk, g, fits[g - mine.begin]);
    const std::vector<std::string> parts = mpi::all_gather(pk.buf);
    std::vector<gene_record_out> all(jobs.size());
    for (const std::string& part : parts) {
        unpacker u{part};
        while (u.at < part.size()) {
            gene_record_out r = unpack(u);
            SCPX_ASSERT(r.row < all.size());
            all[r.row] = std::move(r);
        }
    }
    for (const auto& r : all) {
        if (r.fit.status == gene_status::ok) ++sum.fitted;
        if (r.fit.included) {
            ++sum.included;
            sum.weights += r.fit.weights.size();
        }
    }

    // ---- phi of the kept models: each rank those of its block (threads), gathered to all
    std::vector<double> phi_of(write_phi ? jobs.size() : 0, std::numeric_limits<double>::quiet_NaN());
    if (write_phi) {
        const stopwatch phi_clock;
        std::string mine_phi;
        try {
            mpi::on_every_rank_agreed(
                [&] { mine_phi = block_phi(jobs, all, mine.begin, mine.end, panel, phi_m); },
                "lctpred: another rank failed while computing phi (see its log)");
        } catch (...) {
            h5.abandon(); // every rank is here (all agreed on the failure)
            throw;
        }
        for (const std::string& part : mpi::all_gather(mine_phi)) {
            unpacker u{part};
            while (u.at < part.size()) {
                const auto row = u.get<std::uint64_t>();
                SCPX_ASSERT(row < phi_of.size());
                phi_of[row] = u.get<double>();
            }
        }
        SCPX_LOG_INF("phi of {} kept models in {:.2f} s", sum.included, phi_clock.seconds());
    }

    // ---- rank 0 writes the .db and covariance; then everyone agrees and commits
    mpi::on_root_agreed(
        [&] {
            std::vector<gene_fit> fits_all(all.size());
            for (std::size_t g = 0; g < all.size(); ++g)
                fits_all[g] = std::move(all[g].fit);
            detail::model_run_facts facts;
            facts.training_samples = train.size();
            facts.population = opt.population;
            facts.seed = opt.seed;
            facts.with_phi = write_phi;
            facts.phi = std::move(phi_of);
            io::predictdb_model m = detail::build_model_and_covariance(jobs, fits_all, panel, facts, *cov);
            io::write_predictdb_model(outs.staged(o_db), m, true);
        },
        "lctpred: rank 0 failed to write the outputs", [&] { h5.abandon(); });
    if (mpi::is_root()) cov->close();
    h5.finish();
    // All three files are complete: only now do they take their final names, together.
    mpi::on_root_agreed([&] { outs.commit(); }, "lctpred: rank 0 could not put the outputs in place");
    // The outputs are in place: the journal has served its purpose.
    if (!opt.journal_dir.empty() && mpi::is_root()) {
        std::error_code ec;
        std::filesystem::remove_all(opt.journal_dir, ec);
        if (ec) SCPX_LOG_WRN("could not remove the journal {}: {}", opt.journal_dir, ec.message());
    }
    SCPX_LOG_INF("lctpred: {} genes, {} fitted, {} models kept ({} weights), {} samples, {} SNPs after QC", sum.genes,
                 sum.fitted, sum.included, sum.weights, sum.samples, sum.snps);
    return sum;
}

} // namespace scpx::enet
