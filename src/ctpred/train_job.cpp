// `scpx ctpred train` on files: read features/targets/chromosomes (HDF5 references), align genes,
// split by chromosome, train one model per cell type on the chosen device, write weights under
// PyTorch state_dict names plus losses, test predictions and metrics.
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/ctpred/ctpred.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/io/h5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <set>
#include <unordered_map>

namespace scpx::ctpred {

precision parse_precision(const std::string& text) {
    if (text == "fp32" || text == "float32") return precision::FP32;
    if (text == "fp64" || text == "float64") return precision::FP64;
    throw usage_error("--precision must be fp32 or fp64 (got '" + text + "')");
}

head_kind parse_head(const std::string& text) {
    if (text == "linear") return head_kind::LINEAR;
    if (text == "bounded") return head_kind::BOUNDED;
    throw usage_error("--head must be linear or bounded (got '" + text + "')");
}

namespace {

std::string join_path(const std::string& group, const std::string& name) {
    if (group.empty() || group == "/") return "/" + name;
    return (group.back() == '/' ? group : group + "/") + name;
}

std::string parent_of(const std::string& path) {
    const auto pos = path.find_last_of('/');
    if (pos == std::string::npos || pos == 0) return "/";
    return path.substr(0, pos);
}

std::string strip_chr(const std::string& c) {
    if (c.size() > 3 && (c.compare(0, 3, "chr") == 0 || c.compare(0, 3, "Chr") == 0)) return c.substr(3);
    return c;
}

} // namespace

namespace {

/// Every value finite, else input_error naming the file, the dataset and the element index.
template <class T>
void check_finite(const std::vector<T>& v, const std::vector<hsize_t>& shape, const std::string& file,
                  const std::string& dataset, const char* what) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (std::isfinite(static_cast<double>(v[i]))) continue;
        const std::string where = shape.size() == 2 ? fmt::format("index [{}, {}]", i / shape[1], i % shape[1])
                                                    : fmt::format("index {}", i);
        throw input_error(file, where, dataset, fmt::format("{} is not finite ({})", what, static_cast<double>(v[i])));
    }
}

} // namespace

template <class T>
mlp_weights<T> read_weights(hid_t file, const std::string& path, bool tied, head_kind head_default) {
    const std::string fname = io::h5_file_name(file);
    // A NaN or infinite weight would make every prediction NaN or, after a ReLU, quietly finite.
    auto need = [&](const std::string& name) {
        const std::string p = join_path(path, name);
        if (!io::h5_exists(file, p))
            throw input_error(fname, "", p, "missing weight tensor '" + name + "' (state_dict name)");
        auto a = io::h5_read<T>(file, p);
        check_finite(a.data, a.shape, fname, p, "weight");
        return a;
    };
    auto w0 = need("net.0.weight");
    if (w0.shape.size() != 2)
        throw input_error(fname, "", join_path(path, "net.0.weight"), "expected a 2-D [hidden, d_in] weight");
    mlp_shape s;
    s.hidden = static_cast<std::int64_t>(w0.shape[0]);
    s.d_in = static_cast<std::int64_t>(w0.shape[1]);
    s.n_blocks = 0;
    while (io::h5_exists(file, join_path(path, mlp_layout::block_module(s.n_blocks) + ".weight"))) ++s.n_blocks;
    // The output layer is the block-numbered module after the last block: net.<3+3k>.
    if (s.n_blocks > 0) {
        // torch names the output net.12 for 3 blocks; with n blocks found, net.<3+3n> must be the
        // 1-row output layer, and the highest "block" found may actually be it.
        auto last = io::h5_dataset_info(file, join_path(path, mlp_layout::block_module(s.n_blocks - 1) + ".weight"));
        if (!last.shape.empty() && last.shape[0] == 1) --s.n_blocks;
    }
    s.head = head_default;
    const std::string gpath = path.empty() ? "/" : path;
    {
        auto obj = io::h5_open_object(file, gpath);
        if (io::h5_has_attr(obj.id(), "head")) s.head = parse_head(io::h5_read_attr_string(obj.id(), "head"));
    }
    // Tied when every block's tensors are bit-identical copies of block 0's.
    std::vector<std::vector<T>> blocks_w, blocks_b;
    for (int k = 0; k < s.n_blocks; ++k) {
        blocks_w.push_back(need(mlp_layout::block_module(k) + ".weight").data);
        blocks_b.push_back(need(mlp_layout::block_module(k) + ".bias").data);
    }
    bool identical = true;
    for (int k = 1; k < s.n_blocks; ++k)
        identical = identical && blocks_w[static_cast<size_t>(k)] == blocks_w[0] && blocks_b[static_cast<size_t>(k)] == blocks_b[0];
    if (tied && !identical)
        throw input_error(fname, "", gpath,
                          "the hidden blocks have different weights (an untied model): use --untied");
    s.tied = tied;
    mlp_weights<T> w;
    w.layout = mlp_layout(s);
    w.params.assign(static_cast<size_t>(w.layout.n_params), T(0));
    for (const auto& t : w.layout.tensors) {
        auto a = need(t.name);
        std::int64_t n = 1;
        for (auto d : a.shape) n *= static_cast<std::int64_t>(d);
        // Biases of size 1 may be stored as scalars; weights must match exactly.
        std::vector<std::int64_t> got(a.shape.begin(), a.shape.end());
        if (n != t.size || (t.shape.size() == 2 && got != t.shape))
            throw input_error(fname, "", join_path(path, t.name),
                              fmt::format("shape [{}] does not fit a network with d_in {} and hidden {} (expected [{}])",
                                          fmt::join(got, ", "), s.d_in, s.hidden, fmt::join(t.shape, ", ")));
        std::copy(a.data.begin(), a.data.end(), w.params.begin() + t.offset);
    }
    if (io::h5_exists(file, join_path(path, "feature_mean"))) {
        w.feature_mean = io::h5_read<double>(file, join_path(path, "feature_mean"), 1).data;
        w.feature_sd = io::h5_read<double>(file, join_path(path, "feature_sd"), 1).data;
        if (static_cast<std::int64_t>(w.feature_mean.size()) != s.d_in ||
            static_cast<std::int64_t>(w.feature_sd.size()) != s.d_in)
            throw input_error(fname, "", join_path(path, "feature_mean"), "length differs from the feature width");
        check_finite(w.feature_mean, {}, fname, join_path(path, "feature_mean"), "mean");
        check_finite(w.feature_sd, {}, fname, join_path(path, "feature_sd"), "sd");
        for (size_t j = 0; j < w.feature_sd.size(); ++j)
            if (!(w.feature_sd[j] > 0))
                throw input_error(fname, fmt::format("index {}", j), join_path(path, "feature_sd"),
                                  fmt::format("sd must be > 0 (got {})", w.feature_sd[j]));
    }
    return w;
}

