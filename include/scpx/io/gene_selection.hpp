#pragma once
/// @file gene_selection.hpp
/// Choosing the genes a run works on: a gene list file (`--genes`) and a set of chromosomes
/// (`--chromosomes`), applied while an annotation is read (annotation_options::keep).

#include "scpx/io/gene_annotation.hpp"

#include <cstddef>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace scpx::io {

/// Reads a gene list: one gene id per line, the first field of the line (tab, space or comma
/// separated: a table of id, name, … works; double quotes around it, as R's write.csv puts them,
/// are dropped); blank lines, lines starting with '#' and a header line (first field gene(s),
/// gene_id(s), geneid, id(s), ensembl_gene_id, ensembl(_id), gene_name(s), name, (gene_)symbol,
/// any case) are ignored.
/// @throws input_error naming the file and both lines when an id is listed twice, or when the
///         list holds no id
std::vector<std::string> read_gene_list(const std::string& path);

/// "chr20", "Chr20" and "20" name one chromosome: the name without a leading "chr"; "chrM",
/// "M" and "MT" are all the mitochondrion ("MT").
std::string chromosome_key(const std::string& name);

/// The genes of an annotation that a `--genes` list and `--chromosomes` select. A listed id
/// matches the annotation's id as written or, failing that, with the versions of both removed
/// ("ENSG00000141510" and "ENSG00000141510.11" select "ENSG00000141510.17"): models and
/// annotations of different GENCODE releases name one gene with other versions.
class gene_selection {
public:
    /// @param genes_file   gene list (read_gene_list); "" selects every gene
    /// @param chromosomes  chromosomes to keep ({} keeps all), matched by chromosome_key; an item
    ///                     may hold several, comma-separated ("20,21")
    /// @throws input_error for a bad list, usage_error for an empty chromosome name
    gene_selection(std::string genes_file, const std::vector<std::string>& chromosomes);

    /// True when neither a list nor chromosomes were given.
    bool selects_all() const { return file_.empty() && chromosomes_.empty(); }

    /// True when `g` is selected; remembers what matched, for report().
    bool keeps(const gene_record& g);

    /// For annotation_options::dropped_by_type: remembers a listed gene that the gene-type
    /// filter dropped, so that report() can say which type it has.
    void note_dropped_by_type(const gene_record& g);

    /// After the annotation was read: warns (with examples) about listed genes and chromosomes
    /// that matched no gene, and says when the list seems to hold gene names or genes of a type
    /// --gene-types does not keep.
    /// @throws usage_error when the selection matched no gene at all
    void report(const std::string& annotation) const;

private:
    std::string file_;
    std::vector<std::string> listed_;                          ///< list entries, in file order
    std::unordered_map<std::string, std::size_t> exact_, bare_; ///< id / unversioned id -> entry
    std::vector<char> found_;                                   ///< per entry: matched a gene
    std::vector<std::string> chromosomes_;                      ///< as given
    std::set<std::string> chromosome_keys_, chromosomes_seen_;
    std::vector<std::string> name_matches_; ///< listed entries equal to a gene's name (a few)
    std::vector<char> other_type_;          ///< per entry: a gene of a type not kept matched it
    std::vector<std::pair<std::size_t, std::string>> other_type_examples_; ///< entry, "ENSG… (lncRNA)"
    std::size_t kept_ = 0, kept_without_version_ = 0;
};

} // namespace scpx::io
