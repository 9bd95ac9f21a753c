#pragma once
/// @file split_parts.hpp
/// The parts of one run cut into a SLURM array (`--split N --job K`), as the merge commands
/// (`features merge`, `lctpred merge`) check them before joining: every part made by the same
/// command but for --job, every job 0..N-1 there once, each part's rows of the whole gene list
/// (`scpx_split_genes`) following the previous job's without a gap, one gene list
/// (`scpx_gene_list`) and the inputs (`scpx_input_stamps`) of one size in every job.

#include "scpx/dist/partition.hpp"
#include "scpx/io/h5_writer.hpp"

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace scpx::dist {

/// The gene list a split run cuts, as its outputs' rows hold it (so a merge can recompute its
/// fingerprint from them): gene id, chromosome as the output writes it, TSS; one entry per gene.
struct split_gene_list {
    std::vector<std::string> ids, chroms;
    std::vector<std::int64_t> tss;

    void add(std::string id, std::string chrom, std::int64_t gene_tss) {
        ids.push_back(std::move(id));
        chroms.push_back(std::move(chrom));
        tss.push_back(gene_tss);
    }
    std::size_t size() const { return ids.size(); }
    /// Appends `more`'s genes (the next job's rows).
    void append(const split_gene_list& more) {
        ids.insert(ids.end(), more.ids.begin(), more.ids.end());
        chroms.insert(chroms.end(), more.chroms.begin(), more.chroms.end());
        tss.insert(tss.end(), more.tss.begin(), more.tss.end());
    }
};

/// What a job of a split run records for the merge to check its part by (the writer side of
/// read_split_part): `scpx_split_genes` "begin end total" (its `rows` of `whole`),
/// `scpx_gene_list` and `scpx_part_gene_list` (gene_list_fingerprint of `whole` and of its rows).
/// An unsplit run records the same with rows = all of them.
std::vector<std::pair<std::string, std::string>> split_attributes(const split_gene_list& whole,
                                                                  index_range rows);

/// Provenance of one part, from its HDF5 output's root attributes.
struct split_part {
    std::string path;                ///< the HDF5 file it was read from
    std::string stage;               ///< scpx_stage
    int split = 1, job = 0;          ///< --split N --job K of scpx_command
    std::string command_without_job; ///< scpx_command with " --job K" removed
    std::string command_before_split, command_after_job, job_separator; ///< scpx_command around them
    std::uint64_t begin = 0, end = 0, total = 0; ///< scpx_split_genes: its rows of the gene list
    std::string gene_list;                       ///< scpx_gene_list: count and fingerprint of the whole list
    std::string part_gene_list; ///< scpx_part_gene_list: the same of its own rows ("" if older)
    std::string input_stamps;   ///< scpx_input_stamps ("" if older)
    std::string build;          ///< "scpx_version (git scpx_git_hash)" of the build that made it

    std::uint64_t genes() const { return end - begin; }
};

/// Reads a part's provenance from the open HDF5 `file` (at `path`).
/// @param stages  the scpx_stage values accepted
/// @param what    what such a file is, for messages ("an output of `scpx lctpred`")
/// @throws input_error naming the file and attribute when one is missing or malformed, the
///         stage is not in `stages`, or the command has no --split/--job
split_part read_split_part(hid_t file, const std::string& path, const std::vector<std::string>& stages,
                           const std::string& what);

/// Checks that `parts` make up one split run and returns their indices in job order.
/// @param example  a glob that names every part, for the hint when jobs are missing
/// @throws input_error naming the part that disagrees with the first (stage, command — the
///         options that differ are listed —, gene list, rows, an input of another size);
///         usage_error for a job given twice or missing. An input with another modification
///         time only, or a part made by another scpx build, is warned about.
std::vector<std::size_t> order_split_parts(const std::vector<split_part>& parts, const std::string& example);

/// A part's datasets `have` (of file `path`) are those of the first part's `want` (of
/// `want_path`): the same names, element types, and shapes but for the rows (dimension 0; in
/// full for the datasets named in `whole`). @throws input_error naming the dataset that differs
void require_same_datasets(const std::map<std::string, io::h5_info>& have, const std::string& path,
                           const std::map<std::string, io::h5_info>& want, const std::string& want_path,
                           const std::set<std::string>& whole = {});

/// A part's rows (`rows`, read from its file `part.path`, datasets `datasets` e.g. "/gene_id,
/// /chrom, /tss") are the ones its run wrote: their fingerprint is its scpx_part_gene_list (a part
/// of an older scpx without one is not checked). @throws input_error naming file and datasets
void require_rows_as_written(const split_part& part, const split_gene_list& rows,
                             const std::string& datasets);

/// The parts' rows joined in job order (`joined`) are the gene list every part recorded
/// (scpx_gene_list of `first`, checked equal in all by order_split_parts).
/// @throws input_error naming the first part's file: a part was edited, or comes from another run
void require_joined_gene_list(const split_part& first, const split_gene_list& joined,
                              const std::string& datasets);

/// The command of the unsplit run the parts make up ("--split 1 --job 0").
std::string unsplit_command(const split_part& part);

/// Provenance of the joined output: the unsplit run's stage, command and inputs (`scpx_inputs`
/// of the first part, empty lines kept, so the attribute equals the unsplit run's), the
/// attributes `copied` from the first part's file `first` (when present), and what it was joined
/// from: scpx_split_genes "0 N N", scpx_gene_list, scpx_part_gene_list (the whole list),
/// scpx_input_stamps (job 0's), scpx_merged_parts (the part files, job order) and
/// scpx_parts_build (the build that made job 0; scpx_version/scpx_git_hash are the merge's).
io::h5_provenance merged_provenance(hid_t first, const std::vector<split_part>& in_job_order,
                                    const std::vector<std::string>& copied);

} // namespace scpx::dist
