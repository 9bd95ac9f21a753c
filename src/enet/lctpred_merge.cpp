// `lctpred merge`: the parts of an l-ctPred SLURM array joined into the unsplit run's .db,
// covariance and summary (see lctpred_merge.hpp).
#include "scpx/enet/lctpred_merge.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/provenance.hpp"
#include "scpx/core/text.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/split_parts.hpp"
#include "scpx/enet/output_set.hpp"
#include "scpx/io/covariance.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/io/h5_writer.hpp"
#include "scpx/io/predictdb_model.hpp"

#include <fmt/format.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

namespace scpx::enet {

namespace {

const char* const k_what = "the summary of an `scpx lctpred --split` job";

/// One part: its three files, its place in the split, and its summary's layout.
struct part {
    std::string prefix, db, covariance, summary;
    dist::split_part meta;
    std::map<std::string, io::h5_info> datasets; ///< every dataset of the summary, by path
    std::vector<std::string> included;           ///< genes marked included, byte-wise sorted
    std::map<std::string, std::int64_t> model_snps; ///< the summary's n_snps_in_model of those
    std::set<long long> fitted_chromosomes;         ///< chromosomes of its genes with status ok
    // The rows as the gene-list fingerprints cover them (gene id, chromosome number, TSS).
    dist::split_gene_list rows;
};

/// The summary datasets the gene-list fingerprints are made of.
constexpr const char* k_gene_list_datasets = "/gene_id, /chromosome, /tss";

/// Paths of every dataset in `file` ("gene_id", "cv/lambda", …).
std::vector<std::string> dataset_paths(hid_t file) {
    std::vector<std::string> out;
    SCPX_H5_CHECK(H5Ovisit(
        file, H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t, const char* name, const H5O_info_t* info, void* v) -> herr_t {
            if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(v)->push_back(name);
            return 0;
        },
        &out));
    return out;
}

/// The summary's datasets, checked against what lctpred writes: one row per gene of the part.
void read_layout(part& p, hid_t file) {
    for (const std::string& name : dataset_paths(file)) {
        const io::h5_info info = io::h5_dataset_info(file, name);
        if (info.shape.empty() || info.shape[0] != p.meta.genes())
            throw input_error(p.summary, "dataset '/" + name + "'", "",
                              info.describe() + ": not one row per gene of the part (" +
                                  std::to_string(p.meta.genes()) + " genes, attribute scpx_split_genes)");
        if (info.is_string && info.shape.size() != 1)
            throw input_error(p.summary, "dataset '/" + name + "'", "",
                              "expected 1-D strings, found " + info.describe());
        p.datasets.emplace(name, info);
    }
    for (const char* needed : {"gene_id", "included", "n_snps_in_model", "chromosome", "tss", "status"})
        if (p.datasets.count(needed) == 0)
            throw input_error(p.summary, std::string("dataset '/") + needed + "'", "",
                              "missing; every lctpred summary has it (one of an older scpx: rerun the job)");
    p.rows.ids = io::h5_read_strings(file, "gene_id");
    const std::vector<std::uint8_t> included = io::h5_read<std::uint8_t>(file, "included", 1).data;
    const std::vector<std::int32_t> snps = io::h5_read<std::int32_t>(file, "n_snps_in_model", 1).data;
    for (const std::int32_t c : io::h5_read<std::int32_t>(file, "chromosome", 1).data)
        p.rows.chroms.push_back(std::to_string(c));
    p.rows.tss = io::h5_read<std::int64_t>(file, "tss", 1).data;
    const std::vector<std::string> status = io::h5_read_strings(file, "status");
    for (std::size_t g = 0; g < status.size(); ++g)
        if (status[g] == "ok") p.fitted_chromosomes.insert(std::stoll(p.rows.chroms[g]));
    for (std::size_t g = 0; g < p.rows.size(); ++g)
        if (included[g] != 0) {
            p.included.push_back(p.rows.ids[g]);
            p.model_snps[p.rows.ids[g]] = snps[g];
        }
    std::sort(p.included.begin(), p.included.end());
    // Its rows are the ones its run wrote (an edited or reordered summary is named).
    dist::require_rows_as_written(p.meta, p.rows, k_gene_list_datasets);
}

part read_part(const std::string& prefix) {
    part p;
    p.prefix = prefix;
    p.db = prefix + ".db";
    p.covariance = prefix + ".covariance.txt.gz";
    p.summary = prefix + ".summary.h5";
    try {
        const io::h5_file f = io::h5_open_file(p.summary);
        if (io::h5_has_attr(f.id(), "scpx_merged_parts"))
            throw usage_error(p.summary +
                              " is the result of an lctpred merge, not a part (name only the parts, "
                              "e.g. parts/CD4_T_*.db, or write the merge elsewhere)");
        p.meta = dist::read_split_part(f.id(), p.summary, {"lctpred"}, k_what);
        read_layout(p, f.id());
    } catch (const h5_error& e) {
        throw input_error(p.summary, "", "",
                          std::string("cannot read it as an lctpred summary: ") + e.what());
    }
    return p;
}

/// The parts in job order, checked as the parts of one run.
std::vector<part> ordered_parts(const std::vector<std::string>& prefixes) {
    std::vector<part> parts;
    std::vector<dist::split_part> metas;
    for (const std::string& prefix : prefixes) {
        parts.push_back(read_part(prefix));
        metas.push_back(parts.back().meta);
    }
    std::vector<part> ordered;
    for (const std::size_t k : dist::order_split_parts(metas, "parts/CD4_T_*.db"))
        ordered.push_back(std::move(parts[k]));
    for (const part& p : ordered)
        dist::require_same_datasets(p.datasets, p.summary, ordered.front().datasets, ordered.front().summary);
    // Joined in job order, the rows are the gene list every part was cut from.
    dist::split_gene_list joined;
    for (const part& p : ordered)
        joined.append(p.rows);
    dist::require_joined_gene_list(ordered.front().meta, joined, k_gene_list_datasets);
    return ordered;
}

/// A part's .db, checked to be the one its summary describes.
io::predictdb_model read_part_db(const part& p) {
    io::predictdb_read_options ro;
    ro.snp_key = "varID"; // scpx writes varID; an rsid may repeat within a window, a varID may not
    ro.warn_duplicates = false; // refused below
    io::predictdb_model m = io::read_predictdb_model(p.db, ro);
    if (m.n_duplicate_weights > 0)
        throw input_error(p.db, "table weights", "varID",
                          std::to_string(m.n_duplicate_weights) +
                              " (gene, varID) pair(s) repeated: not a database lctpred wrote");
    if (m.genes != p.included) {
        std::string example;
        for (const std::string& g : m.genes)
            if (!std::binary_search(p.included.begin(), p.included.end(), g)) {
                example = "; e.g. " + g + " has weights but is not marked included in the summary";
                break;
            }
        if (example.empty())
            for (const std::string& g : p.included)
                if (m.find_gene(g) == io::predictdb_model::npos) {
                    example = "; e.g. " + g + " is included in the summary but has no weights";
                    break;
                }
        throw input_error(p.db, "table weights", "gene",
                          fmt::format("{} model(s), but {} marks {} gene(s) included{}: the .db is not this "
                                      "part's (replaced or edited since its run?)",
                                      m.genes.size(), p.summary, p.included.size(), example));
    }
    if (m.extra.size() != m.genes.size())
        throw input_error(
            p.db, "table extra", "gene",
            fmt::format("{} row(s) for {} model(s): one per model expected", m.extra.size(), m.genes.size()));
    for (std::size_t g = 0; g < m.genes.size(); ++g)
        if (m.extra[g].gene != m.genes[g])
            throw input_error(p.db, "table extra", "gene",
                              "gene " + m.genes[g] + " has weights but no row (found " + m.extra[g].gene +
                                  ")");
    for (std::size_t g = 0; g < m.genes.size(); ++g) {
        const auto n = static_cast<std::int64_t>(m.gene_begin[g + 1] - m.gene_begin[g]);
        const io::db_number& e = m.extra[g].n_snps_in_model;
        if (e.is_null || static_cast<std::int64_t>(e.value) != n)
            throw input_error(p.db, "table extra", "n.snps.in.model",
                              fmt::format("gene {}: {} in extra, but {} weight row(s)", m.genes[g],
                                          e.is_null ? std::string("NULL") : fmt::format("{}", e.value), n));
        if (p.model_snps.at(m.genes[g]) != n)
            throw input_error(p.db, "table weights", "gene",
                              fmt::format("gene {}: {} weight row(s), but {} says {} SNPs in the model: the "
                                          ".db was edited, or is not this part's",
                                          m.genes[g], n, p.summary, p.model_snps.at(m.genes[g])));
    }
    std::set<long long> chromosomes;
    for (const io::predictdb_construction& c : m.construction) {
        if (c.chromosome.is_null || !c.chromosome.is_integer || c.chromosome.value < 1 ||
            c.chromosome.value > 22)
            throw input_error(p.db, "table construction", "chromosome",
                              c.chromosome.is_null
                                  ? std::string("NULL")
                                  : fmt::format("{}: not an autosome 1..22", c.chromosome.value));
        if (!chromosomes.insert(static_cast<long long>(c.chromosome.value)).second)
            throw input_error(p.db, "table construction", "chromosome",
                              fmt::format("chromosome {} listed twice", c.chromosome.value));
    }
    // lctpred writes one row per chromosome of the genes it fitted (status ok in the summary).
    if (chromosomes != p.fitted_chromosomes) {
        std::vector<std::string> want, got;
        for (const long long c : p.fitted_chromosomes)
            want.push_back(std::to_string(c));
        for (const long long c : chromosomes)
            got.push_back(std::to_string(c));
        throw input_error(p.db, "table construction", "chromosome",
                          "chromosomes {" + join(got, ", ") + "}, but the genes " + p.summary +
                              " marks fitted are on {" + join(want, ", ") +
                              "}: the .db was edited, or is not this part's");
    }
    if (m.sample_info.size() != 1)
        throw input_error(p.db, "table sample_info", "",
                          std::to_string(m.sample_info.size()) + " rows; lctpred writes one");
    return m;
}

bool same_number(const io::db_number& a, const io::db_number& b) {
    return a.is_null == b.is_null && a.is_integer == b.is_integer && (a.is_null || a.value == b.value);
}

/// The parts' databases joined: every model, one sample_info row, the chromosomes of all.
io::predictdb_model merge_databases(const std::vector<part>& parts, std::vector<io::predictdb_model>& dbs) {
    io::predictdb_model all;
    std::set<long long> chromosomes;
    io::db_number seed;
    const part* seed_from = nullptr;
    std::unordered_map<std::string, std::size_t> owner; // gene -> part index
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const io::predictdb_model& m = dbs[k];
        // --phi is an option of the fit, so the parts agree; a part edited since would not.
        if (m.has_phi != dbs.front().has_phi)
            throw input_error(parts[k].db, "table extra", "phi",
                              fmt::format("{} a phi column, but {} {}", m.has_phi ? "has" : "has no",
                                          parts.front().db, dbs.front().has_phi ? "has one" : "has none"));
        const io::predictdb_sample_info& si = m.sample_info.front();
        const io::predictdb_sample_info& want = dbs.front().sample_info.front();
        if (!same_number(si.n_samples, want.n_samples) || si.population != want.population)
            throw input_error(
                parts[k].db, "table sample_info", "",
                fmt::format("n_samples {} population '{}', but {} has n_samples {} population '{}'",
                            si.n_samples.value, si.population, parts.front().db, want.n_samples.value,
                            want.population));
        for (const io::predictdb_construction& c : m.construction) {
            // The seed of the first part that has a row (a part whose genes all failed has none).
            if (!seed_from) {
                seed = c.cv_seed;
                seed_from = &parts[k];
            } else if (!same_number(c.cv_seed, seed)) {
                throw input_error(
                    parts[k].db, "table construction", "cv_seed",
                    fmt::format("{}, but {} used {}", c.cv_seed.value, seed_from->db, seed.value));
            }
            chromosomes.insert(static_cast<long long>(c.chromosome.value));
        }
        for (std::size_t g = 0; g < m.genes.size(); ++g) {
            const auto [it, added] = owner.emplace(m.genes[g], k);
            if (!added)
                throw input_error(parts[k].db, "table weights", "gene",
                                  "gene " + m.genes[g] + " is also in " + parts[it->second].db +
                                      ": the parts overlap");
            const auto b = static_cast<std::ptrdiff_t>(m.gene_begin[g]);
            const auto e = static_cast<std::ptrdiff_t>(m.gene_begin[g + 1]);
            const auto slice = [&](const std::vector<std::string>& v) {
                return std::vector<std::string>(v.begin() + b, v.begin() + e);
            };
            all.add_gene(m.genes[g], slice(m.rsid), slice(m.varid), slice(m.ref_allele), slice(m.eff_allele),
                         std::vector<double>(m.weight.begin() + b, m.weight.begin() + e));
            all.extra.push_back(m.extra[g]);
        }
    }
    all.sample_info = dbs.front().sample_info;
    // One row per chromosome with a fitted gene, ascending, as the unsplit run writes them.
    for (const long long c : chromosomes) {
        io::predictdb_construction row;
        row.chromosome = io::db_number::integer(c);
        row.cv_seed = seed;
        all.construction.push_back(row);
    }
    all.has_varid = true;
    all.has_phi = !dbs.empty() && dbs.front().has_phi;
    all.sort_by_gene();
    return all;
}

