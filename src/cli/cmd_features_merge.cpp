// `scpx features merge`: joins the parts of a `features reference` or `features personal` run cut
// into a SLURM array (--split N --job K) into the one file `ctpred train` and `ctpred predict`
// read. Every part must come from the same command but for --job, and every job 0..N-1 must be
// there once; the per-gene datasets are concatenated in job order, which is the unsplit run's
// gene order (dist::split_range cuts the ordered gene list into contiguous blocks).
#include "scpx/cli/commands.hpp"
#include "scpx/cli/features_common.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/h5_writer.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace scpx::cli {

namespace {

struct merge_options {
    common_options common;
    std::vector<std::string> parts;
};

/// One part file: its job in the split and what the merge needs from it.
struct part_file {
    std::string path;
    int split = 1, job = 0;
    std::string stage;
    std::string command_without_job; ///< scpx_command with "--job K" blanked
    hsize_t genes = 0;
    hsize_t begin = 0, end = 0, total = 0; ///< its rows of the whole gene list (scpx_split_genes)
    std::string gene_list;                 ///< scpx_gene_list: count and fingerprint of that list
};

const std::set<std::string> k_stages = {"features-reference", "features-personal"};
/// Datasets of one value per gene (axis 0); every other dataset must be equal in every part.
const std::set<std::string> k_shared = {"sample_id"};

std::string root_attr(hid_t file, const std::string& path, const std::string& name) {
    if (!io::h5_has_attr(file, name))
        throw input_error(
            path, "attribute '" + name + "'", "",
            "not an output of `scpx features reference` or `features personal` (no provenance)");
    return io::h5_read_attr_string(file, name);
}

part_file read_part_attributes(const std::string& path) {
    part_file p;
    p.path = path;
    const io::h5_file f = io::h5_open_file(path);
    p.stage = root_attr(f.id(), path, "scpx_stage");
    if (k_stages.count(p.stage) == 0)
        throw input_error(path, "attribute 'scpx_stage'", "",
                          "made by stage '" + p.stage +
                              "'; only features reference and features personal outputs are merged");
    const std::string command = root_attr(f.id(), path, "scpx_command");
    static const std::regex split_job(" --split ([0-9]+) --job ([0-9]+)");
    std::smatch m;
    if (!std::regex_search(command, m, split_job))
        throw input_error(path, "attribute 'scpx_command'", "",
                          "no --split/--job in the command that made it");
    p.split = std::stoi(m[1].str());
    p.job = std::stoi(m[2].str());
    p.command_without_job = m.prefix().str() + " --split " + m[1].str() + m.suffix().str();
    p.gene_list = root_attr(f.id(), path, "scpx_gene_list");
    const std::string rows = root_attr(f.id(), path, "scpx_split_genes");
    unsigned long long b = 0, e = 0, t = 0;
    if (std::sscanf(rows.c_str(), "%llu %llu %llu", &b, &e, &t) != 3 || b > e || e > t)
        throw input_error(path, "attribute 'scpx_split_genes'", "",
                          "'" + rows + "' is not 'begin end total'");
    p.begin = b;
    p.end = e;
    p.total = t;
    p.genes = io::h5_dataset_info(f.id(), "gene_id").shape.at(0);
    if (p.genes != p.end - p.begin)
        throw input_error(path, "dataset '/gene_id'", "",
                          std::to_string(p.genes) + " genes, but the part is rows " + rows);
    // A renamed temporary of a killed run holds zero rows for the genes it had not reached.
    const auto done = io::h5_read<std::uint8_t>(f.id(), "done").data;
    const auto missing = std::count(done.begin(), done.end(), std::uint8_t{0});
    if (missing > 0)
        throw input_error(path, "dataset '/done'", "",
                          "unfinished: " + std::to_string(missing) + " of " + std::to_string(done.size()) +
                              " genes not done (finish the job with --resume)");
    return p;
}

/// Reads one part's provenance; HDF5 failures (a damaged file) are reported against the part.
part_file read_part(const std::string& path) {
    try {
        return read_part_attributes(path);
    } catch (const h5_error& e) {
        throw input_error(path, "", "", std::string("cannot read it as a features output: ") + e.what());
    }
}

/// The parts in job order, checked: one command, one split, every job once.
std::vector<part_file> ordered_parts(const std::vector<std::string>& paths) {
    std::vector<part_file> parts;
    for (const auto& p : paths)
        parts.push_back(read_part(p));
    const part_file& first = parts.front();
    std::map<int, std::string> by_job;
    for (const auto& p : parts) {
        if (p.stage != first.stage)
            throw input_error(p.path, "attribute 'scpx_stage'", "",
                              "a " + p.stage + " output, but " + first.path + " is a " + first.stage +
                                  " output");
        if (p.command_without_job != first.command_without_job)
            throw input_error(p.path, "attribute 'scpx_command'", "",
                              "made with other options than " + first.path + " (only --job may differ):\n  " +
                                  p.command_without_job + "\n  " + first.command_without_job);
        const auto [it, added] = by_job.emplace(p.job, p.path);
        if (!added)
            throw usage_error("job " + std::to_string(p.job) + " of --split " + std::to_string(p.split) +
                              " given twice: " + it->second + " and " + p.path);
    }
    std::vector<std::string> missing;
    for (int k = 0; k < first.split; ++k)
        if (by_job.count(k) == 0) missing.push_back(std::to_string(k));
    if (!missing.empty())
        throw usage_error("the parts of --split " + std::to_string(first.split) + " lack job(s) " +
                          join(missing, ", ") + "; give every part (e.g. parts/features_*.h5)");
    std::sort(parts.begin(), parts.end(),
              [](const part_file& a, const part_file& b) { return a.job < b.job; });
    // The same gene list (annotation, FASTA, VCF contigs as the parts saw them), cut without gaps.
    hsize_t next = 0;
    for (const auto& p : parts) {
        if (p.gene_list != first.gene_list || p.total != first.total)
            throw input_error(p.path, "attribute 'scpx_gene_list'", "",
                              "cut from another gene list (" + p.gene_list + ") than " + first.path + " (" +
                                  first.gene_list + "): the annotation, FASTA or VCF changed between jobs");
        if (p.begin != next)
            throw input_error(p.path, "attribute 'scpx_split_genes'", "",
                              "job " + std::to_string(p.job) + " starts at gene " + std::to_string(p.begin) +
                                  ", but the jobs before it end at " + std::to_string(next));
        next = p.end;
    }
    if (next != first.total)
        throw input_error(parts.back().path, "attribute 'scpx_split_genes'", "",
                          "the jobs end at gene " + std::to_string(next) + " of " +
                              std::to_string(first.total));
    return parts;
}

/// Names of the datasets at the root of `file` (the features outputs have no groups).
std::vector<std::string> root_datasets(hid_t file) {
    std::vector<std::string> names;
    H5Literate(
        file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t loc, const char* name, const H5L_info_t*, void* out) -> herr_t {
            H5O_info_t info;
            if (H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET)
                static_cast<std::vector<std::string>*>(out)->emplace_back(name);
            return 0;
        },
        &names);
    return names;
}

