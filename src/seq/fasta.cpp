#include "scpx/seq/fasta.hpp"

#include "scpx/core/error.hpp"
#include "scpx/core/text.hpp"
#include "scpx/seq/contig.hpp"

#include <htslib/bgzf.h>
#include <htslib/faidx.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>

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
    if (!file_exists(path)) throw io_error("cannot open FASTA file '" + path + "'");
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
        if (fai_build3(path.c_str(), nullptr, nullptr) != 0) {
            const auto why = diagnose_fasta(path);
            if (!why.second.empty()) throw input_error(path, why.first, "", why.second);
            throw io_error("cannot build the FASTA index of '" + path +
                           "' (is the directory writable, and are all lines of each sequence of "
                           "equal length?); create it with `samtools faidx " + path + "`");
        }
    }
    impl_->fai.reset(fai_load3(path.c_str(), nullptr, nullptr, 0));
    if (!impl_->fai) {
        throw io_error("cannot load the FASTA index of '" + path + "' (" + fai_path +
                       "); rebuild it with `samtools faidx " + path + "`");
    }
    const int n = faidx_nseq(impl_->fai.get());
    if (n <= 0) throw input_error(path, "", "", "the FASTA index lists no sequences (empty file?)");
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
