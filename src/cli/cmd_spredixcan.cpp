// `scpx spredixcan`: S-PrediXcan, a drop-in for MetaXcan's SPrediXcan.py (same flags, same CSV,
// same numbers) that also runs many models in one go (--models 'dir/*.db', one output each),
// splits genes over MPI ranks with identical output, explains why model SNPs did not match the
// GWAS, and finishes with NA + a reason where MetaXcan aborts.
#include "scpx/assoc/spredixcan.hpp"
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"

#include <fmt/format.h>

#include <glob.h>
#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace scpx::cli {

namespace {

struct spredixcan_args {
    common_options common;
    std::string model_db_path, covariance, models;
    std::string gwas_file, gwas_folder, gwas_file_pattern;
    std::string separator;
    std::string output_file;
    bool stream_covariance = false, throw_flag = false, overwrite = false, handle_empty_columns = false;
    std::string snp_map_file, skip_until_header;
    assoc::spredixcan_options opt;
};

struct job {
    std::string model, covariance, output, tag;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

std::vector<job> make_jobs(const spredixcan_args& a) {
    std::vector<job> jobs;
    if (a.models.empty()) {
        if (a.model_db_path.empty()) throw usage_error("give --model_db_path (one model) or --models 'dir/*.db'");
        // MetaXcan bypasses the covariance for --single_snp_model.
        if (a.covariance.empty() && !a.opt.single_snp_model) throw usage_error("--covariance is required");
        // Without --models nothing replaces {}: it would end up in a file name.
        if (a.output_file.find("{}") != std::string::npos || a.covariance.find("{}") != std::string::npos)
            throw usage_error("{} in --output_file/--covariance is replaced by the model tag only with --models; "
                              "with --model_db_path give the plain file names");
        jobs.push_back({a.model_db_path, a.covariance, a.output_file, ""});
        return jobs;
    }
    if (!a.model_db_path.empty()) throw usage_error("give either --model_db_path or --models, not both");
    glob_t g{};
    const int rc = ::glob(a.models.c_str(), 0, nullptr, &g);
    std::vector<std::string> paths;
    if (rc == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i)
            paths.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (paths.empty()) throw usage_error("--models '" + a.models + "' matches no file");
    std::sort(paths.begin(), paths.end());
    // The tag is what the single '*' of the pattern matched (TW_*_0.5.db → Whole_Blood), else
    // the file name without ".db".
    const std::size_t star = a.models.find('*');
    const bool one_star = star != std::string::npos && a.models.find('*', star + 1) == std::string::npos &&
                          a.models.find_first_of("?[") == std::string::npos;
    if (paths.size() > 1 && a.output_file.find("{}") == std::string::npos)
        throw usage_error("with several models, --output_file must contain {} (replaced by the model tag, "
                          "e.g. out/{}.csv)");
    // One covariance for every model is never right: each model has its own SNPs.
    if (a.covariance.empty() && !a.opt.single_snp_model) throw usage_error("--covariance is required");
    if (paths.size() > 1 && !a.covariance.empty() && a.covariance.find("{}") == std::string::npos)
        throw usage_error("--models matches " + std::to_string(paths.size()) +
                          " models: --covariance must contain {} (replaced by the model tag, e.g. "
                          "cov/TW_{}.txt.gz) so that each model gets its own covariance");
    for (const auto& p : paths) {
        std::string tag;
        if (one_star) {
            const std::string prefix = a.models.substr(0, star), suffix = a.models.substr(star + 1);
            tag = p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
        } else {
            tag = base_name(p);
            if (ends_with(tag, ".db")) tag.resize(tag.size() - 3);
        }
        jobs.push_back({p, replace_all(a.covariance, "{}", tag), replace_all(a.output_file, "{}", tag), tag});
    }
    return jobs;
}

// A Python regular expression (MetaXcan's --gwas_file_pattern) as std::regex: where ECMAScript's
// syntax differs, named groups (?P<name>…) become plain groups, \A is ^, \Z is $, and a leading
// (?i) is the icase flag. Throws std::regex_error for what neither reads.
std::regex python_regex(const std::string& python) {
    static const std::regex python_group(R"(\(\?P<[A-Za-z_][A-Za-z0-9_]*>)"), python_end(R"(\\Z)"),
        python_start(R"(\\A)");
    std::string pattern = std::regex_replace(python, python_group, "(");
    pattern = std::regex_replace(pattern, python_end, "$$"); // "$$": a literal $
    pattern = std::regex_replace(pattern, python_start, "^");
    auto flags = std::regex::ECMAScript;
    if (pattern.rfind("(?i)", 0) == 0) {
        pattern.erase(0, 4);
        flags |= std::regex::icase;
    }
    return std::regex(pattern, flags);
}

std::vector<std::string> gwas_files(const spredixcan_args& a) {
    if (!a.gwas_file.empty() && !a.gwas_folder.empty())
        throw usage_error("give either --gwas_file or --gwas_folder, not both");
    if (!a.gwas_file.empty()) {
        if (!a.gwas_file_pattern.empty())
            SCPX_LOG_WRN(
                "--gwas_file_pattern selects files in --gwas_folder; it is ignored with --gwas_file");
        return {a.gwas_file};
    }
    if (a.gwas_folder.empty()) throw usage_error("give --gwas_file or --gwas_folder");
    if (!path_exists(a.gwas_folder)) throw missing_file_error(a.gwas_folder, "GWAS folder");
    DIR* d = ::opendir(a.gwas_folder.c_str());
    if (!d) throw io_error("cannot open GWAS folder " + a.gwas_folder);
    std::vector<std::string> names;
    std::regex re;
    try {
        if (!a.gwas_file_pattern.empty()) re = python_regex(a.gwas_file_pattern);
    } catch (const std::regex_error& e) {
        ::closedir(d);
        throw usage_error("--gwas_file_pattern '" + a.gwas_file_pattern + "' is not a valid regex: " + e.what());
    }
    while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        // Matched from the name's start, not anywhere in it: MetaXcan uses Python's re.match.
        if (!a.gwas_file_pattern.empty() && !std::regex_search(n, re, std::regex_constants::match_continuous))
            continue;
        names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    if (names.empty())
        throw usage_error("no GWAS file in " + a.gwas_folder +
                          (a.gwas_file_pattern.empty() ? "" : " matches '" + a.gwas_file_pattern + "'"));
    std::vector<std::string> out;
    for (const auto& n : names)
        out.push_back(a.gwas_folder + "/" + n);
    return out;
}

delimiter parse_separator(const std::string& s) {
    if (s.empty()) return delimiter::WHITESPACE;
    if (s == "\t" || s == "\\t" || s == "tab" || s == "TAB") return delimiter::TAB;
    if (s == "," || s == "comma") return delimiter::COMMA;
    if (s == " " || s == "whitespace" || s == "space") return delimiter::WHITESPACE;
    throw usage_error("--separator must be a tab, a comma or a space (got '" + s + "')");
}

void log_report(const assoc::gwas_data& gwas, const assoc::harmonisation_report& r, const std::string& model) {
    SCPX_LOG_INF("Harmonisation with {}: {} model SNPs; used {} ({} with alleles swapped, sign flipped); "
                 "dropped: absent from GWAS {}, allele mismatch {}, strand complement {} (never flipped, as "
                 "MetaXcan), NA statistic {}, non-rsid id {}{}; {} SNP(s) had duplicated GWAS rows (the last "
                 "finite row is used)",
                 model, r.model_snps, r.used, r.swapped, r.absent, r.allele_mismatch, r.strand_complement,
                 r.na_statistic, r.dropped_non_rsid, r.dropped_non_rsid ? " (add --keep_non_rsid)" : "", r.duplicated);
    if (gwas.summary.matched_position)
        SCPX_LOG_INF("  {} GWAS row(s) matched to model ids by position and alleles", gwas.summary.matched_position);
    if (!r.diagnosis.empty()) SCPX_LOG_WRN("{}: {}", model, r.diagnosis);
}

// --single_snp_model treats a gene's SNPs as independent (Σ = I): S-PrediXcan's z only for genes
// with one SNP. Says how many genes have more, with an example.
void warn_multi_snp_genes(const io::predictdb_model& model, const std::string& path) {
    std::size_t multi = 0, example = 0, example_snps = 0;
    for (std::size_t g = 0; g < model.genes.size(); ++g) {
        const std::size_t n = model.gene_begin[g + 1] - model.gene_begin[g];
        if (n < 2) continue;
        if (multi++ == 0) example = g, example_snps = n;
    }
    if (multi == 0) return;
    SCPX_LOG_WRN("{}: --single_snp_model, but {} of {} genes have more than one SNP (e.g. {} with {}): their "
                 "SNPs are taken as independent (covariance = identity), so their zscores are not S-PrediXcan's "
                 "(MetaXcan stops with a KeyError on such a gene when two of its SNPs are in the GWAS); "
                 "leave out --single_snp_model and give --covariance for this model",
                 path, multi, model.genes.size(), model.genes[example], example_snps);
}

// Runs one model: harmonise, compute (genes split over ranks), gather, write. Throws on failure.
void run_job(const spredixcan_args& a, const job& j, const assoc::gwas_data& gwas,
             std::unique_ptr<io::predictdb_model> preloaded) {
    stopwatch sw;
    std::unique_ptr<io::predictdb_model> model = std::move(preloaded);
    if (!model) model = std::make_unique<io::predictdb_model>(assoc::load_model(j.model, a.opt));
    SCPX_LOG_INF("Model {}: {} genes with weights, {} weights, {} `extra` rows{}", j.model, model->genes.size(),
                 model->n_weights(), model->extra.size(), model->has_phi ? ", has phi" : "");
    if (model->n_weights() == 0 && mpi::is_root())
        SCPX_LOG_WRN("{}: the model has no weights: the output has no gene (MetaXcan aborts with "
                     "ZeroDivisionError here)",
                     j.model);

    if (a.opt.single_snp_model && mpi::is_root()) warn_multi_snp_genes(*model, j.model);

    assoc::harmonised_gwas h = assoc::harmonise(gwas, *model, a.opt);
    if (mpi::is_root()) log_report(gwas, h.report, j.model);

    const std::vector<std::size_t> genes = assoc::genes_to_compute(*model, h);
    // MPI: ranks take contiguous blocks of genes, balanced by weight count; rank 0 gathers the
    // results in gene order, so the table does not depend on the rank count.
    std::vector<double> costs;
    costs.reserve(genes.size());
    for (std::size_t g : genes)
        costs.push_back(static_cast<double>(model->gene_begin[g + 1] - model->gene_begin[g]) + 1.0);
    const std::size_t ranks = static_cast<std::size_t>(mpi::comm_size());
    const auto mine = dist::partition_block(costs, ranks, static_cast<std::size_t>(mpi::comm_rank()));
    std::vector<std::size_t> my_genes(genes.begin() + static_cast<std::ptrdiff_t>(mine.begin),
                                      genes.begin() + static_cast<std::ptrdiff_t>(mine.end));
    assoc::model_summary summary;
    summary.genes_in_model = model->genes.size();
    summary.genes_with_gwas = genes.size();
    std::vector<assoc::gene_result> computed;
    std::string failure;
    std::exception_ptr failed;
    try {
        computed = assoc::compute_genes(*model, h, j.covariance, my_genes, a.opt, &summary);
    } catch (const error& e) {
        failure = e.what();
        failed = std::current_exception();
    }
    if (failed && ranks == 1) std::rethrow_exception(failed); // keeps its type and message
    if (ranks > 1) {
        // Every rank must learn about a failure on any of them before the collective below; the
        // message already names the file, line and field.
        const auto failures = mpi::all_gather(failure);
        if (failed) std::rethrow_exception(failed);
        for (const auto& f : failures)
            if (!f.empty()) throw error(f);
        const auto parts = mpi::all_gather(assoc::serialize(computed));
        computed.clear();
        for (const auto& p : parts)
            assoc::deserialize(p, computed);
        // Each rank read its own genes' covariance blocks: the warning below counts them all,
        // and the first is the lowest rank's (ranks hold contiguous genes in file order).
        summary.cov_asymmetric_pairs =
            static_cast<std::uint64_t>(mpi::sum(static_cast<long long>(summary.cov_asymmetric_pairs)));
        for (const auto& first : mpi::all_gather(summary.cov_first_asymmetric))
            if (!first.empty()) {
                summary.cov_first_asymmetric = first;
                break;
            }
    }
    // Rank 0 alone finishes, logs and writes; the others wait at the barrier.
    if (!mpi::is_root()) {
        mpi::barrier();
        return;
    }
    std::vector<assoc::gene_result> results = assoc::finish_results(std::move(computed), *model, a.opt, &summary);

    std::size_t shown = 0;
    for (const auto& r : results) {
        if (r.status == "ok") continue;
        if (shown++ < 20) SCPX_LOG_INF("  gene {} ({}): {}", r.gene, r.gene_name, r.status);
    }
    std::string counts;
    for (const auto& [s, c] : summary.status_counts)
        if (s != "ok") counts += fmt::format("; {}: {}", s, c);
    SCPX_LOG_INF("Genes: {} in model, {} with GWAS SNPs, {} reported, {} with NA zscore{}{}", summary.genes_in_model,
                 summary.genes_with_gwas, summary.genes_reported, summary.genes_na, counts,
                 ranks > 1 ? " (covariance counts: rank 0's share)" : "");
    if (summary.cov_rows)
        SCPX_LOG_INF("Covariance {}: {} rows read, {} of them skipped unparsed (genes not needed)", j.covariance,
                     summary.cov_rows, summary.cov_rows_skipped);
    if (summary.cov_asymmetric_pairs)
        SCPX_LOG_WRN(
            "{}: {} pair(s) of the genes computed are given in both orientations with values more than "
            "1e-6 apart (first: {}); the later row is used, as MetaXcan does",
            j.covariance, summary.cov_asymmetric_pairs, summary.cov_first_asymmetric);

    try {
        make_parent_dirs(j.output);
        text_writer w(j.output, true);
        w.write(assoc::format_csv(results, *model, a.opt));
        w.close();
    } catch (...) {
        mpi::barrier(); // let the other ranks go on before main() aborts them
        throw;
    }
    mpi::barrier();
    SCPX_LOG_INF("Wrote {} ({} genes) in {:.2f} s", j.output, results.size(), sw.seconds());
    if (std::isnan(a.opt.gwas_h2) || std::isnan(a.opt.gwas_n))
        SCPX_LOG_DBG("pvalue and zscore are uncalibrated (give --gwas_h2 and --gwas_N to calibrate)");
}

// Checks that need no file and the model list; runs before the log (and its folder) is created.
std::vector<job> validate_args(spredixcan_args& a) {
    if (!a.snp_map_file.empty())
        throw usage_error("--snp_map_file is not supported by scpx: to reach a model keyed by position ids "
                          "(chr1_123_A_G_b38) from an rsid GWAS, or the reverse, give --match_by_position "
                          "(with --chromosome_column/--position_column when the GWAS ids carry no position)");
    if (a.output_file.empty()) throw usage_error("--output_file is required");
    // MetaXcan: p = 0 gives |z| = inf, replaced by the |z| of min(this, smallest non-zero p);
    // 0 switches that off and drops those SNPs. A negative or NaN value gives NaN z there.
    if (!(a.opt.input_pvalue_fix >= 0 && a.opt.input_pvalue_fix <= 1))
        throw usage_error(fmt::format("--input_pvalue_fix must be a p-value in [0, 1] (0: drop SNPs with p = 0, "
                                      "as MetaXcan), got {}",
                                      a.opt.input_pvalue_fix));
    a.opt.skip_until_header = a.skip_until_header;
    a.opt.separator = a.handle_empty_columns && a.separator.empty() ? delimiter::AUTO : parse_separator(a.separator);
    a.opt.columns.z_source(); // validates the column combination before anything is read
    dist::make_split(a.common.split, a.common.job); // --split/--job name the log
    return make_jobs(a);
}

// Says what happens to GWAS rows with p = 0 (MetaXcan's warning, with the count).
void log_zero_pvalues(const assoc::gwas_data& gwas, double fix) {
    if (gwas.source != io::gwas_columns::z_source_kind::PVALUE) return;
    std::size_t zeros = 0;
    for (const auto& r : gwas.rows)
        if (r.pvalue / 2 == 0) ++zeros; // 0, or so small that its |z| is infinite (MetaXcan's test)
    if (zeros == 0) return;
    if (fix > 0)
        SCPX_LOG_WRN(
            "GWAS: {} row(s) of model SNPs have p = 0: their |z| is that of the smallest non-zero p of the "
            "model's SNPs in the same GWAS file, at most {} (--input_pvalue_fix), as MetaXcan",
            zeros, fix);
    else
        SCPX_LOG_WRN("GWAS: {} row(s) of model SNPs have p = 0 and are dropped (NA statistic) because "
                     "--input_pvalue_fix is 0, as MetaXcan",
                     zeros);
}

/// Runs the jobs; returns false when there was nothing to do (every output exists and may not be
/// replaced), so the log of the outputs on disk is kept.
bool run_spredixcan(spredixcan_args& a, std::vector<job> jobs, const std::vector<std::string>& files) {
    if (std::isnan(a.opt.gwas_h2) != std::isnan(a.opt.gwas_n))
        SCPX_LOG_WRN_SHARED("only one of --gwas_h2/--gwas_N given: results are not calibrated");

    // --split/--job (SLURM arrays): this job does its share of the models.
    const auto split = dist::make_split(a.common.split, a.common.job);
    if (split.n_splits > 1) {
        dist::require_split_fits(split, jobs.size(), "model");
        const auto parts = dist::partition_even(jobs.size(), split.n_splits);
        const auto r = parts[split.job];
        jobs = std::vector<job>(jobs.begin() + static_cast<std::ptrdiff_t>(r.begin),
                                jobs.begin() + static_cast<std::ptrdiff_t>(r.end));
        SCPX_LOG_INF("--split {} --job {}: {} model(s)", split.n_splits, split.job, jobs.size());
    }
    // MetaXcan leaves an existing output alone unless --overwrite.
    std::vector<job> todo;
    for (const auto& j : jobs) {
        if (path_exists(j.output) && !a.overwrite) {
            SCPX_LOG_INF("{} already exists, move it or delete it if you want it done again (or pass --overwrite)",
                         j.output);
            continue;
        }
        make_parent_dirs(j.output);
        require_writable_location(j.output); // fail now, not after the work
        todo.push_back(j);
    }
    if (todo.empty()) return false;

    // Read the GWAS once, keeping the rows of SNPs any model uses.
    stopwatch sw;
    std::unique_ptr<io::predictdb_model> first;
    std::vector<std::string> keys, varids; // varids: where --match_by_position finds positions
    std::vector<std::string> failed;
    if (todo.size() == 1) {
        first = std::make_unique<io::predictdb_model>(assoc::load_model(todo[0].model, a.opt));
        keys = assoc::model_snp_keys(*first);
        varids = assoc::model_snp_varids(*first);
    } else {
        io::id_index all;
        for (const auto& j : todo) {
            try {
                const auto m = assoc::load_model(j.model, a.opt);
                for (std::size_t i = 0; i < m.rsid.size(); ++i) {
                    const std::size_t before = all.size();
                    all.insert(m.rsid[i]);
                    if (all.size() != before)
                        varids.push_back(i < m.varid.size() ? m.varid[i] : std::string());
                }
            } catch (const error&) {
                // Reported when the model's turn comes.
            }
        }
        for (std::size_t k = 0; k < all.size(); ++k)
            keys.emplace_back(all.id(k));
    }
    const assoc::gwas_data gwas = assoc::load_gwas(files, a.opt, keys, varids);
    const auto& s = gwas.summary;
    if (mpi::is_root()) {
        SCPX_LOG_INF("GWAS: {} file(s), {} data lines, {} rows of model SNPs kept ({:.2f} s)", files.size(),
                     s.data_lines, s.rows_kept, sw.seconds());
        if (!a.gwas_folder.empty()) { // which ones the pattern chose, in the order read
            std::string names;
            for (const auto& f : files)
                names += (names.empty() ? "" : ", ") + base_name(f);
            SCPX_LOG_INF("GWAS files read from {}: {}", a.gwas_folder, names);
        }
        // Lines with a wrong field count are reported by the reader itself (one warning per file).
        if (s.non_rsid)
            SCPX_LOG_INF("GWAS: {} row(s) of model SNPs dropped because the id does not contain 'rs'{}", s.non_rsid,
                         a.opt.keep_non_rsid ? "" : " (--keep_non_rsid keeps them)");
        if (s.bad_value)
            SCPX_LOG_WRN("GWAS: {} value(s) unusable as statistics were set to NA (first: {})", s.bad_value,
                         s.first_bad_value);
        log_zero_pvalues(gwas, a.opt.input_pvalue_fix);
    }

    for (std::size_t i = 0; i < todo.size(); ++i) {
        try {
            run_job(a, todo[i], gwas, i == 0 ? std::move(first) : nullptr);
        } catch (const usage_error&) {
            throw;
        } catch (const error& e) {
            if (todo.size() == 1) throw;
            SCPX_LOG_ERR("model {} failed, no output written: {}", todo[i].model, e.what());
            failed.push_back(todo[i].model);
        }
    }
    if (!failed.empty())
        throw error(fmt::format("{} of {} model(s) failed (see the errors above); the others were written",
                                failed.size(), todo.size()));
    return true;
}

} // namespace

void add_spredixcan_command(CLI::App& app) {
    auto a = std::make_shared<spredixcan_args>();
    auto* sub = app.add_subcommand("spredixcan",
                                   "S-PrediXcan (MetaXcan SPrediXcan.py drop-in): gene-level association from GWAS "
                                   "summary statistics, prediction models and SNP covariances");
    add_common_options(*sub, a->common, "");
    drop_options(*sub, {"--seed"});
    auto& o = a->opt;
    auto& c = o.columns;
    const char* in = "Input (MetaXcan)";
    sub->add_option("--model_db_path", a->model_db_path, "PredictDB model (.db)")->group(in);
    sub->add_option("--covariance", a->covariance,
                    "SNP covariance (GENE RSID1 RSID2 VALUE, may be gzipped); with --models, {} is the model tag")
        ->group(in);
    sub->add_option("--gwas_file", a->gwas_file, "GWAS summary statistics")->group(in);
    sub->add_option("--gwas_folder", a->gwas_folder, "folder of GWAS files (sorted by name, concatenated)")->group(in);
    sub->add_option("--gwas_file_pattern", a->gwas_file_pattern, "regex selecting files in --gwas_folder")->group(in);
    const char* cols = "GWAS columns (MetaXcan)";
    sub->add_option("--snp_column", c.snp, "SNP id column")->capture_default_str()->group(cols);
    sub->add_option("--effect_allele_column", c.effect_allele, "effect allele column")->capture_default_str()->group(cols);
    sub->add_option("--non_effect_allele_column", c.non_effect_allele, "other allele column")
        ->capture_default_str()->group(cols);
    sub->add_option("--zscore_column", c.zscore, "z-score column")->group(cols);
    sub->add_option("--beta_column", c.beta, "beta column")->group(cols);
    sub->add_option("--se_column", c.se, "standard error column")->group(cols);
    sub->add_option("--or_column", c.odds_ratio, "odds ratio column (beta = ln OR)")->group(cols);
    sub->add_option("--pvalue_column", c.pvalue, "p-value column")->group(cols);
    sub->add_option("--beta_sign_column", c.beta_sign, "beta sign column ('+' or '-')")->group(cols);
    sub->add_option("--chromosome_column", c.chromosome,
                    "chromosome column (read only with --match_by_position)")
        ->group(cols);
    sub->add_option("--position_column", c.position, "position column (read only with --match_by_position)")
        ->group(cols);
    sub->add_option("--freq_column", c.frequency,
                    "allele frequency column (accepted for MetaXcan scripts; not read)")
        ->group(cols);
    sub->add_option("--separator", a->separator, "field separator (default: any whitespace)")->group(cols);
    sub->add_option("--input_pvalue_fix", o.input_pvalue_fix,
                    "p-values of 0 are replaced by min(this, the GWAS file's smallest p); 0 drops those SNPs "
                    "(in [0, 1])")
        ->capture_default_str()
        ->group(cols);
    sub->add_flag("--handle_empty_columns", a->handle_empty_columns, "empty fields are NA (split on tab/comma)")
        ->group(cols);
    sub->add_option("--skip_until_header", a->skip_until_header,
                    "text that starts the header: lines before the first line holding it are skipped, "
                    "and so is what precedes it on that line")
        ->group(cols);
    sub->add_option("--snp_map_file", a->snp_map_file, "(not supported: see --match_by_position)")
        ->group(cols);
    const char* mo = "Model and output (MetaXcan)";
    sub->add_option("--model_db_snp_key", o.model_db_snp_key, "weights column used as SNP id (rsid or varID)")
        ->capture_default_str()->check(CLI::IsMember({"rsid", "varID"}))->group(mo);
    sub->add_flag("--keep_non_rsid", o.keep_non_rsid, "keep GWAS ids that do not contain 'rs'")->group(mo);
    sub->add_flag("--additional_output", o.additional_output, "add best_gwas_p and largest_weight")->group(mo);
    sub->add_flag("--remove_ens_version", o.remove_ens_version, "strip the .N version of gene ids")->group(mo);
    sub->add_flag("--single_snp_model", o.single_snp_model, "one SNP per gene: no covariance needed")->group(mo);
    sub->add_option("--gwas_h2", o.gwas_h2, "GWAS heritability, to calibrate with the model's phi")
        ->check(finite_number())
        ->check(CLI::Range(0.0, 1.0))
        ->group(mo);
    sub->add_option("--gwas_N", o.gwas_n, "GWAS sample size, to calibrate with the model's phi")
        ->check(positive_number())
        ->group(mo);
    sub->add_flag("--stream_covariance", a->stream_covariance,
                  "accepted for compatibility: scpx always streams the covariance")->group(mo);
    sub->add_option("--output_file", a->output_file,
                    "output CSV (the log goes to <output>.log, or "
                    "<output>.job<K>of<N>.log with --split N --job K); with "
                    "--models, {} is the model tag (the log: {} → all)")
        ->check(non_empty_name())
        ->group(mo);
    sub->add_flag("--throw", a->throw_flag, "accepted for compatibility (errors always stop with a message)")->group(mo);
    sub->add_flag("--overwrite", a->overwrite, "replace an existing output (otherwise it is left alone)")->group(mo);
    const char* sx = "scpx";
    sub->add_option("--models", a->models,
                    "several models: a glob such as 'models/TW_*_0.5.db'; what '*' matched (the tag) replaces {} "
                    "in --covariance and --output_file")->group(sx);
    sub->add_flag("--status", o.status_column, "add a `status` column: 'ok' or why the gene's numbers are NA")
        ->group(sx);
    sub->add_flag(
           "--match_by_position", o.match_by_position,
           "also match GWAS and model SNPs by chromosome, position and alleles (either order) when ids "
           "differ (ids like chr1_123_A_G_b38, 1:123:A:G, or --chromosome_column/--position_column; a "
           "model keyed by rsid gives its positions by its varIDs)")
        ->group(sx);
    sub->callback([sub, a] {
        std::vector<job> jobs = validate_args(*a); // bad options fail before any folder is made
        const std::vector<std::string> gwas = gwas_files(*a);
        // The option values name inputs (run_scope records them again, harmlessly), and so do
        // the files --models and its {} covariances expand to and the GWAS files of
        // --gwas_folder: no output (nor the log) may replace one.
        note_input_files(*sub);
        if (!a->models.empty()) {
            for (const job& j : jobs) {
                note_input_file(j.model, "--models " + a->models + " (" + j.model + ")");
                note_input_file(j.covariance, "--covariance " + a->covariance + " (" + j.covariance + ")");
            }
        }
        if (!a->gwas_folder.empty())
            for (const auto& f : gwas) note_input_file(f, "--gwas_folder " + a->gwas_folder + " (" + f + ")");
        // Every model's output, before the log and any work: a later model's must not fail
        // after earlier ones were written, and an input is no finished output to skip when
        // --overwrite is not given.
        for (const job& j : jobs) require_not_an_input(j.output);
        std::string log = log_path_for(replace_all(a->output_file, "{}", "all"));
        if (a->common.split > 1) {
            // SLURM array tasks run at the same time: one log each, not one clobbered file.
            log.resize(log.size() - 4); // ".log"
            log += fmt::format(".job{}of{}.log", a->common.job, a->common.split);
        }
        make_parent_dirs(log);
        run_scope scope(*sub, a->common, log);
        if (a->opt.single_snp_model && !a->covariance.empty())
            SCPX_LOG_WRN_SHARED(
                "--single_snp_model: --covariance {} is not read (each SNP's variance is taken as 1, "
                "as MetaXcan does); leave out --single_snp_model to use it",
                a->covariance);
        if (!run_spredixcan(*a, std::move(jobs), gwas)) scope.keep_previous_log();
    });
}

} // namespace scpx::cli
