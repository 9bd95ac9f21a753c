#include "scpx/seq/fasta.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/seq/contig.hpp"

#include <htslib/bgzf.h>
#include <htslib/faidx.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scpx::seq {

namespace {

struct fai_deleter {
    void operator()(faidx_t* f) const noexcept { fai_destroy(f); }
};
using fai_ptr = std::unique_ptr<faidx_t, fai_deleter>;

struct free_deleter {
    void operator()(char* p) const noexcept { std::free(p); }
};

bool file_exists(const std::string& p) { return std::ifstream(p).good(); }

enum class compression { NONE, BGZF, GZIP, UNREADABLE };

// faidx can seek only in plain or BGZF files; a plain-gzip FASTA must be recompressed.
compression detect_compression(const std::string& path) {
    BGZF* fp = bgzf_open(path.c_str(), "r");
    if (!fp) return compression::UNREADABLE;
    compression c = !fp->is_compressed ? compression::NONE
                    : fp->is_gzip      ? compression::GZIP
                                       : compression::BGZF;
    bgzf_close(fp);
    return c;
}

// Finds why faidx refused a FASTA, so the message can name the line: faidx needs a '>' header
// first and, within a sequence, every line but the last of equal length. Returns {} when the
// text looks fine (the failure was then something else, e.g. an unwritable directory).
std::pair<std::string, std::string> diagnose_fasta(const std::string& path) {
    line_reader in(path);
    std::string line, name;
    std::size_t width = 0;
    std::uint64_t short_line = 0, header_line = 0, bases = 0;
    bool any = false;
    while (in.next(line)) {
        any = true;
        if (!line.empty() && line[0] == '>') {
            header_line = in.line_number();
            bases = 0;
            name = line.substr(1, line.find_first_of(" \t") - 1);
            width = 0;
            short_line = 0;
            continue;
        }
        if (name.empty()) {
            if (line.empty()) continue;
            return {in.where(), "expected a '>' header line before the first sequence line"};
        }
        if (short_line) {
            return {in.where(),
                    "sequence '" + name + "' continues after the shorter line " +
                        std::to_string(short_line) +
                        "; all lines of a sequence but the last must have the same length"};
        }
        if (width == 0) {
            width = line.size();
        } else if (line.size() > width) {
            return {in.where(), "line of sequence '" + name + "' has " +
                                    std::to_string(line.size()) + " bases, more than the " +
                                    std::to_string(width) + " of the lines before it"};
        }
        if (line.size() < width || line.empty()) short_line = in.line_number();
        bases += line.size();
    }
    if (!any) return {"", "the FASTA file is empty"};
    // faidx refuses a last sequence without bases (one in the middle it indexes as empty).
    if (!name.empty() && bases == 0)
        return {"line " + std::to_string(header_line), "sequence '" + name + "' has no bases"};
    return {};
}

// One line of a .fai: where htslib will look for a contig's bases.
struct fai_entry {
    std::string name;
    std::int64_t length = 0, offset = 0, line_bases = 0, line_width = 0;
};

std::vector<fai_entry> read_fai(const std::string& fai_path) {
    line_reader in(fai_path);
    std::string line;
    std::vector<std::string_view> f;
    std::vector<fai_entry> out;
    while (in.next(line)) {
        if (line.empty()) continue;
        split_fields(line, delimiter::TAB, f);
        if (f.size() != 5 && f.size() != 6) {
            throw input_error(fai_path, in.where(), "",
                              "expected 5 tab-separated columns (name, length, offset, linebases, "
                              "linewidth), found " + std::to_string(f.size()) +
                                  "; delete it and rebuild it with `samtools faidx`");
        }
        fai_entry e;
        e.name = std::string(f[0]);
        e.length = parse_int(f[1], fai_path, in.where(), "length");
        e.offset = parse_int(f[2], fai_path, in.where(), "offset");
        e.line_bases = parse_int(f[3], fai_path, in.where(), "linebases");
        e.line_width = parse_int(f[4], fai_path, in.where(), "linewidth");
        out.push_back(std::move(e));
    }
    return out;
}

std::int64_t mtime_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : -1;
}

