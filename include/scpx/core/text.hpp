#pragma once
/// @file text.hpp
/// Line-oriented reading of plain or gzip text, field splitting and checked number parsing.
/// Every failure names the file, the line and the field (scpx::input_error).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scpx {

/// Reads lines from a plain or gzip/bgzip file (detected from the content, not the name).
/// A truncated or corrupt gzip stream throws input_error naming the file and line.
class line_reader {
public:
    /// @throws io_error when the file cannot be opened
    explicit line_reader(const std::string& path);
    ~line_reader();
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;

    /// Reads the next line without its "\n" or "\r\n". Returns false at a clean end of file.
    bool next(std::string& line);
    /// Zero-copy variant: `line` stays valid until the next call. Fastest for big files.
    bool next(std::string_view& line);
    /// Like next(), skipping lines that are empty or blank.
    bool next_non_blank(std::string_view& line);
    /// The first non-blank line: the header of a table.
    /// @throws input_error "empty file: no header line (expected <expected>)" when there is none
    std::string_view header(const std::string& expected);
    /// 1-based number of the line last returned by next().
    std::uint64_t line_number() const { return line_no_; }
    const std::string& path() const { return path_; }
    /// "line N" for messages.
    std::string where() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string path_;
    std::uint64_t line_no_ = 0;
};

/// How a text table separates its fields.
enum class delimiter {
    TAB,        ///< exactly one '\t' between fields (empty fields kept)
    COMMA,      ///< exactly one ',' (no quoting: genomic tables do not quote)
    WHITESPACE, ///< runs of spaces/tabs; leading and trailing blanks ignored
    AUTO        ///< decide from the header line: tab, then comma, then whitespace
};

/// Picks TAB if the line has a tab, else COMMA if it has a comma, else WHITESPACE.
delimiter detect_delimiter(std::string_view header);

/// Splits `line` into views (valid while `line` lives). `d` must not be AUTO.
void split_fields(std::string_view line, delimiter d, std::vector<std::string_view>& out);

/// Parses a whole field (no surrounding blanks) as a double, accepting a leading '+'; overflow and
/// underflow saturate like strtod (and Python's float()). Returns false when `text` is not
/// entirely a number. Allocation-free: the building block of every numeric reader.
bool try_parse_double(std::string_view text, double& value);

/// Parses a whole field as a double; "NA", "nan", "" are not accepted here.
/// @throws input_error naming file, where and field on failure.
double parse_double(std::string_view text, const std::string& file, const std::string& where,
                    const std::string& field);
/// Same for integers.
std::int64_t parse_int(std::string_view text, const std::string& file, const std::string& where,
                       const std::string& field);
/// True for the missing-value spellings used by R, pandas and PLINK: "NA", "NaN", "nan", "", ".".
bool is_missing_token(std::string_view text);

/// Lower-case copy.
std::string to_lower(std::string_view s);
/// Upper-case copy.
std::string to_upper(std::string_view s);
/// True when `s` starts with `prefix`.
bool starts_with(std::string_view s, std::string_view prefix);
/// True when `s` ends with `suffix`.
bool ends_with(std::string_view s, std::string_view suffix);
/// Removes leading and trailing blanks.
std::string_view trim(std::string_view s);
/// FNV-1a (64-bit) of `text`, continuing from `h` (FNV's offset basis by default): chain calls
/// to hash several pieces as one.
std::uint64_t fnv1a64(std::string_view text, std::uint64_t h = 0xcbf29ce484222325ULL);
/// The items with `sep` between them ("a, b, c").
std::string join(const std::vector<std::string>& items, std::string_view sep);

/// Writes text to a plain or gzip file (gzip when the name ends in ".gz"), through an
/// atomic_output: nothing appears under `path` until close() succeeds.
class text_writer {
public:
    explicit text_writer(const std::string& path, bool overwrite = true);
    ~text_writer();
    text_writer(const text_writer&) = delete;
    text_writer& operator=(const text_writer&) = delete;

    void write(std::string_view s);
    /// Flushes, closes and renames into place. @throws io_error on any failure (disk full…).
    void close();
    /// close() in two steps, for a set of outputs that should appear together: finish() every
    /// file first (where a full disk shows), then commit() each (only renames are left).
    void finish();
    void commit();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace scpx
