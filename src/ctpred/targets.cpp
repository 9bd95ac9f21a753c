// `scpx ctpred targets`: per-cell-type training targets from single-cell counts (pipeline.md §3).
// Per donor: sum the counts of the cell type (given already summed in pseudobulk CSVs, summed
// here from an .h5ad), CPM (optionally log1p), mean over donors, then percentile rank across the
// output genes with average ties; genes absent from the data are 0 before ranking.
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/ctpred/ctpred.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/io/gene_selection.hpp"
#include "scpx/io/h5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace scpx::ctpred {

std::vector<double> percentile_ranks(const std::vector<double>& v) {
    auto r = average_ranks(v);
    for (auto& x : r) x /= static_cast<double>(v.size());
    return r;
}

namespace {

/// Summed counts of one cell type: genes × donors (column-major by donor).
struct pseudobulk {
    std::string cell_type;
    std::vector<std::string> genes;
    std::vector<std::string> donors;
    std::vector<std::vector<double>> counts; ///< [donor][gene]
};

std::string file_stem(const std::string& path) {
    std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    for (const char* ext : {".gz", ".csv", ".tsv", ".txt"})
        if (ends_with(name, ext)) name = name.substr(0, name.size() - std::string(ext).size());
    return name;
}

pseudobulk read_pseudobulk_csv(const std::string& spec) {
    pseudobulk pb;
    std::string path = spec;
    const auto eq = spec.find('=');
    if (eq != std::string::npos && eq > 0) {
        pb.cell_type = spec.substr(0, eq);
        path = spec.substr(eq + 1);
    } else {
        pb.cell_type = file_stem(spec);
    }
    if (pb.cell_type.empty()) throw usage_error("--pseudobulk " + spec + ": empty cell type name (give NAME=FILE)");
    line_reader in(path);
    std::string header;
    while (in.next(header) && trim(header).empty()) {
    }
    if (trim(header).empty()) throw input_error(path, "", "", "empty file: expected a header (gene id, then donors)");
    const delimiter d = detect_delimiter(header);
    std::vector<std::string_view> f;
    split_fields(header, d, f);
    if (f.size() < 2) throw input_error(path, in.where(), "", "expected a gene id column and at least one donor column");
    const std::string gene_column(trim(f[0]));
    for (size_t c = 1; c < f.size(); ++c) pb.donors.emplace_back(trim(f[c]));
    pb.counts.assign(pb.donors.size(), {});
    std::string line;
    // A repeated gene would keep only one of its rows in the output: an error, with both lines.
    std::unordered_map<std::string, std::uint64_t> gene_line;
    std::string first_fraction; // where the first non-integer count is, for the warning
    while (in.next(line)) {
        if (trim(line).empty()) continue;
        split_fields(line, d, f);
        if (f.size() != pb.donors.size() + 1)
            throw input_error(path, in.where(), "", fmt::format("{} fields, the header has {}", f.size(), pb.donors.size() + 1));
        pb.genes.emplace_back(trim(f[0]));
        const auto [it, fresh] = gene_line.emplace(pb.genes.back(), in.line_number());
        if (!fresh)
            throw input_error(path, fmt::format("lines {} and {}", it->second, in.line_number()), gene_column,
                              fmt::format("duplicate gene id '{}'", pb.genes.back()));
        for (size_t c = 0; c < pb.donors.size(); ++c) {
            const double v = parse_double(trim(f[c + 1]), path, in.where(), pb.donors[c]);
            if (!(v >= 0) || !std::isfinite(v))
                throw input_error(path, in.where(), pb.donors[c], fmt::format("counts must be finite and >= 0 (got {})", v));
            if (first_fraction.empty() && v != std::floor(v)) first_fraction = in.where() + ", donor " + pb.donors[c];
            pb.counts[c].push_back(v);
        }
    }
    if (pb.genes.empty()) throw input_error(path, "", "", "no gene rows");
    if (!first_fraction.empty())
        SCPX_LOG_WRN_SHARED(
            "{} has non-integer values (first at {}): targets expect raw counts summed per donor", path,
            first_fraction);
    return pb;
}

/// One obs/var column of an .h5ad as strings: plain string dataset, categorical group
/// (codes + categories, anndata >= 0.8), or codes with obs/__categories/<name> (older files).
std::vector<std::string> read_h5ad_column(hid_t f, const std::string& file, const std::string& group,
                                          const std::string& name) {
    const std::string path = group + "/" + name;
    if (!io::h5_exists(f, path)) {
        std::vector<std::string> present;
        auto g = io::h5_open_object(f, group);
        hsize_t n = 0;
        H5G_info_t gi{};
        if (H5Gget_info(g.id(), &gi) >= 0) n = gi.nlinks;
        for (hsize_t i = 0; i < n; ++i) {
            char buf[512] = {};
            if (H5Lget_name_by_idx(g.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT) > 0) {
                const std::string s(buf);
                if (s != "__categories" && s != "_index") present.push_back(s);
            }
        }
        throw input_error(file, "", group, fmt::format("no column '{}'; columns present: {}", name,
                                                       present.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(present, ", "))));
    }
    bool is_group = false;
    {
        auto obj = io::h5_open_object(f, path);
        is_group = H5Iget_type(obj.id()) == H5I_GROUP;
    }
    auto decode = [&](const std::vector<std::int64_t>& codes, const std::vector<std::string>& cats) {
        std::vector<std::string> out;
        out.reserve(codes.size());
        for (auto c : codes) {
            if (c < 0) out.emplace_back(); // missing category
            else if (c >= static_cast<std::int64_t>(cats.size()))
                throw input_error(file, "", path, fmt::format("category code {} but only {} categories", c, cats.size()));
            else out.push_back(cats[static_cast<size_t>(c)]);
        }
        return out;
    };
    if (is_group)
        return decode(io::h5_read<std::int64_t>(f, path + "/codes", 1).data, io::h5_read_strings(f, path + "/categories"));
    const auto info = io::h5_dataset_info(f, path);
    if (info.is_string) return io::h5_read_strings(f, path);
    if (io::h5_exists(f, group + "/__categories/" + name))
        return decode(io::h5_read<std::int64_t>(f, path, 1).data, io::h5_read_strings(f, group + "/__categories/" + name));
    // Numeric column (e.g. donor numbers): use the values' text; NaN is missing, as in pandas.
    const auto v = io::h5_read<double>(f, path, 1).data;
    std::vector<std::string> out;
    for (double x : v) out.push_back(std::isnan(x) ? std::string() : fmt::format("{}", x));
    return out;
}

