// `scpx lctpred merge`: joins the parts of an `lctpred --split N` SLURM array (P.db,
// P.covariance.txt.gz, P.summary.h5 per job) into the unsplit run's three files. The work is in
// enet::merge_lctpred_parts; this file maps options and checks that the part files exist.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"
#include "scpx/enet/lctpred_merge.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace scpx::cli {

namespace {

struct merge_args {
    common_options common;
    std::vector<std::string> parts;
};

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

/// The three files of the part `name` names must be there, as regular files; each is noted as an
/// input, so neither --out nor the log derived from it can replace one. A name that is no part
/// (a glob over a parts folder catches logs of failed jobs, journals, other files) says what it is.
void check_part_files(const std::string& name) {
    const std::string accepted = "a part is named by its prefix P or one of P.db, P.covariance.txt.gz, "
                                 "P.summary.h5, P.log";
    if (ends_with(name, ".failed.log"))
        throw usage_error(name +
                          " is the log of a failed run, not a part (if of an lctpred job: rerun that job, "
                          "then merge)");
    const std::string prefix =
        ends_with(name, ".journal") ? name.substr(0, name.size() - 8) : enet::lctpred_part_prefix(name);
    if (exists(prefix + ".journal"))
        throw usage_error("part " + prefix + " has a journal (" + prefix +
                          ".journal): its job was stopped before it finished, or is still running; let it "
                          "finish (or rerun it with --resume), then merge");
    struct stat dir_st {};
    if (::stat(name.c_str(), &dir_st) == 0 && S_ISDIR(dir_st.st_mode))
        throw usage_error(name + " is a folder, not a part: name the parts in it (e.g. " +
                          (ends_with(name, "/") ? name : name + "/") + "CD4_T_*.db)");
    if (prefix == name && !exists(prefix + ".db") && exists(name))
        throw usage_error(name + " is not a part of an lctpred run (no " + prefix + ".db): " + accepted);
    for (const char* ext : {".db", ".covariance.txt.gz", ".summary.h5"}) {
        const std::string file = prefix + ext;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) throw missing_file_error(file, "part file");
        if (!S_ISREG(st.st_mode)) throw usage_error("part file " + file + " is not a regular file");
        note_input_file(file, "part file " + file);
    }
}

/// `scpx lctpred --seed 9 merge …`: CLI11 gives --seed to the fit, which does not run; the user
/// meant something, so say it rather than ignore it. (Values from a --config file's [lctpred]
/// table are not on the command line and stay harmless.) Runs first: the fit's callback runs
/// after merge's.
void refuse_fit_options_before_merge() {
    const std::vector<std::string>& args = command_line();
    const auto lct = std::find(args.begin(), args.end(), "lctpred");
    if (lct == args.end()) return;
    const auto merge = std::find(lct, args.end(), "merge");
    for (auto it = lct + 1; it != merge; ++it)
        if (it->rfind("-", 0) == 0)
            throw usage_error("`scpx lctpred " + *it +
                              " … merge`: the options before `merge` are the fit's, which does not run; give "
                              "merge's options (--out, --overwrite, --verbosity) after `merge`" +
                              (it->rfind("--config", 0) == 0
                                   ? " and --config before the subcommand (`scpx --config "
                                     "FILE lctpred merge …`)"
                                   : ""));
}

} // namespace

void add_lctpred_merge_command(CLI::App& lctpred) {
    auto a = std::make_shared<merge_args>();
    auto* sub = lctpred.add_subcommand(
        "merge", "Join the --split parts of an lctpred run into one .db, covariance and summary");
    sub->add_option(
           "parts", a->parts,
           "the parts, each as its prefix P or one of P.db, P.covariance.txt.gz, P.summary.h5, P.log "
           "(every job of the split, any order; e.g. parts/CD4_T_*.db)")
        ->required()
        ->group("Input");
    add_common_options(*sub, a->common,
                       "output prefix: writes P.db, P.covariance.txt.gz and P.summary.h5 (log: P.log)");
    // It joins the parts of a split; it is not one. Nothing is random; one process does the work.
    drop_options(*sub, {"--seed", "--split", "--job", "--threads"});
    // Checked by hand after refuse_fit_options_before_merge: `lctpred --out X merge …` gives X to
    // the fit, and "--out is required" would puzzle.
    sub->get_option("--out")->required(false);
    sub->get_option("--out")->description(sub->get_option("--out")->get_description() + " (required)");
    a->common.overwrite = false;
    sub->add_flag("--overwrite,!--no-overwrite", a->common.overwrite,
                  "replace existing outputs (default: refuse)")
        ->capture_default_str()
        ->group("Output");
    // `lctpred` takes the fit's options: one given to merge is an error, not the parent's to take.
    sub->fallthrough(false);
    sub->callback([sub, a] {
        refuse_fit_options_before_merge();
        if (sub->count("--out") == 0) throw CLI::RequiredError("--out");
        // Checked here, not by a validator: CLI11 takes the value of a misplaced option as a
        // part, and its "argument not expected" message must come first.
        for (const std::string& p : a->parts)
            check_part_files(p);
        // --out is a prefix (P.db, …): the log is P.log, whatever P ends with.
        run_scope scope(*sub, a->common, a->common.out + ".log");
        enet::lctpred_merge_options opt;
        opt.parts = a->parts;
        opt.out_db = a->common.out + ".db";
        opt.out_covariance = a->common.out + ".covariance.txt.gz";
        opt.out_h5 = a->common.out + ".summary.h5";
        opt.overwrite = a->common.overwrite;
        enet::merge_lctpred_parts(opt);
    });
}

} // namespace scpx::cli
