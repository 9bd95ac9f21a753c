// The lctpred per-gene journal: one line per finished gene, exact doubles, an end marker so a
// line cut by a kill is recognised, a fingerprint header so a resume cannot mix two runs.
#include "scpx/enet/lctpred_journal.hpp"

#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <tuple>
#include <type_traits>

namespace scpx::enet {

namespace {

constexpr std::string_view kMagic = "#scpx-lctpred-journal";
constexpr std::string_view kVersion = "1";
constexpr std::string_view kEnd = "END";
constexpr std::size_t kFields = 26;

constexpr std::array<const char*, 11> kScalarNames = {"alpha",     "lambda_min", "cv_mse",  "cv_R2_avg",
                                                      "cv_R2_sd",  "in_sample_R2", "rho_avg", "rho_se",
                                                      "rho_zscore", "zscore_pval", "cv_fisher_pval"};

std::array<double*, 11> scalars(gene_fit& g) {
    return {&g.alpha,  &g.lambda_min, &g.cv_mse,     &g.cv_r2_avg,   &g.cv_r2_sd,     &g.in_sample_r2,
            &g.rho_avg, &g.rho_se,    &g.rho_zscore, &g.zscore_pval, &g.cv_fisher_pval};
}

/// 17 significant digits round-trip every finite double; NaN keeps its bit pattern (sign and
/// payload reach the HDF5 summary bytes), written as "NaN" + 16 hex digits.
void put_double(std::string& s, double v) {
    if (std::isnan(v)) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        s += fmt::format("NaN{:016x}", bits);
    } else {
        s += fmt::format("{:.17g}", v);
    }
}

std::string clean(const std::string& s) {
    std::string out = s;
    std::replace_if(out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
    return out;
}

/// Parses one field of a complete line; errors name the file, line and field.
struct field_parser {
    const std::string& file;
    std::string where;

    double real(std::string_view t, const std::string& field) const {
        if (t.size() == 19 && t.substr(0, 3) == "NaN") {
            std::uint64_t bits = 0;
            for (char c : t.substr(3)) {
                int d = -1;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
                if (d < 0) throw input_error(file, where, field, "bad NaN bit pattern ('" + std::string(t) + "')");
                bits = bits << 4 | static_cast<std::uint64_t>(d);
            }
            double v = 0;
            std::memcpy(&v, &bits, sizeof v);
            return v;
        }
        double v = 0;
        if (!try_parse_double(t, v))
            throw input_error(file, where, field, "not a number ('" + std::string(t.substr(0, 40)) + "')");
        return v;
    }
    std::int64_t integer(std::string_view t, const std::string& field) const { return parse_int(t, file, where, field); }
    int int32(std::string_view t, const std::string& field) const {
        const std::int64_t v = integer(t, field);
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
            throw input_error(file, where, field, "out of range ('" + std::string(t) + "')");
        return static_cast<int>(v);
    }
    /// Comma-separated items ("-" = none).
    std::vector<std::string_view> list(std::string_view t) const {
        std::vector<std::string_view> out;
        if (t != "-") split_fields(t, delimiter::COMMA, out);
        return out;
    }
    std::vector<std::string_view> parts(std::string_view t, std::size_t n, const std::string& field) const {
        std::vector<std::string_view> out;
        std::size_t at = 0;
        for (;;) {
            const std::size_t c = t.find(':', at);
            out.push_back(t.substr(at, c == std::string_view::npos ? std::string_view::npos : c - at));
            if (c == std::string_view::npos) break;
            at = c + 1;
        }
        if (out.size() != n)
            throw input_error(file, where, field,
                              fmt::format("expected {} ':'-separated values in '{}'", n, std::string(t.substr(0, 60))));
        return out;
    }
};

template <class T>
void put_list(std::string& s, const std::vector<T>& v) {
    if (v.empty()) {
        s += '-';
        return;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) s += ',';
        if constexpr (std::is_same_v<T, double>) put_double(s, v[i]);
        else s += std::to_string(v[i]);
    }
}

} // namespace