/// Path of a group's index dataset (attribute `_index`, default "_index").
std::string h5ad_index_path(hid_t f, const std::string& group) {
    std::string idx = "_index";
    auto g = io::h5_open_object(f, group);
    if (io::h5_has_attr(g.id(), "_index")) idx = io::h5_read_attr_string(g.id(), "_index");
    return group + "/" + idx;
}

/// Gene ids must be distinct: a repeat would be summed into, or overwrite, one output row.
void check_unique_genes(const std::vector<std::string>& genes, const std::string& file, const std::string& field) {
    std::unordered_map<std::string, size_t> first;
    first.reserve(genes.size());
    for (size_t i = 0; i < genes.size(); ++i) {
        const auto [it, fresh] = first.emplace(genes[i], i);
        if (!fresh)
            throw input_error(file, fmt::format("entries {} and {}", it->second, i), field,
                              fmt::format("duplicate gene id '{}'", genes[i]));
    }
}

std::vector<pseudobulk> read_h5ad(const targets_job& job) {
    const std::string& file = job.h5ad;
    auto fh = io::h5_open_file(file);
    const hid_t f = fh.id();
    std::string mx = job.matrix.empty() ? "/X" : job.matrix;
    if (mx.front() != '/') mx = "/" + mx;
    // raw/X has its own var (raw/var); X and layers/* share /var.
    const std::string var = mx.rfind("/raw/", 0) == 0 ? "/raw/var" : "/var";
    for (const std::string& g : {mx, std::string("/obs"), var})
        if (!io::h5_exists(f, g)) throw input_error(file, "", g, "not an AnnData file, or no such matrix: missing group or dataset");
    const auto celltype = read_h5ad_column(f, file, "/obs", job.celltype_column);
    const auto donor = read_h5ad_column(f, file, "/obs", job.donor_column);
    const std::string gene_path = job.gene_column.empty() ? h5ad_index_path(f, var) : var + "/" + job.gene_column;
    const auto genes = job.gene_column.empty() ? io::h5_read_strings(f, gene_path) : read_h5ad_column(f, file, var, job.gene_column);
    check_unique_genes(genes, file, gene_path);
    const std::int64_t n_cells = static_cast<std::int64_t>(celltype.size());
    const std::int64_t n_genes = static_cast<std::int64_t>(genes.size());
    if (static_cast<std::int64_t>(donor.size()) != n_cells)
        throw input_error(file, "", "/obs", "cell-type and donor columns differ in length");

    // Groups (cell type, donor) in first-seen order.
    std::map<std::string, size_t> ct_index;
    std::vector<pseudobulk> out;
    std::vector<std::unordered_map<std::string, size_t>> donor_index;
    std::vector<std::pair<std::int64_t, std::int64_t>> cell_slot(static_cast<size_t>(n_cells), {-1, -1});
    std::int64_t no_celltype = 0, no_donor = 0;
    for (std::int64_t c = 0; c < n_cells; ++c) {
        const auto& ct = celltype[static_cast<size_t>(c)];
        const auto& dn = donor[static_cast<size_t>(c)];
        no_celltype += ct.empty();
        no_donor += !ct.empty() && dn.empty();
        if (ct.empty() || dn.empty()) continue;
        auto it = ct_index.find(ct);
        if (it == ct_index.end()) {
            it = ct_index.emplace(ct, out.size()).first;
            pseudobulk pb;
            pb.cell_type = ct;
            pb.genes = genes;
            out.push_back(std::move(pb));
            donor_index.emplace_back();
        }
        auto& pb = out[it->second];
        auto& di = donor_index[it->second];
        auto dit = di.find(dn);
        if (dit == di.end()) {
            dit = di.emplace(dn, pb.donors.size()).first;
            pb.donors.push_back(dn);
            pb.counts.emplace_back(static_cast<size_t>(n_genes), 0.0);
        }
        cell_slot[static_cast<size_t>(c)] = {static_cast<std::int64_t>(it->second), static_cast<std::int64_t>(dit->second)};
    }
    bool non_integer = false;
    auto add = [&](std::int64_t cell, std::int64_t gene, double v) {
        const auto [ct, dn] = cell_slot[static_cast<size_t>(cell)];
        if (ct < 0) return;
        if (!std::isfinite(v) || v < 0)
            throw input_error(file, fmt::format("cell {}", cell), mx, fmt::format("count {} is negative or not finite", v));
        non_integer = non_integer || v != std::floor(v);
        out[static_cast<size_t>(ct)].counts[static_cast<size_t>(dn)][static_cast<size_t>(gene)] += v;
    };
    bool x_is_group = false;
    {
        auto obj = io::h5_open_object(f, mx);
        x_is_group = H5Iget_type(obj.id()) == H5I_GROUP;
        if (x_is_group && io::h5_has_attr(obj.id(), "encoding-type")) {
            const auto enc = io::h5_read_attr_string(obj.id(), "encoding-type");
            if (enc != "csr_matrix")
                throw input_error(file, "", mx, "encoding '" + enc + "' is not supported (expected dense or csr_matrix)");
        }
    }
    if (x_is_group) {
        const auto data = io::h5_read<double>(f, mx + "/data", 1).data;
        const auto indices = io::h5_read<std::int64_t>(f, mx + "/indices", 1).data;
        const auto indptr = io::h5_read<std::int64_t>(f, mx + "/indptr", 1).data;
        if (static_cast<std::int64_t>(indptr.size()) != n_cells + 1 || indices.size() != data.size() ||
            indptr.back() != static_cast<std::int64_t>(data.size()))
            throw input_error(file, "", mx, fmt::format("CSR arrays inconsistent with {} cells (indptr {}, data {})",
                                                          n_cells, indptr.size(), data.size()));
        for (std::int64_t c = 0; c < n_cells; ++c)
            for (std::int64_t k = indptr[static_cast<size_t>(c)]; k < indptr[static_cast<size_t>(c + 1)]; ++k) {
                const auto g = indices[static_cast<size_t>(k)];
                if (g < 0 || g >= n_genes) throw input_error(file, fmt::format("cell {}", c), mx + "/indices", "gene index out of range");
                add(c, g, data[static_cast<size_t>(k)]);
            }
    } else {
        const auto x = io::h5_read<double>(f, mx, 2);
        if (static_cast<std::int64_t>(x.shape[0]) != n_cells || static_cast<std::int64_t>(x.shape[1]) != n_genes)
            throw input_error(file, "", mx, fmt::format("shape [{}, {}] but obs has {} cells and var {} genes", x.shape[0],
                                                          x.shape[1], n_cells, n_genes));
        for (std::int64_t c = 0; c < n_cells; ++c)
            for (std::int64_t g = 0; g < n_genes; ++g) add(c, g, x.data[static_cast<size_t>(c * n_genes + g)]);
    }
    if (out.empty()) throw input_error(file, "", "/obs", "no cell has both a cell type and a donor");
    // Missing (NaN or empty) labels leave cells out, as pandas' groupby does; say how many.
    if (no_celltype > 0)
        SCPX_LOG_WRN_SHARED("{}: {} of {} cells have no {} (empty or NaN) and are left out", file,
                            no_celltype, n_cells, job.celltype_column);
    if (no_donor > 0)
        SCPX_LOG_WRN_SHARED("{}: {} of {} cells have a cell type but no {} (empty or NaN) and are left out",
                            file, no_donor, n_cells, job.donor_column);
    if (non_integer)
        SCPX_LOG_WRN_SHARED(
            "{}:{} has non-integer values: targets expect raw counts (try --matrix layers/counts or raw/X)",
            file, mx);
    return out;
}

} // namespace

