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
#include "scpx/dist/split_parts.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/h5_writer.hpp"

#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
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

/// One part file: its place in the split and its datasets.
struct part_file {
    dist::split_part meta;
    std::string path;
    int job = 0;
    hsize_t genes = 0;
    std::map<std::string, io::h5_info> datasets; ///< every root dataset but /done
};

const char* const k_what = "an output of `scpx features reference` or `features personal`";
/// Datasets that are not one row per gene; they must be equal in every part.
const std::set<std::string> k_shared = {"sample_id"};

/// Names and object types of the links at the root of `file`.
std::vector<std::pair<std::string, H5O_type_t>> root_objects(hid_t file) {
    std::vector<std::pair<std::string, H5O_type_t>> out;
    H5Literate(
        file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t loc, const char* name, const H5L_info_t*, void* v) -> herr_t {
            H5O_info_t info;
            const H5O_type_t type =
                H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) >= 0 ? info.type : H5O_TYPE_UNKNOWN;
            static_cast<std::vector<std::pair<std::string, H5O_type_t>>*>(v)->emplace_back(name, type);
            return 0;
        },
        &out);
    return out;
}

/// The part's root datasets, checked against what a features output holds: datasets only, one row
/// per gene but for sample_id, and a complete /done mask.
void read_part_layout(part_file& p, hid_t file) {
    const io::h5_info ids = io::h5_dataset_info(file, "gene_id");
    if (!ids.is_string || ids.shape.size() != 1)
        throw input_error(p.path, "dataset '/gene_id'", "", "expected 1-D strings, found " + ids.describe());
    p.genes = ids.shape[0];
    if (p.genes != p.meta.genes())
        throw input_error(p.path, "dataset '/gene_id'", "",
                          std::to_string(p.genes) + " genes, but the part is rows " +
                              std::to_string(p.meta.begin) + " to " + std::to_string(p.meta.end) +
                              " of the gene list (attribute scpx_split_genes)");
    bool has_done = false;
    for (const auto& [name, type] : root_objects(file)) {
        if (type != H5O_TYPE_DATASET)
            throw input_error(p.path, "object '/" + name + "'", "",
                              "not a dataset; a features output holds datasets only (was the file edited?)");
        const io::h5_info info = io::h5_dataset_info(file, name);
        const std::string where = "dataset '/" + name + "'";
        if (name == "done") {
            has_done = true;
            if (info.shape != std::vector<hsize_t>{p.genes})
                throw input_error(p.path, where, "",
                                  "expected one flag per gene (" + std::to_string(p.genes) + "), found " +
                                      info.describe());
            // A renamed temporary of a killed run holds zero rows for the genes it had not reached.
            const auto done = io::h5_read<std::uint8_t>(file, "done", 1).data;
            const auto missing = std::count(done.begin(), done.end(), std::uint8_t{0});
            if (missing > 0)
                throw input_error(p.path, where, "",
                                  "unfinished: " + std::to_string(missing) + " of " +
                                      std::to_string(done.size()) +
                                      " genes not done (finish the job with --resume)");
            continue;
        } else if (k_shared.count(name) > 0) {
            if (!info.is_string || info.shape.size() != 1)
                throw input_error(p.path, where, "", "expected 1-D strings, found " + info.describe());
        } else if (info.shape.empty() || info.shape[0] != p.genes) {
            throw input_error(p.path, where, "",
                              info.describe() + ": not one row per gene of the part (" +
                                  std::to_string(p.genes) + " genes); a features output has no such dataset");
        } else if (info.is_string && info.shape.size() != 1) {
            throw input_error(p.path, where, "", "expected 1-D strings, found " + info.describe());
        }
        p.datasets.emplace(name, info);
    }
    if (!has_done)
        throw input_error(p.path, "dataset '/done'", "", "missing: no record of which genes were finished");
    for (const char* needed : {"chrom", "tss"})
        if (p.datasets.count(needed) == 0)
            throw input_error(p.path, std::string("dataset '/") + needed + "'", "",
                              "missing; every features output has it");
}