// An index older than its FASTA was probably built for an earlier version of the file (samtools
// warns likewise). Only a warning: copying files can reorder the times of identical files.
void warn_if_index_older(const std::string& path, const std::string& index_path) {
    const std::int64_t data = mtime_of(path), index = mtime_of(index_path);
    if (data >= 0 && index >= 0 && index < data) {
        SCPX_LOG_WRN_SHARED("the index file {} is older than the FASTA {}; if the FASTA was changed, "
                            "delete the index and rebuild it with `samtools faidx {}`",
                            index_path, path, path);
    }
}

// Reads up to `n` bytes at `offset` (fewer at the end of the file).
std::string read_at(int fd, std::int64_t offset, std::size_t n) {
    std::string buf(n, '\0');
    const ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(offset));
    buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return buf;
}

bool is_eol(char c) { return c == '\n' || c == '\r'; }

// Checks cheaply (a few small reads per contig) that a plain FASTA's .fai describes this file:
// htslib trusts the index blindly, and a stale one silently returns the wrong bases. Returns
// what disagrees for the first bad contig, or "".
std::string fai_mismatch(int fd, std::int64_t file_size, const std::vector<fai_entry>& fai) {
    struct span {
        std::int64_t begin, end;
        const std::string* name;
        bool operator<(const span& o) const { return begin < o.begin; }
    };
    std::vector<span> spans; // bytes of each contig's bases
    for (const fai_entry& e : fai) {
        const std::string who = "contig '" + e.name + "': ";
        if (e.length < 0 || e.offset < 1 || e.line_bases < 0 || e.line_width < e.line_bases ||
            (e.length > 0 && (e.line_bases < 1 || e.line_width - e.line_bases < 1 ||
                              e.line_width - e.line_bases > 2))) {
            return who + "impossible length/offset/linebases/linewidth values";
        }
        // The byte before the offset ends the contig's own '>name' header line. One small read
        // per contig; a header longer than that only gets its line end checked.
        const std::int64_t back = std::min<std::int64_t>(e.offset, 1024);
        const std::string head = read_at(fd, e.offset - back, static_cast<std::size_t>(back));
        if (head.size() != static_cast<std::size_t>(back) || head.back() != '\n') {
            return who + "offset " + std::to_string(e.offset) +
                   " does not follow the end of a header line";
        }
        const std::size_t prev = head.find_last_of('\n', head.size() - 2);
        if (prev != std::string::npos || back == e.offset) {
            const std::size_t b = prev == std::string::npos ? 0 : prev + 1;
            const std::string hdr = head.substr(b, head.size() - 1 - b);
            const std::string want = ">" + e.name;
            if (hdr.compare(0, want.size(), want) != 0 ||
                (hdr.size() > want.size() &&
                 !std::isspace(static_cast<unsigned char>(hdr[want.size()])))) {
                return who + "the line before offset " + std::to_string(e.offset) + " is '" +
                       hdr.substr(0, 60) + "', not its header '>" + e.name + "'";
            }
        }
        const std::int64_t term_bytes = e.line_width - e.line_bases; // "\n" or "\r\n"
        if (e.length > 0) {
            // The first line holds exactly linebases bases and then its terminator (or, for a
            // one-line contig, the whole contig and then a terminator or the end of the file).
            const std::int64_t first = std::min(e.length, e.line_bases);
            const std::int64_t term = e.length > e.line_bases ? term_bytes : 1;
            const std::string line = read_at(fd, e.offset, static_cast<std::size_t>(first + term));
            const auto eol = std::find_if(line.begin(), line.end(), is_eol);
            const std::int64_t got = eol - line.begin();
            const bool ends_ok = got == first &&
                                 (e.length > e.line_bases
                                      ? line.size() == static_cast<std::size_t>(first + term) &&
                                            line.back() == '\n'
                                      : true);
            if (!ends_ok) {
                return who + "the first sequence line should hold " + std::to_string(first) +
                       " bases (linebases " + std::to_string(e.line_bases) + ") and end there, " +
                       "but " +
                       (got < first ? "it holds " + std::to_string(got)
                                    : std::string("it continues past them"));
            }
        }
        // Just past the last base: full lines with their terminators, then the last partial
        // line (the file may end without a final line terminator).
        const std::int64_t full = e.line_bases > 0 ? e.length / e.line_bases : 0;
        const std::int64_t rem = e.line_bases > 0 ? e.length % e.line_bases : 0;
        const std::int64_t data_end =
            e.offset + full * e.line_width + rem - (rem == 0 && full > 0 ? term_bytes : 0);
        if (data_end > file_size) {
            return who + std::to_string(e.length) + " bases from offset " +
                   std::to_string(e.offset) + " would end at byte " + std::to_string(data_end) +
                   ", past the end of the file (" + std::to_string(file_size) + " bytes)";
        }
        if (e.length > 0) {
            // The last base is a base, not the start of the next record.
            const std::int64_t last = data_end - 1;
            const std::string c = read_at(fd, last, 1);
            if (c.size() != 1 || is_eol(c[0]) || c[0] == '>') {
                return who + "byte " + std::to_string(last) + ", where its last base should be, is " +
                       (c.empty() ? std::string("past the end of the file")
                                  : c[0] == '>' ? std::string("a header") : std::string("a line end"));
            }
        }
        spans.push_back({e.offset, data_end, &e.name});
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) {
        if (spans[i].begin < spans[i - 1].end) {
            return "contig '" + *spans[i - 1].name + "' would run to byte " +
                   std::to_string(spans[i - 1].end) + ", into contig '" + *spans[i].name +
                   "' at byte " + std::to_string(spans[i].begin) + " (wrong length?)";
        }
    }
    return {};
}