static void run_targets_here(const targets_job& job);

void run_targets(const targets_job& job) {
    if (job.out.empty()) throw usage_error("--out is required");
    // Reading the pseudobulk and ranking take seconds: rank 0 does it alone and writes the one
    // output; the other ranks wait. (Every rank writing the same file failed under mpirun: "unable
    // to lock file" on the temporary.)
    mpi::on_root_only([&] { run_targets_here(job); }, "ctpred targets");
}

static void run_targets_here(const targets_job& job) {
    atomic_output out(job.out, job.overwrite);
    std::vector<pseudobulk> pbs;
    if (!job.h5ad.empty()) {
        pbs = read_h5ad(job);
    } else {
        for (const auto& spec : job.pseudobulk) pbs.push_back(read_pseudobulk_csv(spec));
    }
    // Output genes: the list given, else every gene seen, in first-seen order.
    std::vector<std::string> genes;
    if (!job.genes.empty()) {
        genes = io::read_gene_list(job.genes);
    } else {
        std::unordered_map<std::string, size_t> seen;
        for (const auto& pb : pbs)
            for (const auto& g : pb.genes)
                if (seen.emplace(g, genes.size()).second) genes.push_back(g);
    }
    std::unordered_map<std::string, size_t> gpos;
    for (size_t i = 0; i < genes.size(); ++i)
        if (!gpos.emplace(genes[i], i).second) throw usage_error("gene '" + genes[i] + "' is listed twice in --genes");

    const size_t ng = genes.size(), nct = pbs.size();
    std::vector<double> y(ng * nct, 0.0);
    std::vector<std::string> names;
    std::vector<std::int64_t> n_donors;
    for (size_t c = 0; c < nct; ++c) {
        const auto& pb = pbs[c];
        if (pb.cell_type.empty()) throw usage_error("a cell type has an empty name");
        if (std::find(names.begin(), names.end(), pb.cell_type) != names.end())
            throw usage_error("cell type '" + pb.cell_type + "' given twice");
        names.push_back(pb.cell_type);
        std::vector<double> mean(ng, 0.0);
        std::int64_t used = 0, found = 0;
        std::vector<std::int64_t> row_of(pb.genes.size(), -1);
        for (size_t g = 0; g < pb.genes.size(); ++g) {
            auto it = gpos.find(pb.genes[g]);
            if (it != gpos.end()) {
                row_of[g] = static_cast<std::int64_t>(it->second);
                ++found;
            }
        }
        for (size_t d = 0; d < pb.donors.size(); ++d) {
            double total = 0;
            for (double v : pb.counts[d]) total += v;
            if (total <= 0) {
                SCPX_LOG_WRN_SHARED("cell type {}: donor {} has no counts and is skipped", pb.cell_type,
                                    pb.donors[d]);
                continue;
            }
            ++used;
            for (size_t g = 0; g < pb.genes.size(); ++g) {
                if (row_of[g] < 0) continue;
                double cpm = pb.counts[d][g] / total * 1e6;
                if (job.log1p) cpm = std::log1p(cpm);
                mean[static_cast<size_t>(row_of[g])] += cpm;
            }
        }
        if (used < job.min_donors)
            throw usage_error(fmt::format("cell type '{}' has {} donor{} with counts; --min-donors is {}", pb.cell_type, used,
                                          used == 1 ? "" : "s", job.min_donors));
        for (auto& m : mean) m /= static_cast<double>(used);
        const auto ranks = percentile_ranks(mean);
        for (size_t g = 0; g < ng; ++g) y[g * nct + c] = ranks[g];
        n_donors.push_back(used);
        SCPX_LOG_INF("cell type {}: {} donors, {} of {} output genes measured", pb.cell_type, used, found, ng);
        if (found == 0) throw usage_error("cell type '" + pb.cell_type + "': none of the output genes is in the data");
    }
    {
        auto f = io::h5_create_file(out.temp_path());
        io::h5_write<double>(f.id(), "/y", {ng, nct}, y.data());
        io::h5_write_strings(f.id(), "/gene_id", genes);
        io::h5_write_strings(f.id(), "/cell_type", names);
        io::h5_write(f.id(), "/n_donors", n_donors);
        io::h5_write_attr(f.id(), "normalisation", std::string(job.log1p ? "log1p(CPM)" : "CPM"));
        io::h5_write_attr(f.id(), "rank", std::string("percentile, average ties, (0,1]"));
        f.close();
    }
    out.commit();
    SCPX_LOG_INF("wrote {} ({} genes x {} cell types)", job.out, ng, nct);
}

} // namespace scpx::ctpred
