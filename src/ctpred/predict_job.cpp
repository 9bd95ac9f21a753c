// `scpx ctpred predict`: expression genes × individuals per cell type from personalised features
// [individuals, genes, d_in] or, as `scpx features personal` writes them, [genes, individuals,
// d_in] (read one individual at a time either way), or reference features [genes, d_in].
// Every input is checked and every prediction computed before the first output is written.
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/ctpred/ctpred.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/io/h5.hpp"

#include <fmt/format.h>

#include <cmath>

namespace scpx::ctpred {

namespace {

std::string parent_dir(const std::string& path) {
    const auto pos = path.find_last_of('/');
    if (pos == std::string::npos || pos == 0) return "";
    return path.substr(0, pos);
}

/// One model to apply: its name (cell type) and the group holding its tensors.
struct model_ref {
    std::string name, group;
};

std::vector<model_ref> find_models(hid_t f, const std::string& group, bool use_final) {
    const std::string g = group.empty() || group == "/" ? "" : group;
    auto pick = [&](const std::string& base) {
        if (!use_final && io::h5_exists(f, base + "/best/net.0.weight")) return base + "/best";
        return base.empty() ? std::string("/") : base;
    };
    if (io::h5_exists(f, g + "/net.0.weight") || io::h5_exists(f, g + "/best/net.0.weight")) {
        std::string name = g.empty() ? "model" : cell_type_from_link(g.substr(g.find_last_of('/') + 1));
        if (name == "best" || name.empty()) name = "model";
        return {{name, pick(g)}};
    }
    if (io::h5_exists(f, g + "/cell_types")) {
        const auto names = io::h5_read_strings(f, g + "/cell_types");
        check_cell_type_names(names, io::h5_file_name(f), g + "/cell_types");
        std::vector<model_ref> out;
        for (const auto& ct : names) out.push_back({ct, pick(g + "/" + cell_type_link(ct))});
        return out;
    }
    throw input_error(io::h5_file_name(f), "", group.empty() ? "/" : group,
                      "no model here: expected net.0.weight (a state dict) or /cell_types (a ctpred train output)");
}

template <class T>
struct loaded_model {
    std::string name;
    mlp_weights<T> w;
};

/// Reads one individual's [genes, d_in] slab of a 3-D dataset (or the whole 2-D dataset).
/// `gene_major`: the dataset is [genes, individuals, d_in] (`scpx features personal`), else
/// [individuals, genes, d_in].
void read_slab(hid_t ds, int rank, bool gene_major, std::int64_t ind, std::int64_t genes, std::int64_t d,
               std::vector<float>& buf) {
    buf.resize(static_cast<size_t>(genes * d));
    io::h5_space fspace(H5Dget_space(ds));
    SCPX_H5_CHECK(fspace.id());
    if (rank == 3) {
        const auto i = static_cast<hsize_t>(ind), G = static_cast<hsize_t>(genes),
                   D = static_cast<hsize_t>(d);
        const hsize_t start_im[3] = {i, 0, 0}, count_im[3] = {1, G, D};
        const hsize_t start_gm[3] = {0, i, 0}, count_gm[3] = {G, 1, D};
        SCPX_H5_CHECK(H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, gene_major ? start_gm : start_im,
                                          nullptr, gene_major ? count_gm : count_im, nullptr));
    }
    const hsize_t mdims[2] = {static_cast<hsize_t>(genes), static_cast<hsize_t>(d)};
    io::h5_space mspace(H5Screate_simple(2, mdims, nullptr));
    SCPX_H5_CHECK(mspace.id());
    SCPX_H5_CHECK(H5Dread(ds, H5T_NATIVE_FLOAT, mspace.id(), fspace.id(), H5P_DEFAULT, buf.data()));
}

/// True when a 3-D features dataset is laid out [genes, individuals, d] (its "axes" attribute,
/// written by `scpx features personal`); without the attribute it is [individuals, genes, d].
bool features_gene_major(hid_t file, const io::h5_ref& ref) {
    io::h5_dataset ds = io::h5_open_dataset(file, ref.path);
    if (!io::h5_has_attr(ds.id(), "axes")) return false;
    const std::string axes = io::h5_read_attr_string(ds.id(), "axes");
    if (axes == "gene,sample,track") return true;
    if (axes == "sample,gene,track") return false;
    throw input_error(ref.file, "", ref.path + " (attribute axes)",
                      "'" + axes + "': features must be gene,sample,track or sample,gene,track");
}

template <class T>
void predict_typed(const predict_job& job, const io::h5_ref& wref) {
    std::vector<loaded_model<T>> models;
    {
        auto wf = io::h5_open_file(wref.file);
        for (const auto& m : find_models(wf.id(), wref.path, job.use_final)) {
            const bool tied = !io::h5_exists(wf.id(), m.group + "/net.6.weight") ||
                              io::h5_read<double>(wf.id(), m.group + "/net.6.weight").data ==
                                  io::h5_read<double>(wf.id(), m.group + "/net.3.weight").data;
            models.push_back({m.name, read_weights<T>(wf.id(), m.group, tied, head_kind::LINEAR)});
            SCPX_LOG_INF("model {}: {}:{}", m.name, wref.file, m.group);
        }
    }
    const auto fref = io::h5_parse_ref(job.features, "--features");
    auto ff = io::h5_open_file(fref.file);
    const auto info = io::h5_dataset_info(ff.id(), fref.path);
    if (info.shape.size() != 2 && info.shape.size() != 3)
        throw input_error(fref.file, "", fref.path,
                          "features must be [genes, d], [individuals, genes, d] or (axes gene,sample,track) "
                          "[genes, individuals, d], got " +
                              info.describe());
    const int rank = static_cast<int>(info.shape.size());
    const bool gene_major = rank == 3 && features_gene_major(ff.id(), fref);
    const std::int64_t n_ind = rank == 3 ? static_cast<std::int64_t>(info.shape[gene_major ? 1 : 0]) : 1;
    const std::int64_t genes =
        static_cast<std::int64_t>(info.shape[static_cast<size_t>(gene_major ? 0 : rank - 2)]);
    const std::int64_t d = static_cast<std::int64_t>(info.shape[static_cast<size_t>(rank - 1)]);
    for (const auto& m : models)
        if (m.w.layout.shape.d_in != d)
            throw usage_error(fmt::format("features {} have {} columns but model {} expects {} (net.0.weight)", fref.str(), d,
                                          m.name, m.w.layout.shape.d_in));

    std::vector<std::string> gene_ids, sample_ids;
    {
        // Where the ids come from, for messages; generated ids need no check.
        io::h5_ref gene_src, sample_src;
        const std::string gpath = job.gene_ids.empty() ? parent_dir(fref.path) + "/gene_id" : "";
        if (!job.gene_ids.empty()) {
            gene_src = io::h5_parse_ref(job.gene_ids, "--gene-ids");
            auto f = io::h5_open_file(gene_src.file);
            gene_ids = io::h5_read_strings(f.id(), gene_src.path);
        } else if (io::h5_exists(ff.id(), gpath)) {
            gene_src = {fref.file, gpath};
            gene_ids = io::h5_read_strings(ff.id(), gpath);
        } else {
            for (std::int64_t g = 0; g < genes; ++g) gene_ids.push_back("gene" + std::to_string(g + 1));
        }
        if (static_cast<std::int64_t>(gene_ids.size()) != genes)
            throw input_error(gene_src.file.empty() ? fref.file : gene_src.file, "",
                              gene_src.path.empty() ? "gene_id" : gene_src.path,
                              fmt::format("{} gene ids for {} feature genes", gene_ids.size(), genes));
        // Each id is a TSV field and a row or column name: a tab or newline would shift the
        // columns, a duplicate would make two rows or columns indistinguishable.
        if (!gene_src.file.empty()) check_ids(gene_ids, gene_src.file, gene_src.path, "gene id");
        const std::string spath = parent_dir(fref.path) + "/sample_id";
        if (!job.sample_ids.empty()) {
            sample_src = io::h5_parse_ref(job.sample_ids, "--sample-ids");
            auto f = io::h5_open_file(sample_src.file);
            sample_ids = io::h5_read_strings(f.id(), sample_src.path);
        } else if (rank == 3 && io::h5_exists(ff.id(), spath)) {
            sample_src = {fref.file, spath};
            sample_ids = io::h5_read_strings(ff.id(), spath);
        } else if (rank == 3) {
            for (std::int64_t i = 0; i < n_ind; ++i) sample_ids.push_back("ind" + std::to_string(i + 1));
        } else {
            sample_ids.push_back("reference");
        }
        if (static_cast<std::int64_t>(sample_ids.size()) != n_ind)
            throw input_error(sample_src.file.empty() ? fref.file : sample_src.file, "",
                              sample_src.path.empty() ? "sample_id" : sample_src.path,
                              fmt::format("{} sample ids for {} individuals", sample_ids.size(), n_ind));
        if (!sample_src.file.empty()) check_ids(sample_ids, sample_src.file, sample_src.path, "sample id");
    }

    // pred[m][gene * n_ind + ind]
    std::vector<std::vector<double>> pred(models.size(), std::vector<double>(static_cast<size_t>(genes * n_ind)));
    io::h5_dataset ds = io::h5_open_dataset(ff.id(), fref.path);
    std::vector<float> slab;
    std::vector<T> xt(static_cast<size_t>(genes * d)), yzero(static_cast<size_t>(genes), T(0)), out(static_cast<size_t>(genes));
    std::vector<std::int64_t> rows(static_cast<size_t>(genes));
    for (std::int64_t g = 0; g < genes; ++g) rows[static_cast<size_t>(g)] = g;
    for (std::int64_t ind = 0; ind < n_ind; ++ind) {
        read_slab(ds.id(), rank, gene_major, ind, genes, d, slab);
        for (std::int64_t g = 0; g < genes; ++g)
            for (std::int64_t j = 0; j < d; ++j) {
                const float v = slab[static_cast<size_t>(g * d + j)];
                if (!std::isfinite(v))
                    throw input_error(fref.file, fmt::format("individual {}, gene {} ({})", ind, g, gene_ids[static_cast<size_t>(g)]),
                                      fref.path, fmt::format("feature {} is not finite", j));
            }
        for (size_t m = 0; m < models.size(); ++m) {
            const auto& w = models[m].w;
            for (size_t k = 0; k < xt.size(); ++k) {
                double v = slab[k];
                if (!w.feature_mean.empty()) {
                    const size_t j = k % static_cast<size_t>(d);
                    v = (v - w.feature_mean[j]) / w.feature_sd[j];
                }
                xt[k] = static_cast<T>(v);
            }
            train_options o;
            o.threads = job.threads;
            o.batch_size = 1000;
            mlp_data<T> data{xt.data(), yzero.data(), genes};
            auto be = job.use_cuda ? make_cuda_backend<T>(w.layout, data, o) : make_cpu_backend<T>(w.layout, data, o);
            be->set_params(w.params.data());
            be->predict(rows.data(), genes, out.data());
            for (std::int64_t g = 0; g < genes; ++g)
                pred[m][static_cast<size_t>(g * n_ind + ind)] = static_cast<double>(out[static_cast<size_t>(g)]);
        }
    }

    atomic_output h5out(job.out + ".h5", job.overwrite);
    {
        auto f = io::h5_create_file(h5out.temp_path());
        io::h5_write_strings(f.id(), "/gene_id", gene_ids);
        io::h5_write_strings(f.id(), "/sample_id", sample_ids);
        std::vector<std::string> names;
        for (size_t m = 0; m < models.size(); ++m) {
            names.push_back(models[m].name);
            io::h5_write<double>(f.id(), "/" + cell_type_link(models[m].name) + "/pred",
                                 {static_cast<hsize_t>(genes), static_cast<hsize_t>(n_ind)}, pred[m].data());
        }
        io::h5_write_strings(f.id(), "/cell_types", names);
        f.close();
    }
    // The TSVs are finished before any output is renamed, so a failure (a full disk) leaves the
    // earlier run's set as it was instead of a mix of old and new files.
    std::vector<std::unique_ptr<text_writer>> tsvs;
    for (size_t m = 0; m < models.size(); ++m) {
        tsvs.push_back(std::make_unique<text_writer>(job.out + "." + cell_type_link(models[m].name) + ".tsv",
                                                     job.overwrite));
        text_writer& tw = *tsvs.back();
        std::string line = "gene_id";
        for (const auto& s : sample_ids) line += "\t" + s;
        tw.write(line + "\n");
        for (std::int64_t g = 0; g < genes; ++g) {
            line = gene_ids[static_cast<size_t>(g)];
            for (std::int64_t i = 0; i < n_ind; ++i) line += fmt::format("\t{:.9g}", pred[m][static_cast<size_t>(g * n_ind + i)]);
            tw.write(line + "\n");
        }
        tw.finish();
    }
    h5out.commit();
    for (auto& tw : tsvs) tw->commit();
    SCPX_LOG_INF("wrote {}.h5 and {} TSV file(s): {} genes x {} samples", job.out, models.size(), genes, n_ind);
}

} // namespace

static void run_predict_here(const predict_job& job);

void run_predict(const predict_job& job) {
    if (job.out.empty()) throw usage_error("--out is required");
    // Applying the MLPs is cheap next to the Enformer features that feed them (seconds for 20k
    // genes × hundreds of individuals), so rank 0 does it alone and writes the outputs; the
    // other ranks wait. (Before, every rank wrote the same files at once: HDF5 lock errors and
    // races on the renames.)
    mpi::on_root_only([&] { run_predict_here(job); }, "ctpred predict");
}

static void run_predict_here(const predict_job& job) {
    const auto wref = io::h5_parse_ref(job.weights, "--weights", "/");
    // Weights stored as float64 run in double, float32 in float.
    bool f64 = false;
    {
        auto wf = io::h5_open_file(wref.file);
        const auto models = find_models(wf.id(), wref.path, job.use_final);
        f64 = io::h5_dataset_info(wf.id(), models.front().group + "/net.0.weight").dtype == io::h5_dtype::f64;
    }
    if (f64) predict_typed<double>(job, wref);
    else predict_typed<float>(job, wref);
}

} // namespace scpx::ctpred