// Stops with a clear message when the .fai of a plain FASTA does not match the file.
void check_fai(const std::string& path, const std::string& fai_path) {
    const std::vector<fai_entry> fai = read_fai(fai_path);
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw io_error("cannot open FASTA file '" + path + "': " + std::strerror(errno));
    struct stat st {};
    const bool sized = ::fstat(fd, &st) == 0;
    std::string why = sized ? fai_mismatch(fd, static_cast<std::int64_t>(st.st_size), fai)
                            : std::string();
    ::close(fd);
    if (!why.empty()) {
        throw input_error(fai_path, "", "",
                          "the FASTA index does not match '" + path + "' (" + why +
                              "): it is out of date or belongs to another file; delete it and "
                              "rebuild it with `samtools faidx " + path + "`");
    }
}

// Reads a FASTA once before scpx indexes it, for what htslib's indexer lets through silently:
// a second record of the same name (ignored), blanks inside sequence lines (a wrong index),
// empty records (dropped) and characters that are not letters ('-', '*', digits; read as N).
// Errors for the first two, warnings for the others.
void survey_fasta(const std::string& path) {
    line_reader in(path);
    std::string_view line;
    std::unordered_map<std::string, std::uint64_t> header_line_of;
    std::string name;
    std::uint64_t header_line = 0, bases = 0, odd = 0, empty_records = 0;
    std::string first_odd, first_empty;
    auto end_record = [&] {
        if (!name.empty() && bases == 0) {
            if (empty_records++ == 0) first_empty = "'" + name + "' (line " + std::to_string(header_line) + ")";
        }
    };
    while (in.next(line)) {
        if (!line.empty() && line[0] == '>') {
            end_record();
            header_line = in.line_number();
            const auto stop = std::find_if(line.begin() + 1, line.end(), [](char c) {
                return std::isspace(static_cast<unsigned char>(c));
            });
            name = std::string(line.begin() + 1, stop);
            bases = 0;
            const auto [it, fresh] = header_line_of.emplace(name, header_line);
            if (!fresh) {
                throw input_error(path, in.where(), "",
                                  "sequence '" + name + "' appears a second time (first at line " +
                                      std::to_string(it->second) +
                                      "); rename or remove one of the records");
            }
            continue;
        }
        if (name.empty()) continue; // text before the first header: diagnose_fasta's business
        for (std::size_t i = 0; i < line.size(); ++i) {
            const auto c = static_cast<unsigned char>(line[i]);
            if (std::isalpha(c)) continue;
            if (std::isspace(c)) {
                throw input_error(path, in.where(), "",
                                  "blank inside a sequence line of '" + name + "' (column " +
                                      std::to_string(i + 1) +
                                      "); sequence lines must hold only bases");
            }
            if (odd++ == 0) {
                first_odd = "'" + std::string(1, static_cast<char>(c)) + "' at line " +
                            std::to_string(in.line_number()) + " in '" + name + "'";
            }
        }
        bases += line.size();
    }
    // A last record without bases is not counted: faidx refuses it, and diagnose_fasta says so.
    if (odd > 0) {
        SCPX_LOG_WRN_SHARED("{}: {} character(s) in sequence lines are not letters (first {}); they are "
                            "read as N",
                            path, odd, first_odd);
    }
    if (empty_records > 0) {
        SCPX_LOG_WRN_SHARED("{}: {} sequence(s) without bases (first {}); they are indexed with "
                            "length 0",
                            path, empty_records, first_empty);
    }
}

} // namespace

