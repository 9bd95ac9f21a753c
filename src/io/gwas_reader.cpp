#include "scpx/io/gwas_reader.hpp"

#include "field_parse.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <algorithm>
#include <cctype>

namespace scpx::io {

using detail::kNaN;

gwas_columns::z_source_kind gwas_columns::z_source() const {
    if (snp.empty()) throw usage_error("a SNP column must be given (--snp_column)");
    if (effect_allele.empty())
        throw usage_error("an effect allele column must be given (--effect_allele_column)");
    if (non_effect_allele.empty())
        throw usage_error("a non-effect allele column must be given (--non_effect_allele_column)");
    if (!zscore.empty()) return z_source_kind::ZSCORE;
    if (!pvalue.empty()) {
        if (!beta.empty() || !odds_ratio.empty() || !beta_sign.empty()) return z_source_kind::PVALUE;
        throw usage_error("with --pvalue_column, also give --beta_column, --or_column or "
                          "--beta_sign_column (the sign of z comes from one of them)");
    }
    if (!se.empty()) {
        if (!beta.empty() || !odds_ratio.empty()) return z_source_kind::BETA_OVER_SE;
        throw usage_error("with --se_column, also give --beta_column or --or_column");
    }
    throw usage_error("cannot derive z-scores: give --zscore_column, or --pvalue_column with one "
                      "of --beta_column/--or_column/--beta_sign_column, or --se_column with "
                      "--beta_column/--or_column");
}

namespace {

// Column slots, in the order of the numeric fields of gwas_row.
enum slot : int {
    S_SNP,
    S_EA,
    S_NEA,
    S_CHR,
    S_SIGN, // text
    S_Z,
    S_BETA,
    S_SE,
    S_OR,
    S_P,
    S_POS,
    S_FRQ, // numbers
    S_COUNT
};

// Line ends: WHITESPACE splitting ignores blanks anyway; COMMA drops surrounding blanks; TAB
// drops only spaces, so a trailing empty field ("...\t") stays a field (NA) instead of
// silently changing the field count.
std::string_view strip_for(std::string_view line, delimiter d) {
    if (d == delimiter::WHITESPACE) return line;
    if (d == delimiter::COMMA) return trim(line);
    size_t b = 0, e = line.size();
    while (b < e && line[b] == ' ')
        ++b;
    while (e > b && line[e - 1] == ' ')
        --e;
    return line.substr(b, e - b);
}

// pandas.read_csv (quotechar '"') reads "rs1" as rs1 and "a""b" as a"b; MetaXcan's GWAS
// readers go through it. Only a whole quoted field is unquoted (no delimiters inside quotes).
std::string_view unquote(std::string_view f, std::string& buf) {
    if (f.size() < 2 || f.front() != '"' || f.back() != '"') return f;
    f = f.substr(1, f.size() - 2);
    if (f.find('"') == std::string_view::npos) return f;
    buf.clear();
    for (size_t i = 0; i < f.size(); ++i) {
        buf += f[i];
        if (f[i] == '"' && i + 1 < f.size() && f[i + 1] == '"') ++i;
    }
    return buf;
}

// MetaXcan's --skip_until_header: the header is the first line that holds `marker`, read from the
// marker on. What precedes the marker on that line is dropped and, as in Python's
// `line.split(marker)[1]`, so is anything from a second occurrence on; earlier lines are skipped.
std::string find_marked_header(line_reader& reader, const std::string& marker) {
    std::string_view line;
    while (reader.next(line)) {
        const auto at = line.find(marker);
        if (at == std::string_view::npos) continue;
        const std::string_view rest = line.substr(at + marker.size());
        return marker + std::string(rest.substr(0, rest.find(marker)));
    }
    throw input_error(reader.path(), "", "",
                      "no line contains the --skip_until_header text '" + marker +
                          "' (the header was not found)");
}

} // namespace

struct gwas_reader::impl {
    gwas_reader_options opt;
    line_reader reader;
    std::vector<std::string> header;
    delimiter delim = delimiter::WHITESPACE;
    int col[S_COUNT];
    std::string name[S_COUNT];
    size_t n_fields = 0;
    std::vector<std::string_view> fields;
    std::string ea_buf, nea_buf, snp_buf, header_buf;
    std::string quote_buf[S_COUNT]; // unquoted fields of the current row
    gwas_read_stats stats;