std::string format_journal_line(std::uint64_t row, const std::string& gene_id, const gene_fit& fit) {
    std::string s = fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}", row, clean(gene_id), to_string(fit.status), fit.n_samples,
                                fit.n_snps_in_window, fit.lambda_index, fit.included ? 1 : 0);
    for (double v : {fit.alpha, fit.lambda_min, fit.cv_mse, fit.cv_r2_avg, fit.cv_r2_sd, fit.in_sample_r2, fit.rho_avg,
                     fit.rho_se, fit.rho_zscore, fit.zscore_pval, fit.cv_fisher_pval}) {
        s += '\t';
        put_double(s, v);
    }
    s += '\t';
    put_list(s, fit.lambda);
    s += '\t';
    put_list(s, fit.cvm);
    s += '\t';
    put_list(s, fit.cvsd);
    s += '\t';
    put_list(s, fit.nzero);
    s += '\t';
    if (fit.weights.empty()) s += '-';
    for (std::size_t i = 0; i < fit.weights.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(fit.weights[i].first);
        s += ':';
        put_double(s, fit.weights[i].second);
    }
    s += '\t';
    if (fit.folds.empty()) s += '-';
    for (std::size_t i = 0; i < fit.folds.size(); ++i) {
        const fold_stats& f = fit.folds[i];
        if (i) s += ',';
        s += fmt::format("{}:{}:", f.fold, f.n);
        put_double(s, f.r2);
        s += ':';
        put_double(s, f.rho);
        s += ':';
        put_double(s, f.z);
        s += ':';
        put_double(s, f.pval);
    }
    s += '\t';
    s += clean(fit.message);
    s += '\t';
    s += kEnd;
    return s;
}

bool parse_journal_line(std::string_view line, const std::string& file, std::uint64_t line_no, journal_entry& out) {
    std::vector<std::string_view> f;
    split_fields(line, delimiter::TAB, f);
    // A kill can cut a line anywhere: without all its fields and the end marker it is not a
    // record (the gene is simply fitted again).
    if (f.size() < kFields || f.back() != kEnd) return false;
    const field_parser p{file, fmt::format("line {}", line_no)};
    if (f.size() != kFields)
        throw input_error(file, p.where, "", fmt::format("{} fields, expected {}", f.size(), kFields));
    journal_entry e;
    const std::int64_t row = p.integer(f[0], "row");
    if (row < 0) throw input_error(file, p.where, "row", "negative row");
    e.row = static_cast<std::uint64_t>(row);
    e.gene_id = std::string(f[1]);
    gene_fit& g = e.fit;
    bool known = false;
    for (gene_status s : {gene_status::ok, gene_status::too_few_snps, gene_status::constant_expression,
                          gene_status::missing_expression, gene_status::no_convergence, gene_status::not_autosomal})
        if (to_string(s) == f[2]) {
            g.status = s;
            known = true;
        }
    if (!known) throw input_error(file, p.where, "status", "unknown status ('" + std::string(f[2]) + "')");
    g.n_samples = p.int32(f[3], "n_samples");
    g.n_snps_in_window = p.int32(f[4], "n_snps_in_window");
    g.lambda_index = p.int32(f[5], "lambda_index");
    if (f[6] != "0" && f[6] != "1") throw input_error(file, p.where, "included", "not 0 or 1");
    g.included = f[6] == "1";
    const auto sc = scalars(g);
    for (std::size_t i = 0; i < sc.size(); ++i) *sc[i] = p.real(f[7 + i], kScalarNames[i]);
    for (auto [vec, col, name] : {std::tuple{&g.lambda, 18, "lambda"}, {&g.cvm, 19, "cvm"}, {&g.cvsd, 20, "cvsd"}})
        for (std::string_view t : p.list(f[static_cast<std::size_t>(col)])) vec->push_back(p.real(t, name));
    for (std::string_view t : p.list(f[21])) g.nzero.push_back(p.int32(t, "nzero"));
    for (std::string_view t : p.list(f[22])) {
        const auto w = p.parts(t, 2, "weights");
        g.weights.emplace_back(p.int32(w[0], "weights"), p.real(w[1], "weights"));
    }
    for (std::string_view t : p.list(f[23])) {
        const auto v = p.parts(t, 6, "folds");
        fold_stats s;
        s.fold = p.int32(v[0], "folds");
        s.n = p.int32(v[1], "folds");
        s.r2 = p.real(v[2], "folds");
        s.rho = p.real(v[3], "folds");
        s.z = p.real(v[4], "folds");
        s.pval = p.real(v[5], "folds");
        g.folds.push_back(s);
    }
    g.message = std::string(f[24]);
    if (g.cvm.size() != g.lambda.size() || g.cvsd.size() != g.lambda.size() || g.nzero.size() != g.lambda.size())
        throw input_error(file, p.where, "cvm", "the CV curve columns differ in length");
    out = std::move(e);
    return true;
}

namespace {
/// A record cut short by a kill: it begins with the row number (digits, then a tab or the cut).
bool looks_like_cut_record(std::string_view line) {
    const std::size_t tab = line.find('\t');
    const std::string_view row = line.substr(0, tab);
    return !row.empty() && row.find_first_not_of("0123456789") == std::string_view::npos;
}
} // namespace

std::string journal_header(const std::vector<std::string>& fingerprint) {
    std::string s = fmt::format("{}\t{}", kMagic, kVersion);
    for (const std::string& item : fingerprint) s += '\t' + clean(item);
    return s;
}

