#include "scpx/io/gene_annotation.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace scpx::io {

namespace {

std::string strip_compression_suffix(const std::string& path) {
    for (const char* ext : {".gz", ".bgz", ".GZ"}) {
        if (ends_with(path, ext)) return path.substr(0, path.size() - std::string(ext).size());
    }
    return path;
}

char parse_strand(std::string_view text, const std::string& file, const std::string& where,
                  const std::string& field) {
    const std::string_view t = trim(text);
    if (t == "+" || t == "1" || t == "+1") return '+';
    if (t == "-" || t == "-1") return '-';
    if (t == "." || t == "?" || is_missing_token(t)) return '.';
    throw input_error(file, where, field,
                      "strand must be '+', '-' or '.', got '" + std::string(t) + "'");
}

std::int64_t parse_position(std::string_view text, const std::string& file,
                            const std::string& where, const std::string& field) {
    const std::int64_t v = parse_int(trim(text), file, where, field);
    if (v < 1) {
        throw input_error(file, where, field,
                          "positions are 1-based and must be >= 1, got " + std::to_string(v));
    }
    return v;
}

void set_tss(gene_record& g) { g.tss = g.strand == '-' ? g.end : g.start; }

// Up to `max` names of `names`, comma-separated, for messages.
std::string some_of(const std::set<std::string>& names, std::size_t max = 8) {
    std::string out;
    std::size_t n = 0;
    for (const auto& t : names) {
        if (n++ == max) { out += ", ..."; break; }
        out += (out.empty() ? "" : ", ") + t;
    }
    return out;
}

// The gene-type filter and the caller's `keep`, applied while reading so that the duplicate-id
// check sees only the genes that are kept: a second record of an id of a dropped type, or on a
// contig the caller drops (UCSC-style chrUn/_random/_alt copies), is no conflict. Remembers the
// types it saw, so a type filter that keeps nothing (likely a typo) can say what the file has.
class gene_filter {
public:
    gene_filter(std::string path, const annotation_options& opt)
        : path_(std::move(path)), types_(opt.gene_types.begin(), opt.gene_types.end()), keep_(opt.keep),
          dropped_by_type_(opt.dropped_by_type) {}

    bool keeps(const gene_record& g) {
        if (!g.gene_type.empty()) types_seen_.insert(g.gene_type);
        if (!types_.empty() && types_.count(g.gene_type) == 0) {
            if (dropped_by_type_) dropped_by_type_(g);
            return false;
        }
        ++kept_by_type_;
        return !keep_ || keep_(g);
    }

    /// @throws usage_error when the gene-type filter leaves no gene (what the caller's `keep`
    ///         drops is the caller's to report).
    void check_some_kept() const {
        if (kept_by_type_ > 0 || types_.empty()) return;
        if (types_seen_.empty()) {
            throw usage_error("'" + path_ + "' gives no gene type, so it cannot be filtered by gene "
                              "type; drop the gene-type filter or use an annotation with gene_type");
        }
        throw usage_error("no gene of type " + some_of(types_, types_.size()) + " in '" + path_ +
                          "' (types present: " + some_of(types_seen_) + ")");
    }

private:
    std::string path_;
    std::set<std::string> types_, types_seen_;
    std::function<bool(const gene_record&)> keep_;
    std::function<void(const gene_record&)> dropped_by_type_;
    std::size_t kept_by_type_ = 0;
};

// GTF: `key "value"; key "value";`. GFF3: `key=value;key=value` with %XX escapes.
std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() &&
            std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// A GTF value is `"quoted"` (no quote inside) or a bare word such as `2`; anything else means
// a quote is missing, and the id read from such a line would be garbage.
bool gtf_value_ok(std::string_view v) {
    if (v.empty() || v.front() != '"') return v.find('"') == std::string_view::npos;
    return v.size() >= 2 && v.back() == '"' &&
           v.substr(1, v.size() - 2).find('"') == std::string_view::npos;
}

std::map<std::string, std::string> parse_attributes(std::string_view text, bool gff3,
                                                    const std::string& file,
                                                    const std::string& where) {
    std::map<std::string, std::string> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t semi = text.find(';', pos);
        // A ';' inside a quoted GTF value does not end the attribute.
        if (!gff3) {
            std::size_t q = text.find('"', pos);
            if (q != std::string_view::npos && q < semi) {
                const std::size_t q2 = text.find('"', q + 1);
                if (q2 != std::string_view::npos) semi = text.find(';', q2);
            }
        }
        const std::string_view item =
            trim(text.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
        if (!item.empty()) {
            std::string key, value;
            if (gff3) {
                const std::size_t eq = item.find('=');
                key = std::string(trim(item.substr(0, eq)));
                if (eq != std::string_view::npos) value = percent_decode(trim(item.substr(eq + 1)));
            } else {
                const std::size_t sp = item.find_first_of(" \t");
                key = std::string(item.substr(0, sp));
                if (sp != std::string_view::npos) {
                    std::string_view v = trim(item.substr(sp + 1));
                    if (!gtf_value_ok(v) || key.find('"') != std::string::npos) {
                        throw input_error(file, where, "attributes",
                                          "unbalanced quotes in '" +
                                              std::string(item.substr(0, 80)) +
                                              "'; GTF attributes are written key \"value\";");
                    }
                    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                        v = v.substr(1, v.size() - 2);
                    }
                    value = std::string(v);
                }
            }
            out.emplace(std::move(key), std::move(value)); // first occurrence wins
        }
        if (semi == std::string_view::npos) break;
        pos = semi + 1;
    }
    return out;
}