genomic_window tss_window(std::string_view chrom, std::int64_t tss_1based, std::int64_t length) {
    if (length < 1) throw usage_error("window length must be >= 1, got " + std::to_string(length));
    if (tss_1based < 1) {
        throw usage_error("TSS position must be >= 1 (1-based), got " + std::to_string(tss_1based));
    }
    genomic_window w;
    w.chrom = std::string(chrom);
    w.start = (tss_1based - 1) - length / 2;
    w.end = w.start + length;
    return w;
}

struct fasta_reader::impl {
    std::string path;
    fai_ptr fai;
    std::vector<contig_info> contigs;
    std::vector<std::string> names;
    std::unordered_map<std::string, std::size_t> index_of;      // index spelling -> contigs[i]
    mutable std::unordered_map<std::string, std::string> alias_cache; // user spelling -> index spelling

    // Index of the contig, or -1.
    long find(std::string_view chrom) const {
        const std::string key(chrom);
        auto c = alias_cache.find(key);
        if (c != alias_cache.end()) return static_cast<long>(index_of.at(c->second));
        const std::string hit =
            match_contig(chrom, [this](const std::string& s) { return index_of.count(s) > 0; });
        if (hit.empty()) return -1;
        alias_cache.emplace(key, hit);
        return static_cast<long>(index_of.at(hit));
    }

    std::size_t require(std::string_view chrom) const {
        const long i = find(chrom);
        if (i < 0) {
            throw input_error(path, "", "contig",
                              "unknown contig '" + std::string(chrom) + "' (tried " +
                                  contig_list_preview(contig_aliases(chrom), 8) +
                                  "); the FASTA has " + contig_list_preview(names));
        }
        return static_cast<std::size_t>(i);
    }
};

fasta_reader::fasta_reader(const std::string& path, bool build_index) : impl_(new impl) {
    impl_->path = path;
    if (!file_exists(path)) throw missing_file_error(path, "FASTA file");
    const compression comp = detect_compression(path);
    if (comp == compression::UNREADABLE) throw io_error("cannot read FASTA file '" + path + "'");
    if (comp == compression::GZIP) {
        throw io_error("FASTA file '" + path +
                       "' is compressed with plain gzip, which cannot be read at random; "
                       "recompress it with `gunzip -c " + path + " | bgzip > " + path +
                       ".bgz` (then index it with `samtools faidx`) or decompress it");
    }
    const std::string fai_path = path + ".fai";
    const std::string gzi_path = path + ".gzi";
    const bool have_index =
        file_exists(fai_path) && (comp != compression::BGZF || file_exists(gzi_path));
    if (!have_index) {
        if (!build_index) {
            throw io_error("FASTA index '" + fai_path + "'" +
                           (comp == compression::BGZF ? " or '" + gzi_path + "'" : std::string()) +
                           " is missing; create it with `samtools faidx " + path + "`");
        }
        survey_fasta(path);
        const bool had_fai = file_exists(fai_path), had_gzi = file_exists(gzi_path);
        errno = 0;
        if (fai_build3(path.c_str(), nullptr, nullptr) != 0) {
            const int build_errno = errno;
            // htslib writes the index in place: a build that failed (a full disk) leaves a
            // truncated one, which every later run would trust. Only what this build made goes.
            if (!had_fai) std::remove(fai_path.c_str());
            if (!had_gzi) std::remove(gzi_path.c_str());
            const auto why = diagnose_fasta(path);
            if (!why.second.empty()) throw input_error(path, why.first, "", why.second);
            const bool write_failed = build_errno == ENOSPC || build_errno == EDQUOT ||
                                      build_errno == EROFS || build_errno == EACCES || build_errno == EPERM ||
                                      build_errno == EIO || build_errno == EFBIG;
            throw io_error("cannot build the FASTA index of '" + path + "'" +
                           (write_failed
                                ? ": " + std::string(std::strerror(build_errno))
                                : std::string(" (is the directory writable, and are all lines of each "
                                              "sequence of equal length?)")) +
                           "; create it with `samtools faidx " + path + "`");
        }
    } else {
        warn_if_index_older(path, fai_path);
        if (comp == compression::BGZF) warn_if_index_older(path, gzi_path);
    }
    // htslib trusts the index blindly; checking it needs random reads, which a BGZF file would
    // have to decompress for, so only plain files are checked byte by byte.
    if (comp == compression::NONE) check_fai(path, fai_path);
    impl_->fai.reset(fai_load3(path.c_str(), nullptr, nullptr, 0));
    if (!impl_->fai) {
        throw io_error("cannot load the FASTA index of '" + path + "' (" + fai_path +
                       "); rebuild it with `samtools faidx " + path + "`");
    }
    const int n = faidx_nseq(impl_->fai.get());
    if (n <= 0) {
        if (file_bytes(fai_path) == 0 && file_bytes(path) > 0)
            throw input_error(fai_path, "", "",
                              "the FASTA index is empty (left by an index build that failed?); delete it and "
                              "scpx builds it again, or run `samtools faidx " +
                                  path + "`");
        throw input_error(path, "", "", "the FASTA index lists no sequences (empty file?)");
    }
    impl_->contigs.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const char* name = faidx_iseq(impl_->fai.get(), i);
        const int len = faidx_seq_len(impl_->fai.get(), name);
        if (len < 0) {
            throw input_error(path, "", "contig", std::string("bad index entry for '") + name + "'");
        }
        impl_->index_of.emplace(name, impl_->contigs.size());
        impl_->contigs.push_back({name, len});
        impl_->names.emplace_back(name);
    }
}