/// Rows [first, first + count) of a numeric dataset, converted to T.
template <class T>
std::vector<T> read_rows(hid_t file, const std::string& name, hsize_t first, hsize_t count) {
    const io::h5_dataset d = io::h5_open_dataset(file, name);
    const io::h5_space space(H5Dget_space(d.id()));
    const int rank = H5Sget_simple_extent_ndims(space.id());
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), start(dims.size(), 0), block;
    H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
    block = dims;
    start[0] = first;
    block[0] = count;
    SCPX_H5_CHECK(
        H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr));
    const io::h5_space mem(H5Screate_simple(rank, block.data(), nullptr));
    hsize_t n = 1;
    for (const hsize_t b : block)
        n *= b;
    std::vector<T> out(n);
    SCPX_H5_CHECK(H5Dread(d.id(), io::h5_memory_type(io::h5_dtype_of<T>::value), mem.id(), space.id(),
                          H5P_DEFAULT, out.data()));
    return out;
}

/// Copies rows [first, first + count) of `name` in `file` to rows [to, to + count) of the output.
/// Collective: only the `reader` rank reads and passes rows, the others write none.
template <class T>
void copy_rows(io::h5_row_writer& w, hid_t file, const std::string& name, hsize_t first, hsize_t count,
               hsize_t to, bool reader) {
    w.write_rows(name, to, reader ? count : 0,
                 reader ? read_rows<T>(file, name, first, count) : std::vector<T>{});
}

