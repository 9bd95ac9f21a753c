#pragma once
/// @file gene_annotation.hpp
/// Gene annotation readers: GTF, GFF3, PredictDB gene-annotation tables and plain TSS tables.
///
/// Coordinates are **1-based, inclusive** as in GTF (start <= end). The TSS is the gene start on
/// the + strand and the gene end on the - strand (pipeline.md §1), unless the input gives it.
/// Gene ids are kept exactly as written (versioned Ensembl ids such as "ENSG00000141510.17" stay
/// versioned; see strip_gene_version()).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::io {

/// One gene.
struct gene_record {
    std::string gene_id;   ///< as written (version kept)
    std::string gene_name; ///< "" when the input has none
    std::string gene_type; ///< biotype, e.g. "protein_coding"; "" when the input has none
    std::string chrom;     ///< as written
    std::int64_t start = 0; ///< 1-based, inclusive
    std::int64_t end = 0;   ///< 1-based, inclusive
    char strand = '.';      ///< '+', '-' or '.' (unknown)
    std::int64_t tss = 0;   ///< 1-based
};

/// Input formats.
enum class annotation_format {
    AUTO,  ///< from the extension (.gtf, .gff, .gff3, optionally .gz), else from the content
    GTF,   ///< GTF2.2 (GENCODE/Ensembl): `gene` features, gene_id/gene_name/gene_type attributes
    GFF3,  ///< GFF3: `gene` features, ID|gene_id / Name|gene_name / gene_type|biotype attributes
    TABLE  ///< delimited table with a header: PredictDB gene annotation or a TSS table
};

/// Reading options. The filters apply before the duplicate-id check: an id may repeat in a
/// dropped gene type, or on a chromosome `keep` drops (UCSC-style chrUn/_random/_alt copies). A
/// gene-type filter that keeps no gene throws usage_error (likely a typo) naming the types present.
struct annotation_options {
    annotation_format format = annotation_format::AUTO;
    /// Keep only these gene types (e.g. {"protein_coding"}); empty keeps every gene.
    std::vector<std::string> gene_types;
    /// The caller's own filter, asked after the gene-type filter for each gene that passed it
    /// (e.g. "is its chromosome in the FASTA?" — the caller counts and reports what it drops; a
    /// `keep` that drops every gene gives an empty result, not an error). Empty keeps every gene.
    std::function<bool(const gene_record&)> keep;
    /// Told of each gene the gene-type filter drops (e.g. so that a gene list can say that a
    /// listed gene is there, of another type). Empty: not told.
    std::function<void(const gene_record&)> dropped_by_type;
};

/// Reads `gene` records of a GTF or GFF3 file (plain or gzip).
///
/// GTF attributes: gene_id (required), gene_name, gene_type or else gene_biotype (Ensembl).
/// GFF3 attributes: gene_id or else ID (an Ensembl "gene:" prefix is removed), gene_name or
/// else Name, gene_type or else biotype or gene_biotype; %XX escapes are decoded. Only the
/// feature type `gene` is read (Ensembl GFF3 "ncRNA_gene"/"pseudogene" features are not).
/// @throws input_error naming file, line and field on malformed lines (column count,
///         non-numeric or reversed start/end, bad or missing ('.') strand of a gene, unbalanced
///         quotes in GTF attributes, no gene_id, an id seen before among the kept genes) and
///         when no gene is found; lines of dropped genes are checked too.
std::vector<gene_record> read_gtf(const std::string& path, const annotation_options& options = {});
/// Same as read_gtf() for GFF3 attribute syntax.
std::vector<gene_record> read_gff3(const std::string& path, const annotation_options& options = {});

/// Reads a delimited gene table (tab, comma or whitespace, detected from the header; plain or
/// gzip). Header names are matched case-insensitively:
///  - gene id (required): gene_id, gene, geneid, ensembl_gene_id, ensembl_id
///  - chromosome (required): chr, chrom, chromosome, seqnames, seqname, #chrom
///  - either tss: tss, tss_pos, tss_position, position, pos; or start and end
///  - optional: strand, gene_name (genename, name, symbol, gene_symbol), gene_type (genetype,
///    type, biotype, gene_biotype)
/// This covers the PredictDb-nextflow annotation (`chr gene_id gene_name start end gene_type`,
/// elastic_net.md §1.2): without a strand column the TSS is `start` and strand is '.'.
/// A TSS-only table gives start = end = tss. A file whose first line has no recognised header
/// but whose third field is a number is read as headerless `gene_id chrom tss [strand]
/// [gene_name]`. Missing values (NA, ".") are allowed only in optional columns.
/// @throws input_error naming file, line and column (missing required column, non-numeric
///         coordinate, bad strand, wrong field count, an id seen before among the kept genes,
///         empty file).
std::vector<gene_record> read_gene_table(const std::string& path,
                                         const annotation_options& options = {});

/// Format of `path`: from its extension (.gtf/.gff/.gff3 with optional .gz/.bgz), else from the
/// first non-comment line (9 tab-separated columns with GTF or GFF3 attributes, or
/// "##gff-version 3"), else TABLE.
/// @throws io_error when the file cannot be read, input_error when it is empty.
annotation_format detect_annotation_format(const std::string& path);

/// Detects the format (unless options.format says it) and reads the genes, in file order.
std::vector<gene_record> read_gene_annotation(const std::string& path,
                                              const annotation_options& options = {});

/// Removes a trailing numeric version: "ENSG00000141510.17" -> "ENSG00000141510". GENCODE's
/// "ENSG00000002586.20_PAR_Y" -> "ENSG00000002586_PAR_Y" (the PAR tag is kept so the X and Y
/// copies stay distinct). Ids without a numeric version are returned unchanged.
std::string strip_gene_version(std::string_view gene_id);

} // namespace scpx::io
