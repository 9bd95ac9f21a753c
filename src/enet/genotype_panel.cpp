// l-ctPred training genotypes: PredictDB text or VCF/BCF input, PredictDB's SNP QC, sorted panel.
#include "scpx/enet/genotype_panel.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/io/predictdb_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

namespace scpx::enet {

std::string snp_qc_stats::summary() const {
    std::string s = fmt::format("SNPs: {} read, {} kept", input, kept);
    std::string d;
    auto add = [&d](std::uint64_t n, const char* what) {
        if (n == 0) return;
        if (!d.empty()) d += ", ";
        d += fmt::format("{} {}", n, what);
    };
    add(not_autosomal, "not autosomal");
    add(ambiguous, "strand-ambiguous");
    add(missing_rsid, "without rsid");
    add(not_snv, "not biallelic SNVs");
    add(duplicate_id, "duplicated variant id");
    add(duplicate_rsid, "duplicated rsid");
    add(not_in_annotation, "not in the SNP annotation");
    add(missing_dosage, "missing dosages");
    add(hwe, "failing HWE");
    add(low_maf, "MAF below threshold");
    if (!d.empty()) s += "; dropped: " + d;
    if (imputed_values > 0) s += fmt::format("; {} missing dosages mean-imputed", imputed_values);
    return s;
}

std::pair<std::size_t, std::size_t> genotype_panel::range(int c, std::int64_t first, std::int64_t last) const {
    // Sorted by (chrom, pos): two binary searches.
    const std::size_t n = n_snps();
    std::size_t lo = 0, hi = n;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (chrom[mid] < c || (chrom[mid] == c && pos[mid] < first)) lo = mid + 1;
        else hi = mid;
    }
    const std::size_t b = lo;
    hi = n;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (chrom[mid] < c || (chrom[mid] == c && pos[mid] <= last)) lo = mid + 1;
        else hi = mid;
    }
    return {b, lo};
}

int autosome_number(std::string_view chrom) {
    if (chrom.size() > 3 && (chrom.substr(0, 3) == "chr" || chrom.substr(0, 3) == "CHR" || chrom.substr(0, 3) == "Chr"))
        chrom.remove_prefix(3);
    if (chrom.empty() || chrom.size() > 2) return 0;
    int v = 0;
    for (char ch : chrom) {
        if (ch < '0' || ch > '9') return 0;
        v = v * 10 + (ch - '0');
    }
    return (v >= 1 && v <= 22 && chrom[0] != '0') ? v : 0;
}

bool strand_ambiguous(std::string_view ref, std::string_view alt) {
    if (ref.size() != 1 || alt.size() != 1) return false;
    const char a = static_cast<char>(std::toupper(static_cast<unsigned char>(ref[0])));
    const char b = static_cast<char>(std::toupper(static_cast<unsigned char>(alt[0])));
    return (a == 'A' && b == 'T') || (a == 'T' && b == 'A') || (a == 'C' && b == 'G') || (a == 'G' && b == 'C');
}

double hwe_exact_pvalue(std::int64_t n_het, std::int64_t n_hom1, std::int64_t n_hom2) {
    if (n_het < 0 || n_hom1 < 0 || n_hom2 < 0) return 1;
    const std::int64_t homr = std::min(n_hom1, n_hom2), homc = std::max(n_hom1, n_hom2);
    const std::int64_t rare = 2 * homr + n_het;
    const std::int64_t genotypes = n_het + homc + homr;
    if (genotypes == 0) return 1;
    std::vector<double> p(static_cast<size_t>(rare + 1), 0.0);
    std::int64_t mid = rare * (2 * genotypes - rare) / (2 * genotypes);
    if ((rare & 1) ^ (mid & 1)) ++mid;
    p[static_cast<size_t>(mid)] = 1.0;
    double sum = 1.0;
    std::int64_t cr = (rare - mid) / 2, cc = genotypes - mid - cr;
    for (std::int64_t h = mid; h > 1; h -= 2) {
        p[static_cast<size_t>(h - 2)] = p[static_cast<size_t>(h)] * static_cast<double>(h) * (h - 1.0) /
                                         (4.0 * (cr + 1.0) * (cc + 1.0));
        sum += p[static_cast<size_t>(h - 2)];
        ++cr;
        ++cc;
    }
    cr = (rare - mid) / 2;
    cc = genotypes - mid - cr;
    for (std::int64_t h = mid; h <= rare - 2; h += 2) {
        p[static_cast<size_t>(h + 2)] =
            p[static_cast<size_t>(h)] * 4.0 * static_cast<double>(cr) * static_cast<double>(cc) / ((h + 2.0) * (h + 1.0));
        sum += p[static_cast<size_t>(h + 2)];
        --cr;
        --cc;
    }
    const double obs = p[static_cast<size_t>(n_het)];
    double pv = 0;
    for (double v : p)
        if (v <= obs * (1 + 1e-12)) pv += v;
    return std::min(1.0, pv / sum);
}

