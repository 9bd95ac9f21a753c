#include "scpx/core/text.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace scpx {

// ---------------------------------------------------------------- line_reader
//
// Decompression is done here rather than with gzread because gzread spends ~10 % of a large
// read in zlib's bytewise CRC: we inflate raw deflate data and check the CRC with libdeflate's
// (PCLMUL) one. gzip files up to kWholeMax compressed / kWholeOutMax uncompressed are inflated in
// one call by libdeflate (about twice zlib's speed); larger ones stream through zlib in 256 KiB
// chunks, so memory stays bounded. Multi-member files (BGZF) work in both paths.

namespace {
constexpr size_t kWholeMax = size_t(96) << 20;     // compressed bytes
constexpr size_t kWholeOutMax = size_t(256) << 20; // uncompressed bytes (from the gzip trailer)
constexpr size_t kInChunk = size_t(1) << 18;
} // namespace

struct line_reader::impl {
    int fd = -1;
    bool gzip = false;
    // Compressed (or plain) input not yet consumed.
    std::vector<unsigned char> in;
    size_t in_pos = 0, in_len = 0;
    bool in_eof = false;
    // zlib state (streaming gzip).
    z_stream zs{};
    bool zs_ready = false;
    bool in_member = false; // inside a deflate stream (header parsed, trailer not yet read)
    std::uint32_t crc = 0, size_mod = 0;
    bool members_done = false;

    std::string buf;    // bytes produced but not yet returned
    size_t pos = 0;     // start of the unread part of buf (or of `whole`)
    bool eof = false;
    char* whole = nullptr; // whole-file path: the decompressed file (malloc'd, not zero-filled)
    size_t whole_len = 0;
    ~impl() {
        std::free(whole);
        if (zs_ready) inflateEnd(&zs);
        if (fd >= 0) ::close(fd);
    }

    bool parse_gzip_header(const std::string& path, std::uint64_t line);
    bool inflate_whole(std::uint32_t isize, size_t file_size);

    // Makes at least `need` unconsumed input bytes available if the file has them.
    void fill_input(size_t need) {
        if (in_len - in_pos >= need || in_eof) return;
        if (in_pos > 0) {
            std::memmove(in.data(), in.data() + in_pos, in_len - in_pos);
            in_len -= in_pos;
            in_pos = 0;
        }
        if (in.size() < std::max(need, kInChunk)) in.resize(std::max(need, kInChunk));
        while (in_len - in_pos < need && !in_eof) {
            const ssize_t n = ::read(fd, in.data() + in_len, in.size() - in_len);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw io_error(std::string("read error: ") + std::strerror(errno));
            }
            if (n == 0) in_eof = true;
            in_len += static_cast<size_t>(n);
        }
    }
};

namespace {

[[noreturn]] void gz_fail(const std::string& path, std::uint64_t line, const std::string& what) {
    throw input_error(path, "after line " + std::to_string(line), "", what);
}

// Parses a gzip member header at in[in_pos]; returns false when the input holds no further
// member (clean end, or trailing non-gzip bytes, which gzip/gzread also ignore).
} // namespace

bool line_reader::impl::parse_gzip_header(const std::string& path, std::uint64_t line) {
    impl& s = *this;
    s.fill_input(10);
    const size_t avail = s.in_len - s.in_pos;
    if (avail == 0) return false;
    const unsigned char* h = s.in.data() + s.in_pos;
    if (avail < 2 || h[0] != 0x1f || h[1] != 0x8b) return false;
    if (avail < 10) gz_fail(path, line, "truncated or corrupt gzip stream (unexpected end of file)");
    if (h[2] != 8) gz_fail(path, line, "corrupt compressed data (unknown compression method)");
    const unsigned flg = h[3];
    size_t off = 10;
    auto need = [&](size_t n) {
        s.fill_input(off + n);
        if (s.in_len - s.in_pos < off + n)
            gz_fail(path, line, "truncated or corrupt gzip stream (unexpected end of file)");
        return s.in.data() + s.in_pos;
    };
    if (flg & 4) {
        const unsigned char* p = need(2);
        const size_t xlen = p[off] | (static_cast<size_t>(p[off + 1]) << 8);
        off += 2;
        need(xlen);
        off += xlen;
    }
    for (unsigned bit : {8u, 16u}) {
        if (!(flg & bit)) continue;
        for (;;) {
            const unsigned char* p = need(1);
            ++off;
            if (p[off - 1] == 0) break;
        }
    }
    if (flg & 2) {
        need(2);
        off += 2;
    }
    s.in_pos += off;
    return true;
}

