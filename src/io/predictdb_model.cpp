#include "scpx/io/predictdb_model.hpp"

#include "field_parse.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/io/id_index.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

namespace scpx::io {

db_number db_number::real(double v) {
    db_number n;
    if (std::isnan(v)) return n;
    n.value = v;
    n.is_null = false;
    return n;
}

db_number db_number::integer(std::int64_t v) {
    db_number n;
    n.value = static_cast<double>(v);
    n.is_null = false;
    n.is_integer = true;
    return n;
}

std::size_t predictdb_model::find_gene(const std::string& gene) const {
    auto it = std::lower_bound(genes.begin(), genes.end(), gene);
    return it != genes.end() && *it == gene ? static_cast<std::size_t>(it - genes.begin()) : npos;
}

std::size_t predictdb_model::find_extra(const std::string& gene) const {
    auto it = std::lower_bound(extra.begin(), extra.end(), gene,
                               [](const predictdb_extra& e, const std::string& g) { return e.gene < g; });
    return it != extra.end() && it->gene == gene ? static_cast<std::size_t>(it - extra.begin()) : npos;
}

namespace {

// Applies a permutation (new[i] = old[order[i]]) to one weights column.
template <class T>
void permute(std::vector<T>& v, const std::vector<std::size_t>& order) {
    std::vector<T> out;
    out.reserve(order.size());
    for (auto i : order)
        out.push_back(std::move(v[i]));
    v.swap(out);
}

// The gene column travels separately while grouping; this builds the CSR index from it.
void group_rows(predictdb_model& m, std::vector<std::string>& row_gene) {
    const std::size_t n = row_gene.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return row_gene[a] < row_gene[b]; });
    permute(m.rsid, order);
    permute(m.varid, order);
    permute(m.ref_allele, order);
    permute(m.eff_allele, order);
    permute(m.weight, order);
    permute(row_gene, order);
    m.genes.clear();
    m.gene_begin.clear();
    for (std::size_t i = 0; i < n; ++i) {
        if (i == 0 || row_gene[i] != row_gene[i - 1]) {
            m.genes.push_back(row_gene[i]);
            m.gene_begin.push_back(i);
        }
    }
    m.gene_begin.push_back(n);
}

// ---------------------------------------------------------------- SQLite RAII

struct db_closer {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

std::string quote_ident(const std::string& name) {
    std::string q = "\"";
    for (char c : name) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + "\"";
}

bool iequals(const std::string& a, const std::string& b) {
    return a.size() == b.size() && to_lower(a) == to_lower(b);
}

class reader_db {
public:
    explicit reader_db(const std::string& path) : path_(path) {
        if (!path_exists(path)) throw missing_file_error(path, "model database");
        sqlite3* raw = nullptr;
        const int rc =
            sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
        db_.reset(raw);
        if (rc != SQLITE_OK) throw io_error("cannot open model database " + path + ": " + sqlite3_errstr(rc));
    }

    [[noreturn]] void fail(const std::string& what, int rc) const {
        if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
            throw input_error(path_, "", "",
                              "not a valid SQLite model database (" + std::string(sqlite3_errmsg(db_.get())) +
                                  ")");
        throw io_error("reading model database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_.get()));
    }

    stmt_ptr prepare(const std::string& sql) const {
        sqlite3_stmt* s = nullptr;
        const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &s, nullptr);
        stmt_ptr p(s);
        if (rc != SQLITE_OK) fail(sql, rc);
        return p;
    }

    bool has_table(const std::string& table) const {
        auto s = prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?1 "
                         "COLLATE NOCASE");
        sqlite3_bind_text(s.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
        const int rc = sqlite3_step(s.get());
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) fail("listing tables", rc);
        return false;
    }

    std::vector<std::string> columns(const std::string& table) const {
        auto s = prepare("PRAGMA table_info(" + quote_ident(table) + ")");
        std::vector<std::string> cols;
        int rc;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            const auto* t = sqlite3_column_text(s.get(), 1);
            cols.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
        }
        if (rc != SQLITE_DONE) fail("reading the columns of " + table, rc);
        return cols;
    }

    const std::string& path() const { return path_; }

private:
    std::string path_;
    db_ptr db_;
};