std::string first_of(const std::map<std::string, std::string>& a,
                     std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
        auto it = a.find(k);
        if (it != a.end() && !it->second.empty()) return it->second;
    }
    return {};
}

// Every gene id once: a second record of the same id would give two output rows of one name
// (and a model lookup that picks one at random).
class unique_ids {
public:
    explicit unique_ids(std::string path) : path_(std::move(path)) {}
    void add(const std::string& id, const std::string& where, const std::string& field) {
        const auto [it, fresh] = first_.emplace(id, where);
        if (!fresh) {
            throw input_error(path_, where, field,
                              "gene id '" + id + "' appears a second time (first at " +
                                  it->second + "); each gene must be listed once");
        }
    }

private:
    std::string path_;
    std::unordered_map<std::string, std::string> first_; // id -> "line N"
};

std::vector<gene_record> read_gff_like(const std::string& path, const annotation_options& opt,
                                       bool gff3) {
    line_reader in(path);
    std::string line;
    std::vector<std::string_view> f;
    std::vector<gene_record> genes;
    unique_ids ids(path);
    gene_filter filter(path, opt);
    std::size_t gene_lines = 0;
    bool any_line = false;
    while (in.next(line)) {
        if (line.empty()) continue;
        any_line = true;
        if (line[0] == '#') {
            if (gff3 && starts_with(line, "##FASTA")) break;
            continue;
        }
        const std::string where = in.where();
        split_fields(line, delimiter::TAB, f);
        if (f.size() != 9) {
            throw input_error(path, where, "",
                              "expected 9 tab-separated columns (" +
                                  std::string(gff3 ? "GFF3" : "GTF") + "), found " +
                                  std::to_string(f.size()));
        }
        if (f[2] != "gene") continue;
        gene_record g;
        g.chrom = std::string(f[0]);
        if (g.chrom.empty()) throw input_error(path, where, "seqname", "empty chromosome name");
        g.start = parse_position(f[3], path, where, "start");
        g.end = parse_position(f[4], path, where, "end");
        if (g.end < g.start) {
            throw input_error(path, where, "end",
                              "end " + std::to_string(g.end) + " is before start " +
                                  std::to_string(g.start));
        }
        g.strand = parse_strand(f[6], path, where, "strand");
        // The TSS is the start on '+' and the end on '-': without a strand it is unknown.
        if (g.strand == '.') {
            throw input_error(path, where, "strand",
                              "gene without a strand ('" + std::string(f[6]) +
                                  "'): its TSS is undefined; give '+' or '-'");
        }
        const auto attr = parse_attributes(f[8], gff3, path, where);
        if (gff3) {
            g.gene_id = first_of(attr, {"gene_id", "ID"});
            if (starts_with(g.gene_id, "gene:")) g.gene_id.erase(0, 5);
            g.gene_name = first_of(attr, {"gene_name", "Name"});
            g.gene_type = first_of(attr, {"gene_type", "biotype", "gene_biotype"});
        } else {
            g.gene_id = first_of(attr, {"gene_id"});
            g.gene_name = first_of(attr, {"gene_name"});
            g.gene_type = first_of(attr, {"gene_type", "gene_biotype"});
        }
        if (g.gene_id.empty()) {
            throw input_error(path, where, gff3 ? "ID" : "gene_id",
                              "gene record without a gene id attribute");
        }
        ++gene_lines;
        set_tss(g); // before the filters: `keep` sees whole records
        if (!filter.keeps(g)) continue;
        ids.add(g.gene_id, where, gff3 && attr.count("gene_id") == 0 ? "ID" : "gene_id");
        genes.push_back(std::move(g));
    }
    if (!any_line) throw input_error(path, "", "", "the file is empty");
    if (gene_lines == 0) {
        throw input_error(path, "", "feature",
                          "no 'gene' features found (is this a " +
                              std::string(gff3 ? "GFF3" : "GTF") + " file with gene records?)");
    }
    filter.check_some_kept();
    return genes;
}