part_file read_part_attributes(const std::string& path) {
    part_file p;
    p.path = path;
    const io::h5_file f = io::h5_open_file(path);
    p.meta = dist::read_split_part(f.id(), path, features_stages, k_what);
    p.job = p.meta.job;
    read_part_layout(p, f.id());
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

/// The parts in job order, checked: one command, one split, every job once, one layout.
std::vector<part_file> ordered_parts(const std::vector<std::string>& paths) {
    std::vector<part_file> parts;
    std::vector<dist::split_part> metas;
    for (const auto& p : paths) {
        parts.push_back(read_part(p));
        metas.push_back(parts.back().meta);
    }
    for (const auto& p : parts)
        if (p.meta.stage == parts.front().meta.stage &&
            p.meta.command_without_job == parts.front().meta.command_without_job)
            dist::require_same_datasets(p.datasets, p.path, parts.front().datasets, parts.front().path,
                                        k_shared);
    std::vector<part_file> ordered;
    for (const std::size_t k : dist::order_split_parts(metas, "parts/features_*.h5"))
        ordered.push_back(std::move(parts[k]));
    return ordered;
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

/// The string datasets of every part, joined in job order (gene ids, names, chromosomes: small).
std::map<std::string, std::vector<std::string>> joined_strings(const std::vector<part_file>& parts) {
    std::map<std::string, std::vector<std::string>> joined;
    for (const auto& p : parts) {
        const io::h5_file f(io::h5_open_file(p.path));
        for (const auto& [name, info] : p.datasets) {
            if (!info.is_string || k_shared.count(name) > 0) continue;
            std::vector<std::string> v = io::h5_read_strings(f.id(), name);
            auto& all = joined[name];
            all.insert(all.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
        }
    }
    return joined;
}

/// The joined gene list must be the one the parts were cut from: the recorded fingerprints are
/// recomputed from the rows, so a part with edited, reordered or foreign genes is caught (and
/// named, when it records its own rows' fingerprint).
void require_recorded_gene_list(const std::vector<part_file>& parts,
                                const std::map<std::string, std::vector<std::string>>& strings) {
    const char* datasets = "/gene_id, /chrom, /tss";
    dist::split_gene_list joined;
    std::size_t at = 0;
    for (const auto& p : parts) {
        const io::h5_file f(io::h5_open_file(p.path));
        dist::split_gene_list rows;
        const auto row = [&](const char* name, std::size_t g) { return strings.at(name)[at + g]; };
        const auto tss = io::h5_read<std::int64_t>(f.id(), "tss", 1).data;
        for (std::size_t g = 0; g < p.genes; ++g)
            rows.add(row("gene_id", g), row("chrom", g), tss.at(g));
        dist::require_rows_as_written(p.meta, rows, datasets);
        joined.append(rows);
        at += p.genes;
    }
    dist::require_joined_gene_list(parts.front().meta, joined, datasets);
}

void run_merge(const merge_options& o) {
    const std::vector<part_file> parts = ordered_parts(o.parts);
    hsize_t total = 0;
    for (const auto& p : parts)
        total += p.genes;
    SCPX_LOG_INF("{} part(s) of a {} run (--split {}), {} genes in all", parts.size(),
                 parts.front().meta.stage, parts.front().meta.split, total);
    const std::map<std::string, std::vector<std::string>> strings = joined_strings(parts);
    require_recorded_gene_list(parts, strings);

    // The layout: the parts' datasets (checked equal but for the rows) with the rows of all parts.
    const io::h5_file first(io::h5_open_file(parts.front().path));
    std::vector<io::h5_dataset_spec> specs;
    std::map<std::string, std::vector<std::string>> shared; ///< the k_shared datasets' values
    for (const auto& [name, info] : parts.front().datasets) {
        io::h5_dataset_spec s;
        s.name = name;
        s.dtype = info.is_string ? io::h5_dtype::str : info.dtype;
        s.shape = info.shape;
        const io::h5_dataset d = io::h5_open_dataset(first.id(), name);
        if (io::h5_has_attr(d.id(), "description"))
            s.description = io::h5_read_attr_string(d.id(), "description");
        if (io::h5_has_attr(d.id(), "axes")) s.attrs = {{"axes", io::h5_read_attr_string(d.id(), "axes")}};
        if (k_shared.count(name) > 0) {
            shared[name] = io::h5_read_strings(first.id(), name);
            for (const auto& p : parts) {
                const io::h5_file f(io::h5_open_file(p.path));
                if (io::h5_read_strings(f.id(), name) != shared[name])
                    throw input_error(p.path, "dataset '/" + name + "'", "",
                                      "differs from " + parts.front().path +
                                          ": the parts hold other individuals");
            }
        } else {
            s.shape[0] = total;
        }
        // Fixed-length strings as wide as the longest value (a part may hold variable-length ones).
        if (info.is_string) {
            s.str_len = 1;
            for (const auto& v : k_shared.count(name) > 0 ? shared.at(name) : strings.at(name))
                s.str_len = std::max(s.str_len, v.size());
        }
        specs.push_back(std::move(s));
    }

    // Provenance of the unsplit run the parts make up (its command and inputs), and where the
    // rows came from.
    std::vector<dist::split_part> in_job_order;
    for (const auto& p : parts)
        in_job_order.push_back(p.meta);
    const io::h5_provenance prov =
        dist::merged_provenance(first.id(), in_job_order, {"enformer_config", "feature"});
    // The writer's done mask, as in the unsplit run; a failed merge leaves no temporary behind
    // (there is nothing to resume: the parts are all there).
    io::h5_writer_options wo;
    wo.done_rows = total;
    wo.keep_unfinished = false;
    wo.overwrite = o.common.overwrite;
    io::h5_row_writer w(o.common.out, specs, prov, wo);

    // Rank 0 reads and writes; the others take part in the collective writes with no rows.
    const bool reader = mpi::is_root();
    for (const auto& s : specs) {
        if (s.dtype != io::h5_dtype::str) continue;
        const auto it = strings.find(s.name);
        if (it == strings.end())
            w.write_all(s.name, shared.at(s.name));
        else
            w.write_rows(s.name, 0, reader ? total : 0, reader ? it->second : std::vector<std::string>{});
    }
    progress prog("features merge", parts.size(), "parts", 30.0);
    hsize_t at = 0;
    for (const auto& p : parts) {
        const io::h5_file f(io::h5_open_file(p.path));
        for (const auto& s : specs) {
            if (s.dtype == io::h5_dtype::str) continue;
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
        ->group("Input");
    add_common_options(*sub, o->common, "output HDF5 file");
    // It joins the parts of a split; it is not one. Nothing is random.
    drop_options(*sub, {"--seed", "--split", "--job"});
    sub->callback([sub, o] {
        // Positional inputs are not among the options run_scope registers; noted first, so that
        // neither --out nor the log derived from it can replace a part.
        // Checked here, not by a validator: CLI11 takes the value of a misplaced option (--split 3)
        // as a part, and its "argument not expected" message must come first.
        for (const auto& p : o->parts) {
            struct stat st {};
            if (::stat(p.c_str(), &st) != 0) throw missing_file_error(p, "part");
            if (!S_ISREG(st.st_mode))
                throw usage_error("part " + p + " is not a regular file (a directory, FIFO or device)");
            note_input_file(p, "part " + p);
        }
        run_scope scope(*sub, o->common, log_path_for(o->common.out));
        run_merge(*o);
    });
}

} // namespace scpx::cli