// Index of the first column matching one of `names` (case-insensitive, as SQLite), or -1.
int find_col(const std::vector<std::string>& cols, const std::vector<const char*>& names) {
    for (const char* n : names)
        for (std::size_t i = 0; i < cols.size(); ++i)
            if (iequals(cols[i], n)) return static_cast<int>(i);
    return -1;
}

std::string text_at(sqlite3_stmt* s, int i) {
    const auto* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
}

// A numeric cell; TEXT that parses as a number is accepted (R sometimes writes "NA" strings).
db_number number_at(sqlite3_stmt* s, int i, const std::string& file, const std::string& where,
                    const std::string& column) {
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL: return db_number::null();
    case SQLITE_INTEGER: return db_number::integer(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT: return db_number::real(sqlite3_column_double(s, i));
    default: {
        const std::string t = text_at(s, i);
        double v;
        if (detail::try_parse_double(t, v)) return db_number::real(v);
        if (detail::is_na_token(t)) return db_number::null();
        throw input_error(file, where, column, "not a number ('" + t.substr(0, 40) + "')");
    }
    }
}

void read_weights(const reader_db& db, predictdb_model& m, const predictdb_read_options& opt) {
    const std::string& file = db.path();
    if (!db.has_table("weights"))
        throw input_error(file, "", "weights", "table 'weights' not found: not a PredictDB model");
    const auto cols = db.columns("weights");
    const bool key_is_varid = iequals(opt.snp_key, "varID");
    if (!key_is_varid && !iequals(opt.snp_key, "rsid"))
        throw usage_error("model SNP key must be 'rsid' or 'varID', not '" + opt.snp_key + "'");
    const int c_gene = find_col(cols, {"gene"});
    const int c_rsid = find_col(cols, {"rsid"});
    const int c_varid = find_col(cols, {"varID"});
    const int c_weight = find_col(cols, {"weight"});
    const int c_ref = find_col(cols, {"ref_allele"});
    const int c_eff = find_col(cols, {"eff_allele"});
    auto need = [&](int c, const char* name) {
        if (c < 0)
            throw input_error(file, "table weights", name,
                              "column not found; the table has: " + detail::join_columns(cols));
    };
    need(c_gene, "gene");
    need(c_weight, "weight");
    need(c_ref, "ref_allele");
    need(c_eff, "eff_allele");
    need(key_is_varid ? c_varid : c_rsid, key_is_varid ? "varID" : "rsid");
    m.has_varid = c_varid >= 0;

    std::string sql = "SELECT " + quote_ident(cols[c_gene]) + ", " + quote_ident(cols[c_weight]) + ", " +
                      quote_ident(cols[c_ref]) + ", " + quote_ident(cols[c_eff]) + ", " +
                      (c_rsid >= 0 ? quote_ident(cols[c_rsid]) : std::string("NULL")) + ", " +
                      (c_varid >= 0 ? quote_ident(cols[c_varid]) : std::string("NULL")) + " FROM weights";
    auto s = db.prepare(sql);
    // Genes are interned (rows of one gene are usually consecutive: compare with the last one
    // first), so grouping is a counting sort on gene ranks instead of a string sort.
    id_index gene_ids;
    std::vector<std::uint32_t> row_gene;
    std::int64_t last_gene = -1;
    std::uint64_t row = 0;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        ++row;
        auto where = [&] { return "table weights, row " + std::to_string(row); };
        const char* key_name = key_is_varid ? "varID" : "rsid";
        if (sqlite3_column_type(s.get(), 0) == SQLITE_NULL)
            throw input_error(file, where(), "gene", "NULL gene");
        if (sqlite3_column_type(s.get(), key_is_varid ? 5 : 4) == SQLITE_NULL)
            throw input_error(file, where(), key_name, "NULL SNP id");
        const db_number w = number_at(s.get(), 1, file, where(), "weight");
        if (w.is_null) throw input_error(file, where(), "weight", "NULL or NA weight");
        const std::string_view gene(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)),
                                    static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 0)));
        if (last_gene < 0 || gene_ids.id(static_cast<std::size_t>(last_gene)) != gene)
            last_gene = gene_ids.insert(gene);
        row_gene.push_back(static_cast<std::uint32_t>(last_gene));
        m.weight.push_back(w.value);
        m.ref_allele.push_back(text_at(s.get(), 2));
        m.eff_allele.push_back(text_at(s.get(), 3));
        m.rsid.push_back(text_at(s.get(), 4));
        m.varid.push_back(text_at(s.get(), 5));
    }
    if (rc != SQLITE_DONE) db.fail("reading weights", rc);

    // Gene order: byte-wise (SQLite's ORDER BY gene with BINARY collation).
    const std::size_t ng = gene_ids.size(), n = row_gene.size();
    std::vector<std::uint32_t> by_name(ng);
    std::iota(by_name.begin(), by_name.end(), 0u);
    std::sort(by_name.begin(), by_name.end(),
              [&](std::uint32_t a, std::uint32_t b) { return gene_ids.id(a) < gene_ids.id(b); });
    std::vector<std::uint32_t> rank(ng);
    for (std::size_t r = 0; r < ng; ++r)
        rank[by_name[r]] = static_cast<std::uint32_t>(r);
    // Stable counting sort of rows by gene rank: storage order is kept within a gene.
    std::vector<std::size_t> begin(ng + 1, 0);
    for (auto g : row_gene)
        ++begin[rank[g] + 1];
    for (std::size_t r = 0; r < ng; ++r)
        begin[r + 1] += begin[r];
    std::vector<std::size_t> order(n), fill(begin.begin(), begin.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
        order[fill[rank[row_gene[i]]]++] = i;

    // MetaXcan keeps one entry per (gene, SNP key) in a dict: the last row's values at the
    // first row's position.
    const std::vector<std::string>& key = key_is_varid ? m.varid : m.rsid;
    std::vector<std::size_t> kept;
    kept.reserve(n);
    m.genes.clear();
    m.gene_begin.assign(1, 0);
    id_index keys;
    std::vector<std::size_t> first_row; // per key of the current gene: position in `kept`
    std::size_t dups = 0;
    for (std::size_t r = 0; r < ng; ++r) {
        keys.clear();
        first_row.clear();
        for (std::size_t p = begin[r]; p < begin[r + 1]; ++p) {
            const std::size_t i = order[p];
            const std::uint32_t k = keys.insert(key[i]);
            if (k == first_row.size()) {
                first_row.push_back(kept.size());
                kept.push_back(i);
            } else {
                kept[first_row[k]] = i; // a later duplicate replaces the values in place
                ++dups;
            }
        }
        m.genes.emplace_back(gene_ids.id(by_name[r]));
        m.gene_begin.push_back(kept.size());
    }
    permute(m.weight, kept);
    permute(m.ref_allele, kept);
    permute(m.eff_allele, kept);
    permute(m.rsid, kept);
    permute(m.varid, kept);
    m.n_duplicate_weights = dups;
    if (dups && opt.warn_duplicates)
        SCPX_LOG_WRN_SHARED("{}: {} duplicated (gene, {}) weight row(s); the last one of each is used, "
                            "as MetaXcan does",
                            file, dups, opt.snp_key);
}