/// The parts' covariance blocks merged by gene id (each part's file is in its .db's gene order),
/// every block checked against the part's .db.
void merge_covariances(const std::vector<part>& parts, const std::vector<io::predictdb_model>& dbs,
                       const std::string& out) {
    struct cursor {
        std::unique_ptr<io::covariance_reader> reader;
        io::covariance_block block;
        bool live = false;
        std::size_t blocks = 0;
    };
    std::vector<cursor> cur(parts.size());
    const auto advance = [&](std::size_t k) {
        cursor& c = cur[k];
        const std::string previous = c.live ? c.block.gene : std::string();
        c.live = c.reader->next(c.block);
        if (!c.live) return;
        ++c.blocks;
        const io::predictdb_model& m = dbs[k];
        const std::size_t g = m.find_gene(c.block.gene);
        if (g == io::predictdb_model::npos)
            throw input_error(parts[k].covariance, "line " + std::to_string(c.block.first_line), "GENE",
                              "gene " + c.block.gene + " has no model in " + parts[k].db +
                                  ": the covariance is not this part's");
        // The block is the model's SNPs, each pair once: p(p+1)/2 rows over exactly its rsids.
        std::vector<std::string> want(m.rsid.begin() + static_cast<std::ptrdiff_t>(m.gene_begin[g]),
                                      m.rsid.begin() + static_cast<std::ptrdiff_t>(m.gene_begin[g + 1]));
        std::vector<std::string> got = c.block.ids;
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        const std::size_t p = want.size();
        if (got != want || c.block.entries.size() != p * (p + 1) / 2)
            throw input_error(
                parts[k].covariance, "line " + std::to_string(c.block.first_line), "GENE",
                fmt::format("gene {}: {} row(s) over {} SNP(s), but its model in {} has {} SNP(s) "
                            "({} rows expected): the covariance was edited, or is not this part's",
                            c.block.gene, c.block.entries.size(), got.size(), parts[k].db, p,
                            p * (p + 1) / 2));
        if (c.blocks > 1 && !(previous < c.block.gene))
            throw input_error(parts[k].covariance, "line " + std::to_string(c.block.first_line), "GENE",
                              "gene " + c.block.gene + " after " + previous +
                                  ": not in the .db's gene order (byte-wise sorted ids) that lctpred writes");
    };
    for (std::size_t k = 0; k < parts.size(); ++k) {
        cur[k].reader = std::make_unique<io::covariance_reader>(parts[k].covariance);
        advance(k);
    }
    io::covariance_writer w(out, true);
    for (;;) {
        std::size_t best = parts.size();
        for (std::size_t k = 0; k < parts.size(); ++k)
            if (cur[k].live && (best == parts.size() || cur[k].block.gene < cur[best].block.gene)) best = k;
        if (best == parts.size()) break;
        w.write_block(cur[best].block);
        advance(best);
    }
    for (std::size_t k = 0; k < parts.size(); ++k)
        if (cur[k].blocks != dbs[k].genes.size())
            throw input_error(
                parts[k].covariance, "", "GENE",
                fmt::format("blocks for {} gene(s), but {} has {} model(s): the covariance is not "
                            "this part's",
                            cur[k].blocks, parts[k].db, dbs[k].genes.size()));
    w.close();
}