// Whole-file path: every member inflated by libdeflate into s.buf.
bool line_reader::impl::inflate_whole(std::uint32_t isize, size_t file_size) {
    // The compressed file is mapped, not copied; the output buffer is not zero-filled.
    void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return false;
    ::madvise(map, file_size, MADV_SEQUENTIAL);
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    size_t cap = std::max<size_t>(isize, 1 << 16), out_len = 0;
    char* out = d ? static_cast<char*>(std::malloc(cap)) : nullptr;
    const unsigned char* in_data = static_cast<const unsigned char*>(map);
    size_t in_off = 0;
    bool ok = out != nullptr;
    while (ok && in_off < file_size) {
        const unsigned char* p = in_data + in_off;
        if (file_size - in_off < 2 || p[0] != 0x1f || p[1] != 0x8b) break; // trailing garbage: ignored
        size_t used_in = 0, used_out = 0;
        const libdeflate_result r =
            libdeflate_gzip_decompress_ex(d, p, file_size - in_off, out + out_len, cap - out_len, &used_in, &used_out);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE && cap < (size_t(4) << 30)) {
            char* grown = static_cast<char*>(std::realloc(out, cap * 2));
            if (!grown) ok = false;
            else out = grown, cap *= 2;
            continue;
        }
        // libdeflate does not tell truncation from corruption: the streaming path will say.
        if (r != LIBDEFLATE_SUCCESS) ok = false;
        in_off += used_in;
        out_len += used_out;
    }
    if (d) libdeflate_free_decompressor(d);
    ::munmap(map, file_size);
    if (!ok) {
        std::free(out);
        return false;
    }
    whole = out;
    whole_len = out_len;
    pos = 0;
    eof = true;
    return true;
}

line_reader::line_reader(const std::string& path) : impl_(std::make_unique<impl>()), path_(path) {
    auto& s = *impl_;
    s.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s.fd < 0 && errno == ENOENT) throw missing_file_error(path);
    if (s.fd < 0) throw io_error("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(s.fd, &st) == 0 && S_ISDIR(st.st_mode))
        throw io_error("cannot open " + path + ": it is a directory");
    s.fill_input(2);
    s.gzip = s.in_len >= 2 && s.in[0] == 0x1f && s.in[1] == 0x8b;
    if (!s.gzip) return;
    // Small enough: read it all and let libdeflate inflate it in one go. SCPX_GZIP_STREAM=1 forces
    // the bounded-memory streaming path (tests use it; so can a memory-tight run).
    const char* force_stream = std::getenv("SCPX_GZIP_STREAM");
    const bool whole_ok = !(force_stream && *force_stream && std::string(force_stream) != "0");
    if (whole_ok && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kWholeMax && st.st_size >= 18) {
        unsigned char tail[4];
        if (::pread(s.fd, tail, 4, st.st_size - 4) == 4) {
            const std::uint32_t isize = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (std::uint32_t(tail[3]) << 24);
            if (isize <= kWholeOutMax) {
                if (s.inflate_whole(isize, static_cast<size_t>(st.st_size))) return;
                // Corrupt or truncated: fall through to the streaming path, which reports where.
            }
        }
    }
    if (inflateInit2(&s.zs, -15) != Z_OK) throw io_error("cannot open " + path + ": zlib initialisation failed");
    s.zs_ready = true;
}

line_reader::~line_reader() = default;

std::string line_reader::where() const { return "line " + std::to_string(line_no_); }

bool line_reader::next(std::string& line) {
    std::string_view v;
    if (!next(v)) return false;
    line.assign(v.data(), v.size());
    return true;
}