    impl(const std::string& path, gwas_reader_options o) : opt(std::move(o)), reader(path) {}
};

gwas_reader::gwas_reader(const std::string& path, gwas_reader_options options)
    : impl_(std::make_unique<impl>(path, std::move(options))) {
    auto& s = *impl_;
    // Blank lines before the header are tolerated; a file without any line is an error.
    std::string marked_header;
    std::string_view line;
    if (s.opt.skip_until_header.empty()) {
        line = detail::strip_bom(s.reader.header("a header naming the columns"));
    } else {
        marked_header = find_marked_header(s.reader, s.opt.skip_until_header);
        line = marked_header;
    }
    detail::require_text_header(line, path, s.reader.line_number(), "SNP A1 A2 ZSCORE ...");
    s.delim = s.opt.delim == delimiter::AUTO ? detect_delimiter(line) : s.opt.delim;
    // MetaXcan strips the line before splitting, which drops trailing blanks/tabs.
    std::vector<std::string_view> hv;
    split_fields(strip_for(line, s.delim), s.delim, hv);
    for (auto f : hv)
        s.header.emplace_back(unquote(trim(f), s.header_buf));
    s.n_fields = s.header.size();
    std::string repeated; // MetaXcan logs these too, and reads the first of each
    for (std::size_t i = 0; i < s.header.size(); ++i)
        if (detail::find_column(s.header, s.header[i]) < static_cast<int>(i) &&
            repeated.find("'" + s.header[i] + "'") == std::string::npos)
            repeated += (repeated.empty() ? "'" : ", '") + s.header[i] + "'";
    if (!repeated.empty())
        SCPX_LOG_WRN_SHARED(
            "{}: the header repeats column(s) {}; the first of each is read, as MetaXcan does", path,
            repeated);

    const gwas_columns& c = s.opt.columns;
    const std::string* names[S_COUNT] = {&c.snp,
                                         &c.effect_allele,
                                         &c.non_effect_allele,
                                         &c.chromosome,
                                         &c.beta_sign,
                                         &c.zscore,
                                         &c.beta,
                                         &c.se,
                                         &c.odds_ratio,
                                         &c.pvalue,
                                         &c.position,
                                         &c.frequency};
    const bool required[S_COUNT] = {true, true, true};
    for (int k = 0; k < S_COUNT; ++k) {
        s.name[k] = *names[k];
        s.col[k] = -1;
        if (names[k]->empty()) {
            if (required[k])
                throw usage_error("GWAS reader: the SNP, effect allele and non-effect allele "
                                  "column names must not be empty");
            continue;
        }
        s.col[k] = detail::find_column(s.header, *names[k]);
        if (s.col[k] < 0) detail::throw_missing_column(path, *names[k], s.header, "give --separator ,");
    }
}

gwas_reader::~gwas_reader() {
    if (impl_ && impl_->stats.bad_field_count > 0) {
        SCPX_LOG_WRN_SHARED("{}: skipped {} line(s) whose field count differs from the header's {} "
                            "(first: line {}), as MetaXcan does",
                            impl_->reader.path(), impl_->stats.bad_field_count, impl_->n_fields,
                            impl_->stats.first_bad_field_line);
    }
    if (impl_ && impl_->stats.odd_signs > 0) {
        SCPX_LOG_WRN_SHARED(
            "{}: {} beta sign(s) other than '+' or '-' count as negative, as MetaXcan reads them "
            "(first: {}); for a column of numbers give it as --beta_column instead",
            impl_->reader.path(), impl_->stats.odd_signs, impl_->stats.first_odd_sign);
    }
    if (impl_ && impl_->stats.decimal_commas > 0) {
        SCPX_LOG_WRN_SHARED("{}: read {} value(s) with a decimal comma as if it were a point, as MetaXcan "
                            "does (first: {}); if the commas separate thousands, fix the file",
                            impl_->reader.path(), impl_->stats.decimal_commas,
                            impl_->stats.first_decimal_comma);
    }
}

bool gwas_reader::next(gwas_row& row) {
    auto& s = *impl_;
    std::string_view line;
    for (;;) {
        if (!s.reader.next(line)) return false;
        if (line.empty()) continue;
        const std::string_view body = strip_for(line, s.delim);
        if (body.empty()) continue;
        ++s.stats.data_lines;
        const int snp_col = s.col[S_SNP];
        bool filtered = false;
        if (s.opt.snp_filter && s.delim == delimiter::WHITESPACE) {
            // Most rows are of SNPs nobody uses: test the SNP field before splitting the line.
            const char* p = body.data();
            const char* const e = p + body.size();
            std::string_view snp;
            for (int k = 0;; ++k) {
                while (p < e && (*p == ' ' || *p == '\t'))
                    ++p;
                if (p >= e) break;
                const char* start = p;
                p = detail::find_blank(p, e);
                if (k == snp_col) {
                    snp = std::string_view(start, static_cast<size_t>(p - start));
                    break;
                }
            }
            if (!snp.empty()) {
                if (!s.opt.snp_filter(unquote(snp, s.snp_buf))) {
                    ++s.stats.filtered_out;
                    continue;
                }
                filtered = true;
            }
        }
        if (s.delim == delimiter::WHITESPACE) {
            // Fast path; a line with more fields than the header is rejected below anyway.
            s.fields.resize(s.n_fields + 1);
            s.fields.resize(
                std::min(detail::split_blank(body, s.fields.data(), s.n_fields + 1), s.n_fields + 1));
        } else {
            split_fields(body, s.delim, s.fields);
        }
        const auto& f = s.fields;
        const std::uint64_t ln = s.reader.line_number();
        // MetaXcan applies the model-SNP filter before checking the field count.
        if (!filtered && s.opt.snp_filter && static_cast<size_t>(snp_col) < f.size() &&
            !s.opt.snp_filter(unquote(f[snp_col], s.snp_buf))) {
            ++s.stats.filtered_out;
            continue;
        }
        if (f.size() != s.n_fields) {
            if (s.stats.bad_field_count++ == 0) s.stats.first_bad_field_line = ln;
            continue;
        }
        // The selected fields, unquoted (views into the line or into quote_buf).
        std::string_view v[S_COUNT];
        for (int k = 0; k < S_COUNT; ++k)
            if (s.col[k] >= 0) v[k] = unquote(f[s.col[k]], s.quote_buf[k]);
        row.line = ln;
        row.snp = v[S_SNP];
        if (s.opt.upper_case_alleles) {
            auto up = [](std::string& buf, std::string_view allele) -> std::string_view {
                buf.assign(allele.data(), allele.size());
                for (auto& ch : buf)
                    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                return buf;
            };
            row.effect_allele = up(s.ea_buf, v[S_EA]);
            row.non_effect_allele = up(s.nea_buf, v[S_NEA]);
        } else {
            row.effect_allele = v[S_EA];
            row.non_effect_allele = v[S_NEA];
        }
        row.chromosome = v[S_CHR];
        if (s.col[S_SIGN] >= 0) {
            row.beta_sign_text = v[S_SIGN];
            row.beta_sign = row.beta_sign_text == "+" ? 1.0 : -1.0;
            if (row.beta_sign_text != "+" && row.beta_sign_text != "-" && s.stats.odd_signs++ == 0)
                s.stats.first_odd_sign = "line " + std::to_string(s.reader.line_number()) + ": '" +
                                         detail::printable(row.beta_sign_text) + "'";
        } else {
            row.beta_sign_text = std::string_view();
            row.beta_sign = kNaN;
        }
        double* out[] = {&row.zscore, &row.beta,     &row.se,       &row.odds_ratio,
                         &row.pvalue, &row.position, &row.frequency};
        for (int k = S_Z; k < S_COUNT; ++k) {
            const int ci = s.col[k];
            double& dst = *out[k - S_Z];
            if (ci < 0) {
                dst = kNaN;
                continue;
            }
            const std::string_view t = v[k];
            if (detail::try_parse_double(t, dst)) continue;
            if (detail::is_na_token(t)) {
                dst = kNaN;
                continue;
            }
            // MetaXcan's sanitize_component turns "1,5" into "1.5" (a comma cannot occur
            // inside a field of a comma-separated file).
            if (s.delim != delimiter::COMMA && detail::try_parse_decimal_comma(t, dst)) {
                if (s.stats.decimal_commas++ == 0)
                    s.stats.first_decimal_comma = "line " + std::to_string(ln) + ", field '" + s.name[k] +
                                                  "': '" + detail::printable(t) + "'";
                continue;
            }
            input_error bad(s.reader.path(), "line " + std::to_string(ln), s.name[k],
                            "not a number ('" + detail::printable(t) + "')");
            if (!s.opt.bad_number) throw bad;
            dst = kNaN;
            s.opt.bad_number(bad.what());
        }
        ++s.stats.rows;
        return true;
    }
}

const std::vector<std::string>& gwas_reader::header() const {
    return impl_->header;
}
delimiter gwas_reader::delim() const {
    return impl_->delim;
}
const gwas_read_stats& gwas_reader::stats() const {
    return impl_->stats;
}
const std::string& gwas_reader::path() const {
    return impl_->reader.path();
}

gwas_read_stats gwas_for_each(const std::string& path, const gwas_reader_options& options,
                              const std::function<void(const gwas_row&)>& fn) {
    gwas_reader r(path, options);
    gwas_row row{};
    while (r.next(row))
        fn(row);
    return r.stats();
}

} // namespace scpx::io
