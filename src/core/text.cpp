#include "scpx/core/text.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"

#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace scpx {

// ---------------------------------------------------------------- line_reader

struct line_reader::impl {
    gzFile gz = nullptr;
    std::string buf;    // bytes read but not yet returned
    size_t pos = 0;     // start of the unread part of buf
    bool eof = false;
    std::string carry;  // the line handed out by next(std::string_view&)
    ~impl() {
        if (gz) gzclose(gz);
    }
};

line_reader::line_reader(const std::string& path) : impl_(std::make_unique<impl>()), path_(path) {
    // gzopen reads plain files transparently, so one code path serves .gz, .bgz and plain text.
    impl_->gz = gzopen(path.c_str(), "rb");
    if (!impl_->gz) {
        throw io_error("cannot open " + path + ": " +
                       (errno ? std::string(std::strerror(errno)) : std::string("unknown error")));
    }
    gzbuffer(impl_->gz, 1 << 17);
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
        const char* begin = s.buf.data() + s.pos;
        const size_t avail = s.buf.size() - s.pos;
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
        const int n = gzread(s.gz, &s.buf[old], static_cast<unsigned>(kChunk));
        if (n < 0) {
            int code = 0;
            const char* msg = gzerror(s.gz, &code);
            throw input_error(path_, "after line " + std::to_string(line_no_), "",
                              std::string("corrupt compressed data (") + (msg ? msg : "zlib error") + ")");
        }
        s.buf.resize(old + static_cast<size_t>(n));
        if (n == 0) {
            // gzread reports a truncated stream as a clean EOF with Z_BUF_ERROR pending.
            int code = 0;
            const char* msg = gzerror(s.gz, &code);
            if (code != Z_OK && code != Z_STREAM_END) {
                throw input_error(path_, "after line " + std::to_string(line_no_), "",
                                  std::string("truncated or corrupt gzip stream (") + (msg ? msg : "zlib error") + ")");
            }
            s.eof = true;
        }
    }
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

double parse_double(std::string_view text, const std::string& file, const std::string& where,
                    const std::string& field) {
    const std::string_view t = trim(text);
    double v = 0.0;
    if (!t.empty()) {
        const char* first = t.data();
        if (*first == '+') ++first; // from_chars rejects a leading '+', R and pandas write it
        const auto res = std::from_chars(first, t.data() + t.size(), v);
        if (res.ec == std::errc() && res.ptr == t.data() + t.size()) return v;
        if (res.ec == std::errc::result_out_of_range && res.ptr == t.data() + t.size()) {
            // Denormals and overflow: fall back to strtod, which saturates the way Python does.
            return std::strtod(std::string(t).c_str(), nullptr);
        }
    }
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
    s.out.commit();
}

} // namespace scpx
