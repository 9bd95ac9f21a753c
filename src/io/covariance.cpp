#include "scpx/io/covariance.hpp"

#include "field_parse.hpp"

#include "scpx/core/error.hpp"
#include "scpx/io/id_index.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

namespace scpx::io {

using detail::kNaN;

// ---------------------------------------------------------------- covariance_block

std::size_t covariance_block::n_ids_in_cov() const {
    std::vector<char> seen(ids.size(), 0);
    std::size_t n = 0;
    for (const auto& e : entries) {
        if (std::isnan(e.value) || seen[e.i]) continue;
        seen[e.i] = 1;
        ++n;
    }
    return n;
}

int covariance_block::find(std::string_view id) const {
    for (std::size_t k = 0; k < ids.size(); ++k)
        if (ids[k] == id) return static_cast<int>(k);
    return -1;
}

covariance_block::matrix covariance_block::to_matrix(const std::vector<char>& keep) const {
    SCPX_ASSERT(keep.empty() || keep.size() == ids.size());
    matrix m;
    std::vector<int> pos(ids.size(), -1);
    auto wanted = [&](const entry& e) {
        if (std::isnan(e.value)) return false;
        return keep.empty() || (keep[e.i] && keep[e.j]);
    };
    for (const auto& e : entries) {
        if (!wanted(e) || pos[e.i] >= 0) continue;
        pos[e.i] = static_cast<int>(m.snps.size());
        m.snps.push_back(e.i);
    }
    const auto n = static_cast<Eigen::Index>(m.snps.size());
    m.values = Eigen::MatrixXd::Constant(n, n, kNaN);
    for (const auto& e : entries) {
        if (!wanted(e)) continue;
        const int a = pos[e.i], b = pos[e.j];
        if (a < 0 || b < 0) continue;
        m.values(a, b) = e.value;
        m.values(b, a) = e.value;
    }
    for (Eigen::Index c = 0; c < n; ++c)
        for (Eigen::Index r = 0; r < n; ++r)
            if (std::isnan(m.values(r, c))) ++m.n_missing;
    return m;
}

// ---------------------------------------------------------------- reader

struct covariance_reader::impl {
    line_reader reader;
    std::function<bool(std::string_view)> filter;
    std::vector<std::string> header;
    std::size_t n_fields = 0;
    int c_gene = -1, c_id1 = -1, c_id2 = -1, c_value = -1;
    std::vector<std::string_view> fields;
    covariance_read_stats stats;
    std::unordered_map<std::string, std::uint64_t> seen_genes; // gene → first line
    std::string last_gene; // gene of the previous block (accepted or skipped)
    // One-row look-ahead: the first row of the next block, copied.
    bool have_pending = false;
    std::string pending;
    std::uint64_t pending_line = 0;
    // Per-block SNP interning.
    id_index index;

    impl(const std::string& path, std::function<bool(std::string_view)> f)
        : reader(path), filter(std::move(f)) {}

    const std::string& file() const { return reader.path(); }

    // Next non-blank data line, split into fields; false at EOF.
    bool fetch(std::string_view& line, std::uint64_t& ln) {
        if (have_pending) {
            have_pending = false;
            line = pending;
            ln = pending_line;
        } else {
            do {
                if (!reader.next(line)) return false;
            } while (trim(line).empty());
            ln = reader.line_number();
        }
        const std::size_t n = detail::split_blank(line, fields.data(), fields.size());
        if (n < n_fields)
            throw input_error(file(), "line " + std::to_string(ln), header[n],
                              "missing: expected " + std::to_string(n_fields) +
                                  " fields (as in the header), found " + std::to_string(n));
        if (n > n_fields)
            throw input_error(file(), "line " + std::to_string(ln), "",
                              "expected " + std::to_string(n_fields) + " fields (as in the header), found " +
                                  std::to_string(n) + " (a field more than the header's '" +
                                  detail::printable(header.back()) + "')");
        return true;
    }

    void push_back_pending(std::string_view line, std::uint64_t ln) {
        pending.assign(line.data(), line.size());
        pending_line = ln;
        have_pending = true;
    }

    std::uint32_t intern(std::string_view id, std::vector<std::string>& ids) {
        const std::uint32_t k = index.insert(id);
        if (k == ids.size()) ids.emplace_back(id);
        return k;
    }

    // A block starts: checks contiguity and remembers the gene.
    void start_gene(std::string_view gene, std::uint64_t ln) {
        auto r = seen_genes.emplace(std::string(gene), ln);
        if (!r.second)
            throw input_error(file(), "line " + std::to_string(ln), "GENE",
                              "rows of gene '" + std::string(gene) +
                                  "' are not contiguous (its first block started at line " +
                                  std::to_string(r.first->second) +
                                  "); each gene's rows must be together, as MetaXcan requires too: sort the "
                                  "rows by GENE keeping their order within a gene, e.g. (head -n 1 F; tail -n "
                                  "+2 F | sort -s -k1,1) > F.sorted");
        last_gene.assign(gene.data(), gene.size());
    }