std::string journal_file(const std::string& dir, int rank) { return fmt::format("{}/rank{}.tsv", dir, rank); }

journal_contents read_journal_dir(const std::string& dir, const std::vector<std::string>& fingerprint,
                                  std::uint64_t keep_begin, std::uint64_t keep_end) {
    namespace fs = std::filesystem;
    journal_contents out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    std::vector<std::string> files;
    for (const auto& de : fs::directory_iterator(dir, ec)) {
        const std::string name = de.path().filename().string();
        if (name.rfind("rank", 0) == 0 && name.size() > 8 && name.compare(name.size() - 4, 4, ".tsv") == 0)
            files.push_back(de.path().string());
    }
    if (ec) throw io_error(fmt::format("cannot list the journal folder {}: {}", dir, ec.message()));
    std::sort(files.begin(), files.end());
    const std::string header = journal_header(fingerprint);
    for (const std::string& path : files) {
        line_reader in(path);
        std::string_view line;
        if (!in.next(line)) continue; // created, killed before the header: nothing done
        if (line != header) {
            // Cut inside the header line: nothing done in that file.
            if (header.compare(0, line.size(), line) == 0 && !in.next(line)) continue;
            std::vector<std::string_view> have, want;
            split_fields(line, delimiter::TAB, have);
            split_fields(header, delimiter::TAB, want);
            if (have.empty() || have[0] != kMagic)
                throw input_error(path, "line 1", "", "not an scpx lctpred journal");
            std::string diff = "journal version";
            for (std::size_t i = 1; i < std::max(have.size(), want.size()); ++i) {
                const std::string_view a = i < have.size() ? have[i] : "(none)";
                const std::string_view b = i < want.size() ? want[i] : "(none)";
                if (a != b) {
                    diff = fmt::format("journal: '{}', now: '{}'", std::string(a.substr(0, 300)),
                                       std::string(b.substr(0, 300)));
                    break;
                }
            }
            throw usage_error(fmt::format("--resume: the journal {} was written by a run with other options or "
                                          "inputs ({}); rerun without --resume to start over",
                                          path, diff));
        }
        ++out.files;
        // A kill cuts at most the line being written: the last one, or (after a resume, which
        // closes it with a newline and appends) one that still starts like a record. Anything
        // else is damage that a resume must not skip over silently.
        std::uint64_t cut_line = 0;
        std::string cut_text;
        while (in.next(line)) {
            journal_entry e;
            if (cut_line > 0 && !looks_like_cut_record(cut_text))
                throw input_error(path, fmt::format("line {}", cut_line), "",
                                  fmt::format("corrupt journal line ('{}'): neither a record nor a line cut by an "
                                              "interruption; rerun without --resume to start over",
                                              cut_text.substr(0, 60)));
            cut_line = 0;
            if (!parse_journal_line(line, path, in.line_number(), e)) {
                if (!line.empty()) {
                    ++out.incomplete;
                    cut_line = in.line_number();
                    cut_text = std::string(line);
                }
                continue;
            }
            ++out.complete;
            if (e.row >= keep_begin && e.row < keep_end) out.entries.push_back(std::move(e));
        }
    }
    return out;
}

journal_writer::journal_writer(const std::string& dir, int rank, const std::string& header)
    : path_(journal_file(dir, rank)) {
    std::string head;
    char last = '\n';
    {
        std::ifstream in(path_, std::ios::binary);
        if (in) {
            std::getline(in, head);
            if (in.good()) head += '\n';
            in.clear();
            in.seekg(0, std::ios::end);
            if (in.tellg() > 0) {
                in.seekg(-1, std::ios::end);
                in.get(last);
            }
        }
    }
    const bool append = head == header + "\n";
    f_ = std::fopen(path_.c_str(), append ? "ab" : "wb");
    if (!f_) throw io_error(fmt::format("cannot write the journal {}: {}", path_, std::strerror(errno)));
    std::string start;
    if (!append) start = header + "\n";
    else if (last != '\n') start = "\n"; // close a line cut by a kill: it stays incomplete
    if (!start.empty() &&
        (std::fwrite(start.data(), 1, start.size(), f_) != start.size() || std::fflush(f_) != 0))
        throw io_error(fmt::format("cannot write the journal {}: {}", path_, std::strerror(errno)));
}

journal_writer::~journal_writer() { close(); }

void journal_writer::close() {
    if (f_) std::fclose(f_);
    f_ = nullptr;
}

void journal_writer::append(std::uint64_t row, const std::string& gene_id, const gene_fit& fit) {
    SCPX_ASSERT(f_ != nullptr);
    const std::string line = format_journal_line(row, gene_id, fit) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
        throw io_error(fmt::format("cannot write the journal {}: {}", path_, std::strerror(errno)));
    ++appended_;
}

} // namespace scpx::enet