// Column roles of a gene table, with the header spellings accepted for each.
enum role { R_ID, R_CHROM, R_TSS, R_START, R_END, R_STRAND, R_NAME, R_TYPE, R_COUNT };

const std::vector<std::vector<std::string>>& role_names() {
    static const std::vector<std::vector<std::string>> names = {
        {"gene_id", "gene", "geneid", "ensembl_gene_id", "ensembl_id"},
        {"chr", "chrom", "chromosome", "seqnames", "seqname"},
        {"tss", "tss_pos", "tss_position", "position", "pos"},
        {"start", "gene_start", "start_position"},
        {"end", "gene_end", "end_position"},
        {"strand"},
        {"gene_name", "genename", "name", "symbol", "gene_symbol"},
        {"gene_type", "genetype", "type", "biotype", "gene_biotype"},
    };
    return names;
}

const char* role_label(int r) {
    static const char* labels[] = {"gene_id", "chr", "tss", "start", "end",
                                   "strand", "gene_name", "gene_type"};
    return labels[r];
}

} // namespace

std::vector<gene_record> read_gtf(const std::string& path, const annotation_options& options) {
    return read_gff_like(path, options, false);
}

std::vector<gene_record> read_gff3(const std::string& path, const annotation_options& options) {
    return read_gff_like(path, options, true);
}

std::vector<gene_record> read_gene_table(const std::string& path,
                                         const annotation_options& options) {
    line_reader in(path);
    std::string line;
    // Header: first line that is neither empty nor a "##" comment.
    bool got = false;
    while (in.next(line)) {
        if (trim(line).empty() || starts_with(line, "##")) continue;
        got = true;
        break;
    }
    if (!got) throw input_error(path, "", "", "the file is empty (no header line)");
    const std::string header_where = in.where();
    const delimiter delim = detect_delimiter(line);
    std::vector<std::string_view> f;
    split_fields(line, delim, f);
    const std::size_t n_cols = f.size();

    int col[R_COUNT];
    std::fill(col, col + R_COUNT, -1);
    std::vector<std::string> header_names;
    for (std::size_t c = 0; c < f.size(); ++c) {
        std::string name = to_lower(trim(f[c]));
        if (c == 0 && starts_with(name, "#")) name.erase(0, 1);
        header_names.push_back(name);
        for (int r = 0; r < R_COUNT; ++r) {
            const auto& acc = role_names()[static_cast<std::size_t>(r)];
            if (col[r] < 0 && std::find(acc.begin(), acc.end(), name) != acc.end()) {
                col[r] = static_cast<int>(c);
                break;
            }
        }
    }
    bool headerless = false;
    std::string pending; // first data line of a headerless file
    if (col[R_ID] < 0 && col[R_CHROM] < 0 && f.size() >= 3) {
        // No recognised name at all: a headerless `gene_id chrom tss [strand] [gene_name]`?
        bool numeric = !trim(f[2]).empty();
        for (char ch : trim(f[2])) numeric = numeric && std::isdigit(static_cast<unsigned char>(ch));
        if (numeric) {
            headerless = true;
            col[R_ID] = 0;
            col[R_CHROM] = 1;
            col[R_TSS] = 2;
            if (f.size() > 3) col[R_STRAND] = 3;
            if (f.size() > 4) col[R_NAME] = 4;
            pending = line;
        }
    }
    std::string header_text;
    for (const auto& h : header_names) header_text += (header_text.empty() ? "" : " ") + h;
    auto missing_column = [&](int r) {
        std::string acc;
        for (const auto& a : role_names()[static_cast<std::size_t>(r)]) {
            acc += (acc.empty() ? "" : ", ") + a;
        }
        return input_error(path, header_where, role_label(r),
                           std::string("missing required column '") + role_label(r) +
                               "' (accepted names: " + acc + "); the header is: " + header_text);
    };
    if (col[R_ID] < 0) throw missing_column(R_ID);
    if (col[R_CHROM] < 0) throw missing_column(R_CHROM);
    if (col[R_TSS] < 0 && (col[R_START] < 0 || col[R_END] < 0)) {
        throw input_error(path, header_where, "tss",
                          "need a 'tss' column or both 'start' and 'end' columns; the header "
                          "is: " + header_text);
    }

    // Messages name the column as the file spells it.
    auto colname = [&](int r) {
        return headerless ? std::string(role_label(r)) : header_names[static_cast<std::size_t>(col[r])];
    };
    std::vector<gene_record> genes;
    unique_ids ids(path);
    gene_filter filter(path, options);
    std::size_t rows = 0;
    auto parse_row = [&](const std::string& text, const std::string& where) {
        split_fields(text, delim, f);
        if (f.size() != n_cols) {
            throw input_error(path, where, "",
                              "expected " + std::to_string(n_cols) + " fields (as the " +
                                  (headerless ? "first line" : "header") + "), found " +
                                  std::to_string(f.size()));
        }
        auto field = [&](int r) { return trim(f[static_cast<std::size_t>(col[r])]); };
        gene_record g;
        g.gene_id = std::string(field(R_ID));
        if (is_missing_token(g.gene_id)) throw input_error(path, where, colname(R_ID), "missing gene id");
        g.chrom = std::string(field(R_CHROM));
        if (is_missing_token(g.chrom)) throw input_error(path, where, colname(R_CHROM), "missing chromosome");
        if (col[R_STRAND] >= 0) g.strand = parse_strand(field(R_STRAND), path, where, colname(R_STRAND));
        if (col[R_NAME] >= 0 && !is_missing_token(field(R_NAME))) g.gene_name = field(R_NAME);
        if (col[R_TYPE] >= 0 && !is_missing_token(field(R_TYPE))) g.gene_type = field(R_TYPE);
        const bool has_range = col[R_START] >= 0 && col[R_END] >= 0;
        if (has_range) {
            g.start = parse_position(field(R_START), path, where, colname(R_START));
            g.end = parse_position(field(R_END), path, where, colname(R_END));
            if (g.end < g.start) {
                throw input_error(path, where, colname(R_END),
                                  "end " + std::to_string(g.end) + " is before start " +
                                      std::to_string(g.start));
            }
        }
        if (col[R_TSS] >= 0) {
            g.tss = parse_position(field(R_TSS), path, where, colname(R_TSS));
            if (!has_range) g.start = g.end = g.tss;
        } else {
            set_tss(g);
        }
        ++rows;
        if (!filter.keeps(g)) return;
        ids.add(g.gene_id, where, colname(R_ID));
        genes.push_back(std::move(g));
    };
    if (headerless) parse_row(pending, header_where);
    while (in.next(line)) {
        if (trim(line).empty() || starts_with(line, "#")) continue;
        parse_row(line, in.where());
    }
    if (rows == 0) throw input_error(path, "", "", "the table has a header but no gene rows");
    filter.check_some_kept();
    return genes;
}

