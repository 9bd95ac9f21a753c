// S-PrediXcan, first half: read the GWAS rows of model SNPs, derive z the way MetaXcan does and
// align it to each model's effect allele, counting every reason a model SNP is lost.
#include "scpx/assoc/spredixcan.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace scpx::assoc {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool contains(std::string_view s, std::string_view sub) { return s.find(sub) != std::string_view::npos; }

// Tokens of an id split at '_' and ':'.
std::vector<std::string_view> id_tokens(std::string_view id) {
    std::vector<std::string_view> t;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= id.size(); ++i) {
        if (i == id.size() || id[i] == '_' || id[i] == ':') {
            t.push_back(id.substr(start, i - start));
            start = i + 1;
        }
    }
    return t;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

bool is_alleles(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (u != 'A' && u != 'C' && u != 'G' && u != 'T' && u != 'N' && u != '-' && u != '*') return false;
    }
    return true;
}

// A position key "CHR:POS" (chromosome without "chr", upper-case) and the allele pair parsed
// from ids like chr1_123_A_G_b38, 1:123:A:G, chr1:123; empty key when the id has no position.
struct position_id {
    std::string key;
    std::string a, b; // empty when the id carries no alleles
};

position_id parse_position_id(std::string_view id) {
    position_id p;
    auto t = id_tokens(id);
    if (t.size() < 2) return p;
    std::string_view chr = t[0];
    if (chr.size() > 3 && (chr.substr(0, 3) == "chr" || chr.substr(0, 3) == "CHR")) chr.remove_prefix(3);
    if (chr.empty() || chr.size() > 2 || !all_digits(t[1])) return p;
    for (char c : chr)
        if (!std::isalnum(static_cast<unsigned char>(c))) return p;
    p.key = to_upper(chr) + ":" + std::string(t[1]);
    if (t.size() >= 4 && is_alleles(t[2]) && is_alleles(t[3])) {
        p.a = to_upper(t[2]);
        p.b = to_upper(t[3]);
    }
    return p;
}

char complement(char c) {
    switch (c) {
    case 'A': return 'T';
    case 'T': return 'A';
    case 'C': return 'G';
    case 'G': return 'C';
    default: return c;
    }
}

std::string complement(std::string_view s) {
    std::string r(s);
    for (auto& c : r)
        c = complement(c);
    return r;
}

// The options z is derived from, with their values: "--zscore_column 'SNP'".
std::string statistic_options(const io::gwas_columns& c, io::gwas_columns::z_source_kind source) {
    using kind = io::gwas_columns::z_source_kind;
    std::vector<std::pair<const char*, const std::string*>> used;
    if (source == kind::ZSCORE) {
        used.emplace_back("--zscore_column", &c.zscore);
    } else if (source == kind::PVALUE) {
        used.emplace_back("--pvalue_column", &c.pvalue);
        if (!c.beta.empty()) used.emplace_back("--beta_column", &c.beta);
        else if (!c.odds_ratio.empty()) used.emplace_back("--or_column", &c.odds_ratio);
        else used.emplace_back("--beta_sign_column", &c.beta_sign);
    } else {
        used.emplace_back(c.beta.empty() ? "--or_column" : "--beta_column", c.beta.empty() ? &c.odds_ratio : &c.beta);
        used.emplace_back("--se_column", &c.se);
    }
    std::string s;
    for (const auto& [opt, name] : used)
        s += (s.empty() ? "" : ", ") + fmt::format("{} '{}'", opt, *name);
    return s + " (the column must hold numbers)";
}

bool same_set(std::string_view a1, std::string_view a2, std::string_view x, std::string_view y) {
    return (a1 == x && a2 == y) || (a1 == y && a2 == x);
}

} // namespace