    // A pair may be given once, or once in each orientation (a file holding both triangles of
    // the matrix, which MetaXcan reads: the later row wins there as in to_matrix, and an NA row
    // is skipped). Two orientations more than rounding apart are counted for a warning. A pair
    // repeated in one orientation is refused (MetaXcan refuses identical rows, and otherwise
    // keeps whichever row came last: a sign of a file put together twice).
    static std::string number(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.10g", v);
        return buf;
    }

    void check_duplicates(const covariance_block& b) {
        const std::size_t n = b.ids.size();
        const auto check = [&](const covariance_block::entry& first, const covariance_block::entry& e) {
            if (first.i == e.j && first.j == e.i && e.i != e.j) {
                const double x = first.value, y = e.value;
                if (!std::isnan(x) && !std::isnan(y) &&
                    std::fabs(x - y) > 1e-6 * std::max(std::fabs(x), std::fabs(y)) &&
                    stats.asymmetric_pairs++ == 0)
                    stats.first_asymmetric = "line " + std::to_string(first.line) + ": (" + b.ids[first.i] +
                                             ", " + b.ids[first.j] + ") = " + number(x) + ", line " +
                                             std::to_string(e.line) + ": (" + b.ids[e.i] + ", " + b.ids[e.j] +
                                             ") = " + number(y);
                return;
            }
            throw input_error(file(), "line " + std::to_string(e.line), "RSID2",
                              "duplicated pair (" + b.ids[e.i] + ", " + b.ids[e.j] + ") for gene '" + b.gene +
                                  "' (first given at line " + std::to_string(first.line) + ")");
        };
        // Per ordered pair (i, j): the row that gave it; a second row of (i, j) is a duplicate, a
        // row of (j, i) is compared with the (i, j) row.
        if (n <= 2048) {
            std::vector<std::uint32_t> seen(n * n, 0); // entry index + 1
            for (std::size_t k = 0; k < b.entries.size(); ++k) {
                const auto& e = b.entries[k];
                if (const auto same = seen[e.i * n + e.j])
                    check(b.entries[same - 1], e);
                else if (const auto mirror = seen[e.j * n + e.i])
                    check(b.entries[mirror - 1], e);
                seen[e.i * n + e.j] = static_cast<std::uint32_t>(k + 1);
            }
        } else {
            std::unordered_map<std::uint64_t, std::size_t> seen;
            const auto key = [](std::uint64_t i, std::uint64_t j) { return (i << 32) | j; };
            for (std::size_t k = 0; k < b.entries.size(); ++k) {
                const auto& e = b.entries[k];
                if (auto it = seen.find(key(e.i, e.j)); it != seen.end())
                    check(b.entries[it->second], e);
                else if (auto m = seen.find(key(e.j, e.i)); m != seen.end())
                    check(b.entries[m->second], e);
                seen.emplace(key(e.i, e.j), k);
            }
        }
    }
};

covariance_reader::covariance_reader(const std::string& path,
                                     std::function<bool(std::string_view)> gene_filter)
    : impl_(std::make_unique<impl>(path, std::move(gene_filter))) {
    auto& s = *impl_;
    std::string_view line = detail::strip_bom(s.reader.header("GENE RSID1 RSID2 VALUE"));
    detail::require_text_header(line, path, s.reader.line_number(), "GENE RSID1 RSID2 VALUE");
    std::vector<std::string_view> hv;
    split_fields(line, delimiter::WHITESPACE, hv);
    for (auto f : hv)
        s.header.emplace_back(f);
    s.n_fields = s.header.size();
    s.fields.resize(s.n_fields);
    s.c_gene = detail::find_column(s.header, "GENE");
    s.c_id1 = detail::find_column(s.header, "RSID1");
    s.c_id2 = detail::find_column(s.header, "RSID2");
    s.c_value = detail::find_column(s.header, "VALUE");
    if (s.c_gene < 0) detail::throw_missing_column(path, "GENE", s.header);
    if (s.c_id1 < 0) detail::throw_missing_column(path, "RSID1", s.header);
    if (s.c_id2 < 0) detail::throw_missing_column(path, "RSID2", s.header);
    if (s.c_value < 0) detail::throw_missing_column(path, "VALUE", s.header);
}

covariance_reader::~covariance_reader() = default;

bool covariance_reader::next(covariance_block& block) {
    auto& s = *impl_;
    std::string_view line;
    std::uint64_t ln = 0;
    for (;;) {
        if (!s.fetch(line, ln)) return false;
        ++s.stats.rows;
        const std::string_view gene = s.fields[s.c_gene];
        s.start_gene(gene, ln);
        const bool accept = !s.filter || s.filter(gene);
        if (!accept) {
            // Skip the whole block without parsing values.
            ++s.stats.genes_skipped;
            ++s.stats.rows_skipped;
            for (;;) {
                if (!s.fetch(line, ln)) {
                    return false;
                }
                if (s.fields[s.c_gene] != s.last_gene) {
                    s.push_back_pending(line, ln);
                    break;
                }
                ++s.stats.rows;
                ++s.stats.rows_skipped;
            }
            continue;
        }

        block.gene.assign(gene.data(), gene.size());
        block.ids.clear();
        block.entries.clear();
        block.first_line = ln;
        s.index.clear();
        std::uint32_t prev_i = UINT32_MAX, prev_j = UINT32_MAX;
        for (bool first_row = true;; first_row = false) {
            if (!first_row) {
                if (!s.fetch(line, ln)) break;
                if (s.fields[s.c_gene] != block.gene) {
                    s.push_back_pending(line, ln);
                    break;
                }
                ++s.stats.rows;
            }
            const std::string_view id1 = s.fields[s.c_id1];
            const std::string_view id2 = s.fields[s.c_id2];
            // Upper-triangle files repeat RSID1 and walk RSID2 through the SNP list: try the
            // obvious guesses before hashing.
            std::uint32_t i, j;
            if (prev_i != UINT32_MAX && block.ids[prev_i] == id1)
                i = prev_i;
            else
                i = s.intern(id1, block.ids);
            if (prev_j != UINT32_MAX && prev_j + 1 < block.ids.size() && block.ids[prev_j + 1] == id2)
                j = prev_j + 1;
            else if (id2 == id1)
                j = i;
            else
                j = s.intern(id2, block.ids);
            prev_i = i;
            prev_j = j;
            const std::string_view vt = s.fields[s.c_value];
            double v;
            if (!detail::try_parse_double(vt, v)) v = detail::parse_double_or_na(vt, s.file(), ln, "VALUE");
            // inf (or 1e400) would give var_g = inf and a zscore of 0 or NaN that looks like a
            // result; no covariance builder writes one, so it is a damaged file.
            if (std::isinf(v))
                throw input_error(s.file(), "line " + std::to_string(ln), "VALUE",
                                  "not a finite number ('" + detail::printable(vt) +
                                      "'); a covariance must be a finite number or NA");
            if (std::isnan(v)) ++s.stats.na_values;
            block.entries.push_back({i, j, v, ln});
        }
        s.check_duplicates(block);
        ++s.stats.genes;
        return true;
    }
}

const covariance_read_stats& covariance_reader::stats() const {
    return impl_->stats;
}
const std::string& covariance_reader::path() const {
    return impl_->reader.path();
}

std::unordered_map<std::string, covariance_block> read_covariance_genes(const std::string& path,
                                                                        const std::vector<std::string>& genes,
                                                                        covariance_read_stats* stats) {
    std::unordered_set<std::string_view> wanted(genes.begin(), genes.end());
    std::function<bool(std::string_view)> filter;
    if (!genes.empty()) filter = [&wanted](std::string_view g) { return wanted.count(g) > 0; };
    covariance_reader r(path, filter);
    std::unordered_map<std::string, covariance_block> out;
    covariance_block b;
    while (r.next(b)) {
        std::string key = b.gene;
        out.emplace(std::move(key), std::move(b));
        b = covariance_block();
    }
    if (stats) *stats = r.stats();
    return out;
}

// ---------------------------------------------------------------- writer

void append_double(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NA";
        return;
    }
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    SCPX_ASSERT(res.ec == std::errc());
    out.append(buf, res.ptr);
}