bool line_reader::next(std::string_view& line) {
    auto& s = *impl_;
    constexpr size_t kChunk = 1 << 18;
    for (;;) {
        const char* begin = (s.whole ? s.whole : s.buf.data()) + s.pos;
        const size_t avail = (s.whole ? s.whole_len : s.buf.size()) - s.pos;
        const void* nl = avail ? std::memchr(begin, '\n', avail) : nullptr;
        if (nl || (s.eof && avail > 0)) {
            const size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - begin) : avail;
            size_t end = len;
            if (end > 0 && begin[end - 1] == '\r') --end;
            line = std::string_view(begin, end);
            s.pos += nl ? len + 1 : len;
            ++line_no_;
            return true;
        }
        if (s.eof) return false;
        // Move the partial line to the front, then append the next chunk.
        s.buf.erase(0, s.pos);
        s.pos = 0;
        const size_t old = s.buf.size();
        s.buf.resize(old + kChunk);
        char* dst = &s.buf[old];
        size_t produced = 0;
        if (!s.gzip) {
            s.fill_input(1);
            produced = std::min(kChunk, s.in_len - s.in_pos);
            std::memcpy(dst, s.in.data() + s.in_pos, produced);
            s.in_pos += produced;
        } else {
            while (produced == 0 && !s.members_done) {
                if (!s.in_member) {
                    if (!s.parse_gzip_header(path_, line_no_)) {
                        s.members_done = true;
                        break;
                    }
                    inflateReset(&s.zs);
                    s.in_member = true;
                    s.crc = 0;
                    s.size_mod = 0;
                }
                s.fill_input(1);
                s.zs.next_in = s.in.data() + s.in_pos;
                s.zs.avail_in = static_cast<uInt>(s.in_len - s.in_pos);
                s.zs.next_out = reinterpret_cast<Bytef*>(dst);
                s.zs.avail_out = static_cast<uInt>(kChunk);
                const int rc = inflate(&s.zs, Z_NO_FLUSH);
                s.in_pos = s.in_len - s.zs.avail_in;
                produced = kChunk - s.zs.avail_out;
                s.crc = static_cast<std::uint32_t>(libdeflate_crc32(s.crc, dst, produced));
                s.size_mod += static_cast<std::uint32_t>(produced);
                if (rc == Z_STREAM_END) {
                    s.fill_input(8);
                    if (s.in_len - s.in_pos < 8)
                        gz_fail(path_, line_no_, "truncated or corrupt gzip stream (unexpected end of file)");
                    const unsigned char* t = s.in.data() + s.in_pos;
                    const std::uint32_t crc = t[0] | (t[1] << 8) | (t[2] << 16) | (std::uint32_t(t[3]) << 24);
                    const std::uint32_t isz = t[4] | (t[5] << 8) | (t[6] << 16) | (std::uint32_t(t[7]) << 24);
                    if (crc != s.crc || isz != s.size_mod)
                        gz_fail(path_, line_no_, "corrupt compressed data (incorrect data check)");
                    s.in_pos += 8;
                    s.in_member = false;
                } else if (rc == Z_BUF_ERROR || (rc == Z_OK && produced == 0)) {
                    if (s.in_eof && s.in_pos >= s.in_len)
                        gz_fail(path_, line_no_, "truncated or corrupt gzip stream (unexpected end of file)");
                } else if (rc != Z_OK) {
                    gz_fail(path_, line_no_,
                            std::string("corrupt compressed data (") + (s.zs.msg ? s.zs.msg : "zlib error") + ")");
                }
            }
        }
        s.buf.resize(old + produced);
        if (produced == 0) s.eof = true;
    }
}

bool line_reader::next_non_blank(std::string_view& line) {
    while (next(line))
        if (!trim(line).empty()) return true;
    return false;
}

std::string_view line_reader::header(const std::string& expected) {
    std::string_view line;
    if (!next_non_blank(line))
        throw input_error(path_, "", "", "empty file: no header line (expected " + expected + ")");
    return line;
}

// ---------------------------------------------------------------- fields

delimiter detect_delimiter(std::string_view header) {
    if (header.find('\t') != std::string_view::npos) return delimiter::TAB;
    if (header.find(',') != std::string_view::npos) return delimiter::COMMA;
    return delimiter::WHITESPACE;
}

void split_fields(std::string_view line, delimiter d, std::vector<std::string_view>& out) {
    out.clear();
    if (d == delimiter::WHITESPACE) {
        size_t i = 0;
        const size_t n = line.size();
        while (i < n) {
            while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
            if (i >= n) break;
            size_t j = i;
            while (j < n && line[j] != ' ' && line[j] != '\t') ++j;
            out.emplace_back(line.data() + i, j - i);
            i = j;
        }
        return;
    }
    SCPX_ASSERT(d == delimiter::TAB || d == delimiter::COMMA);
    const char sep = d == delimiter::TAB ? '\t' : ',';
    size_t start = 0;
    for (;;) {
        const size_t k = line.find(sep, start);
        if (k == std::string_view::npos) {
            out.emplace_back(line.data() + start, line.size() - start);
            return;
        }
        out.emplace_back(line.data() + start, k - start);
        start = k + 1;
    }
}

