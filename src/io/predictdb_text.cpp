#include "scpx/io/predictdb_text.hpp"

#include "field_parse.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace scpx::io {

namespace {

std::string line_str(std::uint64_t ln) {
    return "line " + std::to_string(ln);
}

void split_row(std::string_view line, delimiter d, std::vector<std::string_view>& out) {
    split_fields(d == delimiter::WHITESPACE ? line : trim(line), d, out);
}

// The header row's column names, trimmed (they outlive the line_reader's buffer).
std::vector<std::string> header_fields(std::string_view line, delimiter d) {
    std::vector<std::string_view> hv;
    split_row(line, d, hv);
    std::vector<std::string> header;
    header.reserve(hv.size());
    for (auto f : hv)
        header.emplace_back(trim(f));
    return header;
}

/// What a value of a feature row may be.
struct value_rules {
    bool allow_missing = false; ///< NA tokens, NaN and an empty field become NaN (else an error)
    bool dosage = false;        ///< an ALT dosage: 0..2, as the VCF reader requires of DS
};

// The VCF reader's DS tolerance (float rounding of 2 or 0 in converted files).
constexpr double kDosageMin = -1e-3, kDosageMax = 2.001;

// Shared by genotype and expression (features × samples): one feature per row.
sample_matrix read_feature_rows(const std::string& path, delimiter delim_opt,
                                const std::function<bool(std::string_view)>& filter,
                                const std::vector<std::string>& wanted_samples, value_rules rules,
                                bool unique_features, const char* what, const std::string& wanted_from = {}) {
    const bool allow_missing = rules.allow_missing;
    line_reader r(path);
    const std::string_view hline = r.header(what);
    const std::uint64_t header_line = r.line_number();
    const delimiter d = delim_opt == delimiter::AUTO ? detect_delimiter(hline) : delim_opt;
    const std::vector<std::string> header = header_fields(hline, d);
    sample_matrix m;
    std::vector<std::string_view> f;
    std::string_view line;
    bool have_row = r.next_non_blank(line);
    if (have_row) split_row(line, d, f);
    // R's write.table(row.names = TRUE) omits the header cell above the row names.
    const bool header_has_id = !(have_row && f.size() == header.size() + 1);
    const std::size_t first_sample = header_has_id ? 1 : 0;
    const std::size_t n_fields = header.size() + (header_has_id ? 0 : 1);
    std::vector<std::string> all_samples(header.begin() + static_cast<std::ptrdiff_t>(first_sample),
                                         header.end());
    {
        std::unordered_set<std::string> seen;
        for (std::size_t k = 0; k < all_samples.size(); ++k)
            if (all_samples[k].empty())
                // Its column would be read but match no sample: the data would be lost unseen.
                throw input_error(path, line_str(header_line), "column " + std::to_string(k + first_sample + 1),
                                  "empty column name in the header");
        for (const auto& s : all_samples)
            if (!seen.insert(s).second)
                throw input_error(path, line_str(header_line), s, "duplicated column name in the header");
    }
    // Field index (in a data row) of each kept sample.
    std::vector<std::size_t> cols;
    if (wanted_samples.empty()) {
        m.sample_ids = all_samples;
        for (std::size_t k = 0; k < all_samples.size(); ++k)
            cols.push_back(k + 1);
    } else {
        std::unordered_map<std::string, std::size_t> at;
        for (std::size_t k = 0; k < all_samples.size(); ++k)
            at.emplace(all_samples[k], k + 1);
        std::vector<std::string> missing;
        for (const auto& s : wanted_samples) {
            auto it = at.find(s);
            if (it == at.end()) {
                missing.push_back(s);
                continue;
            }
            cols.push_back(it->second);
            m.sample_ids.push_back(s);
        }
        if (!missing.empty()) {
            std::string list;
            for (std::size_t k = 0; k < missing.size() && k < 5; ++k)
                list += (k ? ", " : "") + missing[k];
            throw input_error(path, line_str(header_line), "",
                              std::to_string(missing.size()) +
                                  (wanted_from.empty() ? " requested sample(s)" : " sample(s) of " + wanted_from) +
                                  " not in the header, e.g. " + list);
        }
    }
    const std::size_t ns = cols.size();
    std::unordered_set<std::string> seen_features;
    while (have_row) {
        const std::uint64_t ln = r.line_number();
        if (f.size() != n_fields)
            throw input_error(path, line_str(ln), "",
                              "expected " + std::to_string(n_fields) + " fields (as in the header), found " +
                                  std::to_string(f.size()));
        const std::string_view id = trim(f[0]);
        if (!filter || filter(id)) {
            if (unique_features && !seen_features.emplace(id).second)
                throw input_error(path, line_str(ln), header_has_id ? header[0] : std::string("id"),
                                  "duplicated id '" + std::string(id) + "'");
            m.feature_ids.emplace_back(id);
            const std::size_t base = m.values.size();
            m.values.resize(base + ns);
            for (std::size_t k = 0; k < ns; ++k) {
                const std::string_view t = trim(f[cols[k]]);
                double v;
                if (!detail::try_parse_double(t, v)) {
                    const std::string& field = m.sample_ids[k];
                    v = allow_missing ? detail::parse_double_or_na(t, path, ln, field)
                                      : detail::parse_double_required(t, path, ln, field);
                }
                // "inf" and "nan" parse as numbers: an infinity is never a dosage or an
                // expression level, and a NaN is a missing value where none is allowed.
                if (std::isnan(v)) {
                    if (!allow_missing)
                        throw input_error(path, line_str(ln), m.sample_ids[k],
                                          "missing value ('" + std::string(t.substr(0, 40)) +
                                              "') where a number is required");
                } else if (!std::isfinite(v)) {
                    throw input_error(path, line_str(ln), m.sample_ids[k],
                                      "not a finite number ('" + std::string(t.substr(0, 40)) + "')");
                } else if (rules.dosage && !(v >= kDosageMin && v <= kDosageMax)) {
                    throw input_error(path, line_str(ln), m.sample_ids[k],
                                      "dosage " + std::string(t.substr(0, 40)) + " of variant " + std::string(id) +
                                          " is outside 0..2");
                }
                m.values[base + k] = v;
            }
        }
        have_row = r.next_non_blank(line);
        if (have_row) split_row(line, d, f);
    }
    return m;
}

} // namespace