template <class T>
void write_weights(hid_t file, const std::string& group, const mlp_layout& layout, const std::vector<T>& params) {
    for (const auto& t : layout.tensors) {
        std::vector<hsize_t> shp(t.shape.begin(), t.shape.end());
        io::h5_write<T>(file, join_path(group, t.name), shp, params.data() + t.offset);
    }
    if (layout.shape.tied) {
        for (int k = 1; k < layout.shape.n_blocks; ++k)
            for (const char* part : {".weight", ".bias"}) {
                const auto& src = layout.tensors[static_cast<size_t>(2 + (part[1] == 'b' ? 1 : 0))];
                std::vector<hsize_t> shp(src.shape.begin(), src.shape.end());
                io::h5_write<T>(file, join_path(group, mlp_layout::block_module(k) + part), shp,
                                params.data() + src.offset);
            }
    }
}

namespace {

/// One cell type's trained model and its metrics, ready to write.
template <class T>
struct model_output {
    std::string name; ///< cell type ("" = single model at the root)
    train_result<T> res;
    std::vector<T> test_pred, test_pred_best;
    std::vector<double> test_y;
    double pearson = 0, spearman = 0, best_pearson = 0, best_spearman = 0;
    std::int64_t n_train = 0, n_val = 0, n_test = 0;
};

// Copies `name` (a group or dataset, with everything below it) from `src` to `dst` with its
// attributes recreated in name order. H5Ocopy keeps each object header's message layout from the
// source file, and the per-rank source files differ with the rank count; recreating attributes in a
// canonical order makes the merged output byte-identical at any rank count.
void copy_object_canonical(hid_t src, const std::string& name, hid_t dst) {
    io::h5_plist ocpy(H5Pcreate(H5P_OBJECT_COPY));
    SCPX_H5_CHECK(ocpy.id());
    SCPX_H5_CHECK(H5Pset_copy_object(ocpy.id(), H5O_COPY_WITHOUT_ATTR_FLAG));
    SCPX_H5_CHECK(H5Ocopy(src, name.c_str(), dst, name.c_str(), ocpy.id(), H5P_DEFAULT));
    struct ctx_t {
        hid_t src, dst;
        std::string root;
    } ctx{src, dst, name};
    auto visit = [](hid_t obj, const char* rel, const H5O_info_t* info, void* data) -> herr_t {
        if (info->num_attrs == 0) return 0;
        auto& c = *static_cast<ctx_t*>(data);
        const std::string path = std::string(rel) == "." ? c.root : c.root + "/" + rel;
        io::h5_object so(H5Oopen(c.src, path.c_str(), H5P_DEFAULT));
        io::h5_object dobj(H5Oopen(c.dst, path.c_str(), H5P_DEFAULT));
        if (so.id() < 0 || dobj.id() < 0) return -1;
        for (hsize_t i = 0; i < info->num_attrs; ++i) {
            io::h5_attr a(H5Aopen_by_idx(so.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
            if (a.id() < 0) return -1;
            const ssize_t len = H5Aget_name(a.id(), 0, nullptr);
            std::string aname(static_cast<size_t>(len), '\0');
            H5Aget_name(a.id(), static_cast<size_t>(len) + 1, aname.data());
            io::h5_type t(H5Aget_type(a.id()));
            io::h5_space sp(H5Aget_space(a.id()));
            const hssize_t n = H5Sget_simple_extent_npoints(sp.id());
            std::vector<char> buf(static_cast<size_t>(n) * H5Tget_size(t.id()));
            if (H5Aread(a.id(), t.id(), buf.data()) < 0) return -1;
            io::h5_attr b(H5Acreate2(dobj.id(), aname.c_str(), t.id(), sp.id(), H5P_DEFAULT, H5P_DEFAULT));
            const herr_t rc = b.id() < 0 ? -1 : H5Awrite(b.id(), t.id(), buf.data());
            if (H5Tdetect_class(t.id(), H5T_VLEN) > 0 || H5Tis_variable_str(t.id()) > 0)
                H5Dvlen_reclaim(t.id(), sp.id(), H5P_DEFAULT, buf.data());
            if (rc < 0) return -1;
        }
        (void)obj;
        return 0;
    };
    io::h5_object root(H5Oopen(src, name.c_str(), H5P_DEFAULT));
    SCPX_H5_CHECK(root.id());
    H5O_info_t info{};
    SCPX_H5_CHECK(H5Oget_info2(root.id(), &info, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS));
    if (info.type == H5O_TYPE_GROUP)
        SCPX_H5_CHECK(H5Ovisit2(root.id(), H5_INDEX_NAME, H5_ITER_INC, visit, &ctx, H5O_INFO_NUM_ATTRS));
    else
        SCPX_H5_CHECK(visit(root.id(), ".", &info, &ctx)); // a dataset: only its own attributes
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t c = s.find(',', start);
        std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
        if (!part.empty()) out.push_back(part);
        if (c == std::string::npos) break;
        start = c + 1;
    }
    return out;
}

/// Gene ids and where they came from (file and dataset, for messages).
struct id_list {
    std::vector<std::string> ids;
    io::h5_ref from;
};

/// Ids next to a dataset (explicit reference, or a sibling `gene_id`), or empty; a repeated id
/// is an error, since alignment by id would silently pair every copy with one row.
id_list read_ids(const std::string& explicit_ref, const io::h5_ref& data_ref, const char* option) {
    id_list out;
    if (!explicit_ref.empty()) {
        out.from = io::h5_parse_ref(explicit_ref, option);
    } else {
        out.from = {data_ref.file, join_path(parent_of(data_ref.path), "gene_id")};
        auto f = io::h5_open_file(out.from.file);
        if (!io::h5_exists(f.id(), out.from.path)) return out;
    }
    auto f = io::h5_open_file(out.from.file);
    out.ids = io::h5_read_strings(f.id(), out.from.path);
    check_ids(out.ids, out.from.file, out.from.path, "gene id");
    return out;
}

/// The cell types selected by --cell-types ("" = all); an unknown name is a usage error that
/// lists the names present.
std::vector<std::int64_t> select_cell_types(const std::string& list, const std::vector<std::string>& names,
                                            const io::h5_ref& targets) {
    const std::vector<std::string> wanted = split_commas(list);
    std::vector<std::int64_t> out;
    if (wanted.empty()) {
        if (!list.empty()) throw usage_error("--cell-types '" + list + "' names no cell type");
        for (size_t c = 0; c < names.size(); ++c) out.push_back(static_cast<std::int64_t>(c));
        return out;
    }
    if (names.size() == 1 && names[0].empty())
        throw usage_error("--cell-types: the targets " + targets.str() + " are one column (no cell types)");
    for (const auto& w : wanted)
        if (std::find(names.begin(), names.end(), w) == names.end())
            throw usage_error(fmt::format("--cell-types: no cell type '{}' in {}; available: {}", w, targets.str(),
                                          fmt::join(names, ", ")));
    for (size_t c = 0; c < names.size(); ++c)
        if (std::find(wanted.begin(), wanted.end(), names[c]) != wanted.end()) out.push_back(static_cast<std::int64_t>(c));
    return out;
}

template <class T>
void run_train_typed(const train_job& job) {
    const auto fref = io::h5_parse_ref(job.features, "--features");
    const auto tref = io::h5_parse_ref(job.targets, "--targets");
    const auto cref = io::h5_parse_ref(job.gene_chrom, "--gene-chrom");
    if (job.out.empty()) throw usage_error("--out is required");
    check_train_options(job.opts);
    // Every rank checks the output; only rank 0 can find it claimed by another run, and the
    // others must not train for hours before learning that.
    std::optional<atomic_output> out_slot;
    mpi::on_every_rank_agreed([&] { out_slot.emplace(job.out, job.overwrite); },
                              "ctpred train: cannot write " + job.out +
                                  ": another rank could not (see its message)");
    atomic_output& out = *out_slot;

    // Features [genes, d_in].
    auto xa = io::h5_read<T>(fref, 2);
    const std::int64_t n_f = static_cast<std::int64_t>(xa.shape[0]);
    const std::int64_t d_in = static_cast<std::int64_t>(xa.shape[1]);
    SCPX_LOG_INF("features {}: {} genes x {} features", fref.str(), n_f, d_in);

    // Targets [genes] or [genes, cell types].
    io::h5_info tinfo;
    {
        auto f = io::h5_open_file(tref.file);
        tinfo = io::h5_dataset_info(f.id(), tref.path);
    }
    if (tinfo.shape.size() != 1 && tinfo.shape.size() != 2)
        throw input_error(tref.file, "", tref.path, "targets must be [genes] or [genes, cell types], got " + tinfo.describe());
    auto ya = io::h5_read<double>(tref, static_cast<int>(tinfo.shape.size()));
    const std::int64_t n_t = static_cast<std::int64_t>(ya.shape[0]);
    const std::int64_t n_ct = ya.shape.size() == 2 ? static_cast<std::int64_t>(ya.shape[1]) : 1;
    std::vector<std::string> ct_names;
    if (ya.shape.size() == 2) {
        auto f = io::h5_open_file(tref.file);
        const std::string sib = join_path(parent_of(tref.path), "cell_type");
        if (io::h5_exists(f.id(), sib)) {
            ct_names = io::h5_read_strings(f.id(), sib);
            if (static_cast<std::int64_t>(ct_names.size()) != n_ct)
                throw input_error(tref.file, "", sib, fmt::format("{} cell type names for the {} columns of {}",
                                                                  ct_names.size(), n_ct, tref.path));
            // Checked now, not when the models are written after training.
            check_cell_type_names(ct_names, tref.file, sib);
        } else {
            for (std::int64_t c = 0; c < n_ct; ++c) ct_names.push_back("celltype" + std::to_string(c));
        }
    } else {
        ct_names.push_back("");
    }

    // Chromosomes of the feature rows.
    std::vector<std::string> chrom;
    {
        auto f = io::h5_open_file(cref.file);
        chrom = io::h5_read_strings(f.id(), cref.path);
    }
    if (static_cast<std::int64_t>(chrom.size()) != n_f)
        throw input_error(cref.file, "", cref.path,
                          fmt::format("{} chromosomes for {} feature rows", chrom.size(), n_f));

    // Align target rows to feature rows by gene id when both sides have ids.
    const auto fid_list = read_ids(job.feature_ids, fref, "--feature-ids");
    const auto tid_list = read_ids(job.target_ids, tref, "--target-ids");
    const auto& fids = fid_list.ids;
    const auto& tids = tid_list.ids;
    std::vector<std::int64_t> trow_of(static_cast<size_t>(n_f), -1);
    if (!fids.empty() && !tids.empty()) {
        if (static_cast<std::int64_t>(fids.size()) != n_f)
            throw input_error(fid_list.from.file, "", fid_list.from.path,
                              fmt::format("{} gene ids for {} feature rows", fids.size(), n_f));
        if (static_cast<std::int64_t>(tids.size()) != n_t)
            throw input_error(tid_list.from.file, "", tid_list.from.path,
                              fmt::format("{} gene ids for {} target rows", tids.size(), n_t));
        std::unordered_map<std::string, std::int64_t> tpos;
        for (std::int64_t i = 0; i < n_t; ++i) tpos.emplace(tids[static_cast<size_t>(i)], i);
        std::int64_t both = 0;
        for (std::int64_t i = 0; i < n_f; ++i) {
            auto it = tpos.find(fids[static_cast<size_t>(i)]);
            if (it != tpos.end()) {
                trow_of[static_cast<size_t>(i)] = it->second;
                ++both;
            }
        }
        SCPX_LOG_INF("genes: {} with features, {} with targets, {} in both", n_f, n_t, both);
        if (static_cast<double>(both) < job.min_overlap * static_cast<double>(n_t) || both < 2)
            throw usage_error(fmt::format(
                "features ({} genes) and targets ({} genes) share only {} gene ids ({:.1f}% of the targets, "
                "--min-overlap {}): are they from the same gene set and id version?",
                n_f, n_t, both, 100.0 * static_cast<double>(both) / static_cast<double>(std::max<std::int64_t>(n_t, 1)),
                job.min_overlap));
    } else {
        if (n_f != n_t)
            throw usage_error(fmt::format("features have {} rows and targets {} rows, and no gene ids to align them "
                                          "(give --feature-ids and --target-ids)", n_f, n_t));
        for (std::int64_t i = 0; i < n_f; ++i) trow_of[static_cast<size_t>(i)] = i;
    }

    // Splits by chromosome over the rows that have a target.
    std::set<std::string> val_set, test_set;
    for (const auto& c : job.val_chroms) val_set.insert(strip_chr(c));
    for (const auto& c : job.test_chroms) test_set.insert(strip_chr(c));
    split_rows split;
    for (std::int64_t i = 0; i < n_f; ++i) {
        if (trow_of[static_cast<size_t>(i)] < 0) continue;
        const std::string c = strip_chr(chrom[static_cast<size_t>(i)]);
        if (val_set.count(c)) split.val.push_back(i);
        else if (test_set.count(c)) split.test.push_back(i);
        else split.train.push_back(i);
    }
    SCPX_LOG_INF("split by chromosome: {} train, {} validation, {} test genes", split.train.size(), split.val.size(),
                 split.test.size());

    // Non-finite features in rows we use are an error (they would poison every weight).
    for (std::int64_t i = 0; i < n_f; ++i) {
        if (trow_of[static_cast<size_t>(i)] < 0) continue;
        const T* row = xa.data.data() + i * d_in;
        for (std::int64_t j = 0; j < d_in; ++j)
            if (!std::isfinite(row[j]))
                throw input_error(fref.file, fmt::format("row {}{}", i, fids.empty() ? "" : " (" + fids[static_cast<size_t>(i)] + ")"),
                                  fref.path, fmt::format("feature {} is not finite ({})", j, static_cast<double>(row[j])));
    }

    // Network and initial weights.
    mlp_shape shape = job.shape;
    shape.d_in = d_in;
    mlp_layout layout(shape);
    std::vector<T> init;
    if (!job.init_weights.empty()) {
        const auto wref = io::h5_parse_ref(job.init_weights, "--init-weights", "/");
        auto f = io::h5_open_file(wref.file);
        auto w = read_weights<T>(f.id(), wref.path, shape.tied, shape.head);
        if (w.layout.shape.d_in != d_in)
            throw usage_error(fmt::format("--init-weights {}: net.0.weight expects {} features, --features has {}",
                                          wref.str(), w.layout.shape.d_in, d_in));
        if (w.layout.shape.hidden != shape.hidden || w.layout.shape.n_blocks != shape.n_blocks)
            throw usage_error(fmt::format("--init-weights {}: hidden {} x {} blocks, the network is hidden {} x {} blocks",
                                          wref.str(), w.layout.shape.hidden, w.layout.shape.n_blocks, shape.hidden,
                                          shape.n_blocks));
        init = std::move(w.params);
    } else {
        init = default_init<T>(layout, job.opts.seed);
    }
    SCPX_LOG_INF("network: {} -> {} x {} ({} hidden layer{}), {} head, {} trainable parameters", d_in, shape.hidden,
                 1 + shape.n_blocks, shape.tied ? "shared" : "untied", shape.tied ? "" : "s",
                 shape.head == head_kind::LINEAR ? "linear" : "bounded", layout.n_params);

    std::vector<std::vector<std::int64_t>> order;
    if (!job.batch_order.empty()) {
        const auto bref = io::h5_parse_ref(job.batch_order, "--batch-order");
        auto ba = io::h5_read<std::int64_t>(bref, 2);
        const auto ep = static_cast<std::int64_t>(ba.shape[0]), nt = static_cast<std::int64_t>(ba.shape[1]);
        for (std::int64_t e = 0; e < ep; ++e)
            order.emplace_back(ba.data.begin() + e * nt, ba.data.begin() + (e + 1) * nt);
        for (auto v : ba.data)
            if (v < 0 || v >= n_f)
                throw input_error(bref.file, "", bref.path, fmt::format("row index {} outside [0, {})", v, n_f));
    }

    // Optional z-scoring with training-set statistics (applied to a copy of X).
    std::vector<double> fmean, fsd;
    if (job.zscore) {
        fmean.assign(static_cast<size_t>(d_in), 0.0);
        fsd.assign(static_cast<size_t>(d_in), 0.0);
        for (auto r : split.train)
            for (std::int64_t j = 0; j < d_in; ++j) fmean[static_cast<size_t>(j)] += static_cast<double>(xa.data[static_cast<size_t>(r * d_in + j)]);
        for (auto& m : fmean) m /= static_cast<double>(split.train.size());
        for (auto r : split.train)
            for (std::int64_t j = 0; j < d_in; ++j) {
                const double dv = static_cast<double>(xa.data[static_cast<size_t>(r * d_in + j)]) - fmean[static_cast<size_t>(j)];
                fsd[static_cast<size_t>(j)] += dv * dv;
            }
        for (auto& s : fsd) {
            s = std::sqrt(s / static_cast<double>(std::max<size_t>(split.train.size() - 1, 1)));
            if (!(s > 0)) s = 1.0; // constant feature: centre only
        }
        for (std::int64_t i = 0; i < n_f; ++i)
            for (std::int64_t j = 0; j < d_in; ++j) {
                auto& v = xa.data[static_cast<size_t>(i * d_in + j)];
                v = static_cast<T>((static_cast<double>(v) - fmean[static_cast<size_t>(j)]) / fsd[static_cast<size_t>(j)]);
            }
        SCPX_LOG_INF("features z-scored with training-set mean and sd");
    }

    // Cell types handled by this rank (round-robin; every model is independent of the rank count).
    std::vector<std::int64_t> my_cts;
    const std::vector<std::int64_t> all_cts = select_cell_types(job.cell_types, ct_names, tref);
    // Each model is trained by one rank from the same inputs and options, so its result does
    // not depend on the rank count.
    const int nranks = mpi::comm_size(), rank = mpi::comm_rank();
    for (size_t i = 0; i < all_cts.size(); ++i)
        if (static_cast<int>(i % static_cast<size_t>(nranks)) == rank) my_cts.push_back(all_cts[i]);

    std::vector<model_output<T>> models;
    bool trained_ok = true;
    std::string failure;
    std::exception_ptr train_error;
    try {
    for (auto c : my_cts) {
        model_output<T> mo;
        mo.name = ct_names[static_cast<size_t>(c)];
        std::vector<T> y(static_cast<size_t>(n_f), T(0));
        for (std::int64_t i = 0; i < n_f; ++i) {
            const auto tr = trow_of[static_cast<size_t>(i)];
            if (tr < 0) continue;
            const double v = ya.data[static_cast<size_t>(tr * n_ct + c)];
            if (!std::isfinite(v))
                throw input_error(tref.file, fmt::format("row {}", tr), tref.path, "target is not finite");
            y[static_cast<size_t>(i)] = static_cast<T>(v);
        }
        mlp_data<T> data{xa.data.data(), y.data(), n_f};
        auto backend = job.use_cuda ? make_cuda_backend<T>(layout, data, job.opts)
                                    : make_cpu_backend<T>(layout, data, job.opts);
        SCPX_LOG_INF("training{}{} on {} ({}), {} epochs, batch {}", mo.name.empty() ? "" : " cell type ", mo.name,
                     job.use_cuda ? "cuda" : "cpu", job.prec == precision::FP32 ? "fp32" : "fp64", job.opts.epochs,
                     job.opts.batch_size);
        try {
            mo.res = train<T>(*backend, layout, init, split, order, job.opts, [](const epoch_report& r) {
                SCPX_LOG_INF("  epoch {}/{}: train MSE {:.6f}, val MSE {:.6f}{} ({:.2f} s)", r.epoch + 1, r.epochs,
                             r.train_loss, r.val_loss, r.improved ? " *" : "", r.seconds);
            });
        } catch (const training_diverged& e) {
            throw error(fmt::format("ctpred train{}{}: {}; nothing written", mo.name.empty() ? "" : ", cell type ",
                                    mo.name, e.what()));
        }
        mo.n_train = static_cast<std::int64_t>(split.train.size());
        mo.n_val = static_cast<std::int64_t>(split.val.size());
        mo.n_test = static_cast<std::int64_t>(split.test.size());
        mo.test_pred.resize(split.test.size());
        mo.test_pred_best.resize(split.test.size());
        backend->set_params(mo.res.final_params.data());
        backend->predict(split.test.data(), mo.n_test, mo.test_pred.data());
        backend->set_params(mo.res.best_params.data());
        backend->predict(split.test.data(), mo.n_test, mo.test_pred_best.data());
        for (auto r : split.test) mo.test_y.push_back(static_cast<double>(y[static_cast<size_t>(r)]));
        const std::vector<double> pf(mo.test_pred.begin(), mo.test_pred.end());
        const std::vector<double> pb(mo.test_pred_best.begin(), mo.test_pred_best.end());
        mo.pearson = pearson_r(pf, mo.test_y);
        mo.spearman = spearman_r(pf, mo.test_y);
        mo.best_pearson = pearson_r(pb, mo.test_y);
        mo.best_spearman = spearman_r(pb, mo.test_y);
        SCPX_LOG_INF("test genes ({}): Pearson r {:.4f}, Spearman r {:.4f} (final weights); {:.4f}, {:.4f} "
                     "(best-validation checkpoint, epoch {})",
                     mo.n_test, mo.pearson, mo.spearman, mo.best_pearson, mo.best_spearman, mo.res.best_epoch + 1);
        models.push_back(std::move(mo));
    }
    } catch (const std::exception& e) {
        if (nranks == 1) throw;
        trained_ok = false;
        train_error = std::current_exception();
    }
    if (!mpi::all_ok(trained_ok)) {
        if (!trained_ok) std::rethrow_exception(train_error);
        throw error("ctpred train failed on another rank (see its error); nothing written");
    }

    auto write_model = [&](hid_t fid, const model_output<T>& mo) {
        const auto& f = fid;
        const std::string g = mo.name.empty() ? "" : "/" + cell_type_link(mo.name);
        write_weights<T>(f, g, layout, mo.res.final_params);
        write_weights<T>(f, join_path(g, "best"), layout, mo.res.best_params);
        io::h5_write(f, join_path(g, "train_loss"), mo.res.train_loss);
        io::h5_write(f, join_path(g, "val_loss"), mo.res.val_loss);
        io::h5_write(f, join_path(g, "val_loss_pre"), mo.res.val_loss_pre);
        {
            const auto nb = mo.res.batch_loss.empty() ? size_t{0} : mo.res.batch_loss.front().size();
            std::vector<double> bl;
            for (const auto& e : mo.res.batch_loss) bl.insert(bl.end(), e.begin(), e.end());
            io::h5_write<double>(f, join_path(g, "batch_loss"), {mo.res.batch_loss.size(), nb}, bl.data());
        }
        io::h5_write(f, join_path(g, "test_pred"), mo.test_pred);
        io::h5_write(f, join_path(g, "test_pred_best"), mo.test_pred_best);
        io::h5_write(f, join_path(g, "test_y"), mo.test_y);
        io::h5_write(f, join_path(g, "test_idx"), split.test);
        if (!fids.empty()) {
            std::vector<std::string> tid;
            for (auto r : split.test) tid.push_back(fids[static_cast<size_t>(r)]);
            io::h5_write_strings(f, join_path(g, "test_gene_id"), tid);
        }
        if (job.zscore) {
            io::h5_write(f, join_path(g, "feature_mean"), fmean);
            io::h5_write(f, join_path(g, "feature_sd"), fsd);
            io::h5_write(f, join_path(join_path(g, "best"), "feature_mean"), fmean);
            io::h5_write(f, join_path(join_path(g, "best"), "feature_sd"), fsd);
        }
        const std::string head = layout.shape.head == head_kind::LINEAR ? "linear" : "bounded";
        for (const std::string& gp : {g.empty() ? std::string("/") : g, join_path(g, "best")}) {
            auto obj = io::h5_open_object(f, gp);
            io::h5_write_attr(obj.id(), "head", head);
            io::h5_write_attr(obj.id(), "tied", static_cast<std::int64_t>(layout.shape.tied));
        }
        auto obj = io::h5_open_object(f, g.empty() ? "/" : g);
        io::h5_write_attr(obj.id(), "test_pearson", mo.pearson);
        io::h5_write_attr(obj.id(), "test_spearman", mo.spearman);
        io::h5_write_attr(obj.id(), "best_test_pearson", mo.best_pearson);
        io::h5_write_attr(obj.id(), "best_test_spearman", mo.best_spearman);
        io::h5_write_attr(obj.id(), "best_epoch", static_cast<std::int64_t>(mo.res.best_epoch));
        io::h5_write_attr(obj.id(), "best_val_loss", mo.res.best_val_loss);
        io::h5_write_attr(obj.id(), "n_steps", mo.res.n_steps);
        io::h5_write_attr(obj.id(), "n_train", mo.n_train);
        io::h5_write_attr(obj.id(), "n_val", mo.n_val);
        io::h5_write_attr(obj.id(), "n_test", mo.n_test);
    };
    // Each rank writes its models to a file of its own and rank 0 copies them, in cell-type
    // order, into the output: the same steps at any rank count give the same bytes.
    const std::string rank_file = out.temp_path() + ".rank" + std::to_string(rank);
    auto remove_rank_files = [&] {
        for (int r = 0; r < nranks; ++r) std::remove((out.temp_path() + ".rank" + std::to_string(r)).c_str());
    };
    {
        bool ok = true;
        try {
            auto f = io::h5_create_file(rank_file);
            for (const auto& mo : models) write_model(f.id(), mo);
            f.close();
        } catch (const std::exception& e) {
            ok = false;
            failure = e.what();
        }
        if (!mpi::all_ok(ok)) {
            std::remove(rank_file.c_str());
            if (!ok) throw io_error("cannot write " + rank_file + ": " + failure);
            throw error("ctpred train: another rank could not write its models; nothing written");
        }
        if (!mpi::is_root()) {
            out.release();
            mpi::barrier();
            return;
        }
    }
    try {
    {
        auto f = io::h5_create_file(out.temp_path());
        std::vector<std::string> names;
        for (auto c : all_cts)
            if (!ct_names[static_cast<size_t>(c)].empty()) names.push_back(ct_names[static_cast<size_t>(c)]);
        {
            for (size_t i = 0; i < all_cts.size(); ++i) {
                const std::string src_file = out.temp_path() + ".rank" + std::to_string(i % static_cast<size_t>(nranks));
                auto src = io::h5_open_file(src_file);
                const std::string& name = ct_names[static_cast<size_t>(all_cts[i])];
                if (name.empty()) {
                    // One model at the root: copy every root member.
                    H5G_info_t gi{};
                    SCPX_H5_CHECK(H5Gget_info(src.id(), &gi));
                    for (hsize_t k = 0; k < gi.nlinks; ++k) {
                        char buf[256] = {};
                        SCPX_H5_CHECK(H5Lget_name_by_idx(src.id(), ".", H5_INDEX_NAME, H5_ITER_INC, k, buf, sizeof buf, H5P_DEFAULT));
                        copy_object_canonical(src.id(), buf, f.id());
                    }
                    auto sroot = io::h5_open_object(src.id(), "/");
                    for (const char* a : {"head", "tied"})
                        if (io::h5_has_attr(sroot.id(), a)) {
                            if (std::string(a) == "head") io::h5_write_attr(f.id(), a, io::h5_read_attr_string(sroot.id(), a));
                            else io::h5_write_attr(f.id(), a, io::h5_read_attr_int64(sroot.id(), a));
                        }
                    for (const char* a : {"test_pearson", "test_spearman", "best_test_pearson", "best_test_spearman",
                                          "best_val_loss"})
                        io::h5_write_attr(f.id(), a, io::h5_read_attr_double(sroot.id(), a));
                    for (const char* a : {"best_epoch", "n_steps", "n_train", "n_val", "n_test"})
                        io::h5_write_attr(f.id(), a, io::h5_read_attr_int64(sroot.id(), a));
                } else {
                    copy_object_canonical(src.id(), cell_type_link(name), f.id());
                }
            }
        }
        if (!names.empty()) io::h5_write_strings(f.id(), "/cell_types", names);
        io::h5_write_attr(f.id(), "precision", std::string(job.prec == precision::FP32 ? "fp32" : "fp64"));
        io::h5_write_attr(f.id(), "device", std::string(job.use_cuda ? "cuda" : "cpu"));
        io::h5_write_attr(f.id(), "epochs", static_cast<std::int64_t>(job.opts.epochs));
        io::h5_write_attr(f.id(), "batch_size", job.opts.batch_size);
        io::h5_write_attr(f.id(), "lr", job.opts.lr);
        io::h5_write_attr(f.id(), "weight_decay", job.opts.weight_decay);
        io::h5_write_attr(f.id(), "dropout", job.opts.dropout);
        io::h5_write_attr(f.id(), "seed", static_cast<std::int64_t>(job.opts.seed));
        io::h5_write_attr(f.id(), "zscore", static_cast<std::int64_t>(job.zscore));
        io::h5_write_attr(f.id(), "checkpoint",
                          std::string(job.opts.checkpoint == checkpoint_rule::OFFICIAL ? "official" : "post_epoch"));
        f.close();
    }
    } catch (...) {
        remove_rank_files();
        throw;
    }
    remove_rank_files();
    out.commit();
    mpi::barrier();
    SCPX_LOG_INF("wrote {}", job.out);
}

} // namespace

void run_train(const train_job& job) {
    if (job.prec == precision::FP64) run_train_typed<double>(job);
    else run_train_typed<float>(job);
}

template mlp_weights<float> read_weights(hid_t, const std::string&, bool, head_kind);
template mlp_weights<double> read_weights(hid_t, const std::string&, bool, head_kind);
template void write_weights(hid_t, const std::string&, const mlp_layout&, const std::vector<float>&);
template void write_weights(hid_t, const std::string&, const mlp_layout&, const std::vector<double>&);

} // namespace scpx::ctpred