void read_extra(const reader_db& db, predictdb_model& m) {
    const std::string& file = db.path();
    if (!db.has_table("extra"))
        throw input_error(file, "", "extra",
                          "table 'extra' not found: the model has no gene metadata "
                          "(gene, genename, n.snps.in.model, pred.perf.*); not a PredictDB model?");
    const auto cols = db.columns("extra");
    const int c_gene = find_col(cols, {"gene"});
    if (c_gene < 0)
        throw input_error(file, "table extra", "gene",
                          "column not found; the table has: " + detail::join_columns(cols));
    m.has_phi = find_col(cols, {"phi"}) >= 0;

    // (column names, destination) for every numeric field we know.
    struct numeric_col {
        std::vector<const char*> names; // not an initializer_list: its array would dangle
        db_number predictdb_extra::*dst;
        int index = -1;
    };
    std::vector<numeric_col> nums = {
        {{"n.snps.in.model", "n_snps_in_model"}, &predictdb_extra::n_snps_in_model},
        {{"pred.perf.R2"}, &predictdb_extra::pred_perf_r2},
        {{"pred.perf.pval"}, &predictdb_extra::pred_perf_pval},
        {{"pred.perf.qval"}, &predictdb_extra::pred_perf_qval},
        {{"phi"}, &predictdb_extra::phi},
        {{"alpha"}, &predictdb_extra::alpha},
        {{"n_snps_in_window"}, &predictdb_extra::n_snps_in_window},
        {{"cv_mse"}, &predictdb_extra::cv_mse},
        {{"lambda_iteration"}, &predictdb_extra::lambda_iteration},
        {{"lambda_min", "lambda_min_mse"}, &predictdb_extra::lambda_min},
        {{"cv_R2_avg"}, &predictdb_extra::cv_r2_avg},
        {{"cv_R2_sd"}, &predictdb_extra::cv_r2_sd},
        {{"in_sample_R2"}, &predictdb_extra::in_sample_r2},
        {{"cv_fisher_pval", "nested_cv_fisher_pval"}, &predictdb_extra::cv_fisher_pval},
        {{"rho_avg"}, &predictdb_extra::rho_avg},
        {{"rho_se"}, &predictdb_extra::rho_se},
        {{"rho_zscore"}, &predictdb_extra::rho_zscore},
    };
    std::string sql = "SELECT " + quote_ident(cols[c_gene]);
    int next_index = 1;
    const int c_name = find_col(cols, {"genename", "gene_name"});
    const int c_type = find_col(cols, {"gene_type"});
    int i_name = -1, i_type = -1;
    if (c_name >= 0) {
        sql += ", " + quote_ident(cols[c_name]);
        i_name = next_index++;
    }
    if (c_type >= 0) {
        sql += ", " + quote_ident(cols[c_type]);
        i_type = next_index++;
    }
    for (auto& nc : nums) {
        const int c = find_col(cols, nc.names);
        if (c < 0) continue;
        sql += ", " + quote_ident(cols[c]);
        nc.index = next_index++;
    }
    sql += " FROM extra ORDER BY " + quote_ident(cols[c_gene]);
    auto s = db.prepare(sql);
    int rc;
    std::uint64_t row = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        ++row;
        const std::string where = "table extra, row " + std::to_string(row);
        if (sqlite3_column_type(s.get(), 0) == SQLITE_NULL)
            throw input_error(file, where, "gene", "NULL gene");
        predictdb_extra e;
        e.gene = text_at(s.get(), 0);
        if (i_name >= 0) e.genename = text_at(s.get(), i_name);
        if (i_type >= 0) e.gene_type = text_at(s.get(), i_type);
        for (const auto& nc : nums)
            if (nc.index >= 0) e.*(nc.dst) = number_at(s.get(), nc.index, file, where, nc.names.front());
        m.extra.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) db.fail("reading extra", rc);
}