sample_matrix read_genotype_dosages(const std::string& path, const genotype_read_options& options) {
    value_rules rules;
    rules.allow_missing = options.allow_missing;
    rules.dosage = true;
    return read_feature_rows(path, options.delim, options.variant_filter, options.samples, rules,
                             /*unique_features=*/true, "varID + sample ids", options.samples_from);
}

snp_annotation read_snp_annotation(const std::string& path, delimiter delim) {
    line_reader r(path);
    // A UTF-8 byte-order mark (Excel, some Windows editors) would hide the first column's name.
    const std::string_view hline = detail::strip_bom(r.header("chr pos varID ref_vcf alt_vcf rsid"));
    const delimiter d = delim == delimiter::AUTO ? detect_delimiter(hline) : delim;
    const std::vector<std::string> header = header_fields(hline, d);
    const int c_chr = detail::find_column_any(header, {"chr", "chromosome", "chrom", "CHR"});
    const int c_pos = detail::find_column_any(header, {"pos", "position", "POS"});
    const int c_var = detail::find_column_any(header, {"varID", "variant_id", "VariantID"});
    const int c_ref = detail::find_column_any(header, {"ref_vcf", "refAllele", "ref"});
    const int c_alt = detail::find_column_any(header, {"alt_vcf", "effectAllele", "alt"});
    const int c_rsid = detail::find_column_any(header, {"rsid", "rsid_dbSNP150", "rs_id_dbSNP150_GRCh38p7"});
    if (c_chr < 0) detail::throw_missing_column(path, "chr", header);
    if (c_pos < 0) detail::throw_missing_column(path, "pos", header);
    if (c_var < 0) detail::throw_missing_column(path, "varID", header);
    if (c_ref < 0) detail::throw_missing_column(path, "ref_vcf", header);
    if (c_alt < 0) detail::throw_missing_column(path, "alt_vcf", header);
    if (c_rsid < 0) detail::throw_missing_column(path, "rsid", header);

    snp_annotation a;
    std::unordered_set<std::string> seen;
    std::vector<std::string_view> f;
    std::string_view line;
    std::uint64_t first_dup_line = 0;
    while (r.next_non_blank(line)) {
        split_row(line, d, f);
        const std::uint64_t ln = r.line_number();
        if (f.size() != header.size())
            throw input_error(path, line_str(ln), "",
                              "expected " + std::to_string(header.size()) +
                                  " fields (as in the header), found " + std::to_string(f.size()));
        const std::string_view var = trim(f[c_var]);
        if (!seen.emplace(var).second) {
            if (a.n_duplicate_var_ids++ == 0) first_dup_line = ln;
            continue;
        }
        const std::string_view pos = trim(f[c_pos]);
        std::int64_t p = 0;
        {
            double dv;
            // R writes large positions as 4.9e+07 sometimes; accept integral doubles too.
            const char* b = pos.data();
            const char* e = pos.data() + pos.size();
            const auto res = std::from_chars(b, e, p);
            if (res.ec != std::errc() || res.ptr != e) {
                if (detail::try_parse_double(pos, dv) &&
                    dv == static_cast<double>(static_cast<std::int64_t>(dv)))
                    p = static_cast<std::int64_t>(dv);
                else
                    throw input_error(path, line_str(ln), header[c_pos],
                                      "not an integer position ('" + std::string(pos.substr(0, 40)) + "')");
            }
        }
        // VCF positions are 1-based: 0 or less is no position (R's read.table would not object,
        // but every cis window lookup would silently miss or misplace the SNP).
        if (p < 1)
            throw input_error(path, line_str(ln), header[c_pos],
                              "position " + std::string(pos.substr(0, 40)) + " is not a positive integer");
        a.chromosome.emplace_back(trim(f[c_chr]));
        a.position.push_back(p);
        a.var_id.emplace_back(var);
        a.ref_allele.emplace_back(trim(f[c_ref]));
        a.alt_allele.emplace_back(trim(f[c_alt]));
        const std::string_view rs = trim(f[c_rsid]);
        a.rsid.emplace_back(detail::is_na_token(rs) ? std::string_view() : rs);
    }
    if (a.n_duplicate_var_ids)
        SCPX_LOG_WRN_SHARED(
            "{}: {} duplicated varID row(s) ignored (first at line {}); the first row of each "
            "varID is kept, as PredictDb-nextflow does",
            path, a.n_duplicate_var_ids, first_dup_line);
    return a;
}