/// The summary: the parts' rows in job order, with the provenance of the unsplit run.
void merge_summaries(const std::vector<part>& parts, const std::string& out) {
    const part& first = parts.front();
    hsize_t total = 0;
    for (const part& p : parts)
        total += p.meta.genes();
    const io::h5_file f0(io::h5_open_file(first.summary));
    std::vector<io::h5_dataset_spec> specs;
    for (const auto& [name, info] : first.datasets) {
        io::h5_dataset_spec s;
        s.name = name;
        s.dtype = info.dtype;
        s.shape = info.shape;
        s.shape[0] = total;
        if (info.is_string) {
            // As wide as the widest part's (the unsplit run's width: its longest value's).
            s.str_len = 1;
            for (const part& p : parts) {
                const io::h5_info& pi = p.datasets.at(name);
                if (!pi.variable_length)
                    s.str_len = std::max(s.str_len, pi.string_len);
                else {
                    const io::h5_file f(io::h5_open_file(p.summary));
                    for (const std::string& v : io::h5_read_strings(f.id(), name))
                        s.str_len = std::max(s.str_len, v.size());
                }
            }
        }
        const io::h5_dataset d = io::h5_open_dataset(f0.id(), name);
        if (io::h5_has_attr(d.id(), "description"))
            s.description = io::h5_read_attr_string(d.id(), "description");
        specs.push_back(std::move(s));
    }
    std::vector<dist::split_part> in_job_order;
    for (const part& p : parts)
        in_job_order.push_back(p.meta);
    const io::h5_provenance prov =
        dist::merged_provenance(f0.id(), in_job_order, {"seed", "fold_rng", "snp_qc"});
    io::h5_writer_options wo;
    wo.overwrite = true; // the staged file; the final one was checked by output_set
    io::h5_row_writer w(out, specs, prov, wo);
    // Rank 0 reads and writes; the others take part in the collective writes with no rows.
    const bool reader = mpi::is_root();
    hsize_t at = 0;
    for (const part& p : parts) {
        std::unique_ptr<io::h5_file> f;
        if (reader) f = std::make_unique<io::h5_file>(io::h5_open_file(p.summary));
        const hsize_t n = p.meta.genes();
        for (const io::h5_dataset_spec& s : specs) {
            const auto copy = [&](auto tag) {
                using T = decltype(tag);
                w.write_rows(s.name, at, reader ? n : 0,
                             reader ? io::h5_read<T>(f->id(), s.name).data : std::vector<T>{});
            };
            switch (s.dtype) {
            case io::h5_dtype::str:
                w.write_rows(s.name, at, reader ? n : 0,
                             reader ? io::h5_read_strings(f->id(), s.name) : std::vector<std::string>{});
                break;
            case io::h5_dtype::f32: copy(float{}); break;
            case io::h5_dtype::f64: copy(double{}); break;
            case io::h5_dtype::i32: copy(std::int32_t{}); break;
            case io::h5_dtype::i64: copy(std::int64_t{}); break;
            case io::h5_dtype::u8: copy(std::uint8_t{}); break;
            }
        }
        at += n;
    }
    w.finish();
}

} // namespace

