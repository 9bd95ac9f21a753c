// `features personal --samples`: the individuals wanted, in output order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace scpx::cli {

/// The individuals of --samples, with the line each ID is on (for messages).
struct sample_list {
    std::string path;
    std::vector<std::string> ids;
    std::vector<std::size_t> lines;
};

/// Sample IDs of --samples: one per line; blank lines and lines starting with '#' are skipped; a
/// UTF-8 byte-order mark (spreadsheet exports) is ignored.
/// @throws missing_file_error / input_error naming the line (white space in an ID, a repeated ID,
///         no ID at all)
sample_list read_sample_list(const std::string& path);

/// Every ID of `list` must be a sample of `vcf`. @throws input_error naming the list's line and the VCF
void require_samples_in(const sample_list& list, const std::string& vcf);

} // namespace scpx::cli