namespace {

/// Candidate SNPs before the dosage-based filters, in input order.
struct raw_panel {
    genotype_panel p; // dosages appended column by column
    void add(int c, std::int64_t pos, std::string vid, std::string ref, std::string alt, std::string rsid,
             const double* d) {
        p.chrom.push_back(c);
        p.pos.push_back(pos);
        p.var_id.push_back(std::move(vid));
        p.ref.push_back(std::move(ref));
        p.alt.push_back(std::move(alt));
        p.rsid.push_back(std::move(rsid));
        p.dosages.insert(p.dosages.end(), d, d + p.samples.size());
    }
};

// Missingness, HWE and MAF on the training samples, then sort by (chrom, pos).
genotype_panel finish_panel(raw_panel& raw, const snp_qc_options& qc, snp_qc_stats& st) {
    genotype_panel& in = raw.p;
    const std::size_t n = in.n_samples();
    std::vector<std::size_t> keep;
    std::vector<double> col(n);
    for (std::size_t k = 0; k < in.n_snps(); ++k) {
        double* d = in.dosages.data() + k * n;
        std::size_t miss = 0;
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (std::isnan(d[i])) ++miss;
            else sum += d[i];
        }
        if (miss > 0) {
            if (qc.max_missing < 0 || static_cast<double>(miss) > qc.max_missing * static_cast<double>(n) ||
                miss == n) {
                ++st.missing_dosage;
                continue;
            }
            const double m = sum / static_cast<double>(n - miss);
            for (std::size_t i = 0; i < n; ++i)
                if (std::isnan(d[i])) d[i] = m;
            st.imputed_values += miss;
        }
        if (qc.hwe_p > 0) {
            std::int64_t g[3] = {0, 0, 0};
            for (std::size_t i = 0; i < n; ++i) g[std::clamp(static_cast<int>(std::lround(d[i])), 0, 2)]++;
            if (hwe_exact_pvalue(g[1], g[0], g[2]) < qc.hwe_p) {
                ++st.hwe;
                continue;
            }
        }
        double s2 = 0;
        for (std::size_t i = 0; i < n; ++i) s2 += d[i];
        const double af = s2 / static_cast<double>(n) / 2;
        if (!(af >= qc.maf && af <= 1 - qc.maf)) {
            ++st.low_maf;
            continue;
        }
        keep.push_back(k);
    }
    std::stable_sort(keep.begin(), keep.end(), [&in](std::size_t a, std::size_t b) {
        return in.chrom[a] != in.chrom[b] ? in.chrom[a] < in.chrom[b] : in.pos[a] < in.pos[b];
    });
    genotype_panel out;
    out.samples = in.samples;
    out.dosages.reserve(keep.size() * n);
    for (std::size_t k : keep) {
        out.chrom.push_back(in.chrom[k]);
        out.pos.push_back(in.pos[k]);
        out.var_id.push_back(std::move(in.var_id[k]));
        out.ref.push_back(std::move(in.ref[k]));
        out.alt.push_back(std::move(in.alt[k]));
        out.rsid.push_back(std::move(in.rsid[k]));
        out.dosages.insert(out.dosages.end(), in.dosages.begin() + static_cast<std::ptrdiff_t>(k * n),
                           in.dosages.begin() + static_cast<std::ptrdiff_t>((k + 1) * n));
    }
    st.kept = out.n_snps();
    return out;
}

} // namespace

std::vector<std::string> predictdb_dosage_samples(const std::string& path) {
    line_reader in(path);
    std::string line;
    while (in.next(line) && trim(line).empty()) {
    }
    if (trim(line).empty()) throw input_error(path, "", "", "empty file: no header line (expected varID + sample ids)");
    std::vector<std::string_view> f;
    split_fields(line, detect_delimiter(line), f);
    std::vector<std::string> out;
    for (std::size_t i = 1; i < f.size(); ++i) out.emplace_back(trim(f[i]));
    return out;
}

std::vector<std::string> vcf_samples(const std::string& path) {
    io::vcf_options o;
    o.want_haplotypes = false;
    io::vcf_reader r(path, o);
    return r.samples();
}