sample_matrix read_expression(const std::string& path, const expression_read_options& options) {
    if (options.layout == expression_layout::FEATURES_BY_SAMPLES) {
        sample_matrix m = read_feature_rows(path, options.delim, {}, {}, value_rules{options.allow_missing, false},
                                            /*unique_features=*/true, "gene_id + sample ids");
        // Said here, or the stage would report that no gene matches the annotation.
        if (m.feature_ids.empty()) throw input_error(path, "", "", "the table has a header but no gene rows");
        return m;
    }
    // Transposed: rows are samples. Read as "features × samples" with roles swapped, then
    // transpose so each gene's values are contiguous.
    sample_matrix t = read_feature_rows(path, options.delim, {}, {}, value_rules{options.allow_missing, false},
                                        /*unique_features=*/true, "gene ids");
    if (t.feature_ids.empty()) throw input_error(path, "", "", "the table has a header but no sample rows");
    sample_matrix m;
    m.sample_ids = std::move(t.feature_ids);
    m.feature_ids = std::move(t.sample_ids);
    const std::size_t ns = m.sample_ids.size(), ng = m.feature_ids.size();
    m.values.resize(ns * ng);
    for (std::size_t s = 0; s < ns; ++s)
        for (std::size_t g = 0; g < ng; ++g)
            m.values[g * ns + s] = t.values[s * ng + g];
    return m;
}

} // namespace scpx::io