std::string id_style(std::string_view id) {
    if (id.size() > 2 && id[0] == 'r' && id[1] == 's' && all_digits(id.substr(2))) return "rsid";
    auto t = id_tokens(id);
    const bool has_chr = t[0].size() > 3 && (t[0].substr(0, 3) == "chr" || t[0].substr(0, 3) == "CHR");
    const char sep = id.find(':') != std::string_view::npos && id.find('_') == std::string_view::npos ? ':' : '_';
    const position_id p = parse_position_id(id);
    if (p.key.empty()) return contains(id, "rs") ? "other (contains 'rs')" : "other";
    std::string s = "chr";
    s += sep;
    s += "pos";
    if (!p.a.empty()) {
        s += sep;
        s += "ref";
        s += sep;
        s += "alt";
    }
    if (t.size() >= 5 && (t.back() == "b38" || t.back() == "b37")) s += "_" + std::string(t.back());
    s += has_chr ? " (with 'chr')" : " (no 'chr')";
    return s;
}

io::predictdb_model load_model(const std::string& path, const spredixcan_options& options) {
    io::predictdb_read_options ro;
    ro.snp_key = options.model_db_snp_key;
    ro.read_metadata = false;
    io::predictdb_model m = io::read_predictdb_model(path, ro);
    // From here on model.rsid holds the SNP key, whichever column it came from.
    if (ro.snp_key != "rsid") {
        m.rsid = m.varid;
        // MetaXcan (PredictionModel.py l.143-149): b38 varIDs without "chr" get it prefixed.
        if (!m.rsid.empty() && contains(m.rsid[0], "_b38") && !contains(m.rsid[0], "chr"))
            for (auto& k : m.rsid)
                k = "chr" + k;
    }
    return m;
}

std::vector<std::string> model_snp_keys(const io::predictdb_model& model) {
    io::id_index seen(model.rsid.size());
    std::vector<std::string> keys;
    for (const auto& k : model.rsid) {
        const std::size_t before = seen.size();
        seen.insert(k);
        if (seen.size() != before) keys.push_back(k);
    }
    return keys;
}

std::vector<std::string> model_snp_varids(const io::predictdb_model& model) {
    io::id_index seen(model.rsid.size());
    std::vector<std::string> varids;
    for (std::size_t i = 0; i < model.rsid.size(); ++i) {
        const std::size_t before = seen.size();
        seen.insert(model.rsid[i]);
        if (seen.size() != before) varids.push_back(i < model.varid.size() ? model.varid[i] : std::string());
    }
    return varids;
}