annotation_format detect_annotation_format(const std::string& path) {
    const std::string base = to_lower(strip_compression_suffix(path));
    if (ends_with(base, ".gtf")) return annotation_format::GTF;
    if (ends_with(base, ".gff3") || ends_with(base, ".gff")) return annotation_format::GFF3;
    line_reader in(path);
    std::string line;
    std::vector<std::string_view> f;
    while (in.next(line)) {
        if (trim(line).empty()) continue;
        if (starts_with(line, "##gff-version 3")) return annotation_format::GFF3;
        if (starts_with(line, "#")) continue;
        split_fields(line, delimiter::TAB, f);
        if (f.size() == 9) {
            const bool num = !f[3].empty() && !f[4].empty() &&
                             std::all_of(f[3].begin(), f[3].end(), ::isdigit) &&
                             std::all_of(f[4].begin(), f[4].end(), ::isdigit);
            if (num) {
                const bool quoted = f[8].find('"') != std::string_view::npos;
                const bool eq = f[8].find('=') != std::string_view::npos;
                return eq && !quoted ? annotation_format::GFF3 : annotation_format::GTF;
            }
        }
        return annotation_format::TABLE;
    }
    throw input_error(path, "", "", "the file is empty");
}

std::vector<gene_record> read_gene_annotation(const std::string& path,
                                              const annotation_options& options) {
    annotation_format fmt = options.format;
    if (fmt == annotation_format::AUTO) fmt = detect_annotation_format(path);
    std::vector<gene_record> genes;
    switch (fmt) {
    case annotation_format::GTF: genes = read_gtf(path, options); break;
    case annotation_format::GFF3: genes = read_gff3(path, options); break;
    case annotation_format::TABLE:
    case annotation_format::AUTO: genes = read_gene_table(path, options); break;
    }
    SCPX_LOG_DBG("read {} genes from {}", genes.size(), path);
    return genes;
}

std::string strip_gene_version(std::string_view gene_id) {
    const std::size_t dot = gene_id.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return std::string(gene_id);
    std::size_t e = dot + 1;
    while (e < gene_id.size() && std::isdigit(static_cast<unsigned char>(gene_id[e]))) ++e;
    if (e == dot + 1) return std::string(gene_id); // no digits after the dot
    const std::string_view rest = gene_id.substr(e);
    if (!rest.empty() && rest.front() != '_') return std::string(gene_id);
    return std::string(gene_id.substr(0, dot)) + std::string(rest);
}

} // namespace scpx::io