void run_merge(const merge_options& o) {
    const std::vector<part_file> parts = ordered_parts(o.parts);
    hsize_t total = 0;
    for (const auto& p : parts)
        total += p.genes;
    SCPX_LOG_INF("{} part(s) of a {} run (--split {}), {} genes in all", parts.size(), parts.front().stage,
                 parts.front().split, total);

    // The layout: part 0's datasets with the rows of all parts; string widths the widest part's.
    const io::h5_file first(io::h5_open_file(parts.front().path));
    const std::vector<std::string> names = root_datasets(first.id());
    std::vector<io::h5_dataset_spec> specs;
    std::set<std::string> gene_ids;
    std::map<std::string, std::vector<std::string>> shared; ///< part 0's values of the k_shared datasets
    for (const auto& name : names) {
        if (name == "done") continue; // the resume mask: the writer makes the merged file's own
        const io::h5_info info = io::h5_dataset_info(first.id(), name);
        io::h5_dataset_spec s;
        s.name = name;
        s.dtype = info.is_string ? io::h5_dtype::str : info.dtype;
        s.shape = info.shape;
        s.str_len = info.string_len;
        const io::h5_dataset d = io::h5_open_dataset(first.id(), name);
        if (io::h5_has_attr(d.id(), "description"))
            s.description = io::h5_read_attr_string(d.id(), "description");
        if (io::h5_has_attr(d.id(), "axes")) s.attrs = {{"axes", io::h5_read_attr_string(d.id(), "axes")}};
        if (k_shared.count(name) == 0)
            s.shape[0] = total;
        else
            shared[name] = io::h5_read_strings(first.id(), name);
        for (const auto& p : parts) {
            const io::h5_file f(io::h5_open_file(p.path));
            if (!io::h5_exists(f.id(), name))
                throw input_error(p.path, "dataset '/" + name + "'", "",
                                  "missing (present in " + parts.front().path + ")");
            const io::h5_info pi = io::h5_dataset_info(f.id(), name);
            std::vector<hsize_t> want = info.shape, got = pi.shape;
            if (k_shared.count(name) == 0) want[0] = got[0] = 0;
            if (pi.is_string != info.is_string || pi.dtype != info.dtype || got != want ||
                (k_shared.count(name) == 0 && pi.shape[0] != p.genes))
                throw input_error(p.path, "dataset '/" + name + "'", "",
                                  pi.describe() + ", but " + info.describe() + " in " + parts.front().path);
            if (info.is_string) s.str_len = std::max(s.str_len, pi.string_len);
            if (k_shared.count(name) > 0 && io::h5_read_strings(f.id(), name) != shared[name])
                throw input_error(p.path, "dataset '/" + name + "'", "",
                                  "differs from " + parts.front().path +
                                      ": the parts hold other individuals");
        }
        specs.push_back(std::move(s));
    }

    // Provenance of the unsplit run the parts make up (its command and inputs), and where the
    // rows came from.
    io::h5_provenance prov;
    prov.stage = parts.front().stage;
    prov.command = std::regex_replace(parts.front().command_without_job, std::regex(" --split [0-9]+"),
                                      " --split 1 --job 0");
    const std::string inputs = io::h5_read_attr_string(first.id(), "scpx_inputs");
    for (std::size_t at = 0, nl; at <= inputs.size(); at = nl + 1) {
        nl = inputs.find('\n', at);
        if (nl == std::string::npos) nl = inputs.size();
        if (nl > at) prov.inputs.push_back(inputs.substr(at, nl - at));
    }
    for (const char* extra : {"enformer_config", "feature"})
        if (io::h5_has_attr(first.id(), extra))
            prov.extra.emplace_back(extra, io::h5_read_attr_string(first.id(), extra));
    prov.extra.emplace_back("scpx_split_genes", "0 " + std::to_string(total) + " " + std::to_string(total));
    prov.extra.emplace_back("scpx_gene_list", parts.front().gene_list);
    std::vector<std::string> part_paths;
    for (const auto& p : parts)
        part_paths.push_back(p.path);
    prov.extra.emplace_back("scpx_merged_parts", join(part_paths, "\n"));
    // The writer's done mask, as in the unsplit run; a failed merge leaves no temporary behind
    // (there is nothing to resume: the parts are all there).
    io::h5_writer_options wo;
    wo.done_rows = total;
    wo.keep_unfinished = false;
    wo.overwrite = o.common.overwrite;
    io::h5_row_writer w(o.common.out, specs, prov, wo);

    // Rank 0 reads and writes; the others take part in the collective writes with no rows.
    const bool reader = mpi::is_root();
    progress prog("features merge", parts.size(), "parts", 30.0);
    hsize_t at = 0;
    for (const auto& p : parts) {
        const io::h5_file f(io::h5_open_file(p.path));
        for (const auto& s : specs) {
            if (k_shared.count(s.name) > 0) continue;
            if (s.dtype == io::h5_dtype::str) {
                std::vector<std::string> v =
                    reader ? io::h5_read_strings(f.id(), s.name) : std::vector<std::string>{};
                if (s.name == "gene_id" && reader)
                    for (const auto& g : v)
                        if (!gene_ids.insert(g).second)
                            throw input_error(p.path, "dataset '/gene_id'", "",
                                              "gene '" + g + "' is also in an earlier part");
                w.write_rows(s.name, at, reader ? p.genes : 0, v);
                continue;
            }
            // Numeric rows in blocks of ~256 MB (a features personal part can hold tens of GB).
            hsize_t row_values = 1;
            for (std::size_t k = 1; k < s.shape.size(); ++k)
                row_values *= s.shape[k];
            const hsize_t step = std::max<hsize_t>(1, (hsize_t{256} << 20) / (row_values * 8));
            for (hsize_t r = 0; r < p.genes; r += step) {
                const hsize_t n = std::min(step, p.genes - r);
                switch (s.dtype) {
                case io::h5_dtype::f32: copy_rows<float>(w, f.id(), s.name, r, n, at + r, reader); break;
                case io::h5_dtype::f64: copy_rows<double>(w, f.id(), s.name, r, n, at + r, reader); break;
                case io::h5_dtype::i32:
                    copy_rows<std::int32_t>(w, f.id(), s.name, r, n, at + r, reader);
                    break;
                case io::h5_dtype::i64:
                    copy_rows<std::int64_t>(w, f.id(), s.name, r, n, at + r, reader);
                    break;
                case io::h5_dtype::u8:
                    copy_rows<std::uint8_t>(w, f.id(), s.name, r, n, at + r, reader);
                    break;
                case io::h5_dtype::str: break;
                }
            }
        }
        w.mark_done(at, reader ? p.genes : 0);
        at += p.genes;
        prog.add(1);
    }
    for (const auto& [name, values] : shared)
        w.write_all(name, values);
    prog.finish();
    w.finish();
    SCPX_LOG_INF("wrote {} ({} genes from {} parts)", o.common.out, total, parts.size());
}

} // namespace

void add_features_merge_command(CLI::App& features) {
    auto o = std::make_shared<merge_options>();
    auto* sub = features.add_subcommand(
        "merge", "Join the --split parts of a features reference/personal run into one file (job order)");
    sub->add_option("parts", o->parts, "the part files (every job of the split, any order)")
        ->required()
        ->check(CLI::ExistingFile)
        ->group("Input");
    add_common_options(*sub, o->common, "output HDF5 file");
    // It joins the parts of a split; it is not one.
    sub->remove_option(sub->get_option("--split"));
    sub->remove_option(sub->get_option("--job"));
    sub->callback([sub, o] {
        // Positional inputs are not among the options run_scope registers; noted first, so that
        // neither --out nor the log derived from it can replace a part.
        for (const auto& p : o->parts)
            note_input_file(p, "part " + p);
        run_scope scope(*sub, o->common, log_path_for(o->common.out));
        run_merge(*o);
    });
}

} // namespace scpx::cli