void read_metadata(const reader_db& db, predictdb_model& m) {
    const std::string& file = db.path();
    if (db.has_table("sample_info")) {
        const auto cols = db.columns("sample_info");
        const int c_n = find_col(cols, {"n_samples", "n.samples"});
        const int c_pop = find_col(cols, {"population"});
        auto s =
            db.prepare("SELECT " + (c_n >= 0 ? quote_ident(cols[c_n]) : std::string("NULL")) + ", " +
                       (c_pop >= 0 ? quote_ident(cols[c_pop]) : std::string("NULL")) + " FROM sample_info");
        int rc;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            predictdb_sample_info si;
            si.n_samples = number_at(s.get(), 0, file, "table sample_info", "n_samples");
            si.population = text_at(s.get(), 1);
            m.sample_info.push_back(std::move(si));
        }
        if (rc != SQLITE_DONE) db.fail("reading sample_info", rc);
    }
    if (db.has_table("construction")) {
        const auto cols = db.columns("construction");
        const int c_chr = find_col(cols, {"chromosome", "chr"});
        const int c_seed = find_col(cols, {"cv_seed", "cv.seed"});
        auto s = db.prepare("SELECT " + (c_chr >= 0 ? quote_ident(cols[c_chr]) : std::string("NULL")) + ", " +
                            (c_seed >= 0 ? quote_ident(cols[c_seed]) : std::string("NULL")) +
                            " FROM construction");
        int rc;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            predictdb_construction c;
            c.chromosome = number_at(s.get(), 0, file, "table construction", "chromosome");
            c.cv_seed = number_at(s.get(), 1, file, "table construction", "cv_seed");
            m.construction.push_back(c);
        }
        if (rc != SQLITE_DONE) db.fail("reading construction", rc);
    }
}

} // namespace