fasta_reader::~fasta_reader() = default;
fasta_reader::fasta_reader(fasta_reader&&) noexcept = default;
fasta_reader& fasta_reader::operator=(fasta_reader&&) noexcept = default;

const std::string& fasta_reader::path() const { return impl_->path; }
const std::vector<contig_info>& fasta_reader::contigs() const { return impl_->contigs; }
bool fasta_reader::has_contig(std::string_view chrom) const { return impl_->find(chrom) >= 0; }

std::string fasta_reader::resolve_contig(std::string_view chrom) const {
    return impl_->contigs[impl_->require(chrom)].name;
}

std::int64_t fasta_reader::contig_length(std::string_view chrom) const {
    return impl_->contigs[impl_->require(chrom)].length;
}

std::string fasta_reader::fetch(std::string_view chrom, std::int64_t start, std::int64_t end) {
    std::string out;
    fetch_into(chrom, start, end, out);
    return out;
}

std::string fasta_reader::fetch(const genomic_window& w) { return fetch(w.chrom, w.start, w.end); }

void fasta_reader::fetch_into(std::string_view chrom, std::int64_t start, std::int64_t end,
                              std::string& out) {
    if (end < start) {
        throw usage_error("bad window " + std::string(chrom) + ":[" + std::to_string(start) + ", " +
                          std::to_string(end) + "): end < start");
    }
    const contig_info& c = impl_->contigs[impl_->require(chrom)];
    out.assign(static_cast<std::size_t>(end - start), 'N');
    const std::int64_t lo = std::max<std::int64_t>(start, 0);
    const std::int64_t hi = std::min<std::int64_t>(end, c.length);
    if (lo >= hi) return; // window entirely outside the contig: all padding
    hts_pos_t got = 0;
    std::unique_ptr<char, free_deleter> seq(
        faidx_fetch_seq64(impl_->fai.get(), c.name.c_str(), lo, hi - 1, &got));
    if (!seq || got != hi - lo) {
        throw hts_error("cannot read " + c.name + ":[" + std::to_string(lo) + ", " +
                        std::to_string(hi) + ") from FASTA '" + impl_->path +
                        "' (got " + std::to_string(static_cast<long long>(got)) +
                        " bases; file truncated, corrupt, or index out of date?)");
    }
    char* dst = out.data() + (lo - start);
    for (std::int64_t i = 0; i < got; ++i) {
        dst[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(seq.get()[i])));
    }
}

} // namespace scpx::seq
