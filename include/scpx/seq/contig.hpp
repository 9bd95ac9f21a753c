#pragma once
/// @file contig.hpp
/// Contig (chromosome) name aliasing shared by the FASTA, VCF and annotation readers.
///
/// Reference files disagree on chromosome spelling: UCSC/GENCODE write "chr20" and "chrM",
/// Ensembl/1000 Genomes b37 write "20" and "MT". A name given by the user or by another file is
/// therefore resolved against the names a file actually holds, trying these spellings in order.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace scpx::seq {

/// Alternative spellings of `name`, the name itself first: "chr20" -> {"chr20", "20"},
/// "20" -> {"20", "chr20"}, "chrM"/"M"/"MT"/"chrMT" -> all four (the given one first).
/// A "chr" prefix is recognised in any case ("Chr20").
std::vector<std::string> contig_aliases(std::string_view name);

/// Returns the first spelling of `name` (see contig_aliases) for which `exists` is true,
/// or "" when none is.
std::string match_contig(std::string_view name,
                         const std::function<bool(const std::string&)>& exists);

/// "chr1, chr2, chr3, chr4, chr5, ... (25 in all)": for messages about unknown contigs.
std::string contig_list_preview(const std::vector<std::string>& names, std::size_t max_shown = 5);

} // namespace scpx::seq