std::string lctpred_part_prefix(const std::string& name) {
    for (const char* ext : {".summary.h5", ".covariance.txt.gz", ".db", ".log"})
        if (ends_with(name, ext)) return name.substr(0, name.size() - std::strlen(ext));
    return name;
}

lctpred_merge_summary merge_lctpred_parts(const lctpred_merge_options& opt) {
    if (opt.parts.empty()) throw usage_error("lctpred merge: no parts given");
    mpi::ensure_initialized();
    // A glob over the parts' files names each part several times, and a part may be named by
    // other paths to one file (./p/X_0, a symbolic link): one part is its summary file.
    std::vector<std::string> prefixes;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (const std::string& name : opt.parts) {
        const std::string prefix = lctpred_part_prefix(name);
        struct stat st {};
        if (::stat((prefix + ".summary.h5").c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second)
            continue;
        if (std::find(prefixes.begin(), prefixes.end(), prefix) == prefixes.end()) prefixes.push_back(prefix);
    }
    stage_timer st("lctpred merge");
    // Every rank checks the parts (small attributes): all agree on the same error.
    const std::vector<part> parts = ordered_parts(prefixes);
    lctpred_merge_summary sum;
    sum.parts = parts.size();
    sum.split = static_cast<std::size_t>(parts.front().meta.split);
    for (const part& p : parts)
        sum.genes += p.meta.genes();
    SCPX_LOG_INF("{} part(s) of an lctpred run (--split {}), {} genes in all", sum.parts, sum.split,
                 sum.genes);

    output_set outs(opt.overwrite);
    outs.add_on_every_rank({opt.out_db, opt.out_covariance, opt.out_h5}, "lctpred merge");
    const std::size_t o_db = 0, o_cov = 1, o_h5 = 2;

    std::string counts;
    mpi::on_root_agreed(
        [&] {
            progress prog("lctpred merge", parts.size(), "parts", 30.0);
            std::vector<io::predictdb_model> dbs;
            for (const part& p : parts) {
                dbs.push_back(read_part_db(p));
                prog.add(1);
            }
            prog.finish();
            const io::predictdb_model all = merge_databases(parts, dbs);
            io::write_predictdb_model(outs.staged(o_db), all, true);
            merge_covariances(parts, dbs, outs.staged(o_cov));
            counts = fmt::format("{} {}", all.genes.size(), all.n_weights());
        },
        "lctpred merge: rank 0 failed to join the parts (see its log)");
    counts = mpi::broadcast(counts);
    std::sscanf(counts.c_str(), "%zu %zu", &sum.models, &sum.weights);
    merge_summaries(parts, outs.staged(o_h5));
    mpi::on_root_agreed([&] { outs.commit(); }, "lctpred merge: rank 0 could not put the outputs in place");
    SCPX_LOG_INF("lctpred merge: {} genes, {} models ({} weights) from {} parts -> {}, {}, {}", sum.genes,
                 sum.models, sum.weights, sum.parts, opt.out_db, opt.out_covariance, opt.out_h5);
    return sum;
}

} // namespace scpx::enet