gwas_data load_gwas(const std::vector<std::string>& files, const spredixcan_options& options,
                    const std::vector<std::string>& model_snps,
                    const std::vector<std::string>& model_snp_varids) {
    gwas_data g;
    g.source = options.columns.z_source();
    g.has_beta = !options.columns.beta.empty() || !options.columns.odds_ratio.empty();
    auto& sum = g.summary;
    sum.files = files;

    io::id_index wanted(model_snps.size());
    // Most GWAS rows are of SNPs no model uses: a 4 Mbit bitset of id hashes (fits in L2)
    // rejects ~95 % of them before the hash-table probe, which costs cache misses.
    std::vector<std::uint64_t> bloom(std::size_t(1) << 16, 0);
    auto bloom_hash = [](std::string_view id) {
        // Two (overlapping) 8-byte words cover typical ids (rs123456789) in two multiplies.
        std::uint64_t a = 0, b = 0;
        const std::size_t n = id.size();
        if (n >= 8) {
            std::memcpy(&a, id.data(), 8);
            std::memcpy(&b, id.data() + n - 8, 8);
        } else {
            std::memcpy(&a, id.data(), n);
        }
        std::uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + n) * 0xC2B2AE3D27D4EB4Full;
        if (n > 16)
            for (std::size_t i = 8; i + 8 < n; i += 8) {
                std::uint64_t c;
                std::memcpy(&c, id.data() + i, 8);
                h = (h ^ c) * 0x9E3779B97F4A7C15ull;
            }
        h ^= h >> 31;
        return (h ^ (h >> 23)) & ((std::uint64_t(1) << 22) - 1);
    };
    for (const auto& s : model_snps) {
        wanted.insert(s);
        const auto b = bloom_hash(s);
        bloom[b >> 6] |= std::uint64_t(1) << (b & 63);
    }
    // Position+alleles matching: "CHR:POS" → model ids at that position (with their alleles).
    std::unordered_map<std::string, std::vector<std::pair<std::string, position_id>>> by_pos;
    if (options.match_by_position) {
        // The key's own position (varID keys), else the varID beside an rsid key: a GWAS keyed
        // by position then reaches the rsid, which the covariance is keyed by too.
        for (std::size_t i = 0; i < model_snps.size(); ++i) {
            position_id p = parse_position_id(model_snps[i]);
            if (p.key.empty() && i < model_snp_varids.size()) p = parse_position_id(model_snp_varids[i]);
            if (!p.key.empty() && !p.a.empty()) by_pos[p.key].emplace_back(model_snps[i], p);
        }
        if (by_pos.empty())
            SCPX_LOG_WRN_SHARED(
                "--match_by_position: neither the model's SNP ids nor its varIDs carry positions "
                "(e.g. chr1_123_A_G_b38); matching by id only");
    }
    const bool pos_from_columns = options.match_by_position && !options.columns.chromosome.empty() &&
                                  !options.columns.position.empty() && !by_pos.empty();

    std::uint64_t sampled = 0;
    io::gwas_reader_options ro;
    ro.columns = options.columns;
    // Columns nothing reads are not looked for: MetaXcan only logs "Column X not found" for them.
    ro.columns.frequency.clear();
    if (!options.match_by_position) {
        ro.columns.chromosome.clear();
        ro.columns.position.clear();
    }
    ro.delim = options.separator;
    ro.skip_until_header = options.skip_until_header;
    ro.snp_filter = [&](std::string_view id) {
        if (sampled < 2000) {
            ++sampled;
            if (sum.sample_ids.size() < 2000) sum.sample_ids.emplace_back(id);
        }
        const auto b = bloom_hash(id);
        if (((bloom[b >> 6] >> (b & 63)) & 1) && wanted.contains(id)) return true;
        if (!options.match_by_position || by_pos.empty()) return false;
        if (pos_from_columns) return true;
        const position_id p = parse_position_id(id);
        return !p.key.empty() && by_pos.count(p.key) > 0;
    };

    auto bad = [&](const std::string& what) {
        if (sum.bad_value++ == 0) sum.first_bad_value = what;
    };
    // A non-numeric statistic makes that value NA, not the row absent: the SNP is then
    // reported as "NA statistic", which points at the right column (MetaXcan aborts here).
    ro.bad_number = bad;

    for (const auto& file : files) {
        io::gwas_reader r(file, ro);
        io::gwas_row row{};
        while (r.next(row)) {
            std::string id(row.snp);
            bool by_position = false;
            if (!wanted.contains(id)) {
                // Only reachable with match_by_position.
                position_id p;
                if (pos_from_columns && !row.chromosome.empty() && std::isfinite(row.position)) {
                    std::string_view chr = row.chromosome;
                    if (chr.size() > 3 && (chr.substr(0, 3) == "chr" || chr.substr(0, 3) == "CHR"))
                        chr.remove_prefix(3);
                    p.key = to_upper(chr) + ":" + fmt::format("{}", static_cast<long long>(row.position));
                } else {
                    p = parse_position_id(id);
                }
                auto it = by_pos.find(p.key);
                if (it == by_pos.end()) continue;
                const std::string* hit = nullptr;
                for (const auto& [mid, mp] : it->second)
                    if (same_set(row.effect_allele, row.non_effect_allele, mp.a, mp.b)) hit = &mid;
                if (!hit) continue;
                id = *hit;
                by_position = true;
                ++sum.matched_position;
            }
            if (!by_position && !options.keep_non_rsid && !contains(id, "rs")) {
                ++sum.non_rsid;
                g.non_rsid_ids.push_back(id);
                continue;
            }
            gwas_entry e;
            e.a1.assign(row.effect_allele.data(), row.effect_allele.size());
            e.a2.assign(row.non_effect_allele.data(), row.non_effect_allele.size());
            e.zscore = row.zscore;
            e.beta = row.beta;
            e.se = row.se;
            e.odds_ratio = row.odds_ratio;
            e.pvalue = row.pvalue;
            e.beta_sign = row.beta_sign;
            if (!std::isnan(e.pvalue) && (e.pvalue < 0 || e.pvalue > 1)) {
                bad(fmt::format("{}, line {}, field '{}': p-value {} outside [0, 1]", file, row.line,
                                options.columns.pvalue, e.pvalue));
                e.pvalue = kNaN;
            }
            if (!std::isnan(e.se) && !(e.se > 0)) {
                bad(fmt::format("{}, line {}, field '{}': standard error {} is not > 0", file, row.line,
                                options.columns.se, e.se));
                e.se = kNaN;
            }
            if (!std::isnan(e.odds_ratio) && e.odds_ratio < 0) {
                bad(fmt::format("{}, line {}, field '{}': odds ratio {} < 0", file, row.line,
                                options.columns.odds_ratio, e.odds_ratio));
                e.odds_ratio = kNaN;
            }
            g.ids.push_back(std::move(id));
            g.rows.push_back(std::move(e));
        }
        g.file_ends.push_back(g.rows.size());
        const auto& st = r.stats();
        sum.data_lines += st.data_lines;
        sum.bad_field_count += st.bad_field_count;
    }
    sum.rows_kept = g.rows.size();
    return g;
}

