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

#include <memory>
#include <string>
#include <vector>

namespace scpx::cli {

namespace {

struct merge_args {
    common_options common;
    std::vector<std::string> parts;
};

/// The three files of the part `name` names must be there, as regular files; each is noted as an
/// input, so neither --out nor the log derived from it can replace one.
void check_part_files(const std::string& name) {
    if (ends_with(name, ".journal"))
        throw usage_error(name +
                          " is the journal of an unfinished lctpred job: finish it with --resume, then "
                          "merge its outputs");
    const std::string prefix = enet::lctpred_part_prefix(name);
    for (const char* ext : {".db", ".covariance.txt.gz", ".summary.h5"}) {
        const std::string file = prefix + ext;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) throw missing_file_error(file, "part file");
        if (!S_ISREG(st.st_mode)) throw usage_error("part file " + file + " is not a regular file");
        note_input_file(file, "part file " + file);
    }
}

} // namespace

void add_lctpred_merge_command(CLI::App& lctpred) {
    auto a = std::make_shared<merge_args>();
    auto* sub = lctpred.add_subcommand(
        "merge", "Join the --split parts of an lctpred run into one .db, covariance and summary");
    sub->add_option("parts", a->parts,
                    "the parts, each as its prefix P or one of P.db, P.covariance.txt.gz, P.summary.h5 "
                    "(every job of the split, any order; e.g. parts/CD4_T_*.db)")
        ->required()
        ->group("Input");
    add_common_options(*sub, a->common,
                       "output prefix: writes P.db, P.covariance.txt.gz and P.summary.h5 (log: P.log)");
    // It joins the parts of a split; it is not one. Nothing is random; one process does the work.
    drop_options(*sub, {"--seed", "--split", "--job", "--threads"});
    a->common.overwrite = false;
    sub->add_flag("--overwrite,!--no-overwrite", a->common.overwrite,
                  "replace existing outputs (default: refuse)")
        ->capture_default_str()
        ->group("Output");
    // `lctpred` takes the fit's options: one given to merge is an error, not the parent's to take.
    sub->fallthrough(false);
    sub->callback([sub, a] {
        // Checked here, not by a validator: CLI11 takes the value of a misplaced option as a
        // part, and its "argument not expected" message must come first.
        for (const std::string& p : a->parts)
            check_part_files(p);
        run_scope scope(*sub, a->common, log_path_for(a->common.out));
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