bool is_missing_token(std::string_view t) {
    return t.empty() || t == "NA" || t == "NaN" || t == "nan" || t == "." || t == "na" || t == "NAN";
}

bool try_parse_double(std::string_view t, double& v) {
    if (t.empty()) return false;
    const char* first = t.data();
    const char* last = t.data() + t.size();
    if (*first == '+') ++first; // from_chars rejects a leading '+'; R and pandas write it
    const auto res = std::from_chars(first, last, v);
    if (res.ptr != last) return false;
    if (res.ec == std::errc()) return true;
    if (res.ec == std::errc::result_out_of_range) {
        // Denormals and overflow: strtod saturates the way Python does.
        v = std::strtod(std::string(t).c_str(), nullptr);
        return true;
    }
    return false;
}

double parse_double(std::string_view text, const std::string& file, const std::string& where,
                    const std::string& field) {
    double v = 0.0;
    if (try_parse_double(trim(text), v)) return v;
    throw input_error(file, where, field, "not a number ('" + std::string(text.substr(0, 40)) + "')");
}

std::int64_t parse_int(std::string_view text, const std::string& file, const std::string& where,
                       const std::string& field) {
    const std::string_view t = trim(text);
    std::int64_t v = 0;
    if (!t.empty()) {
        const char* first = t.data();
        if (*first == '+') ++first;
        const auto res = std::from_chars(first, t.data() + t.size(), v);
        if (res.ec == std::errc() && res.ptr == t.data() + t.size()) return v;
    }
    throw input_error(file, where, field, "not an integer ('" + std::string(text.substr(0, 40)) + "')");
}

std::string to_lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string to_upper(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::uint64_t fnv1a64(std::string_view text, std::uint64_t h) {
    for (const unsigned char ch : text) {
        h ^= ch;
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k > 0) out += sep;
        out += items[k];
    }
    return out;
}

// ---------------------------------------------------------------- text_writer

struct text_writer::impl {
    atomic_output out;
    bool gz = false;
    gzFile gzf = nullptr;
    std::FILE* file = nullptr;
    explicit impl(const std::string& path, bool overwrite) : out(path, overwrite) {}
    ~impl() {
        if (gzf) gzclose(gzf);
        if (file) std::fclose(file);
    }
};

text_writer::text_writer(const std::string& path, bool overwrite)
    : impl_(std::make_unique<impl>(path, overwrite)) {
    auto& s = *impl_;
    s.gz = ends_with(path, ".gz");
    if (s.gz) {
        s.gzf = gzopen(s.out.temp_path().c_str(), "wb6");
        if (s.gzf) gzbuffer(s.gzf, 1 << 17);
    } else {
        s.file = std::fopen(s.out.temp_path().c_str(), "wb");
    }
    if (!s.gzf && !s.file)
        throw io_error("cannot write " + path + ": " + std::strerror(errno));
}

text_writer::~text_writer() = default;

void text_writer::write(std::string_view text) {
    auto& s = *impl_;
    if (text.empty()) return;
    bool ok;
    if (s.gz) {
        ok = s.gzf && gzwrite(s.gzf, text.data(), static_cast<unsigned>(text.size())) ==
                          static_cast<int>(text.size());
    } else {
        ok = s.file && std::fwrite(text.data(), 1, text.size(), s.file) == text.size();
    }
    if (!ok) throw io_error("write to " + s.out.path() + " failed (disk full?)");
}

void text_writer::close() {
    finish();
    commit();
}

void text_writer::commit() { impl_->out.commit(); }

void text_writer::finish() {
    auto& s = *impl_;
    int rc = 0;
    if (s.gzf) {
        rc = gzclose(s.gzf) == Z_OK ? 0 : -1;
        s.gzf = nullptr;
    }
    if (s.file) {
        rc = std::fclose(s.file);
        s.file = nullptr;
    }
    if (rc != 0) throw io_error("closing " + s.out.path() + " failed (disk full?)");
}

} // namespace scpx
