#include "scpx/io/vcf_reader.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"
#include "scpx/seq/contig.hpp"

#include <htslib/bgzf.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_map>

namespace scpx::io {

void hts_file_deleter::operator()(htsFile* p) const noexcept { if (p) hts_close(p); }
void bcf_hdr_deleter::operator()(bcf_hdr_t* p) const noexcept { if (p) bcf_hdr_destroy(p); }
void bcf1_deleter::operator()(bcf1_t* p) const noexcept { if (p) bcf_destroy(p); }
void hts_idx_deleter::operator()(hts_idx_t* p) const noexcept { if (p) hts_idx_destroy(p); }
void tbx_deleter::operator()(tbx_t* p) const noexcept { if (p) tbx_destroy(p); }
void hts_itr_deleter::operator()(hts_itr_t* p) const noexcept { if (p) hts_itr_destroy(p); }

// ---------------------------------------------------------------------------------------------
// vcf_stats

std::uint64_t vcf_stats::skipped() const {
    return skipped_multiallelic + skipped_indel + skipped_mnp + skipped_symbolic + skipped_no_alt +
           skipped_non_acgt + ref_mismatch;
}

std::string vcf_stats::summary() const {
    std::string s = "records read: " + std::to_string(records_read) +
                    "; returned: " + std::to_string(records_returned);
    auto add = [&s](const char* what, std::uint64_t n) {
        if (n) s += std::string("; ") + what + ": " + std::to_string(n);
    };
    add("starting before the region", outside_region);
    add("skipped multi-allelic", skipped_multiallelic);
    add("skipped indel", skipped_indel);
    add("skipped MNP", skipped_mnp);
    add("skipped symbolic/breakend", skipped_symbolic);
    add("skipped without ALT", skipped_no_alt);
    add("skipped non-ACGT allele", skipped_non_acgt);
    add("REF not matching the FASTA", ref_mismatch);
    add("missing GT alleles set to REF", missing_alleles);
    add("unphased heterozygous GTs kept as written", unphased_het);
    add("haploid GTs", haploid_gt);
    add("missing DS replaced by GT count", ds_missing_used_gt);
    add("dosages missing (NaN)", missing_dosage);
    std::vector<std::string> examples = ref_mismatch_examples;
    examples.insert(examples.end(), ref_mismatch_indel_examples.begin(), ref_mismatch_indel_examples.end());
    examples.insert(examples.end(), ref_mismatch_multiallelic_examples.begin(),
                    ref_mismatch_multiallelic_examples.end());
    if (!examples.empty()) s += "; REF mismatch examples: " + join(examples, ", ");
    // Many mismatches almost always mean VCF and FASTA are on different genome builds.
    const std::uint64_t checked = records_returned + ref_mismatch;
    if (ref_mismatch >= 10 && ref_mismatch * 10 > checked) {
        s += " (over 10% of checked records mismatch: are the VCF and the FASTA on the same "
             "genome build?)";
    }
    return s;
}

void vcf_stats::merge(const vcf_stats& o) {
    records_read += o.records_read;
    records_returned += o.records_returned;
    outside_region += o.outside_region;
    skipped_multiallelic += o.skipped_multiallelic;
    skipped_indel += o.skipped_indel;
    skipped_mnp += o.skipped_mnp;
    skipped_symbolic += o.skipped_symbolic;
    skipped_no_alt += o.skipped_no_alt;
    skipped_non_acgt += o.skipped_non_acgt;
    ref_mismatch += o.ref_mismatch;
    ref_mismatch_indel += o.ref_mismatch_indel;
    ref_mismatch_mnp += o.ref_mismatch_mnp;
    ref_mismatch_multiallelic += o.ref_mismatch_multiallelic;
    const auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
        for (const auto& e : from)
            if (to.size() < 5 && std::find(to.begin(), to.end(), e) == to.end()) to.push_back(e);
    };
    add(ref_mismatch_examples, o.ref_mismatch_examples);
    add(ref_mismatch_indel_examples, o.ref_mismatch_indel_examples);
    add(ref_mismatch_multiallelic_examples, o.ref_mismatch_multiallelic_examples);
    missing_alleles += o.missing_alleles;
    unphased_het += o.unphased_het;
    haploid_gt += o.haploid_gt;
    ds_missing_used_gt += o.ds_missing_used_gt;
    missing_dosage += o.missing_dosage;
}

// ---------------------------------------------------------------------------------------------
// vcf_reader