harmonised_gwas harmonise(const gwas_data& gwas, const io::predictdb_model& model,
                          const spredixcan_options& options) {
    using kind = io::gwas_columns::z_source_kind;
    harmonised_gwas h;
    auto& rep = h.report;

    // Distinct (key, eff, ref) of the model; most keys have one allele pair.
    io::id_index keys(model.rsid.size());
    std::vector<std::vector<std::pair<std::string, std::string>>> alleles;
    for (std::size_t i = 0; i < model.rsid.size(); ++i) {
        const std::uint32_t k = keys.insert(model.rsid[i]);
        if (k == alleles.size()) alleles.emplace_back();
        auto& a = alleles[k];
        const std::pair<std::string, std::string> p(model.eff_allele[i], model.ref_allele[i]);
        if (std::find(a.begin(), a.end(), p) == a.end()) a.push_back(p);
    }
    const std::size_t n = keys.size();
    rep.model_snps = n;
    rep.non_rsid_rows = gwas.summary.non_rsid;

    // MetaXcan's p = 0 cap (GWAS._z_from_p), per GWAS file as it loads them one by one: a row
    // whose |z| = −Φ⁻¹(p/2) is infinite (p = 0, or p so small that p/2 underflows to 0) gets the
    // |z| of the smallest p among the file's rows of this model's SNPs whose |z| is finite, or of
    // --input_pvalue_fix when that is smaller. With --input_pvalue_fix 0 such rows stay infinite
    // and are dropped (MetaXcan discards non-finite z).
    // (Rows built without file_ends count as one file.)
    std::vector<std::size_t> file_ends = gwas.file_ends;
    if (file_ends.empty() || file_ends.back() < gwas.rows.size()) file_ends.push_back(gwas.rows.size());
    std::vector<double> cap_z(file_ends.size(), std::numeric_limits<double>::infinity());
    if (gwas.source == kind::PVALUE && options.input_pvalue_fix > 0) {
        std::size_t begin = 0;
        for (std::size_t f = 0; f < file_ends.size(); begin = file_ends[f++]) {
            double min_p = options.input_pvalue_fix;
            for (std::size_t r = begin; r < file_ends[f]; ++r)
                if (const double p = gwas.rows[r].pvalue; p / 2 > 0 && keys.contains(gwas.ids[r]))
                    min_p = std::min(min_p, p);
            cap_z[f] = z_from_two_sided_p(min_p);
        }
    }
    const bool beta_given = !options.columns.beta.empty();
    const bool or_given = !options.columns.odds_ratio.empty();

    enum : unsigned char { ABSENT, MISMATCH, STRAND, NA_STAT, USED };
    std::vector<unsigned char> state(n, ABSENT);
    std::vector<std::uint32_t> rows_per_key(n, 0);
    std::vector<double> z(n, kNaN), beta(n, kNaN);
    std::vector<char> flipped(n, 0);
    for (std::size_t r = 0, file = 0; r < gwas.rows.size(); ++r) {
        while (r >= file_ends[file])
            ++file;
        const std::int64_t k = keys.find(gwas.ids[r]);
        if (k < 0) continue;
        const gwas_entry& e = gwas.rows[r];
        ++rows_per_key[k];
        const double b = beta_given ? e.beta : (or_given ? std::log(e.odds_ratio) : kNaN);
        double zz;
        switch (gwas.source) {
        case kind::ZSCORE: zz = e.zscore; break;
        case kind::PVALUE: {
            const double p = e.pvalue;
            double az = z_from_two_sided_p(p);
            if (std::isinf(az)) az = cap_z[file];
            double sign;
            if (beta_given || or_given) sign = std::isnan(b) ? kNaN : (b > 0 ? 1.0 : (b < 0 ? -1.0 : 0.0));
            else sign = e.beta_sign;
            zz = sign * az;
            break;
        }
        default: zz = b / e.se; break;
        }
        // MetaXcan stores z as float32 (GWAS.py l.178) before widening it back.
        zz = static_cast<double>(static_cast<float>(zz));
        for (const auto& [eff, ref] : alleles[static_cast<std::size_t>(k)]) {
            if (!same_set(e.a1, e.a2, eff, ref)) {
                if (state[k] < STRAND && same_set(complement(e.a1), complement(e.a2), eff, ref)) state[k] = STRAND;
                else if (state[k] < MISMATCH) state[k] = MISMATCH;
                continue;
            }
            const bool flip = e.a1 != eff;
            if (!std::isfinite(zz)) {
                if (state[k] < NA_STAT) state[k] = NA_STAT;
                continue;
            }
            // Last finite row wins.
            state[k] = USED;
            z[k] = flip ? -zz : zz;
            beta[k] = flip ? -b : b;
            flipped[k] = flip;
        }
    }

    std::unordered_set<std::string_view> non_rsid(gwas.non_rsid_ids.begin(), gwas.non_rsid_ids.end());
    h.keys.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
        if (rows_per_key[k] > 1) ++rep.duplicated;
        switch (state[k]) {
        case USED:
            h.keys.insert(keys.id(k));
            h.z.push_back(z[k]);
            h.beta.push_back(beta[k]);
            ++rep.used;
            if (flipped[k]) ++rep.swapped;
            break;
        case ABSENT:
            if (non_rsid.count(keys.id(k))) ++rep.dropped_non_rsid;
            else ++rep.absent;
            break;
        case MISMATCH: ++rep.allele_mismatch; break;
        case STRAND: ++rep.strand_complement; break;
        default: ++rep.na_statistic; break;
        }
    }

    // Identifier styles on both sides, and a diagnosis when (almost) nothing matched.
    for (std::size_t k = 0; k < n && k < 2000; ++k)
        ++rep.model_styles[id_style(keys.id(k))];
    for (const auto& id : gwas.summary.sample_ids)
        ++rep.gwas_styles[id_style(id)];
    if (n > 0 && rep.used * 10 < n) {
        auto top = [](const std::map<std::string, std::size_t>& m) {
            std::string best;
            std::size_t c = 0;
            for (const auto& [s, k] : m)
                if (k > c) best = s, c = k;
            return best;
        };
        const std::string ms = top(rep.model_styles), gs = top(rep.gwas_styles);
        auto list = [](const std::map<std::string, std::size_t>& m) {
            std::string s;
            for (const auto& [style, c] : m)
                s += (s.empty() ? "" : ", ") + fmt::format("{} ({})", style, c);
            return s.empty() ? std::string("none") : s;
        };
        // Styles that occur at all on the GWAS side (real GWAS files use one style throughout;
        // mixed files are usually position ids plus rsids for the rest).
        const bool model_pos = ms != "rsid" && ms.rfind("other", 0) != 0;
        bool gwas_has_pos = false, gwas_same_style = false;
        for (const auto& [style, c] : rep.gwas_styles) {
            if (style != "rsid" && style.rfind("other", 0) != 0) gwas_has_pos = true;
            if (style == ms) gwas_same_style = true;
        }
        // The genome build a position style names ("chr_pos_ref_alt_b38 (with 'chr')" -> "b38").
        const auto build_of = [](const std::string& style) {
            for (const char* b : {"_b37", "_b38"})
                if (style.find(b) != std::string::npos) return std::string(b + 1);
            return std::string();
        };
        const std::string model_build = build_of(ms), gwas_build = build_of(gs);
        std::string fix;
        if (!gwas.summary.files.empty() && gwas.summary.data_lines == 0)
            fix = "the GWAS has no data rows (a header only): check that the file is complete";
        else if (!model_build.empty() && !gwas_build.empty() && model_build != gwas_build)
            fix = fmt::format(
                "the model's ids are positions on {} and the GWAS's on {}: positions of two genome "
                "builds do not match, whatever the flags; lift the GWAS over to {} (or use models "
                "built on {})",
                model_build, gwas_build, model_build, gwas_build);
        else if (rep.dropped_non_rsid > 0 && !options.keep_non_rsid)
            fix = "the GWAS ids of model SNPs are not rsids and were dropped: add --keep_non_rsid";
        else if (!model_pos && gs != "rsid" && !gs.empty())
            fix = options.match_by_position
                      ? "the model is keyed by rsid, the GWAS ids are positions, and the model's varIDs gave "
                        "no matching positions and alleles: check the genome build of both"
                      : "the model is keyed by rsid but the GWAS ids are positions: add --match_by_position "
                        "(the "
                        "model's varIDs give the positions), or use a GWAS with rsids";
        else if (model_pos && gwas_has_pos && !gwas_same_style)
            fix = options.match_by_position
                      ? "both sides use positions, in different styles, and --match_by_position found few "
                        "matching positions and alleles: check that GWAS and model use one genome build"
                      : "both sides use positions, in different styles (separator, 'chr' prefix or build "
                        "suffix): add --match_by_position (and --keep_non_rsid)";
        else if (model_pos && !gwas_has_pos)
            fix = "the GWAS has rsids but the model ids are positions: use --model_db_snp_key rsid "
                  "(if the model has an rsid column)";
        else if (rep.allele_mismatch + rep.strand_complement > rep.used)
            fix = "ids match but alleles do not: check --effect_allele_column/--non_effect_allele_column"
                  " (and the strand/genome build of the GWAS)";
        else if (rep.na_statistic > rep.used)
            fix = fmt::format("ids and alleles match but the statistic is NA or not a number for {} SNP(s): "
                              "check {}",
                              rep.na_statistic, statistic_options(options.columns, gwas.source));
        else
            fix = "the ids have the same style but do not overlap: check --snp_column, and that GWAS and "
                  "model use the same genome build / dbSNP release";
        rep.diagnosis = fmt::format("only {} of {} model SNPs ({:.1f}%) matched the GWAS. Model ids: {}; GWAS "
                                    "ids (first {} rows): {}. Likely fix: {}",
                                    rep.used, n, 100.0 * static_cast<double>(rep.used) / static_cast<double>(n),
                                    list(rep.model_styles), gwas.summary.sample_ids.size(),
                                    list(rep.gwas_styles), fix);
    }
    return h;
}

} // namespace scpx::assoc
