#pragma once
/// @file lctpred_journal.hpp
/// The per-gene journal of `scpx lctpred` that makes a killed run resumable (`--resume`).
///
/// Each rank appends every finished gene's complete gene_fit as one tab-separated line to
/// `<dir>/rank<r>.tsv`, flushed after each gene. The first line of every file is a header with
/// the run's fingerprint (options in effect, input sizes and mtimes, sample/SNP/gene counts); a
/// resumed run reads all files (written at any rank count), refuses a different fingerprint, and
/// fits only the missing genes. Doubles are written with 17 significant digits (NaN as its bit
/// pattern), so a journaled gene gives byte-identical outputs. Every line ends with an end
/// marker field: a line cut by a kill has none and is ignored.

#include "scpx/enet/predictdb.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::enet {

/// One finished gene as journaled.
struct journal_entry {
    std::uint64_t row = 0; ///< row of the gene in the run's gene list (summary row)
    std::string gene_id;
    gene_fit fit;
};

/// One journal line (without the newline) for a finished gene. Tabs and newlines of the gene id
/// and message are replaced by spaces.
std::string format_journal_line(std::uint64_t row, const std::string& gene_id, const gene_fit& fit);

/// Parses one journal line into `out`.
/// @return false when the line is incomplete (no end marker: cut by a kill), true otherwise
/// @throws input_error (file, line, field) for a complete line with a malformed field
bool parse_journal_line(std::string_view line, const std::string& file, std::uint64_t line_no, journal_entry& out);

/// The header line (without the newline) for a run with these fingerprint items ("key=value").
std::string journal_header(const std::vector<std::string>& fingerprint);

/// What the journal files of a folder hold.
struct journal_contents {
    std::vector<journal_entry> entries; ///< complete lines kept (row filter), in file then line order
    std::size_t complete = 0;           ///< complete lines of every row
    std::size_t incomplete = 0;         ///< lines without an end marker (ignored)
    std::size_t files = 0;              ///< journal files read
};

/// Reads every `rank*.tsv` in `dir` (none when `dir` does not exist), keeping the entries whose
/// row is in [keep_begin, keep_end) (a rank needs only its own block).
/// @throws usage_error naming the first differing fingerprint item when a file was written by a
///         run with other options or inputs; input_error for a malformed complete line
journal_contents read_journal_dir(const std::string& dir, const std::vector<std::string>& fingerprint,
                                  std::uint64_t keep_begin = 0, std::uint64_t keep_end = UINT64_MAX);

/// The journal file of one rank: `<dir>/rank<rank>.tsv`.
std::string journal_file(const std::string& dir, int rank);

/// Appends finished genes to one rank's journal file, flushed after each gene.
class journal_writer {
public:
    /// Opens `journal_file(dir, rank)` for appending when it already starts with `header`
    /// (a resumed run; a line cut by a kill is closed first), else creates it with the header.
    /// @throws io_error when the file cannot be written
    journal_writer(const std::string& dir, int rank, const std::string& header);
    ~journal_writer();
    journal_writer(const journal_writer&) = delete;
    journal_writer& operator=(const journal_writer&) = delete;

    /// Writes and flushes one gene. Not thread-safe (the caller serialises).
    /// @throws io_error when the write fails
    void append(std::uint64_t row, const std::string& gene_id, const gene_fit& fit);
    /// Genes appended by this writer.
    std::size_t appended() const { return appended_; }
    /// Closes the file (also done by the destructor).
    void close();

private:
    std::string path_;
    std::FILE* f_ = nullptr;
    std::size_t appended_ = 0;
};

} // namespace scpx::enet