covariance_writer::covariance_writer(const std::string& path, bool overwrite)
    : out_(std::make_unique<text_writer>(path, overwrite)) {
    out_->write("GENE RSID1 RSID2 VALUE\n");
}

covariance_writer::~covariance_writer() = default;

void covariance_writer::write_gene(std::string_view gene, const std::vector<std::string>& snps,
                                   const Eigen::Ref<const Eigen::MatrixXd>& cov) {
    const auto n = static_cast<Eigen::Index>(snps.size());
    SCPX_ASSERT(cov.rows() == n && cov.cols() == n);
    for (Eigen::Index a = 0; a < n; ++a) {
        buf_.clear();
        for (Eigen::Index b = a; b < n; ++b) {
            buf_.append(gene.data(), gene.size());
            buf_ += ' ';
            buf_ += snps[static_cast<std::size_t>(a)];
            buf_ += ' ';
            buf_ += snps[static_cast<std::size_t>(b)];
            buf_ += ' ';
            append_double(buf_, cov(a, b));
            buf_ += '\n';
        }
        out_->write(buf_);
    }
}

void covariance_writer::write_block(const covariance_block& block) {
    buf_.clear();
    for (const covariance_block::entry& e : block.entries) {
        buf_ += block.gene;
        buf_ += ' ';
        buf_ += block.ids[e.i];
        buf_ += ' ';
        buf_ += block.ids[e.j];
        buf_ += ' ';
        append_double(buf_, e.value);
        buf_ += '\n';
        if (buf_.size() > (1u << 16)) {
            out_->write(buf_);
            buf_.clear();
        }
    }
    out_->write(buf_);
}

void covariance_writer::close() {
    out_->close();
}

} // namespace scpx::io
