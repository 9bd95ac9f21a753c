#pragma once
/// @file lctpred_merge.hpp
/// `lctpred merge`: joins the parts of an l-ctPred run cut into a SLURM array (`lctpred --split N
/// --job K`) into the .db, covariance and summary the unsplit run writes.
///
/// Each part P is P.db, P.covariance.txt.gz and P.summary.h5. The parts are checked as one run
/// (dist::order_split_parts: one command but for --job, every job once, one gene list, inputs
/// of one size), each part's three files as one another's (the .db's models are the genes its
/// summary marks included; the covariance has a block for each, in the .db's gene order), then
///  * the .db: weights and extra of every part, genes in byte-wise order, one sample_info row,
///    construction the union of the parts' chromosomes — the unsplit run's database;
///  * the covariance: the parts' blocks merged by gene id, rows and values as written;
///  * the summary: the parts' rows in job order (the unsplit run's gene order), with the
///    unsplit run's command and the part files in `scpx_merged_parts`.
/// The three outputs appear together or not at all (enet::output_set).

#include <cstddef>
#include <string>
#include <vector>

namespace scpx::enet {

/// Settings of one merge.
struct lctpred_merge_options {
    /// The parts: each a prefix P or one of P.db, P.covariance.txt.gz, P.summary.h5, P.log (a
    /// glob over the parts' files names each part several times; that is one part).
    std::vector<std::string> parts;
    std::string out_db, out_covariance, out_h5;
    bool overwrite = false; ///< replace existing outputs (default: refuse, as lctpred)
};

/// What a merge wrote.
struct lctpred_merge_summary {
    std::size_t parts = 0;   ///< parts joined
    std::size_t split = 0;   ///< --split N of the run
    std::size_t genes = 0;   ///< summary rows
    std::size_t models = 0;  ///< genes in the .db
    std::size_t weights = 0; ///< weight rows
};

/// The prefix P of a part named as P, P.db, P.covariance.txt.gz, P.summary.h5 or P.log.
std::string lctpred_part_prefix(const std::string& name);

/// Joins the parts. Collective over MPI_COMM_WORLD (rank 0 reads and writes; the others take
/// part in the summary's collective writes).
/// @throws usage_error (a job missing or given twice, a part's file missing, an output that
///         exists without overwrite), input_error naming the part file and attribute, table or
///         gene that disagrees; no output is left behind.
lctpred_merge_summary merge_lctpred_parts(const lctpred_merge_options& opt);

} // namespace scpx::enet