void predictdb_model::add_gene(const std::string& gene, const std::vector<std::string>& rsids,
                               const std::vector<std::string>& varids, const std::vector<std::string>& refs,
                               const std::vector<std::string>& effs, const std::vector<double>& weights) {
    const std::size_t k = weights.size();
    SCPX_ASSERT(rsids.size() == k && refs.size() == k && effs.size() == k &&
                (varids.empty() || varids.size() == k));
    if (gene_begin.empty()) gene_begin.push_back(0);
    SCPX_ASSERT(gene_begin.size() == genes.size() + 1);
    varid.resize(weight.size());
    rsid.insert(rsid.end(), rsids.begin(), rsids.end());
    if (varids.empty())
        varid.resize(varid.size() + k);
    else
        varid.insert(varid.end(), varids.begin(), varids.end());
    if (!varids.empty()) has_varid = true;
    ref_allele.insert(ref_allele.end(), refs.begin(), refs.end());
    eff_allele.insert(eff_allele.end(), effs.begin(), effs.end());
    weight.insert(weight.end(), weights.begin(), weights.end());
    genes.push_back(gene);
    gene_begin.push_back(weight.size());
}

void predictdb_model::sort_by_gene() {
    if (gene_begin.empty()) gene_begin.push_back(0);
    SCPX_ASSERT(gene_begin.size() == genes.size() + 1 && gene_begin.back() == weight.size());
    std::vector<std::string> row_gene;
    row_gene.reserve(weight.size());
    for (std::size_t g = 0; g < genes.size(); ++g)
        for (std::size_t i = gene_begin[g]; i < gene_begin[g + 1]; ++i)
            row_gene.push_back(genes[g]);
    varid.resize(weight.size());
    group_rows(*this, row_gene);
    std::stable_sort(extra.begin(), extra.end(),
                     [](const predictdb_extra& a, const predictdb_extra& b) { return a.gene < b.gene; });
}

predictdb_model read_predictdb_model(const std::string& path, const predictdb_read_options& options) {
    reader_db db(path);
    predictdb_model m;
    m.path = path;
    read_weights(db, m, options);
    read_extra(db, m);
    if (options.read_metadata) read_metadata(db, m);
    return m;
}

// ---------------------------------------------------------------- writer

namespace {

class writer_db {
public:
    writer_db(const std::string& temp, const std::string& final_path) : final_(final_path) {
        std::remove(temp.c_str()); // a stale temporary from a killed run would hold old tables
        sqlite3* raw = nullptr;
        const int rc = sqlite3_open_v2(
            temp.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        db_.reset(raw);
        if (rc != SQLITE_OK)
            throw io_error("cannot write model database " + final_ + ": " + sqlite3_errstr(rc));
    }
    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "unknown error";
            sqlite3_free(err);
            throw io_error("writing model database " + final_ + ": " + msg + " (in: " + sql + ")");
        }
    }
    stmt_ptr prepare(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &s, nullptr);
        stmt_ptr p(s);
        if (rc != SQLITE_OK) fail(sql);
        return p;
    }
    void step(sqlite3_stmt* s) {
        if (sqlite3_step(s) != SQLITE_DONE) fail("insert");
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    [[noreturn]] void fail(const std::string& what) {
        throw io_error("writing model database " + final_ + ": " + what + ": " + sqlite3_errmsg(db_.get()));
    }
    void close() {
        sqlite3* raw = db_.release();
        if (sqlite3_close(raw) != SQLITE_OK) {
            db_.reset(raw);
            fail("close");
        }
    }

private:
    std::string final_;
    db_ptr db_;
};

void bind_text(sqlite3_stmt* s, int i, const std::string& t) {
    sqlite3_bind_text(s, i, t.c_str(), static_cast<int>(t.size()), SQLITE_STATIC);
}

void bind_number(sqlite3_stmt* s, int i, const db_number& n) {
    if (n.is_null || std::isnan(n.value))
        sqlite3_bind_null(s, i);
    else if (n.is_integer)
        sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(n.value));
    else
        sqlite3_bind_double(s, i, n.value);
}

} // namespace