namespace {

enum class allele_kind { SNV, MNP, INDEL, SYMBOLIC, NON_ACGT };

bool is_acgt(std::string_view s) {
    for (char c : s) {
        switch (std::toupper(static_cast<unsigned char>(c))) {
        case 'A': case 'C': case 'G': case 'T': break;
        default: return false;
        }
    }
    return !s.empty();
}

allele_kind classify(std::string_view ref, std::string_view alt) {
    if (alt.empty() || alt[0] == '<' || alt == "*" || alt.find('[') != std::string_view::npos ||
        alt.find(']') != std::string_view::npos || alt[0] == '.' || alt.back() == '.') {
        return allele_kind::SYMBOLIC;
    }
    if (ref.size() != alt.size()) return allele_kind::INDEL;
    if (!is_acgt(ref) || !is_acgt(alt)) return allele_kind::NON_ACGT;
    return ref.size() == 1 ? allele_kind::SNV : allele_kind::MNP;
}

/// The worse of two kinds for the skip counters: symbolic, then indel, MNP, non-ACGT, SNV.
allele_kind worse(allele_kind a, allele_kind b) {
    const auto rank = [](allele_kind k) {
        switch (k) {
        case allele_kind::SYMBOLIC: return 4;
        case allele_kind::INDEL: return 3;
        case allele_kind::MNP: return 2;
        case allele_kind::NON_ACGT: return 1;
        case allele_kind::SNV: return 0;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

std::string upper(std::string_view s) {
    std::string o(s);
    for (char& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return o;
}

std::vector<std::string_view> split_on(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    for (;;) {
        const std::size_t next = s.find(sep, at);
        out.push_back(s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
        if (next == std::string_view::npos) return out;
        at = next + 1;
    }
}

/// A raw line for a message: tabs shown as "\t" (so the columns are visible), cut at 300 bytes.
std::string show_line(std::string_view line) {
    std::string out;
    for (char c : line.substr(0, 300)) {
        if (c == '\t') out += "\\t";
        else out += c;
    }
    if (line.size() > 300) out += "...";
    return out;
}

/// Why bcf_hdr_read failed on a text VCF, when it can be said more precisely than "cannot
/// parse": a sample named twice in the #CHROM line (htslib refuses it without saying so).
/// Empty when nothing specific is found.
std::string header_failure_detail(const std::string& path) {
    hts_file_ptr fp(hts_open(path.c_str(), "r"));
    if (!fp) return {};
    kstring_t line{0, 0, nullptr};
    std::string detail;
    std::uint64_t ln = 0;
    while (hts_getline(fp.get(), KS_SEP_LINE, &line) >= 0) {
        ++ln;
        const std::string_view l(line.s, line.l);
        if (l.substr(0, 2) == "##") continue;
        if (l.substr(0, 6) != "#CHROM") break;
        const std::vector<std::string_view> f = split_on(l, '\t');
        std::set<std::string_view> seen;
        for (std::size_t k = 9; k < f.size(); ++k)
            if (!seen.insert(f[k]).second) {
                detail = "line " + std::to_string(ln) + " (#CHROM), column " + std::to_string(k + 1) +
                         ": sample '" + std::string(f[k]) + "' appears twice in the header";
                break;
            }
        break;
    }
    std::free(line.s);
    return detail;
}

} // namespace

struct vcf_reader::impl {
    std::string path;
    vcf_options opt;
    hts_file_ptr fp;
    bcf_hdr_ptr hdr;
    bcf1_ptr rec;
    hts_idx_ptr idx; // BCF
    tbx_ptr tbx;     // bgzipped VCF
    hts_itr_ptr itr;
    bool is_bcf = false;
    bool bgzf = false;
    bool use_ds = false;
    bool in_query = false;
    bool query_done = false;
    std::int64_t q_first = 0;
    std::vector<std::string> samples;
    std::vector<int> sample_col; // header column of samples[i]
    std::unordered_map<std::string, std::pair<int, std::string>> tid_cache; // asked -> (tid, name)
    kstring_t line{0, 0, nullptr};
    int32_t* gt = nullptr;
    int n_gt = 0;
    float* ds = nullptr;
    int n_ds = 0;
    /// Names the record being read in messages: "the first record of the file", "the first
    /// record of region 20:100-200" or "the record after 20:12345".
    std::string next_where = "the first record of the file";
    vcf_stats stats;

    ~impl() {
        std::free(line.s);
        std::free(gt);
        std::free(ds);
    }

    int nsamples_total() const { return bcf_hdr_nsamples(hdr.get()); }

    std::string where(const bcf1_t* r) const {
        return "record " + std::string(bcf_seqname_safe(hdr.get(), r)) + ":" +
               std::to_string(static_cast<long long>(r->pos) + 1);
    }

    std::vector<std::string> contig_names() const {
        std::vector<std::string> out;
        int n = 0;
        const char** names = bcf_hdr_seqnames(hdr.get(), &n);
        if (names) {
            for (int i = 0; i < n; ++i) out.emplace_back(names[i]);
            std::free(names);
        }
        if (out.empty() && tbx) {
            const char** tn = tbx_seqnames(tbx.get(), &n);
            if (tn) {
                for (int i = 0; i < n; ++i) out.emplace_back(tn[i]);
                std::free(tn);
            }
        }
        return out;
    }

    std::vector<std::string> indexed_contig_names() const {
        std::vector<std::string> out;
        int n = 0;
        const char** names = nullptr;
        if (tbx)
            names = tbx_seqnames(tbx.get(), &n);
        else if (idx)
            names = bcf_index_seqnames(idx.get(), hdr.get(), &n);
        if (!names) return out;
        // A BCF index lists every header contig up to the last one used. The index's per-contig
        // record counts (written by htslib and bcftools) say which hold records; a contig
        // without a count (no records, or an index written without counts) is probed by reading
        // its first record through a second handle, leaving this reader's position alone.
        const hts_idx_t* ix = tbx ? tbx->idx : idx.get();
        hts_file_ptr probe;
        for (int i = 0; i < n; ++i) {
            const int tid = tid_of(names[i]);
            if (tid < 0) continue;
            std::uint64_t mapped = 0, unmapped = 0;
            bool has_records = false;
            if (hts_idx_get_stat(ix, tid, &mapped, &unmapped) == 0) {
                has_records = mapped + unmapped > 0;
            } else {
                if (!probe) probe.reset(hts_open(path.c_str(), "r"));
                has_records = probe && first_record_exists(probe.get(), tid);
            }
            if (has_records) out.emplace_back(names[i]);
        }
        std::free(names);
        return out;
    }

    /// True when contig `tid` has a record, read through `f` (a second handle on the file).
    bool first_record_exists(htsFile* f, int tid) const {
        hts_itr_ptr it(is_bcf ? bcf_itr_queryi(idx.get(), tid, 0, HTS_POS_MAX)
                              : tbx_itr_queryi(tbx.get(), tid, 0, HTS_POS_MAX));
        if (!it) return false;
        if (is_bcf) {
            bcf1_ptr r(bcf_init());
            return bcf_itr_next(f, it.get(), r.get()) >= 0;
        }
        kstring_t s{0, 0, nullptr};
        const int ret = tbx_itr_next(f, tbx.get(), it.get(), &s);
        std::free(s.s);
        return ret >= 0;
    }

    int tid_of(const std::string& name) const {
        if (is_bcf) return bcf_hdr_name2id(hdr.get(), name.c_str());
        return tbx_name2id(tbx.get(), name.c_str());
    }

    /// Parses the text VCF line in `line` into `rec`, after checking its column count against the
    /// header (9 + samples, or 8 with no samples): the one error htslib lets through.
    void parse_text_line() {
        const int ns = nsamples_total();
        auto fields = static_cast<std::size_t>(1 + std::count(line.s, line.s + line.l, '\t'));
        if (line.l && line.s[line.l - 1] == '\t') --fields;  // a trailing tab adds no column
        const std::size_t want = ns > 0 ? 9 + static_cast<std::size_t>(ns) : 8;
        if (fields != want && !(ns == 0 && fields == 9)) {
            const char* tab1 = static_cast<const char*>(std::memchr(line.s, '\t', line.l));
            const char* tab2 = tab1 ? static_cast<const char*>(std::memchr(tab1 + 1, '\t', line.l - (tab1 + 1 - line.s))) : nullptr;
            const std::string at = tab2 ? std::string(line.s, static_cast<std::size_t>(tab1 - line.s)) + ":" +
                                              std::string(tab1 + 1, static_cast<std::size_t>(tab2 - tab1 - 1))
                                        : std::string();
            throw input_error(path, at.empty() ? next_where : "record " + at, "",
                              "expected " + std::to_string(want) + " tab-separated columns (" +
                                  (ns > 0 ? "9 + the header's " + std::to_string(ns) + " samples"
                                          : std::string("no samples in the header")) +
                                  "), found " + std::to_string(fields));
        }
        const std::string raw(line.s, line.l); // vcf_parse writes NULs into the line
        if (vcf_parse(&line, hdr.get(), rec.get()) < 0) throw_parse_failure(raw);
    }

    /// vcf_parse failed on `raw`: name the record (CHROM:POS), and the FORMAT field and sample
    /// whose value does not parse when one can be found; else show the line, tabs visible.
    [[noreturn]] void throw_parse_failure(const std::string& raw) const {
        const std::vector<std::string_view> f = split_on(raw, '\t');
        const std::string rec_where =
            f.size() >= 2 ? "record " + std::string(f[0]) + ":" + std::string(f[1]) : next_where;
        if (f.size() > 9) {
            const std::vector<std::string_view> keys = split_on(f[8], ':');
            for (std::size_t c = 9; c < f.size(); ++c) {
                const std::vector<std::string_view> vals = split_on(f[c], ':');
                for (std::size_t k = 0; k < keys.size() && k < vals.size(); ++k) {
                    if (!format_value_ok(keys[k], vals[k]))
                        throw input_error(path, rec_where, std::string(keys[k]),
                                          "cannot parse the value '" + std::string(vals[k].substr(0, 40)) +
                                              "' of sample " + hdr->samples[c - 9]);
                }
            }
        }
        throw input_error(path, rec_where, "", "cannot parse the VCF line: " + show_line(raw));
    }

    /// Whether one FORMAT value has the header's type: GT alleles are numbers or '.', joined by
    /// '|' or '/'; Integer and Float values (comma-separated) are numbers or '.'.
    bool format_value_ok(std::string_view key, std::string_view v) const {
        if (v == ".") return true;
        if (key == "GT") {
            for (std::string_view a : split_on(v, '|'))
                for (std::string_view b : split_on(a, '/')) {
                    if (b == ".") continue;
                    if (b.empty() || b.find_first_not_of("0123456789") != std::string_view::npos) return false;
                }
            return true;
        }
        const int id = bcf_hdr_id2int(hdr.get(), BCF_DT_ID, std::string(key).c_str());
        if (id < 0 || !bcf_hdr_idinfo_exists(hdr.get(), BCF_HL_FMT, id)) return true;
        const int type = bcf_hdr_id2type(hdr.get(), BCF_HL_FMT, id);
        if (type != BCF_HT_INT && type != BCF_HT_REAL) return true;
        for (std::string_view x : split_on(v, ',')) {
            if (x == ".") continue;
            const std::string t(x);
            char* end = nullptr;
            if (type == BCF_HT_INT) (void)std::strtol(t.c_str(), &end, 10);
            else (void)std::strtod(t.c_str(), &end);
            if (t.empty() || end != t.c_str() + t.size()) return false;
        }
        return true;
    }

    // Reads the next raw record; false at the end.
    bool read_raw() {
        int ret = 0;
        if (in_query) {
            if (!itr) return false;
            if (is_bcf) {
                ret = bcf_itr_next(fp.get(), itr.get(), rec.get());
            } else {
                ret = tbx_itr_next(fp.get(), tbx.get(), itr.get(), &line);
                if (ret >= 0) parse_text_line();
            }
        } else if (is_bcf) {
            ret = bcf_read(fp.get(), hdr.get(), rec.get());
        } else {
            // Text VCF line by line rather than bcf_read: htslib drops sample columns beyond the
            // header's without a word (every later sample then takes its left neighbour's
            // genotype), and bcf_read's -1 for an unparsable line would read as the end of file.
            ret = hts_getline(fp.get(), KS_SEP_LINE, &line);
            if (ret >= 0) parse_text_line();
        }
        if (ret == -1) return false;
        if (ret < -1) {
            throw input_error(path, next_where, "",
                              "read error: the file is truncated or corrupt (htslib returned " +
                                  std::to_string(ret) + ")");
        }
        if (rec->errcode) {
            throw input_error(path, next_where, "",
                              "malformed record (htslib error code " + std::to_string(rec->errcode) +
                                  ": undefined contig/tag, bad characters or wrong column count)");
        }
        return true;
    }

    // Returns the reason counter to bump, or null when the record passes the type filters.
    std::uint64_t* type_filter(const bcf1_t* r) {
        if (r->n_allele < 2) return opt.keep_non_snv ? nullptr : &stats.skipped_no_alt;
        if (r->n_allele > 2 && !opt.keep_multiallelic) return &stats.skipped_multiallelic;
        if (opt.keep_non_snv) return nullptr;
        const std::string_view ref = r->d.allele[0];
        allele_kind worst = allele_kind::SNV;
        if (r->n_allele > 2) {
            // Each ALT as its own normalised record: kept when one of them can be written.
            bool writable = false, star = false;
            int changes = 0;
            for (int a = 1; a < r->n_allele; ++a) {
                if (std::strcmp(r->d.allele[a], "*") == 0) { // spanned by a deletion of its own record
                    star = true;
                    continue;
                }
                const trimmed_allele t = trim_allele(ref, r->d.allele[a]);
                if (t.ref == t.alt) continue; // an ALT equal to REF changes nothing
                ++changes;
                writable = writable || writable_allele(t, opt.keep_indels);
                worst = worse(worst, classify(t.ref, t.alt));
            }
            if (writable) return nullptr;
            if (changes == 0) return star ? &stats.skipped_symbolic : &stats.skipped_no_alt;
        } else {
            worst = classify(ref, r->d.allele[1]);
            if (opt.keep_indels && (worst == allele_kind::INDEL || worst == allele_kind::MNP)) {
                if (!is_acgt(ref) || !is_acgt(r->d.allele[1])) return &stats.skipped_non_acgt;
                return nullptr;
            }
        }
        switch (worst) {
        case allele_kind::SNV: return nullptr;
        case allele_kind::MNP: return &stats.skipped_mnp;
        case allele_kind::INDEL: return &stats.skipped_indel;
        case allele_kind::SYMBOLIC: return &stats.skipped_symbolic;
        case allele_kind::NON_ACGT: return &stats.skipped_non_acgt;
        }
        return nullptr;
    }

    // True when REF agrees with the FASTA (or no FASTA is attached).
    bool ref_matches(const bcf1_t* r) {
        if (!opt.reference) return true;
        const std::string ref = upper(r->d.allele[0]);
        const std::string chrom = bcf_seqname_safe(hdr.get(), r);
        // Name the VCF record, not the FASTA, when the two disagree on contigs or lengths; a
        // position past the contig end is another genome build, not a REF mismatch.
        if (!opt.reference->has_contig(chrom))
            throw input_error(path, where(r), "CHROM",
                              "contig '" + chrom + "' is not in the FASTA '" + opt.reference->path() +
                                  "'; are the VCF and the FASTA on the same genome build?");
        const std::int64_t contig_len = opt.reference->contig_length(chrom);
        if (r->pos >= contig_len)
            throw input_error(path, where(r), "POS",
                              "the record lies past the end of contig '" + chrom + "' (" +
                                  std::to_string(contig_len) + " bp in the FASTA '" + opt.reference->path() +
                                  "'); are the VCF and the FASTA on the same genome build?");
        // A REF running past the contig's end (an indel at its last bases) cannot match the
        // FASTA: a mismatch like any other, its missing bases shown as '-'.
        const std::int64_t ref_end = r->pos + static_cast<std::int64_t>(ref.size());
        std::string fa = opt.reference->fetch(chrom, r->pos, std::min(ref_end, contig_len));
        if (ref_end > contig_len) fa.append(static_cast<std::size_t>(ref_end - contig_len), '-');
        if (fa == ref) return true;
        ++stats.ref_mismatch;
        if (r->n_allele > 2) {
            ++stats.ref_mismatch_multiallelic;
        } else if (r->n_allele == 2) {
            const allele_kind kind = classify(r->d.allele[0], r->d.allele[1]);
            if (kind == allele_kind::INDEL) ++stats.ref_mismatch_indel;
            if (kind == allele_kind::MNP) ++stats.ref_mismatch_mnp;
        }
        const std::string ex = chrom + ":" + std::to_string(static_cast<long long>(r->pos) + 1) +
                               " REF=" + ref + " FASTA=" + fa;
        auto& examples = r->n_allele > 2   ? stats.ref_mismatch_multiallelic_examples
                         : ref.size() == 1 ? stats.ref_mismatch_examples
                                           : stats.ref_mismatch_indel_examples;
        // A record read again (overlapping gene windows) is counted again, but shown once.
        if (examples.size() < opt.max_examples &&
            std::find(examples.begin(), examples.end(), ex) == examples.end())
            examples.push_back(ex);
        if (opt.ref_mismatch == ref_mismatch_policy::ERROR) {
            throw input_error(path, where(r), "REF",
                              "REF allele '" + ref + "' does not match the FASTA ('" +
                                  opt.reference->path() + "' has '" + fa +
                                  "'); are the VCF and the FASTA on the same genome build?");
        }
        return false;
    }

    void fill_genotypes(const bcf1_t* r, vcf_record& out) {
        const int ns = nsamples_total();
        const int got = bcf_get_genotypes(hdr.get(), const_cast<bcf1_t*>(r), &gt, &n_gt);
        const bool have_gt = got > 0 && ns > 0;
        const int ploidy = have_gt ? got / ns : 0;
        const std::size_t n_out = samples.size();
        if (opt.want_haplotypes) {
            if (!have_gt && n_out > 0) {
                throw input_error(path, where(r), "GT",
                                  "the record has no GT field: haplotypes need phased genotypes");
            }
            out.haplotypes.assign(2 * n_out, 0);
            for (std::size_t s = 0; s < n_out; ++s) {
                const int32_t* g = gt + static_cast<std::ptrdiff_t>(sample_col[s]) * ploidy;
                int a[2] = {0, 0};
                int n_al = 0;
                for (int k = 0; k < ploidy && k < 2; ++k) {
                    if (g[k] == bcf_int32_vector_end) break;
                    ++n_al;
                    if (bcf_gt_is_missing(g[k])) {
                        ++stats.missing_alleles;
                        a[k] = 0;
                    } else {
                        a[k] = bcf_gt_allele(g[k]);
                        if (a[k] < 0 || a[k] >= r->n_allele) {
                            throw input_error(path, where(r), "GT",
                                              "allele index " + std::to_string(a[k]) +
                                                  " of sample " + samples[s] + " exceeds the " +
                                                  std::to_string(r->n_allele - 1) + " ALT allele(s)");
                        }
                    }
                }
                if (ploidy > 2 && g[2] != bcf_int32_vector_end) {
                    throw input_error(path, where(r), "GT",
                                      "sample " + samples[s] + " has ploidy " +
                                          std::to_string(ploidy) + "; only 1 or 2 is supported");
                }
                if (n_al <= 1) {
                    // A lone '.' in a diploid sample is a missing genotype, not a haploid one.
                    if (n_al == 1 && bcf_gt_is_missing(g[0])) {
                        ++stats.missing_alleles;
                    } else {
                        ++stats.haploid_gt;
                    }
                    a[1] = a[0];
                } else if (!bcf_gt_is_phased(g[1]) && a[0] != a[1]) {
                    if (opt.unphased == unphased_policy::ERROR) {
                        throw input_error(path, where(r), "GT",
                                          "unphased heterozygous genotype " + std::to_string(a[0]) + "/" +
                                              std::to_string(a[1]) + " of sample " + samples[s] +
                                              ": haplotypes need phased genotypes (phase the VCF, e.g. with "
                                              "SHAPEIT or Eagle, or " +
                                              opt.unphased_advice + ")");
                    }
                    ++stats.unphased_het;
                }
                out.haplotypes[2 * s] = static_cast<std::int16_t>(a[0]);
                out.haplotypes[2 * s + 1] = static_cast<std::int16_t>(a[1]);
            }
        }
        if (opt.want_dosages) {
            constexpr float nan = std::numeric_limits<float>::quiet_NaN();
            out.dosages.assign(n_out, nan);
            int ds_per_sample = 0;
            const bool ds_only = use_ds && opt.dosage == dosage_source::DS;
            if (use_ds) {
                const int nd = bcf_get_format_float(hdr.get(), const_cast<bcf1_t*>(r), "DS", &ds, &n_ds);
                if (nd > 0 && ns > 0) ds_per_sample = nd / ns;
            }
            for (std::size_t s = 0; s < n_out; ++s) {
                if (ds_per_sample > 0) {
                    const float v = ds[static_cast<std::ptrdiff_t>(sample_col[s]) * ds_per_sample];
                    if (!bcf_float_is_missing(v) && !bcf_float_is_vector_end(v)) {
                        if (!(v >= -1e-3f && v <= 2.001f)) {
                            throw input_error(path, where(r), "DS",
                                              "dosage " + std::to_string(v) + " of sample " +
                                                  samples[s] + " is outside 0..2");
                        }
                        out.dosages[s] = v;
                        continue;
                    }
                }
                if (ds_only) {
                    // DS was asked for by name: a '.' (or absent) DS is a missing dosage, not
                    // the hard call, which would silently mix two kinds of dosage in one SNP.
                    ++stats.missing_dosage;
                    continue;
                }
                // GT ALT count: the source itself, or the fallback for a missing DS.
                float count = nan;
                if (have_gt) {
                    const int32_t* g = gt + static_cast<std::ptrdiff_t>(sample_col[s]) * ploidy;
                    count = 0.0f;
                    for (int k = 0; k < ploidy && g[k] != bcf_int32_vector_end; ++k) {
                        if (bcf_gt_is_missing(g[k])) { count = nan; break; }
                        const int al = bcf_gt_allele(g[k]);
                        if (al < 0 || al >= r->n_allele) {
                            throw input_error(path, where(r), "GT",
                                              "allele index " + std::to_string(al) + " of sample " +
                                                  samples[s] + " exceeds the " +
                                                  std::to_string(r->n_allele - 1) + " ALT allele(s)");
                        }
                        if (al != 0) count += 1.0f;
                    }
                }
                if (std::isnan(count)) {
                    ++stats.missing_dosage;
                } else if (use_ds) {
                    ++stats.ds_missing_used_gt;
                }
                out.dosages[s] = count;
            }
        }
    }
};

vcf_reader::vcf_reader(const std::string& path, vcf_options options) : impl_(new impl) {
    impl& m = *impl_;
    m.path = path;
    m.opt = std::move(options);
    if (!path_exists(path)) throw missing_file_error(path, "VCF/BCF file");
    errno = 0;
    m.fp.reset(hts_open(path.c_str(), "r"));
    if (!m.fp) {
        throw io_error("cannot open VCF/BCF file '" + path + "'" +
                       (errno ? std::string(": ") + std::strerror(errno) : std::string()) +
                       " (is it a VCF/BCF compressed with bgzip, not gzip twice?)");
    }
    const htsFormat* f = hts_get_format(m.fp.get());
    if (f->category != variant_data || (f->format != vcf && f->format != bcf)) {
        char* d = hts_format_description(f);
        const std::string desc = d ? d : "unknown";
        std::free(d);
        throw io_error("'" + path + "' is not a VCF/BCF file (htslib detected: " + desc + ")");
    }
    m.is_bcf = f->format == bcf;
    m.bgzf = f->compression == bgzf;
    if (m.bgzf) {
        // A BGZF file cut short (an interrupted copy or download) can end exactly at a block
        // boundary, where reading would stop silently at a clean-looking end: the end-of-file
        // marker block is the only reliable witness, so require it up front.
        BGZF* bg = hts_get_bgzfp(m.fp.get());
        if (bg && bgzf_check_EOF(bg) == 0) {
            throw input_error(path, "end of file", "",
                              "the file is truncated (the BGZF end-of-file marker is missing); "
                              "copy or download it again");
        }
    }
    m.hdr.reset(bcf_hdr_read(m.fp.get()));
    if (!m.hdr) {
        const std::string detail = m.is_bcf ? std::string() : header_failure_detail(path);
        if (!detail.empty()) throw input_error(path, "header", "samples", detail);
        throw input_error(path, "header", "",
                          "cannot parse the VCF header (missing '#CHROM' line or bad meta line)");
    }
    m.rec.reset(bcf_init());
    if (!m.rec) throw hts_error("bcf_init failed (out of memory)");

    if (m.is_bcf) {
        m.idx.reset(bcf_index_load3(path.c_str(), nullptr, HTS_IDX_SILENT_FAIL));
    } else if (m.bgzf) {
        m.tbx.reset(tbx_index_load3(path.c_str(), nullptr, HTS_IDX_SILENT_FAIL));
    }

    // Samples: keep the requested order; map each to its header column.
    const int ns = bcf_hdr_nsamples(m.hdr.get());
    if (m.opt.samples.empty()) {
        for (int i = 0; i < ns; ++i) {
            m.samples.emplace_back(m.hdr->samples[i]);
            m.sample_col.push_back(i);
        }
    } else {
        std::set<std::string> seen;
        std::vector<std::string> absent;
        for (const std::string& s : m.opt.samples) {
            if (!seen.insert(s).second) throw usage_error("sample '" + s + "' requested twice");
            const int col = bcf_hdr_id2int(m.hdr.get(), BCF_DT_SAMPLE, s.c_str());
            if (col < 0) {
                absent.push_back(s);
                continue;
            }
            m.samples.push_back(s);
            m.sample_col.push_back(col);
        }
        if (!absent.empty()) {
            std::vector<std::string> have;
            for (int i = 0; i < std::min(ns, 5); ++i) have.emplace_back(m.hdr->samples[i]);
            std::string msg = "sample '" + absent[0] + "' is not in the VCF";
            if (absent.size() > 1) {
                msg += " (nor are " + std::to_string(absent.size() - 1) + " other requested sample(s): " +
                       seq::contig_list_preview(
                           std::vector<std::string>(absent.begin() + 1, absent.end())) + ")";
            }
            msg += "; the file has " + std::to_string(ns) + " samples";
            if (ns > 0) {
                msg += ": " + seq::contig_list_preview(have) + (ns > 5 ? ", ..." : "");
            }
            throw input_error(path, "header", "samples", msg);
        }
    }

    const int ds_id = bcf_hdr_id2int(m.hdr.get(), BCF_DT_ID, "DS");
    const bool has_ds = ds_id >= 0 && bcf_hdr_idinfo_exists(m.hdr.get(), BCF_HL_FMT, ds_id);
    switch (m.opt.dosage) {
    case dosage_source::AUTO: m.use_ds = has_ds; break;
    case dosage_source::GT: m.use_ds = false; break;
    case dosage_source::DS:
        if (!has_ds && m.opt.want_dosages) {
            throw input_error(path, "header", "DS",
                              "dosages from FORMAT/DS were requested but the header does not "
                              "define DS; use dosages from GT instead");
        }
        m.use_ds = true;
        break;
    }
}

vcf_reader::~vcf_reader() = default;
vcf_reader::vcf_reader(vcf_reader&&) noexcept = default;
vcf_reader& vcf_reader::operator=(vcf_reader&&) noexcept = default;

const std::string& vcf_reader::path() const { return impl_->path; }
const std::vector<std::string>& vcf_reader::samples() const { return impl_->samples; }
std::vector<std::string> vcf_reader::contigs() const { return impl_->contig_names(); }
std::vector<std::string> vcf_reader::indexed_contigs() const {
    return impl_->indexed_contig_names();
}
bool vcf_reader::has_index() const { return impl_->idx || impl_->tbx; }
bool vcf_reader::dosage_from_ds() const { return impl_->use_ds; }
const bcf_hdr_t* vcf_reader::header() const { return impl_->hdr.get(); }
const vcf_stats& vcf_reader::stats() const { return impl_->stats; }
void vcf_reader::reset_stats() { impl_->stats = vcf_stats{}; }

void vcf_reader::require_index() const {
    const impl& m = *impl_;
    if (has_index()) return;
    if (!m.is_bcf && !m.bgzf) {
        throw input_error(m.path, "", "",
                          "region queries need a bgzip-compressed, indexed VCF (plain gzip or "
                          "uncompressed text cannot be indexed); run `zcat -f " +
                              m.path + " | bgzip > OUT.vcf.gz && tabix -p vcf OUT.vcf.gz`");
    }
    throw input_error(m.path, "", "",
                      "the file has no index (.tbi or .csi) for region queries; create one with `" +
                          std::string(m.is_bcf ? "bcftools index " : "tabix -p vcf ") + m.path + "`" +
                          (m.is_bcf ? "" : " (or `bcftools index " + m.path + "`)"));
}

bool vcf_reader::query(std::string_view chrom, std::int64_t first, std::int64_t last) {
    impl& m = *impl_;
    require_index();
    first = std::max<std::int64_t>(first, 1);
    if (last < first) {
        throw usage_error("bad region " + std::string(chrom) + ":" + std::to_string(first) + "-" +
                          std::to_string(last) + ": last < first");
    }
    m.in_query = true;
    m.itr.reset();
    const std::string key(chrom);
    auto c = m.tid_cache.find(key);
    if (c == m.tid_cache.end()) {
        // The file's own spelling of the contig ("chr20" asked, "20" written), or none.
        const std::string hit =
            seq::match_contig(chrom, [&m](const std::string& s) { return m.tid_of(s) >= 0; });
        c = m.tid_cache.emplace(key, std::make_pair(hit.empty() ? -1 : m.tid_of(hit), hit)).first;
    }
    const int tid = c->second.first;
    if (tid < 0) return false;
    m.q_first = first;
    m.itr.reset(m.is_bcf ? bcf_itr_queryi(m.idx.get(), tid, first - 1, last)
                         : tbx_itr_queryi(m.tbx.get(), tid, first - 1, last));
    if (!m.itr) {
        throw hts_error("cannot query " + key + ":" + std::to_string(first) + "-" +
                        std::to_string(last) + " in '" + m.path + "' (index corrupt?)");
    }
    m.next_where = "the first record of region " + c->second.second + ":" + std::to_string(first) + "-" +
                   std::to_string(last);
    return true;
}

bool vcf_reader::next(vcf_record& out) {
    impl& m = *impl_;
    bcf1_t* r = m.rec.get();
    while (m.read_raw()) {
        ++m.stats.records_read;
        if (r->pos < 0) {
            // htslib reads a non-numeric POS ("abc") as 0 without complaint.
            throw input_error(m.path, m.next_where, "POS", "POS is not a positive integer");
        }
        m.next_where = "the record after " + std::string(bcf_seqname_safe(m.hdr.get(), r)) + ":" +
                       std::to_string(static_cast<long long>(r->pos) + 1);
        if (m.in_query && r->pos + 1 < m.q_first && !m.opt.keep_starting_before) {
            ++m.stats.outside_region;
            continue;
        }
        if (bcf_unpack(r, BCF_UN_STR) < 0) {
            throw input_error(m.path, m.where(r), "", "cannot unpack the record");
        }
        if (std::uint64_t* reason = m.type_filter(r)) {
            ++*reason;
            continue;
        }
        if (!m.ref_matches(r)) continue;
        out.chrom = bcf_seqname_safe(m.hdr.get(), r);
        out.pos = static_cast<std::int64_t>(r->pos) + 1;
        out.id = r->d.id ? r->d.id : ".";
        out.ref = r->d.allele[0];
        out.alts.clear();
        for (int a = 1; a < r->n_allele; ++a) out.alts.emplace_back(r->d.allele[a]);
        out.haplotypes.clear();
        out.dosages.clear();
        if (m.opt.want_haplotypes || m.opt.want_dosages) m.fill_genotypes(r, out);
        ++m.stats.records_returned;
        return true;
    }
    return false;
}

trimmed_allele trim_allele(std::string_view ref, std::string_view alt) {
    trimmed_allele t{0, upper(ref), upper(alt)};
    while (t.ref.size() > 1 && t.alt.size() > 1 && t.ref.back() == t.alt.back()) {
        t.ref.pop_back();
        t.alt.pop_back();
    }
    std::size_t k = 0;
    while (t.ref.size() - k > 1 && t.alt.size() - k > 1 && t.ref[k] == t.alt[k])
        ++k;
    t.ref.erase(0, k);
    t.alt.erase(0, k);
    t.shift = static_cast<std::int64_t>(k);
    return t;
}

bool writable_allele(const trimmed_allele& a, bool indels) {
    if (a.ref == a.alt || !is_acgt(a.ref) || !is_acgt(a.alt)) return false; // also '*', <DEL>, N
    return (a.ref.size() == 1 && a.alt.size() == 1) || indels;
}

} // namespace scpx::io