genotype_panel load_predictdb_genotypes(const std::string& dosage_path, const std::string& annotation_path,
                                        const std::vector<std::string>& samples, const snp_qc_options& qc,
                                        snp_qc_stats& st) {
    io::snp_annotation ann = io::read_snp_annotation(annotation_path);
    if (ann.size() == 0) throw input_error(annotation_path, "", "", "no variants in the SNP annotation (header only)");
    // Annotation rows repeating a varID are reported by the reader; they are not dosage rows.
    // What the annotation says of each varID: its row, or why a dosage row of it is dropped.
    enum : long { kNotAutosomal = -1, kAmbiguous = -2, kNoRsid = -3 };
    std::unordered_map<std::string, long> row;
    row.reserve(ann.size());
    for (std::size_t k = 0; k < ann.size(); ++k) {
        long r = static_cast<long>(k);
        if (autosome_number(ann.chromosome[k]) == 0) r = kNotAutosomal;
        else if (strand_ambiguous(ann.ref_allele[k], ann.alt_allele[k])) r = kAmbiguous;
        else if (ann.rsid[k].empty()) r = kNoRsid;
        row.emplace(ann.var_id[k], r);
    }
    // PredictDB keys weights and covariances by rsid: two variants with one rsid in a model
    // would give two (gene, rsid) weight rows and ambiguous covariance pairs. The first dosage
    // row of an rsid is kept, as the VCF input does.
    std::unordered_map<std::string, std::string> rsid_owner; // rsid -> first varID
    std::string dup_example;
    io::genotype_read_options go;
    go.samples = samples;
    go.allow_missing = true; // counted and dropped (or imputed) by finish_panel, as VCF ./.
    go.variant_filter = [&](std::string_view id) {
        ++st.input; // every dosage row, so the drop counts below add up to it
        auto it = row.find(std::string(id));
        if (it == row.end()) {
            ++st.not_in_annotation;
            return false;
        }
        switch (it->second) {
        case kNotAutosomal: ++st.not_autosomal; return false;
        case kAmbiguous: ++st.ambiguous; return false;
        case kNoRsid: ++st.missing_rsid; return false;
        default: break;
        }
        const std::string& rs = ann.rsid[static_cast<std::size_t>(it->second)];
        const auto [owner, first] = rsid_owner.emplace(rs, std::string(id));
        if (!first) {
            if (st.duplicate_rsid++ == 0)
                dup_example = fmt::format("{} of {} and {}", rs, owner->second, std::string(id));
            return false;
        }
        return true;
    };
    io::sample_matrix m = io::read_genotype_dosages(dosage_path, go);
    if (st.input == 0) throw input_error(dosage_path, "", "", "no variants in the genotype file (header only)");
    if (st.duplicate_rsid > 0)
        SCPX_LOG_WRN_SHARED(
            "{}: {} variant(s) share the rsid of an earlier variant (e.g. {}); the first is kept, as "
            "PredictDB models are keyed by rsid",
            annotation_path, st.duplicate_rsid, dup_example);
    raw_panel raw;
    raw.p.samples = m.sample_ids;
    raw.p.dosages.reserve(m.values.size());
    for (std::size_t k = 0; k < m.n_features(); ++k) {
        const std::size_t a = static_cast<std::size_t>(row.at(m.feature_ids[k]));
        raw.add(autosome_number(ann.chromosome[a]), ann.position[a], m.feature_ids[k], ann.ref_allele[a],
                ann.alt_allele[a], ann.rsid[a], m.feature(k));
    }
    return finish_panel(raw, qc, st);
}

genotype_panel load_vcf_genotypes(const std::string& path, const std::vector<std::string>& samples,
                                  io::dosage_source source, const snp_qc_options& qc, snp_qc_stats& st) {
    io::vcf_options o;
    o.samples = samples;
    o.want_haplotypes = false;
    o.want_dosages = true;
    o.dosage = source;
    io::vcf_reader r(path, o);
    raw_panel raw;
    raw.p.samples = r.samples();
    std::unordered_set<std::string> ids;
    io::vcf_record rec;
    std::vector<double> d(samples.size());
    while (r.next(rec)) {
        ++st.input;
        const int c = autosome_number(rec.chrom);
        if (c == 0) {
            ++st.not_autosomal;
            continue;
        }
        if (strand_ambiguous(rec.ref, rec.alts[0])) {
            ++st.ambiguous;
            continue;
        }
        if (rec.id.empty() || rec.id == ".") {
            ++st.missing_rsid;
            continue;
        }
        std::string vid = fmt::format("{}_{}_{}_{}", rec.chrom, rec.pos, rec.ref, rec.alts[0]);
        if (!ids.insert(vid).second) {
            ++st.duplicate_id;
            continue;
        }
        if (!ids.insert("rs:" + rec.id).second) {
            ++st.duplicate_rsid;
            continue;
        }
        for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<double>(rec.dosages[i]);
        raw.add(c, rec.pos, std::move(vid), rec.ref, rec.alts[0], rec.id, d.data());
    }
    // Records the reader skipped (multi-allelic, indels, ...) were read too: count them, or
    // "N read" would not match the file.
    st.input += r.stats().skipped();
    st.not_snv += r.stats().skipped();
    SCPX_LOG_DBG("{}: {}", path, r.stats().summary());
    if (st.input == 0) throw input_error(path, "", "", "no variants in the VCF (no records)");
    if (st.duplicate_rsid > 0)
        SCPX_LOG_WRN_SHARED(
            "{}: {} record(s) repeat the ID (rsid) of an earlier record; the first is kept, as PredictDB "
            "models are keyed by rsid",
            path, st.duplicate_rsid);
    return finish_panel(raw, qc, st);
}

} // namespace scpx::enet