void write_predictdb_model(const std::string& path, const predictdb_model& m, bool overwrite) {
    SCPX_ASSERT(m.gene_begin.size() == m.genes.size() + 1);
    SCPX_ASSERT(m.rsid.size() == m.weight.size() && m.ref_allele.size() == m.weight.size() &&
                m.eff_allele.size() == m.weight.size());
    atomic_output out(path, overwrite);
    {
        writer_db db(out.temp_path(), path);
        // No journal file next to the temporary; durability comes from the rename.
        db.exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;");
        db.exec("BEGIN");
        db.exec("CREATE TABLE extra (gene TEXT, genename TEXT, gene_type TEXT, alpha REAL, "
                "n_snps_in_window INTEGER, cv_mse REAL, lambda_iteration INTEGER, lambda_min REAL, "
                "\"n.snps.in.model\" INTEGER, cv_R2_avg REAL, cv_R2_sd REAL, in_sample_R2 REAL, "
                "cv_fisher_pval REAL, rho_avg REAL, rho_se REAL, rho_zscore REAL, "
                "\"pred.perf.R2\" REAL, \"pred.perf.pval\" REAL, \"pred.perf.qval\" REAL" +
                std::string(m.has_phi ? ", phi REAL" : "") + ")");
        db.exec("CREATE TABLE weights (gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, "
                "eff_allele TEXT, weight REAL)");
        db.exec("CREATE TABLE sample_info (n_samples INTEGER, population TEXT)");
        db.exec("CREATE TABLE construction (chromosome INTEGER, cv_seed INTEGER)");

        {
            auto s = db.prepare(std::string("INSERT INTO extra VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
                                            "?11,?12,?13,?14,?15,?16,?17,?18,?19") +
                                (m.has_phi ? ",?20)" : ")"));
            for (const auto& e : m.extra) {
                bind_text(s.get(), 1, e.gene);
                bind_text(s.get(), 2, e.genename);
                if (e.gene_type.empty())
                    sqlite3_bind_null(s.get(), 3);
                else
                    bind_text(s.get(), 3, e.gene_type);
                const db_number* v[] = {
                    &e.alpha,        &e.n_snps_in_window, &e.cv_mse,         &e.lambda_iteration,
                    &e.lambda_min,   &e.n_snps_in_model,  &e.cv_r2_avg,      &e.cv_r2_sd,
                    &e.in_sample_r2, &e.cv_fisher_pval,   &e.rho_avg,        &e.rho_se,
                    &e.rho_zscore,   &e.pred_perf_r2,     &e.pred_perf_pval, &e.pred_perf_qval};
                for (int k = 0; k < 16; ++k)
                    bind_number(s.get(), 4 + k, *v[k]);
                if (m.has_phi) bind_number(s.get(), 20, e.phi);
                db.step(s.get());
            }
        }
        {
            auto s = db.prepare("INSERT INTO weights VALUES (?1,?2,?3,?4,?5,?6)");
            for (std::size_t g = 0; g < m.genes.size(); ++g) {
                for (std::size_t i = m.gene_begin[g]; i < m.gene_begin[g + 1]; ++i) {
                    bind_text(s.get(), 1, m.genes[g]);
                    bind_text(s.get(), 2, m.rsid[i]);
                    if (i < m.varid.size() && !m.varid[i].empty())
                        bind_text(s.get(), 3, m.varid[i]);
                    else
                        sqlite3_bind_null(s.get(), 3);
                    bind_text(s.get(), 4, m.ref_allele[i]);
                    bind_text(s.get(), 5, m.eff_allele[i]);
                    sqlite3_bind_double(s.get(), 6, m.weight[i]);
                    db.step(s.get());
                }
            }
        }
        {
            auto s = db.prepare("INSERT INTO sample_info VALUES (?1,?2)");
            for (const auto& si : m.sample_info) {
                bind_number(s.get(), 1, si.n_samples);
                bind_text(s.get(), 2, si.population);
                db.step(s.get());
            }
        }
        {
            auto s = db.prepare("INSERT INTO construction VALUES (?1,?2)");
            for (const auto& c : m.construction) {
                bind_number(s.get(), 1, c.chromosome);
                bind_number(s.get(), 2, c.cv_seed);
                db.step(s.get());
            }
        }
        // Same index names as PredictDb-nextflow make_db.R / filter_db.R.
        db.exec("CREATE INDEX gene_model_summary ON extra (gene)");
        db.exec("CREATE INDEX weights_rsid ON weights (rsid)");
        db.exec("CREATE INDEX weights_gene ON weights (gene)");
        db.exec("CREATE INDEX weights_rsid_gene ON weights (rsid, gene)");
        db.exec("COMMIT");
        db.close();
    }
    out.commit();
}

} // namespace scpx::io
