#pragma once
/// @file covariance.hpp
/// SNP covariance files for S-PrediXcan (MetaXcan / PredictDB format): reader and writer.
///
/// Format: text, optionally gzip, whitespace-separated (space or tab), header with the columns
/// GENE RSID1 RSID2 VALUE in any order, one row per unordered SNP pair of a gene including the
/// diagonal (normally the upper triangle in model SNP order). VALUE may be NA.
///
/// Reader semantics (MetaXcan MatrixManager, docs/spredixcan.md §2.2):
///  * A gene's rows must be contiguous; a gene seen again later → input_error (MetaXcan's
///    MatrixManager._validate rejects it too; the message says how to sort the file).
///  * A pair given twice for a gene (as (a,b) or (b,a)) → input_error naming both lines.
///    (MetaXcan rejects fully duplicated rows and silently keeps the last value of a repeated
///    pair with a different value; we reject both, since neither comes from a real builder.)
///  * VALUE must be a number or an NA token ("", NA, NaN, nan, ".", …); otherwise input_error
///    with file, line and field VALUE. NA rows are kept as NaN entries and ignored downstream.
///    An infinite VALUE (inf, 1e400) → input_error too (MetaXcan would print var_g = inf with a
///    meaningless zscore).
///  * A line whose field count differs from the header's → input_error naming the first
///    missing field.
///  * A leading UTF-8 byte order mark is dropped; a header with control bytes (a binary file)
///    → input_error "not a text table".
///  * Blocks are returned raw (all rows, file order); covariance_block::to_matrix() then builds
///    the matrix exactly as MetaXcan's `_rows_to_entries` + `_to_matrix` do for a whitelist.
///
/// Writer: space-separated (as PredictDb-nextflow), header `GENE RSID1 RSID2 VALUE`, upper
/// triangle with diagonal in the given SNP order. Numbers: the shortest decimal that reads back
/// as the same double (std::to_chars, at most 17 significant digits; e.g. `0.1`, `1e-05`,
/// `-0.0069162028339156797`). R's write.table (PredictDb-nextflow) prints 15 significant
/// digits, which does not round-trip; MetaXcan's builder uses pandas repr (also shortest
/// round-trip). NaN is written as `NA`. gzip when the name ends in ".gz".

#include "scpx/core/text.hpp"

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scpx::io {

/// One gene's covariance rows as read, SNP names interned per block.
struct covariance_block {
    /// One row of the file: ids[i], ids[j], value (NaN for NA).
    struct entry {
        std::uint32_t i;
        std::uint32_t j;
        double value;
        std::uint64_t line;
    };

    std::string gene;
    /// Every SNP named in the block (as RSID1 or RSID2), in order of first appearance.
    std::vector<std::string> ids;
    /// All rows of the block, file order.
    std::vector<entry> entries;
    std::uint64_t first_line = 0;

    /// Number of distinct RSID1 among the non-NA rows: MetaXcan's `n_snps_in_cov`.
    std::size_t n_ids_in_cov() const;

    /// Index of a SNP in ids, or -1.
    int find(std::string_view id) const;

    /// The matrix over a subset of SNPs, as MetaXcan builds it (`_rows_to_entries`,
    /// `_to_matrix`) for a whitelist: only rows with both SNPs kept and a non-NA value count;
    /// a SNP is included iff it is RSID1 of at least one such row; matrix order = order of
    /// first appearance as RSID1; (a,b) sets both C[a,b] and C[b,a].
    struct matrix {
        std::vector<std::uint32_t> snps; ///< indices into ids, matrix order
        Eigen::MatrixXd values;          ///< symmetric; NaN where no row gave the pair
        std::size_t n_missing = 0;       ///< number of NaN cells (MetaXcan would abort: KeyError)
    };
    /// @param keep  keep[k] says whether ids[k] is whitelisted; empty = keep all (no whitelist)
    matrix to_matrix(const std::vector<char>& keep = {}) const;
};

/// Counters of a covariance read.
struct covariance_read_stats {
    std::uint64_t rows = 0;          ///< data rows read
    std::uint64_t rows_skipped = 0;  ///< rows of genes rejected by the gene filter
    std::uint64_t genes = 0;         ///< blocks returned
    std::uint64_t genes_skipped = 0; ///< blocks rejected by the gene filter
    std::uint64_t na_values = 0;     ///< NA values in returned blocks
    /// Pairs given in both orientations with values more than 1e-6 apart (relative): the later
    /// row is used, as MetaXcan does (the caller warns: with MPI each rank reads its own genes).
    std::uint64_t asymmetric_pairs = 0;
    std::string first_asymmetric; ///< "line N: (a, b) = x, line M: (b, a) = y" (empty if none)
};

/// Streams a covariance file one gene block at a time.
///
///     io::covariance_reader r(path);
///     io::covariance_block b;
///     while (r.next(b)) { ... }
class covariance_reader {
public:
    /// @param gene_filter  when set, blocks of genes for which it returns false are skipped
    ///                     without parsing their values (counted in stats()).
    /// @throws io_error (cannot open), input_error (empty file, missing column: the message
    ///         lists the header's columns).
    explicit covariance_reader(const std::string& path,
                               std::function<bool(std::string_view gene)> gene_filter = {});
    ~covariance_reader();
    covariance_reader(const covariance_reader&) = delete;
    covariance_reader& operator=(const covariance_reader&) = delete;

    /// Reads the next (accepted) gene block into `block`, reusing its storage.
    /// Returns false at end of file.
    bool next(covariance_block& block);

    const covariance_read_stats& stats() const;
    const std::string& path() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Loads the blocks of the genes in `genes` (all genes when empty) into a map gene → block.
/// Genes of the set that are absent from the file are simply not in the result.
std::unordered_map<std::string, covariance_block>
read_covariance_genes(const std::string& path, const std::vector<std::string>& genes = {},
                      covariance_read_stats* stats = nullptr);

/// Writes covariance files gene by gene (atomic: nothing appears until close()).
class covariance_writer {
public:
    /// @throws usage_error when `path` exists and !overwrite; io_error when not writable.
    explicit covariance_writer(const std::string& path, bool overwrite = true);
    ~covariance_writer();
    covariance_writer(const covariance_writer&) = delete;
    covariance_writer& operator=(const covariance_writer&) = delete;

    /// Writes the upper triangle with diagonal of `cov` (symmetric, snps.size() square) in
    /// `snps` order: rows (0,0), (0,1), …, (0,n−1), (1,1), ….
    void write_gene(std::string_view gene, const std::vector<std::string>& snps,
                    const Eigen::Ref<const Eigen::MatrixXd>& cov);
    /// Writes a block as read (covariance_reader), its rows in their order: joins files without
    /// touching a value (numbers are written as the shortest decimal that reads back the same).
    void write_block(const covariance_block& block);
    /// Flushes and renames into place. @throws io_error on failure.
    void close();

private:
    std::unique_ptr<text_writer> out_;
    std::string buf_;
};

/// Appends the shortest round-trip decimal form of `v` ("NA" for NaN, "inf"/"-inf") to `out`.
void append_double(std::string& out, double v);

} // namespace scpx::io
